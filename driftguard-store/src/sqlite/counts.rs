//! The record counts of the statistics (`drift_record_counts`, per cluster), kept by the store's own
//! writes in the transaction of each write.
//!
//! A record counts once in its status, and, when it has drift now, once in its severity
//! (if any), once per drift type, once in its namespace (`""` when cluster-scoped) and
//! once in its application: the breakdowns of `driftguard_core::stats::compute`. A save
//! reads the counted columns of each row it replaces (a primary-key lookup) and, where
//! they change, moves the record's counts; a prune subtracts what it deleted. The deltas
//! of a whole write are applied at its end, one upsert per changed count.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use driftguard_core::DriftRecord;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, Row};

use crate::error::{Error, Result};
use crate::sqlite::codec::RECORD_COLUMNS;

/// The counted columns of a stored record, in [`Counted::from_row`]'s order.
pub(crate) const COUNTED_COLUMNS: &str =
    "drift_status, drift_detected, severity, drift_types, namespace, application, cluster";

/// Where each of [`COUNTED_COLUMNS`] is in [`RECORD_COLUMNS`].
static POSITIONS: LazyLock<Vec<usize>> = LazyLock::new(|| {
    let columns: Vec<&str> = RECORD_COLUMNS.split(',').map(str::trim).collect();
    COUNTED_COLUMNS
        .split(',')
        .map(str::trim)
        .filter_map(|counted| columns.iter().position(|c| *c == counted))
        .collect()
});

/// What one record counts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Counted {
    status: String,
    drifted: bool,
    severity: Option<String>,
    types: Vec<String>,
    namespace: Option<String>,
    application: String,
    cluster: String,
}

impl Counted {
    /// What `record` counts for.
    pub(crate) fn of(record: &DriftRecord) -> Self {
        Self {
            status: record.drift_status.as_str().to_owned(),
            drifted: record.drift_detected,
            severity: record.severity.map(|s| s.as_str().to_owned()),
            types: record
                .drift_types
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            namespace: record.namespace.clone(),
            application: record.application.clone(),
            cluster: record.cluster.clone(),
        }
    }

    /// What a stored row counts for, from its [`COUNTED_COLUMNS`].
    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<Result<Self>> {
        let types: String = row.get(3)?;
        let types = match serde_json::from_str::<Vec<String>>(&types) {
            Ok(types) => types,
            Err(e) => {
                return Ok(Err(Error::Malformed {
                    what: "the drift types of a stored record".to_owned(),
                    reason: e.to_string(),
                }));
            }
        };
        Ok(Ok(Self {
            status: row.get(0)?,
            drifted: row.get(1)?,
            severity: row.get(2)?,
            types,
            namespace: row.get(4)?,
            application: row.get(5)?,
            cluster: row.get(6)?,
        }))
    }
}

/// The counts a write moves, applied at its end.
#[derive(Debug, Default)]
pub(crate) struct Deltas {
    changes: BTreeMap<(String, &'static str, String), i64>,
}

impl Deltas {
    /// Adds (`sign` 1) or removes (`sign` -1) what `counted` counts for.
    pub(crate) fn count(&mut self, counted: &Counted, sign: i64) {
        let mut add = |facet: &'static str, key: &str| {
            *self
                .changes
                .entry((counted.cluster.clone(), facet, key.to_owned()))
                .or_default() += sign;
        };
        add("status", &counted.status);
        if !counted.drifted {
            return;
        }
        if let Some(severity) = &counted.severity {
            add("severity", severity);
        }
        for drift_type in &counted.types {
            add("type", drift_type);
        }
        add("namespace", counted.namespace.as_deref().unwrap_or(""));
        add("application", &counted.application);
    }

    /// Moves the counts of a record about to be written over whatever row its id holds;
    /// `values` are the record's columns as it is written ([`RECORD_COLUMNS`] order).
    /// The stored counted columns are compared as they are, without decoding, since most
    /// saves change none of them.
    pub(crate) fn replace(
        &mut self,
        connection: &Connection,
        record: &DriftRecord,
        values: &[Value],
    ) -> Result<()> {
        let failed = |source| Error::Sqlite {
            operation: "saving records and events",
            source,
        };
        let positions = &*POSITIONS;
        let stored = connection
            .prepare_cached(&format!(
                "SELECT {COUNTED_COLUMNS} FROM drift_records WHERE cluster = ?1 AND resource_id = ?2"
            ))
            .and_then(|mut statement| {
                statement
                    .query_row((&record.cluster, record.resource_id.to_string()), |row| {
                        for (column, &position) in positions.iter().enumerate() {
                            let new = values.get(position).map(ValueRef::from);
                            if Some(row.get_ref(column)?) != new {
                                return Counted::from_row(row).map(Some);
                            }
                        }
                        Ok(None)
                    })
                    .optional()
            })
            .map_err(failed)?;
        match stored {
            Some(None) => {}
            Some(Some(stored)) => {
                self.count(&stored?, -1);
                self.count(&Counted::of(record), 1);
            }
            None => self.count(&Counted::of(record), 1),
        }
        Ok(())
    }

    /// Applies the deltas to `drift_record_counts`.
    pub(crate) fn apply(self, connection: &Connection, operation: &'static str) -> Result<()> {
        let failed = |source| Error::Sqlite { operation, source };
        let mut statement = connection
            .prepare_cached(
                "INSERT INTO drift_record_counts (cluster, facet, key, count)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (cluster, facet, key) DO UPDATE SET count = count + excluded.count",
            )
            .map_err(failed)?;
        for ((cluster, facet, key), delta) in self.changes {
            if delta != 0 {
                statement
                    .execute((cluster, facet, key, delta))
                    .map_err(failed)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counted_column_is_a_record_column() {
        assert_eq!(POSITIONS.len(), COUNTED_COLUMNS.split(',').count());
    }
}
