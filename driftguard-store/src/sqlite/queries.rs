//! The store's reads and writes in SQL (blocking; called on tokio's blocking threads).

use std::sync::LazyLock;

use driftguard_core::ResourceId;
use driftguard_core::ports::{EventFilter, EventPage, RecordFilter};
use driftguard_core::{DriftEvent, DriftRecord};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params_from_iter};

use crate::error::{Error, Result};
use crate::sqlite::codec::{
    EVENT_COLUMN_COUNT, EVENT_COLUMNS, RECORD_COLUMN_COUNT, RECORD_COLUMNS, event_from_row,
    event_values, record_from_row, record_values,
};
use crate::sqlite::counts::Deltas;

/// Listings follow `ResourceId`'s order: kind, then namespace (cluster-scoped first),
/// then name. The id itself, then the cluster, break any tie.
const RECORD_ORDER: &str = "ORDER BY kind, namespace, name, resource_id, cluster";

static UPSERT_RECORD: LazyLock<String> = LazyLock::new(|| {
    let placeholders = numbered_placeholders(RECORD_COLUMN_COUNT);
    let updates = RECORD_COLUMNS
        .split(',')
        .map(str::trim)
        .filter(|column| !matches!(*column, "resource_id" | "cluster"))
        .map(|column| format!("{column} = excluded.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO drift_records ({RECORD_COLUMNS}) VALUES ({placeholders}) \
         ON CONFLICT (cluster, resource_id) DO UPDATE SET {updates}"
    )
});

/// Appends an event, unless one with the same non-empty key is stored (the same
/// transition saved again): only that conflict is passed over, any other fails.
static INSERT_EVENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO drift_events ({EVENT_COLUMNS}) VALUES ({}) \
         ON CONFLICT (key) WHERE key <> '' DO NOTHING",
        numbered_placeholders(EVENT_COLUMN_COUNT)
    )
});

fn numbered_placeholders(count: usize) -> String {
    (1..=count)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn sql_error(operation: &'static str) -> impl Fn(rusqlite::Error) -> Error {
    move |source| Error::Sqlite { operation, source }
}

/// `LIMIT` and `OFFSET` values: SQLite's `-1` means no limit.
fn paging(limit: Option<usize>, offset: usize) -> (i64, i64) {
    let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    (limit, i64::try_from(offset).unwrap_or(i64::MAX))
}

/// The record of one resource in one cluster.
pub(crate) fn get_record(
    connection: &Connection,
    cluster: &str,
    id: &ResourceId,
) -> Result<Option<DriftRecord>> {
    let failed = sql_error("reading a record");
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS} FROM drift_records WHERE cluster = ?1 AND resource_id = ?2"
        ))
        .map_err(&failed)?;
    statement
        .query_row((cluster, id.to_string()), |row| Ok(record_from_row(row)))
        .optional()
        .map_err(&failed)?
        .transpose()
}

/// The records of one resource id in every cluster, by cluster (the
/// `(resource_id, cluster)` index).
pub(crate) fn lookup_records(connection: &Connection, id: &ResourceId) -> Result<Vec<DriftRecord>> {
    let failed = sql_error("reading a record");
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS} FROM drift_records WHERE resource_id = ?1 ORDER BY cluster"
        ))
        .map_err(&failed)?;
    let rows = statement
        .query_map([id.to_string()], |row| Ok(record_from_row(row)))
        .map_err(&failed)?;
    let mut records = Vec::new();
    for row in rows {
        records.push(row.map_err(&failed)??);
    }
    Ok(records)
}

/// Records passing `filter`, in `ResourceId` order, paged.
pub(crate) fn list_records(
    connection: &Connection,
    filter: &RecordFilter,
) -> Result<Vec<DriftRecord>> {
    let failed = sql_error("listing records");
    let (sql, values) = record_listing(filter);
    let mut statement = connection.prepare_cached(&sql).map_err(&failed)?;
    let rows = statement
        .query_map(params_from_iter(values), |row| Ok(record_from_row(row)))
        .map_err(&failed)?;
    let mut records = Vec::new();
    for row in rows {
        records.push(row.map_err(&failed)??);
    }
    Ok(records)
}

