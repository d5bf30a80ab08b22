//! Deleting what retention no longer keeps, and giving the space back.
//!
//! Deletes run in chunks of [`CHUNK`] rows, each its own transaction, so a first prune
//! of a large, old file neither holds the writer for long nor grows the WAL by the size
//! of everything it deletes. Each chunk keeps the statistics' summaries in step before it
//! commits: deleted records leave the record counts, and the episodes of the resources
//! it deleted events of are recounted.
//! Afterwards
//! `PRAGMA incremental_vacuum` returns the freed pages (the file has incremental
//! auto-vacuum since schema version 4) and a passive checkpoint lets the file shrink
//! without waiting for readers.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior};

use crate::error::{Error, Result};
use crate::sqlite::counts::{COUNTED_COLUMNS, Counted, Deltas};
use crate::sqlite::queries::bound;
use crate::sqlite::summaries::{FORGET_SILENT_RESOURCES, RECOUNT_STALE};

/// Rows deleted per transaction.
pub(crate) const CHUNK: i64 = 10_000;

/// Deletes up to [`CHUNK`] events older than `before`, then recounts the episodes of
/// their resources; returns how many it deleted.
pub(crate) fn events_chunk(connection: &mut Connection, before: DateTime<Utc>) -> Result<u64> {
    let failed = |source| Error::Sqlite {
        operation: "pruning events",
        source,
    };
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(failed)?;
    let deleted = transaction
        .prepare_cached(
            "DELETE FROM drift_events WHERE seq IN (
                 SELECT seq FROM drift_events WHERE at < ?1 ORDER BY at LIMIT ?2
             )",
        )
        .and_then(|mut statement| statement.execute((bound(before), CHUNK)))
        .map_err(failed)?;
    transaction.execute(RECOUNT_STALE, []).map_err(failed)?;
    transaction.commit().map_err(failed)?;
    Ok(deleted as u64)
}

/// Deletes up to [`CHUNK`] resolved records resolved before `before`, taking them out of
/// the record counts; returns how many it deleted. Reads them by the partial index on
/// `resolved_at`.
pub(crate) fn records_chunk(connection: &mut Connection, before: DateTime<Utc>) -> Result<u64> {
    let failed = |source| Error::Sqlite {
        operation: "pruning resolved records",
        source,
    };
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(failed)?;
    let mut deltas = Deltas::default();
    let mut deleted = 0;
    {
        let mut statement = transaction
            .prepare_cached(&format!(
                "DELETE FROM drift_records WHERE rowid IN (
                     SELECT rowid FROM drift_records
                     WHERE drift_status = 'resolved' AND resolved_at < ?1
                     LIMIT ?2
                 )
                 RETURNING {COUNTED_COLUMNS}"
            ))
            .map_err(failed)?;
        let rows = statement
            .query_map((bound(before), CHUNK), Counted::from_row)
            .map_err(failed)?;
        for row in rows {
            deltas.count(&row.map_err(failed)??, -1);
            deleted += 1;
        }
    }
    deltas.apply(&transaction, "pruning resolved records")?;
    transaction.commit().map_err(failed)?;
    Ok(deleted)
}

/// Forgets resources left without events, returns free pages to the file system, and
/// checkpoints the WAL so the file itself shrinks.
pub(crate) fn reclaim(connection: &mut Connection) -> Result<()> {
    let failed = |source| Error::Sqlite {
        operation: "reclaiming space after pruning",
        source,
    };
    connection
        .execute(FORGET_SILENT_RESOURCES, [])
        .map_err(failed)?;
    // Each step of the statement frees one page: run it to the end.
    connection
        .prepare("PRAGMA incremental_vacuum")
        .and_then(|mut statement| {
            let mut rows = statement.query([])?;
            while rows.next()?.is_some() {}
            Ok(())
        })
        .map_err(failed)?;
    // PASSIVE: copies what it can without waiting for readers; a busy reader only
    // delays the shrinking to a later checkpoint.
    connection
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
        .map_err(failed)
}
