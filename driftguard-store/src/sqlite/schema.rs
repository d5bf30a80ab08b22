//! The SQLite schema and its migrations, versioned in code with `PRAGMA user_version`.
//!
//! Migration N (1-based) takes a file from version N-1 to N. A statement migration runs
//! in its own immediate transaction that re-reads the version first, so two processes
//! opening the same new file do not both apply it. A step that SQLite cannot run inside
//! a transaction (`VACUUM`) runs on its own, is idempotent, and the version is then
//! bumped in a transaction that re-reads it. Append new migrations; never edit applied
//! ones.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};
use crate::sqlite::{clusters, status, summaries};

/// One migration: statements run in a transaction, or a step run outside of one.
enum Migration {
    /// Statements applied in one immediate transaction.
    Statements(&'static str),
    /// A step that must run outside a transaction; running it twice is harmless.
    Step(fn(&Connection) -> rusqlite::Result<()>),
}

/// The migrations, oldest first.
const MIGRATIONS: &[Migration] = &[
    // 1: records, events and the indexes behind every listing and statistic.
    Migration::Statements(
        "CREATE TABLE drift_records (
        resource_id          TEXT PRIMARY KEY NOT NULL,
        api_version          TEXT NOT NULL,
        kind                 TEXT NOT NULL,
        namespace            TEXT,
        name                 TEXT NOT NULL,
        drift_detected       INTEGER NOT NULL CHECK (drift_detected IN (0, 1)),
        drift_status         TEXT NOT NULL CHECK (drift_status IN ('none', 'active', 'resolved')),
        severity             TEXT,
        drift_types          TEXT NOT NULL,
        drifts               TEXT NOT NULL,
        desired_hash         TEXT NOT NULL,
        live_hash            TEXT,
        last_known_good_hash TEXT,
        git_revision         TEXT,
        first_detected       INTEGER,
        last_detected        INTEGER,
        resolved_at          INTEGER,
        last_checked         INTEGER NOT NULL,
        resolution_message   TEXT,
        detection_count      INTEGER NOT NULL CHECK (detection_count >= 0)
    ) STRICT;
    CREATE INDEX drift_records_by_id_parts ON drift_records (kind, namespace, name);
    CREATE INDEX drift_records_by_namespace ON drift_records (namespace, kind, name);
    CREATE INDEX drift_records_by_status ON drift_records (drift_status, kind, namespace, name);
    CREATE INDEX drift_records_by_detected ON drift_records (drift_detected, kind, namespace, name);

    CREATE TABLE drift_events (
        seq          INTEGER PRIMARY KEY,
        resource_id  TEXT NOT NULL,
        kind         TEXT NOT NULL
                     CHECK (kind IN ('drift_detected', 'drift_changed', 'drift_resolved')),
        at           INTEGER NOT NULL,
        drift_types  TEXT NOT NULL,
        severity     TEXT,
        git_revision TEXT,
        message      TEXT NOT NULL
    ) STRICT;
    CREATE INDEX drift_events_by_resource ON drift_events (resource_id, at, seq);
    CREATE INDEX drift_events_by_time ON drift_events (at, seq);
    CREATE INDEX drift_events_by_kind ON drift_events (kind, resource_id);",
    ),
    // 2: the application that declares each resource. Rows written before applications
    // existed belong to `default`. One index serves listings of an application in
    // `ResourceId` order; one covers the counts per application and status (with the
    // drift types, so Missing records are counted from the index alone).
    Migration::Statements(
        "ALTER TABLE drift_records ADD COLUMN application TEXT NOT NULL DEFAULT 'default';
    ALTER TABLE drift_events ADD COLUMN application TEXT NOT NULL DEFAULT 'default';
    CREATE INDEX drift_records_by_application
        ON drift_records (application, kind, namespace, name);
    CREATE INDEX drift_records_by_application_status
        ON drift_records (application, drift_status, drift_types);",
    ),
    // 3: statistics from summaries that triggers keep (see `summaries`), filled from
    // what the file holds; and an index for pruning resolved records by age.
    Migration::Statements(summaries::MIGRATION),
    // 4: pages freed by pruning go back to the file system (`PRAGMA incremental_vacuum`
    // after each prune). Turning auto-vacuum on in a file that has tables takes one
    // `VACUUM`, which rewrites the file once.
    Migration::Step(incremental_auto_vacuum),
    // 5: records keyed by `(cluster, resource_id)`; events, statistics summaries and
    // their triggers per cluster. Existing rows belong to cluster `default`.
    Migration::Statements(clusters::MIGRATION),
    // 6: the status documents of clusters and their applications; record counts per
    // `(cluster, application)` from their own covering index.
    Migration::Statements(status::MIGRATION),
    // 7: the identity of each event's transition (`DriftEvent::key`); one event per
    // non-empty key, so a transition saved twice is stored once. Events stored before
    // keys existed have the empty key, which the unique index leaves out.
    Migration::Statements(
        "ALTER TABLE drift_events ADD COLUMN key TEXT NOT NULL DEFAULT '';
    CREATE UNIQUE INDEX drift_events_by_key ON drift_events (key) WHERE key <> '';",
    ),
    // 8: the id and cluster indexes hold the listing's whole order (`RECORD_ORDER` in
    // `queries`), so a page at any offset walks the index and needs no sort of what it
    // skips; records with a severity (those drifting now) get a partial index, so
    // severity lists and their totals read only those.
    Migration::Statements(
        "DROP INDEX drift_records_by_id_parts;
    CREATE INDEX drift_records_by_id_parts
        ON drift_records (kind, namespace, name, resource_id, cluster);
    DROP INDEX drift_records_by_cluster;
    CREATE INDEX drift_records_by_cluster
        ON drift_records (cluster, kind, namespace, name, resource_id);
    CREATE INDEX drift_records_by_severity
        ON drift_records (severity, cluster, kind, namespace, name)
        WHERE severity IS NOT NULL;",
    ),
];