/// The statement and values of a listing: the filter's conditions, `ResourceId` order,
/// paging.
fn record_listing(filter: &RecordFilter) -> (String, Vec<Value>) {
    let mut conditions: Vec<&str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(cluster) = &filter.cluster {
        conditions.push("cluster = ?");
        values.push(Value::Text(cluster.clone()));
    }
    if let Some(namespace) = &filter.namespace {
        conditions.push("namespace = ?");
        values.push(Value::Text(namespace.clone()));
    }
    if let Some(application) = &filter.application {
        conditions.push("application = ?");
        values.push(Value::Text(application.clone()));
    }
    if let Some(detected) = filter.drift_detected {
        conditions.push("drift_detected = ?");
        values.push(Value::Integer(i64::from(detected)));
    }
    if let Some(status) = filter.drift_status {
        conditions.push("drift_status = ?");
        values.push(Value::Text(status.as_str().to_owned()));
    }
    let (limit, offset) = paging(filter.limit, filter.offset);
    values.push(Value::Integer(limit));
    values.push(Value::Integer(offset));
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM drift_records {where_clause} {RECORD_ORDER} LIMIT ? OFFSET ?"
    );
    (sql, values)
}

/// Upserts `records` and appends `events` in one immediate transaction: all or nothing,
/// and on disk when this returns; an event whose key is already stored is left out. The
/// record counts of the statistics move in the same transaction.
pub(crate) fn save(
    connection: &mut Connection,
    records: &[DriftRecord],
    events: &[DriftEvent],
) -> Result<()> {
    // Encode everything first: a record that cannot be stored fails the batch before
    // the transaction starts.
    let record_rows = records
        .iter()
        .map(record_values)
        .collect::<Result<Vec<_>>>()?;
    let event_rows = events
        .iter()
        .map(event_values)
        .collect::<Result<Vec<_>>>()?;
    let failed = sql_error("saving records and events");
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(&failed)?;
    let mut deltas = Deltas::default();
    {
        let mut upsert = transaction
            .prepare_cached(&UPSERT_RECORD)
            .map_err(&failed)?;
        for (record, row) in records.iter().zip(record_rows) {
            deltas.replace(&transaction, record, &row)?;
            upsert.execute(params_from_iter(row)).map_err(&failed)?;
        }
        let mut insert = transaction.prepare_cached(&INSERT_EVENT).map_err(&failed)?;
        for row in event_rows {
            insert.execute(params_from_iter(row)).map_err(&failed)?;
        }
    }
    deltas.apply(&transaction, "saving records and events")?;
    transaction.commit().map_err(&failed)
}

/// One page of the events passing `filter`, oldest first, ties in the order they were
/// saved: by `(at, seq)`, the row's sequence number being its key ([`sequence_key`]).
pub(crate) fn list_events(connection: &Connection, filter: &EventFilter) -> Result<EventPage> {
    let failed = sql_error("listing events");
    let (sql, values) = event_listing(filter)?;
    let mut statement = connection.prepare_cached(&sql).map_err(&failed)?;
    let rows = statement
        .query_map(params_from_iter(values), |row| {
            Ok(event_from_row(row).and_then(|event| {
                let seq: i64 = row
                    .get(EVENT_COLUMN_COUNT)
                    .map_err(|source| Error::Sqlite {
                        operation: "reading events",
                        source,
                    })?;
                Ok((event, seq.to_be_bytes().to_vec()))
            }))
        })
        .map_err(&failed)?;
    let mut keyed = Vec::new();
    for row in rows {
        keyed.push(row.map_err(&failed)??);
    }
    Ok(EventPage::from_keyed(keyed, filter.limit))
}

