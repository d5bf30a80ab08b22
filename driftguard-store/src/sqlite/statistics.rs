//! Statistics and counts per application and per cluster in SQL, with the meaning
//! `driftguard_core::stats::compute` and `StatusCounts` give them.
//!
//! Statistics read the summaries that triggers keep ([`crate::sqlite::summaries`]): a
//! few small rows and the top of one index, however many records and events the file
//! holds. Each answer is read in one read transaction, so its numbers describe one
//! moment even while an analysis is being saved.

use std::collections::BTreeMap;

use driftguard_core::stats::{
    DriftCount, DriftStatistics, MOST_DRIFTED_LIMIT, StatusCounts, zero_status_counts,
};
use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::sqlite::summaries::{
    EVENT_TOTALS, MOST_DRIFTED, MOST_DRIFTED_IN_CLUSTER, RECORD_COUNTS,
};

/// Totals and breakdowns over the records and events of `cluster`, or of every cluster.
pub(crate) fn statistics(
    connection: &mut Connection,
    cluster: Option<&str>,
) -> Result<DriftStatistics> {
    let failed = |source| Error::Sqlite {
        operation: "computing statistics",
        source,
    };
    let transaction = connection.transaction().map_err(failed)?;

    let mut by_status = zero_status_counts();
    let mut by_severity = BTreeMap::new();
    let mut by_type = BTreeMap::new();
    let mut by_namespace = BTreeMap::new();
    let mut by_application = BTreeMap::new();
    let mut by_cluster = BTreeMap::new();
    {
        let mut statement = transaction.prepare_cached(RECORD_COUNTS).map_err(failed)?;
        let rows = statement
            .query_map([cluster], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            })
            .map_err(failed)?;
        for row in rows {
            let (cluster, facet, key, count) = row.map_err(failed)?;
            if facet == "namespace" {
                // Every drifted record has one namespace.
                *by_cluster.entry(cluster).or_default() += count_of(count);
            }
            let breakdown = match facet.as_str() {
                "status" => &mut by_status,
                "severity" => &mut by_severity,
                "type" => &mut by_type,
                "namespace" => &mut by_namespace,
                "application" => &mut by_application,
                other => {
                    return Err(Error::Malformed {
                        what: "the record counts".to_owned(),
                        reason: format!("`{other}` is not a known breakdown"),
                    });
                }
            };
            *breakdown.entry(key).or_default() += count_of(count);
        }
    }
    // Every record has one status; every drifted record one namespace.
    let total_resources = by_status.values().sum();
    let drifted_resources = by_namespace.values().sum();

    let (total_events, episodes, total_millis): (i64, i64, i64) = transaction
        .prepare_cached(EVENT_TOTALS)
        .and_then(|mut s| s.query_row([cluster], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?))))
        .map_err(failed)?;
    let mean_time_to_resolve_seconds =
        (episodes > 0).then(|| total_millis as f64 / 1000.0 / episodes as f64);

    let most_drifted = {
        let read = |row: &rusqlite::Row<'_>| {
            Ok(DriftCount {
                cluster: row.get(0)?,
                resource_id: row.get(1)?,
                drift_events: count_of(row.get(2)?),
            })
        };
        let limit = MOST_DRIFTED_LIMIT as i64;
        match cluster {
            Some(cluster) => transaction
                .prepare_cached(MOST_DRIFTED_IN_CLUSTER)
                .and_then(|mut s| {
                    s.query_map((limit, cluster), read)?
                        .collect::<Result<Vec<_>, _>>()
                }),
            None => transaction
                .prepare_cached(MOST_DRIFTED)
                .and_then(|mut s| s.query_map([limit], read)?.collect::<Result<Vec<_>, _>>()),
        }
        .map_err(failed)?
    };

    Ok(DriftStatistics {
        total_resources,
        drifted_resources,
        by_status,
        by_severity,
        by_type,
        by_namespace,
        by_application,
        by_cluster,
        total_events: count_of(total_events),
        mean_time_to_resolve_seconds,
        most_drifted,
    })
}

/// Records per `(cluster, application)` and status, and per `(cluster, application)`
/// the active ones whose drift types hold `Missing`. The `(cluster, application,
/// drift_status, drift_types)` index covers it: one scan of the index, in group order,
/// without reading the table.
const APPLICATION_COUNTS: &str = "
    SELECT cluster, application, drift_status, COUNT(*),
           SUM(CASE WHEN drift_status = 'active'
                    THEN EXISTS (SELECT 1 FROM json_each(drift_types) WHERE value = 'Missing')
                    ELSE 0 END)
    FROM drift_records
    GROUP BY cluster, application, drift_status";

