//! The store's reads and writes in SQL (blocking; called on tokio's blocking threads).

use std::sync::LazyLock;

use driftguard_core::ResourceId;
use driftguard_core::ports::{
    EventFilter, EventPage, RecordFilter, RecordSort, SortKey, Timeline, TimelineQuery,
};
use driftguard_core::{DriftEvent, DriftRecord, EventKind, Severity};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params_from_iter};

use crate::error::{Error, Result};
use crate::sqlite::codec::{
    EVENT_COLUMN_COUNT, EVENT_COLUMNS, RECORD_COLUMN_COUNT, RECORD_COLUMNS, event_from_row,
    event_values, name, record_from_row, record_values,
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

/// Records passing `filter`, in its order, paged.
///
/// Collected into any `C`: a vector for the API, `StoredRecords` for an analysis, which
/// then never holds every record twice.
pub(crate) fn list_records<C: Default + Extend<DriftRecord>>(
    connection: &Connection,
    filter: &RecordFilter,
) -> Result<C> {
    let failed = sql_error("listing records");
    let (sql, values) = record_listing(filter);
    let mut statement = connection.prepare_cached(&sql).map_err(&failed)?;
    let rows = statement
        .query_map(params_from_iter(values), |row| Ok(record_from_row(row)))
        .map_err(&failed)?;
    let mut records = C::default();
    for row in rows {
        records.extend(Some(row.map_err(&failed)??));
    }
    Ok(records)
}

/// The statement and values of a listing: the filter's conditions, its order, paging.
///
/// The default listing (no condition, `resource_id` order) is the statement it always
/// was: a walk of the `(kind, namespace, name, resource_id, cluster)` index, which holds
/// the whole order, stopped after the page (at any offset).
fn record_listing(filter: &RecordFilter) -> (String, Vec<Value>) {
    let (where_clause, mut values) = record_conditions(filter);
    let (limit, offset) = paging(filter.limit, filter.offset);
    values.push(Value::Integer(limit));
    values.push(Value::Integer(offset));
    let order = record_order(filter.sort);
    let source = record_source(filter);
    let sql =
        format!("SELECT {RECORD_COLUMNS} FROM {source} {where_clause} {order} LIMIT ? OFFSET ?");
    (sql, values)
}

/// The table a listing or count of `filter` reads: with severities, through the
/// partial index of the records that have one (those drifting now).
///
/// Without statistics SQLite would rather walk a cluster's index in the listing's order
/// and test each record's severity than sort the few records of that severity: a
/// severity the cluster lacks would then read every record of the cluster. `severity IN
/// (…)` implies `severity IS NOT NULL`, so the index always applies.
fn record_source(filter: &RecordFilter) -> &'static str {
    if filter.severities.is_empty() {
        "drift_records"
    } else {
        "drift_records INDEXED BY drift_records_by_severity"
    }
}

