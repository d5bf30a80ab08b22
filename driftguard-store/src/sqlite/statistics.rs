//! Statistics and counts per application in SQL, with the meaning
//! `driftguard_core::stats::compute` and `StatusCounts` give them.
//!
//! Each answer is read in one read transaction, so its numbers describe one moment even
//! while an analysis is being saved.

use std::collections::BTreeMap;

use driftguard_core::stats::{
    DriftCount, DriftStatistics, MOST_DRIFTED_LIMIT, StatusCounts, zero_status_counts,
};
use rusqlite::Connection;

use crate::error::{Error, Result};

/// Mean time to resolve: each `drift_resolved` event pairs with the earliest
/// `drift_detected` event of the same resource since that resource's previous
/// resolution. A running count of resolutions numbers the episodes; a detection belongs
/// to the episode of the resolutions before it, a resolution closes its own.
const MEAN_TIME_TO_RESOLVE: &str = "
    WITH marked AS (
        SELECT resource_id, at, seq,
               CASE kind WHEN 'drift_resolved' THEN 1 ELSE 0 END AS is_resolution
        FROM drift_events
        WHERE kind IN ('drift_detected', 'drift_resolved')
    ),
    numbered AS (
        SELECT resource_id, at, is_resolution,
               SUM(is_resolution) OVER (
                   PARTITION BY resource_id ORDER BY at, seq
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
               ) - is_resolution AS episode
        FROM marked
    ),
    episodes AS (
        SELECT MIN(CASE WHEN is_resolution = 0 THEN at END) AS detected,
               MIN(CASE WHEN is_resolution = 1 THEN at END) AS resolved
        FROM numbered
        GROUP BY resource_id, episode
    )
    SELECT COALESCE(SUM((resolved - detected) / 1000000), 0), COUNT(*)
    FROM episodes
    WHERE detected IS NOT NULL AND resolved IS NOT NULL";

/// Totals and breakdowns over every record and event.
pub(crate) fn statistics(connection: &mut Connection) -> Result<DriftStatistics> {
    let failed = |source| Error::Sqlite {
        operation: "computing statistics",
        source,
    };
    let transaction = connection.transaction().map_err(failed)?;
    let counts = |sql: &str| -> Result<BTreeMap<String, u64>> {
        let mut statement = transaction.prepare_cached(sql).map_err(failed)?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .map_err(failed)?;
        let mut map = BTreeMap::new();
        for row in rows {
            let (key, count) = row.map_err(failed)?;
            map.insert(key, count_of(count));
        }
        Ok(map)
    };
    let single = |sql: &str| -> Result<i64> {
        transaction
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row([], |row| row.get(0)))
            .map_err(failed)
    };

    let mut by_status = zero_status_counts();
    by_status.extend(counts(
        "SELECT drift_status, COUNT(*) FROM drift_records GROUP BY drift_status",
    )?);
    let by_severity = counts(
        "SELECT severity, COUNT(*) FROM drift_records
         WHERE drift_detected = 1 AND severity IS NOT NULL GROUP BY severity",
    )?;
    let by_type = counts(
        "SELECT t.value, COUNT(*) FROM drift_records AS r, json_each(r.drift_types) AS t
         WHERE r.drift_detected = 1 GROUP BY t.value",
    )?;
    let by_namespace = counts(
        "SELECT COALESCE(namespace, ''), COUNT(*) FROM drift_records
         WHERE drift_detected = 1 GROUP BY COALESCE(namespace, '')",
    )?;
    let by_application = counts(
        "SELECT application, COUNT(*) FROM drift_records
         WHERE drift_detected = 1 GROUP BY application",
    )?;
    let total_resources = count_of(single("SELECT COUNT(*) FROM drift_records")?);
    let drifted_resources = count_of(single(
        "SELECT COUNT(*) FROM drift_records WHERE drift_detected = 1",
    )?);
    let total_events = count_of(single("SELECT COUNT(*) FROM drift_events")?);

    let most_drifted = {
        let mut statement = transaction
            .prepare_cached(
                "SELECT resource_id, COUNT(*) AS episodes FROM drift_events
                 WHERE kind = 'drift_detected'
                 GROUP BY resource_id ORDER BY episodes DESC, resource_id LIMIT ?1",
            )
            .map_err(failed)?;
        let rows = statement
            .query_map([MOST_DRIFTED_LIMIT as i64], |row| {
                Ok(DriftCount {
                    resource_id: row.get(0)?,
                    drift_events: count_of(row.get(1)?),
                })
            })
            .map_err(failed)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(failed)?
    };

    let (total_millis, episodes): (i64, i64) = transaction
        .prepare_cached(MEAN_TIME_TO_RESOLVE)
        .and_then(|mut s| s.query_row([], |row| Ok((row.get(0)?, row.get(1)?))))
        .map_err(failed)?;
    let mean_time_to_resolve_seconds =
        (episodes > 0).then(|| total_millis as f64 / 1000.0 / episodes as f64);

    Ok(DriftStatistics {
        total_resources,
        drifted_resources,
        by_status,
        by_severity,
        by_type,
        by_namespace,
        by_application,
        total_events,
        mean_time_to_resolve_seconds,
        most_drifted,
    })
}

/// Records per application and status, and per application the active ones whose drift
/// types hold `Missing`. The `(application, drift_status, drift_types)` index covers it:
/// one scan of the index, in group order, without reading the table.
const APPLICATION_COUNTS: &str = "
    SELECT application, drift_status, COUNT(*),
           SUM(CASE WHEN drift_status = 'active'
                    THEN EXISTS (SELECT 1 FROM json_each(drift_types) WHERE value = 'Missing')
                    ELSE 0 END)
    FROM drift_records
    GROUP BY application, drift_status";

/// Record counts per application: by status, and how many active ones are Missing.
pub(crate) fn application_counts(
    connection: &mut Connection,
) -> Result<BTreeMap<String, StatusCounts>> {
    let failed = |source| Error::Sqlite {
        operation: "counting records per application",
        source,
    };
    let transaction = connection.transaction().map_err(failed)?;
    let mut statement = transaction
        .prepare_cached(APPLICATION_COUNTS)
        .map_err(failed)?;
    let rows = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, i64>(3)?,
            ))
        })
        .map_err(failed)?;
    let mut counts: BTreeMap<String, StatusCounts> = BTreeMap::new();
    for row in rows {
        let (application, status, records, missing) = row.map_err(failed)?;
        let group = counts.entry(application).or_default();
        match status.as_str() {
            "none" => group.none += count_of(records),
            "active" => {
                group.active += count_of(records);
                group.missing += count_of(missing);
            }
            "resolved" => group.resolved += count_of(records),
            other => {
                return Err(Error::Malformed {
                    what: "the record counts per application".to_owned(),
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

    #[test]
    fn counts_per_application_read_only_their_covering_index() {
        let mut connection = Connection::open_in_memory().expect("open");
        schema::migrate(&mut connection, Path::new(":memory:")).expect("schema");
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {APPLICATION_COUNTS}"))
            .expect("valid statement");
        let plan = statement
            .query_map([], |row| row.get::<_, String>(3))
            .expect("plan")
            .collect::<Result<Vec<_>, _>>()
            .expect("plan rows")
            .join("\n");
        assert!(
            plan.contains(
                "SCAN drift_records USING COVERING INDEX drift_records_by_application_status"
            ),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