/// `PRAGMA auto_vacuum` when it is `INCREMENTAL`.
const AUTO_VACUUM_INCREMENTAL: i64 = 2;

/// Turns on incremental auto-vacuum, rewriting the file when it was off.
fn incremental_auto_vacuum(connection: &Connection) -> rusqlite::Result<()> {
    let mode: i64 = connection.pragma_query_value(None, "auto_vacuum", |row| row.get(0))?;
    if mode != AUTO_VACUUM_INCREMENTAL {
        connection.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        connection.execute_batch("VACUUM")?;
    }
    Ok(())
}

/// The schema version this build writes.
pub(crate) fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the file up to [`current_version`]; refuses a file from a newer build.
pub(crate) fn migrate(connection: &mut Connection, path: &Path) -> Result<()> {
    let failed = |source| Error::SqliteOpen {
        path: path.to_owned(),
        source,
    };
    loop {
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        let version: i64 = transaction
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(failed)?;
        if version > current_version() {
            return Err(Error::SchemaTooNew {
                path: path.to_owned(),
                found: version,
                supported: current_version(),
            });
        }
        let Some(migration) = usize::try_from(version)
            .ok()
            .and_then(|v| MIGRATIONS.get(v))
        else {
            return Ok(());
        };
        match migration {
            Migration::Statements(statements) => {
                transaction.execute_batch(statements).map_err(failed)?;
            }
            Migration::Step(step) => {
                transaction.rollback().map_err(failed)?;
                step(connection).map_err(failed)?;
                let transaction = connection
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(failed)?;
                let now: i64 = transaction
                    .pragma_query_value(None, "user_version", |row| row.get(0))
                    .map_err(failed)?;
                if now == version {
                    transaction
                        .pragma_update(None, "user_version", version + 1)
                        .map_err(failed)?;
                    transaction.commit().map_err(failed)?;
                }
                continue;
            }
        }
        transaction
            .pragma_update(None, "user_version", version + 1)
            .map_err(failed)?;
        transaction.commit().map_err(failed)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_new_file_once_and_refuses_a_newer_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("drift.db");
        let mut connection = Connection::open(&path).expect("open");
        migrate(&mut connection, &path).expect("first migration");
        migrate(&mut connection, &path).expect("migrating again is a no-op");
        let version: i64 = connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .expect("version");
        assert_eq!(version, current_version());

        connection
            .pragma_update(None, "user_version", current_version() + 1)
            .expect("set version");
        let error = migrate(&mut connection, &path).expect_err("newer schema");
        assert!(
            error.to_string().contains("newer DriftGuard"),
            "unexpected message: {error}"
        );
    }
}