/// The `WHERE` clause (empty without conditions) of a filter, and its values.
///
/// Severities and drift types match any of those listed; the text matches the resource
/// id or a drift's path, ASCII letters folded to lowercase on both sides (SQLite's
/// `lower` folds ASCII only, as `driftguard_core::ports::text_matches` does).
fn record_conditions(filter: &RecordFilter) -> (String, Vec<Value>) {
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let text = |value: &str| Value::Text(value.to_owned());
    if let Some(cluster) = &filter.cluster {
        conditions.push("cluster = ?".to_owned());
        values.push(text(cluster));
    }
    if let Some(namespace) = &filter.namespace {
        conditions.push("namespace = ?".to_owned());
        values.push(text(namespace));
    }
    if let Some(application) = &filter.application {
        conditions.push("application = ?".to_owned());
        values.push(text(application));
    }
    if let Some(detected) = filter.drift_detected {
        conditions.push("drift_detected = ?".to_owned());
        values.push(Value::Integer(i64::from(detected)));
    }
    if let Some(status) = filter.drift_status {
        conditions.push("drift_status = ?".to_owned());
        values.push(text(status.as_str()));
    }
    if !filter.severities.is_empty() {
        conditions.push(format!(
            "severity IN ({})",
            placeholders(filter.severities.len())
        ));
        values.extend(filter.severities.iter().map(|s| text(s.as_str())));
    }
    if !filter.drift_types.is_empty() {
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM json_each(drift_records.drift_types) WHERE value IN ({}))",
            placeholders(filter.drift_types.len())
        ));
        values.extend(filter.drift_types.iter().map(|t| text(t.as_str())));
    }
    if let Some(needle) = &filter.text {
        let needle = needle.to_ascii_lowercase();
        // A path holding the text is in the drifts' JSON as it is, unless the text
        // holds a character JSON escapes: then the JSON text is searched first, which
        // passes over most rows without parsing them (twice as fast at 100,000).
        let verbatim = !needle
            .chars()
            .any(|c| matches!(c, '"' | '\\') || c.is_control());
        let prefilter = if verbatim {
            "instr(lower(drifts), ?) > 0 AND"
        } else {
            ""
        };
        conditions.push(format!(
            "(instr(lower(resource_id), ?) > 0 OR ({prefilter} EXISTS (SELECT 1 \
             FROM json_each(drifts) WHERE instr(lower(value ->> '$.path'), ?) > 0)))"
        ));
        let placeholders = if verbatim { 3 } else { 2 };
        values.extend(std::iter::repeat_n(text(&needle), placeholders));
    }
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    (where_clause, values)
}

fn placeholders(count: usize) -> String {
    vec!["?"; count].join(", ")
}

/// The `ORDER BY` clause of `sort`: its key (a missing value last in both directions),
/// then `ResourceId` order and the cluster, ascending.
fn record_order(sort: RecordSort) -> String {
    let direction = if sort.descending { "DESC" } else { "ASC" };
    let key = match sort.key {
        SortKey::ResourceId if sort.descending => {
            return "ORDER BY kind DESC, namespace DESC, name DESC, resource_id DESC, cluster"
                .to_owned();
        }
        SortKey::ResourceId => return RECORD_ORDER.to_owned(),
        SortKey::Severity => format!(
            "CASE severity WHEN 'Low' THEN 1 WHEN 'Medium' THEN 2 WHEN 'High' THEN 3 END \
             {direction} NULLS LAST"
        ),
        SortKey::FirstDetected => format!("first_detected {direction} NULLS LAST"),
        SortKey::LastDetected => format!("last_detected {direction} NULLS LAST"),
        SortKey::ResolvedAt => format!("resolved_at {direction} NULLS LAST"),
        SortKey::DetectionCount => format!("detection_count {direction}"),
    };
    format!("ORDER BY {key}, kind, namespace, name, resource_id, cluster")
}