/// The statement and values of an event page: the filter's conditions, the position to
/// start after, `(at, seq)` order, and one row more than `limit` to tell whether a next
/// page exists.
fn event_listing(filter: &EventFilter) -> Result<(String, Vec<Value>)> {
    let mut conditions: Vec<&str> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(cluster) = &filter.cluster {
        conditions.push("cluster = ?");
        values.push(Value::Text(cluster.clone()));
    }
    if let Some(id) = &filter.resource_id {
        conditions.push("resource_id = ?");
        values.push(Value::Text(id.to_string()));
    }
    if let Some(since) = filter.since {
        conditions.push("at >= ?");
        values.push(Value::Integer(bound(since)));
    }
    if let Some(until) = filter.until {
        conditions.push("at < ?");
        values.push(Value::Integer(bound(until)));
    }
    if let Some(after) = &filter.after {
        conditions.push("(at, seq) > (?, ?)");
        values.push(Value::Integer(bound(after.at)));
        values.push(Value::Integer(sequence_key(&after.key)?));
    }
    let (limit, _) = paging(filter.limit.map(|l| l.saturating_add(1)), 0);
    values.push(Value::Integer(limit));
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT {EVENT_COLUMNS}, seq FROM drift_events {where_clause} ORDER BY at, seq LIMIT ?"
    );
    Ok((sql, values))
}

/// The sequence number an event position's key holds: eight bytes, big-endian.
fn sequence_key(key: &[u8]) -> Result<i64> {
    <[u8; 8]>::try_from(key)
        .map(i64::from_be_bytes)
        .map_err(|_| Error::InvalidPosition {
            reason: format!(
                "a SQLite store's event key is 8 bytes, this one has {}",
                key.len()
            ),
        })
}

/// A time bound of a query in stored nanoseconds; a time outside the storable years
/// clamps to the nearest end, which selects the same rows.
pub(crate) fn bound(time: chrono::DateTime<chrono::Utc>) -> i64 {
    time.timestamp_nanos_opt()
        .unwrap_or(if time.timestamp() < 0 {
            i64::MIN
        } else {
            i64::MAX
        })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::sqlite::schema;

    /// The query plan of `sql` with `values`, one line per step.
    fn plan(connection: &Connection, sql: &str, values: Vec<Value>) -> String {
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("valid statement");
        statement
            .query_map(params_from_iter(values), |row| row.get::<_, String>(3))
            .expect("plan")
            .collect::<Result<Vec<_>, _>>()
            .expect("plan rows")
            .join("\n")
    }

    /// With other filters too, SQLite picks among the indexes by its own estimates.
    #[test]
    fn listings_of_an_application_use_its_index() {
        let mut connection = Connection::open_in_memory().expect("open");
        schema::migrate(&mut connection, Path::new(":memory:")).expect("schema");
        for filter in [
            RecordFilter {
                application: Some("shop".to_owned()),
                ..RecordFilter::default()
            },
            RecordFilter {
                application: Some("shop".to_owned()),
                limit: Some(10),
                offset: 20,
                ..RecordFilter::default()
            },
        ] {
            let (sql, values) = record_listing(&filter);
            let plan = plan(&connection, &sql, values);
            assert!(
                plan.contains("USING INDEX drift_records_by_application (application=?)"),
                "{filter:?}: {plan}"
            );
        }
    }

    /// A page of one resource's history, started after a position, is read in order from
    /// the `(cluster, resource_id, at, seq)` index: no sort, however long the history.
    #[test]
    fn event_pages_of_a_resource_read_the_index_in_order() {
        let mut connection = Connection::open_in_memory().expect("open");
        schema::migrate(&mut connection, Path::new(":memory:")).expect("schema");
        let filter = EventFilter {
            cluster: Some("default".to_owned()),
            resource_id: Some(ResourceId::namespaced("Deployment", "shop", "web")),
            after: Some(driftguard_core::ports::EventPosition {
                at: chrono::DateTime::from_timestamp_nanos(1_000),
                key: 7_i64.to_be_bytes().to_vec(),
            }),
            limit: Some(10),
            ..EventFilter::default()
        };
        let (sql, values) = event_listing(&filter).expect("a sequence key");
        let plan = plan(&connection, &sql, values);
        assert!(
            plan.contains(
                "USING INDEX drift_events_by_resource (cluster=? AND resource_id=? AND at>"
            ),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }

    #[test]
    fn a_key_that_is_no_sequence_number_is_refused() {
        let error = sequence_key(&[0; 12]).expect_err("twelve bytes");
        assert_eq!(error.kind(), driftguard_core::PortErrorKind::InvalidRequest);
        assert_eq!(sequence_key(&42_i64.to_be_bytes()).ok(), Some(42));
    }
}