/// [`APPLICATION_COUNTS`] per cluster, covered by the `(cluster, drift_status,
/// drift_types)` index.
const CLUSTER_COUNTS: &str = "
    SELECT cluster, drift_status, COUNT(*),
           SUM(CASE WHEN drift_status = 'active'
                    THEN EXISTS (SELECT 1 FROM json_each(drift_types) WHERE value = 'Missing')
                    ELSE 0 END)
    FROM drift_records
    GROUP BY cluster, drift_status";

/// Record counts per `(cluster, application)`: by status, and how many active ones are
/// Missing. The same application name in two clusters is two applications.
pub(crate) fn application_counts(
    connection: &mut Connection,
) -> Result<BTreeMap<(String, String), StatusCounts>> {
    status_counts(
        connection,
        APPLICATION_COUNTS,
        "counting records per application",
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
    )
}

/// Record counts per cluster: by status, and how many active ones are Missing.
pub(crate) fn cluster_counts(
    connection: &mut Connection,
) -> Result<BTreeMap<String, StatusCounts>> {
    status_counts(
        connection,
        CLUSTER_COUNTS,
        "counting records per cluster",
        |row| row.get::<_, String>(0),
    )
}

/// Record counts per group of `sql`, whose rows are the group's key columns (read by
/// `key`) followed by the status, the count and the Missing count.
fn status_counts<K: Ord>(
    connection: &mut Connection,
    sql: &str,
    operation: &'static str,
    key: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<K>,
) -> Result<BTreeMap<K, StatusCounts>> {
    let failed = |source| Error::Sqlite { operation, source };
    let transaction = connection.transaction().map_err(failed)?;
    let mut statement = transaction.prepare_cached(sql).map_err(failed)?;
    let rows = statement
        .query_map([], |row| {
            let width = row.as_ref().column_count();
            Ok((
                key(row)?,
                row.get::<_, String>(width - 3)?,
                row.get::<_, i64>(width - 2)?,
                row.get::<_, i64>(width - 1)?,
            ))
        })
        .map_err(failed)?;
    let mut counts: BTreeMap<K, StatusCounts> = BTreeMap::new();
    for row in rows {
        let (key, status, records, missing) = row.map_err(failed)?;
        let group = counts.entry(key).or_default();
        match status.as_str() {
            "none" => group.none += count_of(records),
            "active" => {
                group.active += count_of(records);
                group.missing += count_of(missing);
            }
            "resolved" => group.resolved += count_of(records),
            other => {
                return Err(Error::Malformed {
                    what: format!("the result of {operation}"),
                    reason: format!("`{other}` is not a known drift status"),
                });
            }
        }
    }
    Ok(counts)
}

fn count_of(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::sqlite::schema;

    /// The statement's query plan with `params` bound, one line per step.
    fn plan(connection: &Connection, sql: &str, params: &[&dyn rusqlite::ToSql]) -> String {
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("valid statement");
        statement
            .query_map(params, |row| row.get::<_, String>(3))
            .expect("plan")
            .collect::<Result<Vec<_>, _>>()
            .expect("plan rows")
            .join("\n")
    }

    #[test]
    fn the_most_drifted_are_read_from_the_top_of_their_index() {
        let mut connection = Connection::open_in_memory().expect("open");
        schema::migrate(&mut connection, Path::new(":memory:")).expect("schema");
        let all = plan(&connection, MOST_DRIFTED, &[&10_i64]);
        assert!(
            all.contains("drift_resource_history_by_detections"),
            "{all}"
        );
        assert!(!all.contains("TEMP B-TREE"), "{all}");
        let in_cluster = MOST_DRIFTED_IN_CLUSTER.replace("?2", "'default'");
        let one = plan(&connection, &in_cluster, &[&10_i64]);
        assert!(
            one.contains("drift_resource_history_by_cluster_detections"),
            "{one}"
        );
        assert!(!one.contains("TEMP B-TREE"), "{one}");
    }

    #[test]
    fn counts_per_cluster_read_only_their_covering_index() {
        let mut connection = Connection::open_in_memory().expect("open");
        schema::migrate(&mut connection, Path::new(":memory:")).expect("schema");
        let counts = plan(&connection, CLUSTER_COUNTS, &[]);
        assert!(
            counts.contains(
                "SCAN drift_records USING COVERING INDEX drift_records_by_cluster_status"
            ),
            "{counts}"
        );
        assert!(!counts.contains("TEMP B-TREE"), "{counts}");
    }

    #[test]
    fn counts_per_application_read_only_their_covering_index() {
        let mut connection = Connection::open_in_memory().expect("open");
        schema::migrate(&mut connection, Path::new(":memory:")).expect("schema");
        let plan = plan(&connection, APPLICATION_COUNTS, &[]);
        assert!(
            plan.contains(
                "SCAN drift_records USING COVERING INDEX drift_records_by_cluster_application_status"
            ),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