/// How many records pass `filter`, paging aside.
pub(crate) fn count_records(connection: &Connection, filter: &RecordFilter) -> Result<u64> {
    let (sql, values) = record_count(filter);
    let count: i64 = connection
        .prepare_cached(&sql)
        .and_then(|mut statement| statement.query_row(params_from_iter(values), |row| row.get(0)))
        .map_err(sql_error("counting records"))?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// The statement and values counting the records of `filter`.
///
/// A filter on the cluster and the status alone (the default page, `/active`,
/// `/resolved`) is answered from the record counts the statistics keep
/// ([`crate::sqlite::counts`]): a few rows, at any size. Any other filter counts the
/// matching rows, through the indexes a listing uses.
fn record_count(filter: &RecordFilter) -> (String, Vec<Value>) {
    let by_status_alone = RecordFilter {
        cluster: filter.cluster.clone(),
        drift_status: filter.drift_status,
        sort: filter.sort,
        ..RecordFilter::default()
    } == filter.unpaged();
    if by_status_alone {
        let status = filter
            .drift_status
            .map_or(Value::Null, |s| Value::Text(s.as_str().to_owned()));
        return match &filter.cluster {
            Some(cluster) => (
                COUNT_IN_CLUSTER_FROM_SUMMARIES.to_owned(),
                vec![Value::Text(cluster.clone()), status],
            ),
            None => (COUNT_FROM_SUMMARIES.to_owned(), vec![status]),
        };
    }
    let (where_clause, values) = record_conditions(filter);
    let source = record_source(filter);
    (
        format!("SELECT COUNT(*) FROM {source} {where_clause}"),
        values,
    )
}

/// Records in status `?1` (every status when null), from the per-status record counts
/// of every cluster.
const COUNT_FROM_SUMMARIES: &str = "SELECT COALESCE(SUM(count), 0) FROM drift_record_counts
     WHERE facet = 'status' AND (?1 IS NULL OR key = ?1)";

/// Records of cluster `?1` in status `?2` (every status when null), from the cluster's
/// per-status record counts (a range of the primary key).
const COUNT_IN_CLUSTER_FROM_SUMMARIES: &str = "SELECT COALESCE(SUM(count), 0)
     FROM drift_record_counts
     WHERE cluster = ?1 AND facet = 'status' AND (?2 IS NULL OR key = ?2)";

/// The events of `query` counted per bucket, kind and severity in one `GROUP BY`, read
/// through the `(at, seq)` index (`(cluster, at, seq)` for one cluster): only the
/// range's events are visited.
const TIMELINE: &str = "SELECT (at - ?1) / ?2 AS bucket, kind, severity, COUNT(*)
     FROM drift_events
     WHERE at >= ?1 AND at < ?3 AND (?4 IS NULL OR cluster = ?4)
     GROUP BY bucket, kind, severity";

/// [`TIMELINE`] for one cluster, so that the planner picks the cluster's index.
const TIMELINE_IN_CLUSTER: &str = "SELECT (at - ?1) / ?2 AS bucket, kind, severity, COUNT(*)
     FROM drift_events
     WHERE cluster = ?4 AND at >= ?1 AND at < ?3
     GROUP BY bucket, kind, severity";

/// The lifecycle events of `query` counted per bucket and severity.
pub(crate) fn timeline(connection: &Connection, query: &TimelineQuery) -> Result<Timeline> {
    let failed = sql_error("counting events per time bucket");
    let mut timeline = Timeline::empty(query);
    let step = query.step.num_nanoseconds().unwrap_or(i64::MAX).max(1);
    let sql = if query.cluster.is_some() {
        TIMELINE_IN_CLUSTER
    } else {
        TIMELINE
    };
    let mut statement = connection.prepare_cached(sql).map_err(&failed)?;
    let rows = statement
        .query_map(
            (
                bound(query.from),
                step,
                bound(query.to()),
                query.cluster.as_deref(),
            ),
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            },
        )
        .map_err(&failed)?;
    for row in rows {
        let (bucket, kind, severity, count) = row.map_err(&failed)?;
        let malformed = |reason: String| Error::Malformed {
            what: "the event counts of a timeline".to_owned(),
            reason,
        };
        let kind = name::<EventKind>(&kind).map_err(malformed)?;
        let severity = severity
            .map(|s| name::<Severity>(&s))
            .transpose()
            .map_err(malformed)?;
        if let Ok(bucket) = usize::try_from(bucket) {
            timeline.add(bucket, kind, severity, u64::try_from(count).unwrap_or(0));
        }
    }
    Ok(timeline)
}

