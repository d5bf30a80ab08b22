//! The transaction path: records and their events in multi-document transactions, on
//! replica sets and sharded clusters.
//!
//! A save is cut into transactions of at most [`TRANSACTION_RECORDS`] records, each with
//! its events, so each record is committed together with its events or not at all.
//! Events whose transition `key` is stored already (the same transition saved again)
//! are looked up in the transaction and left out; a write error would abort it. A
//! transaction that fails transiently (a write conflict, an election, a lost connection
//! before the commit) is run again; a commit whose outcome stays unknown is reported,
//! never run again, since it may have been applied.

use mongodb::ClientSession;
use mongodb::error::UNKNOWN_TRANSACTION_COMMIT_RESULT;

use crate::error::{Error, Result};
use crate::mongo::failure::failure;
use crate::mongo::outbox::drain;
use crate::mongo::save::{
    ATTEMPTS, Batch, SaveFault, SaveStep, TRANSACTION_RECORDS, checkpoint, held_too_often,
};
use crate::mongo::writes::{BulkWriteMode, Writer};
use driftguard_core::PortErrorKind;

/// How one transaction ended, when it did not commit.
enum Abandoned {
    /// Some records hold outboxes of the outbox path: deliver them and run it again.
    Held(usize),
    /// Nothing was committed and running it again may work.
    Transient(Error),
    /// Report this.
    Failed(Error),
}

/// Saves `batch` in transactions.
pub(crate) async fn save(
    writer: &Writer<'_>,
    mode: BulkWriteMode,
    batch: Batch,
    fault: Option<&SaveFault>,
) -> Result<()> {
    // Outboxes left by the outbox path (a forced path, a server that was standalone).
    drain(writer, fault).await?;
    let mut session = writer
        .client
        .start_session()
        .await
        .map_err(|e| failure("starting a session", writer.uri, &e))?;
    for part in batch.split(TRANSACTION_RECORDS) {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = commit_one(writer, mode, &part, &mut session, fault).await;
            match outcome {
                Ok(()) => break,
                Err(Abandoned::Held(_)) if attempt < ATTEMPTS => {
                    drain(writer, fault).await?;
                }
                Err(Abandoned::Held(held)) => return Err(held_too_often(writer.uri, held)),
                Err(Abandoned::Transient(error)) if attempt < ATTEMPTS => {
                    tracing::debug!(%error, attempt, "transaction failed transiently; running it again");
                }
                Err(Abandoned::Transient(error) | Abandoned::Failed(error)) => return Err(error),
            }
        }
    }
    Ok(())
}

/// Runs one transaction writing `part`.
async fn commit_one(
    writer: &Writer<'_>,
    mode: BulkWriteMode,
    part: &Batch,
    session: &mut ClientSession,
    fault: Option<&SaveFault>,
) -> std::result::Result<(), Abandoned> {
    session
        .start_transaction()
        .await
        .map_err(|e| Abandoned::Failed(failure("starting a transaction", writer.uri, &e)))?;
    let written = write(writer, mode, part, session, fault).await;
    if let Err(abandoned) = written {
        // Nothing is committed; a failed abort leaves the server to time it out.
        let _ = session.abort_transaction().await;
        return Err(abandoned);
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match session.commit_transaction().await {
            Ok(()) => return Ok(()),
            Err(error)
                if error.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)
                    && attempt < ATTEMPTS => {}
            Err(error) => {
                let failed = failure("committing records and events", writer.uri, &error);
                return Err(
                    if error.contains_label(mongodb::error::TRANSIENT_TRANSACTION_ERROR) {
                        Abandoned::Transient(failed)
                    } else {
                        Abandoned::Failed(failed)
                    },
                );
            }
        }
    }
}

/// The writes of one transaction.
async fn write(
    writer: &Writer<'_>,
    mode: BulkWriteMode,
    part: &Batch,
    session: &mut ClientSession,
    fault: Option<&SaveFault>,
) -> std::result::Result<(), Abandoned> {
    let records: Vec<_> = part.records.iter().map(|r| &r.record).collect();
    let held = writer
        .replace_records(mode, &records, Some(&mut *session))
        .await
        .map_err(classify)?;
    if !held.is_empty() {
        return Err(Abandoned::Held(held.len()));
    }
    checkpoint(fault, SaveStep::TransactionRecordsWritten, writer.uri)
        .map_err(Abandoned::Failed)?;
    let events: Vec<_> = part
        .records
        .iter()
        .flat_map(|r| r.events.iter().cloned())
        .chain(part.unattached.iter().cloned())
        .collect();
    let events = writer
        .unstored_events(events, Some(&mut *session))
        .await
        .map_err(classify)?;
    writer
        .insert_events(&events, Some(&mut *session))
        .await
        .map_err(|error| match error.kind() {
            // Another writer stored one of these transitions since they were looked up:
            // run the transaction again, which leaves it out.
            PortErrorKind::Conflict => Abandoned::Transient(error),
            _ => classify(error),
        })?;
    checkpoint(fault, SaveStep::TransactionEventsWritten, writer.uri).map_err(Abandoned::Failed)
}

/// A write failed inside a transaction, which the server then aborts: worth running
/// again when the failure is of the passing kind.
fn classify(error: Error) -> Abandoned {
    if error.kind() == PortErrorKind::Unavailable {
        Abandoned::Transient(error)
    } else {
        Abandoned::Failed(error)
    }
}
