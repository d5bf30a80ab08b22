//! The outbox path: each record document carries the events of its save until they are
//! delivered to `drift_events`, so that on a server without transactions a record's new
//! state is never stored without its events.
//!
//! 1. Pending outboxes of earlier saves are delivered ([`drain`]).
//! 2. Each record document is written whole, with `outbox_events` (its events, each with
//!    its `_id`) and `outbox_token` (a new ObjectId's hex text, naming this outbox; text,
//!    which every server of the wire-protocol family matches alike) when it has events.
//!    A replacement never overwrites a document that still holds an outbox (see
//!    [`crate::mongo::writes`]): such records are delivered first and written again.
//! 3. The events are inserted into `drift_events` with their `_id`s; those already there
//!    are left alone.
//! 4. Each outbox is removed, only while the record still holds the same token.
//!
//! A failure after step 2 leaves outboxes that the next drain delivers (at start-up,
//! before each save, event read, statistics and prune); a failure after step 3 leaves
//! outboxes whose events are already stored, and delivering them again stores nothing
//! twice. Records are read without these two fields.

use bson::oid::ObjectId;
use bson::{Bson, Document, doc};
use futures_util::TryStreamExt;

use crate::error::{Error, Result};
use crate::mongo::failure::failure;
use crate::mongo::save::{ATTEMPTS, Batch, SaveFault, SaveStep, checkpoint, held_too_often};
use crate::mongo::writes::{BulkWriteMode, Delivered, RecordWrite, Writer};

/// The field of a record document holding its pending events.
pub(crate) const OUTBOX_EVENTS: &str = "outbox_events";
/// The field of a record document naming its pending outbox; present only while there
/// is one (sparsely indexed, so pending outboxes are found without a scan).
pub(crate) const OUTBOX_TOKEN: &str = "outbox_token";

/// Outboxes delivered per round trip when draining.
const DRAIN_PAGE: usize = 1_000;

/// A record's pending events, as written or as found.
pub(crate) struct Outbox {
    /// The record's `_id`.
    pub(crate) resource_id: String,
    /// The token the outbox was written with.
    pub(crate) token: String,
    /// The events, each with its `_id`.
    pub(crate) events: Vec<Document>,
}

/// The projection that leaves the outbox out of a record document.
pub(crate) fn without_outbox() -> Document {
    doc! { OUTBOX_EVENTS: 0, OUTBOX_TOKEN: 0 }
}

/// Saves `batch` through outboxes.
pub(crate) async fn save(
    writer: &Writer<'_>,
    mode: BulkWriteMode,
    batch: Batch,
    fault: Option<&SaveFault>,
) -> Result<()> {
    drain(writer, fault).await?;
    let mut writes = Vec::with_capacity(batch.records.len());
    let mut outboxes = Vec::new();
    for item in batch.records {
        let mut record = item.record;
        if !item.events.is_empty() {
            let token = ObjectId::new().to_hex();
            record.document.insert(OUTBOX_TOKEN, token.as_str());
            record.document.insert(
                OUTBOX_EVENTS,
                item.events
                    .iter()
                    .cloned()
                    .map(Bson::Document)
                    .collect::<Vec<_>>(),
            );
            outboxes.push(Outbox {
                resource_id: record.resource_id.clone(),
                token,
                events: item.events,
            });
        }
        writes.push(record);
    }
    write_records(writer, mode, writes, fault).await?;
    checkpoint(fault, SaveStep::OutboxRecordsWritten, writer.uri)?;
    deliver(writer, outboxes, batch.unattached, fault).await
}

/// Writes `records`; those that hit an outbox left pending (by a save that failed, or
/// one running at the same time) are written again once it is delivered.
async fn write_records(
    writer: &Writer<'_>,
    mode: BulkWriteMode,
    mut records: Vec<RecordWrite>,
    fault: Option<&SaveFault>,
) -> Result<()> {
    for _ in 0..ATTEMPTS {
        let writes: Vec<&RecordWrite> = records.iter().collect();
        let held = writer.replace_records(mode, &writes, None).await?;
        if held.is_empty() {
            return Ok(());
        }
        drain(writer, fault).await?;
        let mut index = 0;
        records.retain(|_| {
            let keep = held.binary_search(&index).is_ok();
            index += 1;
            keep
        });
    }
    Err(held_too_often(writer.uri, records.len()))
}

/// Inserts the events of `outboxes` and the `unattached` events, then clears the
/// outboxes.
async fn deliver(
    writer: &Writer<'_>,
    outboxes: Vec<Outbox>,
    unattached: Vec<Document>,
    fault: Option<&SaveFault>,
) -> Result<()> {
    let mut events = unattached;
    let mut delivered = Vec::with_capacity(outboxes.len());
    for outbox in outboxes {
        events.extend(outbox.events);
        delivered.push(Delivered {
            resource_id: outbox.resource_id,
            token: outbox.token,
        });
    }
    writer.insert_events(&events, None).await?;
    checkpoint(fault, SaveStep::OutboxEventsDelivered, writer.uri)?;
    writer.clear_outboxes(&delivered).await
}

/// Delivers every outbox pending when it starts; returns how many it delivered.
pub(crate) async fn drain(writer: &Writer<'_>, fault: Option<&SaveFault>) -> Result<usize> {
    let operation = "delivering pending events";
    let mut cursor = writer
        .records
        .find(doc! { OUTBOX_TOKEN: { "$exists": true } })
        .projection(doc! { OUTBOX_TOKEN: 1, OUTBOX_EVENTS: 1 })
        .await
        .map_err(|e| failure(operation, writer.uri, &e))?;
    let mut page = Vec::new();
    let mut count = 0;
    while let Some(document) = cursor
        .try_next()
        .await
        .map_err(|e| failure(operation, writer.uri, &e))?
    {
        page.push(outbox_from_document(&document)?);
        if page.len() == DRAIN_PAGE {
            count += page.len();
            deliver(writer, std::mem::take(&mut page), Vec::new(), fault).await?;
        }
    }
    count += page.len();
    if !page.is_empty() {
        deliver(writer, page, Vec::new(), fault).await?;
    }
    if count > 0 {
        tracing::info!(
            records = count,
            "delivered events left pending by an earlier save"
        );
    }
    Ok(count)
}

/// The outbox a record document holds.
fn outbox_from_document(document: &Document) -> Result<Outbox> {
    let resource_id = document
        .get_str("_id")
        .map(str::to_owned)
        .unwrap_or_else(|_| "<without a text _id>".to_owned());
    let malformed = |reason: &str| Error::Malformed {
        what: format!("pending events of record {resource_id}"),
        reason: reason.to_owned(),
    };
    let token = document
        .get_str(OUTBOX_TOKEN)
        .map_err(|_| malformed("`outbox_token` is not text"))?
        .to_owned();
    let events = match document.get(OUTBOX_EVENTS) {
        None | Some(Bson::Null) => Vec::new(),
        Some(Bson::Array(events)) => events
            .iter()
            .map(|event| {
                event
                    .as_document()
                    .cloned()
                    .ok_or_else(|| malformed("an event is not a document"))
            })
            .collect::<Result<Vec<_>>>()?,
        Some(_) => return Err(malformed("`outbox_events` is not a list")),
    };
    Ok(Outbox {
        resource_id,
        token,
        events,
    })
}