/// Upserts `records` and appends `events` in one immediate transaction: all or nothing,
/// and on disk when this returns; an event whose key is already stored is left out. The
/// record counts of the statistics move in the same transaction.
pub(crate) fn save(
    connection: &mut Connection,
    records: &[DriftRecord],
    events: &[DriftEvent],
) -> Result<()> {
    // Each row is encoded as it is written, not all first: a full analysis saves a record
    // per resource. A record that cannot be encoded still fails the whole batch, since
    // the transaction is then dropped without being committed.
    let failed = sql_error("saving records and events");
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(&failed)?;
    let mut deltas = Deltas::default();
    {
        let mut upsert = transaction
            .prepare_cached(&UPSERT_RECORD)
            .map_err(&failed)?;
        for record in records {
            let row = record_values(record)?;
            deltas.replace(&transaction, record, &row)?;
            upsert.execute(params_from_iter(row)).map_err(&failed)?;
        }
        let mut insert = transaction.prepare_cached(&INSERT_EVENT).map_err(&failed)?;
        for event in events {
            insert
                .execute(params_from_iter(event_values(event)?))
                .map_err(&failed)?;
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

    /// The default page, a deep page and their reverses walk the
    /// `(kind, namespace, name, resource_id, cluster)` index and stop after the page (the
    /// plan behind the 100,000-record latency target): no sort, so rows skipped by the
    /// offset are passed over in the index, not sorted first. A cluster's pages walk the
    /// `(cluster, kind, namespace, name, resource_id)` index the same way. The default
    /// statement is the one it was before filters and orders were added.
    #[test]
    fn the_default_page_walks_the_id_index_and_stops() {
        let mut connection = Connection::open_in_memory().expect("open");
        schema::migrate(&mut connection, Path::new(":memory:")).expect("schema");
        let page = RecordFilter {
            limit: Some(100),
            ..RecordFilter::default()
        };
        let (sql, values) = record_listing(&page);
        assert_eq!(
            sql,
            format!("SELECT {RECORD_COLUMNS} FROM drift_records  {RECORD_ORDER} LIMIT ? OFFSET ?")
        );
        assert_eq!(values.len(), 2);
        let reverse: RecordSort = "-resource_id".parse().expect("a sort");
        let deep = RecordFilter {
            offset: 50_000,
            ..page.clone()
        };
        let in_cluster = |filter: &RecordFilter| RecordFilter {
            cluster: Some("east".to_owned()),
            ..filter.clone()
        };
        let reversed = |filter: &RecordFilter| RecordFilter {
            sort: reverse,
            ..filter.clone()
        };
        for (filter, index) in [
            (
                page.clone(),
                "SCAN drift_records USING INDEX drift_records_by_id_parts",
            ),
            (
                deep.clone(),
                "SCAN drift_records USING INDEX drift_records_by_id_parts",
            ),
            (
                in_cluster(&page),
                "SEARCH drift_records USING INDEX drift_records_by_cluster (cluster=?)",
            ),
            (
                in_cluster(&deep),
                "SEARCH drift_records USING INDEX drift_records_by_cluster (cluster=?)",
            ),
            (
                reversed(&in_cluster(&deep)),
                "SEARCH drift_records USING INDEX drift_records_by_cluster (cluster=?)",
            ),
        ] {
            let (sql, values) = record_listing(&filter);
            let plan = plan(&connection, &sql, values);
            assert!(plan.contains(index), "{filter:?}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{filter:?}: {plan}");
        }
        // Across clusters the reverse order keeps the cluster ascending: only the
        // records of one id in several clusters are sorted, never the page's run.
        for filter in [reversed(&page), reversed(&deep)] {
            let (sql, values) = record_listing(&filter);
            let plan = plan(&connection, &sql, values);
            assert!(
                plan.contains("SCAN drift_records USING INDEX drift_records_by_id_parts"),
                "{filter:?}: {plan}"
            );
            assert!(
                !plan.contains("TEMP B-TREE") || plan.contains("TEMP B-TREE FOR LAST TERM"),
                "{filter:?}: {plan}"
            );
        }
    }

    /// Severity lists and their totals read the partial index of the records that have
    /// a severity (those drifting now), alone and within a cluster, never every record.
    #[test]
    fn severity_lists_and_totals_read_the_severity_index() {
        let mut connection = Connection::open_in_memory().expect("open");
        schema::migrate(&mut connection, Path::new(":memory:")).expect("schema");
        let medium = RecordFilter {
            severities: vec![Severity::Medium],
            limit: Some(100),
            ..RecordFilter::default()
        };
        let several = RecordFilter {
            severities: vec![Severity::High, Severity::Medium],
            offset: 200,
            ..medium.clone()
        };
        let in_cluster = |filter: &RecordFilter| RecordFilter {
            cluster: Some("east".to_owned()),
            ..filter.clone()
        };
        for (filter, condition) in [
            (medium.clone(), "(severity=?)"),
            (several.clone(), "(severity=?)"),
            (in_cluster(&medium), "(severity=? AND cluster=?)"),
            (in_cluster(&several), "(severity=? AND cluster=?)"),
        ] {
            let (sql, values) = record_listing(&filter);
            let listing = plan(&connection, &sql, values);
            assert!(
                listing.contains(&format!(
                    "SEARCH drift_records USING INDEX drift_records_by_severity {condition}"
                )),
                "{filter:?}: {listing}"
            );
            let (sql, values) = record_count(&filter);
            let count = plan(&connection, &sql, values);
            assert!(
                count.contains(&format!(
                    "SEARCH drift_records USING COVERING INDEX drift_records_by_severity {condition}"
                )),
                "{filter:?}: {count}"
            );
        }
    }

    /// The totals of the default page, `/active` and `/resolved` (per cluster too) read
    /// the per-status record counts, never the records; other filters count rows.
    #[test]
    fn totals_of_status_lists_read_the_record_counts() {
        let mut connection = Connection::open_in_memory().expect("open");
        schema::migrate(&mut connection, Path::new(":memory:")).expect("schema");
        let status = Some(driftguard_core::DriftStatus::Active);
        for filter in [
            RecordFilter::default(),
            RecordFilter {
                drift_status: status,
                limit: Some(10),
                offset: 30,
                sort: "-severity".parse().expect("a sort"),
                ..RecordFilter::default()
            },
            RecordFilter {
                cluster: Some("east".to_owned()),
                drift_status: status,
                ..RecordFilter::default()
            },
        ] {
            let (sql, values) = record_count(&filter);
            let plan = plan(&connection, &sql, values);
            assert!(plan.contains("drift_record_counts"), "{filter:?}: {plan}");
            assert!(!plan.contains("drift_records "), "{filter:?}: {plan}");
            if filter.cluster.is_some() {
                assert!(
                    plan.contains("PRIMARY KEY (cluster=? AND facet=?)"),
                    "{plan}"
                );
            }
        }
        let (sql, values) = record_count(&RecordFilter {
            namespace: Some("shop".to_owned()),
            ..RecordFilter::default()
        });
        let plan = plan(&connection, &sql, values);
        assert!(
            plan.contains("USING COVERING INDEX drift_records_by_namespace (namespace=?)"),
            "{plan}"
        );
    }

    /// A timeline reads only its range's events, from the `(at, seq)` index, or the
    /// `(cluster, at, seq)` one for a cluster.
    #[test]
    fn timelines_read_a_range_of_the_time_indexes() {
        let mut connection = Connection::open_in_memory().expect("open");
        schema::migrate(&mut connection, Path::new(":memory:")).expect("schema");
        let bounds = || vec![Value::Integer(0), Value::Integer(1), Value::Integer(2)];
        let mut all = bounds();
        all.push(Value::Null);
        let plan_all = plan(&connection, TIMELINE, all);
        assert!(
            plan_all
                .contains("SEARCH drift_events USING INDEX drift_events_by_time (at>? AND at<?)"),
            "{plan_all}"
        );
        let mut one = bounds();
        one.push(Value::Text("east".to_owned()));
        let plan_one = plan(&connection, TIMELINE_IN_CLUSTER, one);
        assert!(
            plan_one.contains(
                "SEARCH drift_events USING INDEX drift_events_by_cluster_time (cluster=? AND at>? AND at<?)"
            ),
            "{plan_one}"
        );
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
