//! How a save keeps each record together with its events: the two paths, the batch
//! both write, and the points between writes where tests make a save fail.
//!
//! A save must never store a record's new state without the events of that transition:
//! the next analysis compares against the stored record, so an event lost then is lost
//! for good. Two paths keep them together:
//!
//! - [`SavePath::Transaction`], on replica sets and sharded clusters: records and events
//!   are written in multi-document transactions (of at most [`TRANSACTION_RECORDS`]
//!   records each, with their events), committed or not at all
//!   ([`crate::mongo::transaction`]);
//! - [`SavePath::Outbox`], on a standalone server, which has no transactions: each record
//!   document is written together with its pending events (a single-document write is
//!   atomic everywhere); a second step copies them into `drift_events` and a third clears
//!   them ([`crate::mongo::outbox`]).
//!
//! Event `_id`s are ObjectIds made once per save, in the order of the events, and kept in
//! the outbox; copying the same pending events again (after a failure between the
//! second and third step, or by two deliveries at once) finds them there and stores
//! each once. Pending outboxes are delivered when the store starts and before every
//! save, event read, statistics and prune.
//!
//! Events of resources whose record is not in the same save (the detector never makes
//! them) have no record to travel with: they are inserted in the delivery step, and a
//! failure before it is reported to the caller.
//!
//! An event with a non-empty `key` (its transition's identity, uniquely indexed) whose
//! key is stored already is the same transition saved again (a retried save, or two
//! replicas that both analysed during a failover): it is not stored a second time. The
//! transaction path leaves such events out before inserting (a duplicate would abort
//! the transaction); the delivery of the outbox path inserts them all and passes over
//! the duplicates.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bson::Document;
use bson::oid::ObjectId;
use driftguard_core::{DriftEvent, DriftRecord, PortErrorKind};

use crate::error::{Error, Result};
use crate::mongo::documents;
use crate::mongo::writes::RecordWrite;
use crate::redact::redact_uri;

/// Most records (with their events) in one transaction: large analyses are committed in
/// several transactions, each keeping its records with their events, so none runs into
/// the server's transaction time limit.
pub(crate) const TRANSACTION_RECORDS: usize = 1_000;

/// How many times a save writes again records that hit a pending outbox (or a
/// transaction that failed transiently) before reporting a conflict.
pub(crate) const ATTEMPTS: usize = 5;

/// How a save keeps records and their events together.
///
/// Chosen from the server's `hello` when the store first reaches it; the store's
/// constructor can force one, which tests use against servers that describe themselves
/// otherwise.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SavePath {
    /// [`Transaction`](Self::Transaction) on a replica set member or a `mongos`,
    /// [`Outbox`](Self::Outbox) on a standalone server.
    #[default]
    Auto,
    /// Multi-document transactions.
    Transaction,
    /// Pending events in the record document, delivered in a second step.
    Outbox,
}

/// A point between two writes of a save.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveStep {
    /// Transaction: records written, events not yet.
    TransactionRecordsWritten,
    /// Transaction: records and events written, not yet committed.
    TransactionEventsWritten,
    /// Outbox: records written with their pending events, events not yet delivered.
    OutboxRecordsWritten,
    /// Outbox: events delivered to `drift_events`, outboxes not yet cleared.
    OutboxEventsDelivered,
}

/// Asked at each [`SaveStep`]; answering `true` fails the save there, as a crash or a
/// lost connection would.
#[doc(hidden)]
pub type SaveFault = Arc<dyn Fn(SaveStep) -> bool + Send + Sync>;

/// Fails with an `Unavailable` error when `fault` asks to fail at `step`.
pub(crate) fn checkpoint(fault: Option<&SaveFault>, step: SaveStep, uri: &str) -> Result<()> {
    match fault {
        Some(fault) if fault(step) => Err(Error::Mongo {
            operation: "saving records and events",
            uri: redact_uri(uri),
            message: format!("injected failure at {step:?}"),
            kind: PortErrorKind::Unavailable,
        }),
        _ => Ok(()),
    }
}

/// One record of a batch with the events of its resource.
pub(crate) struct RecordWithEvents {
    /// The record's document.
    pub(crate) record: RecordWrite,
    /// Its events' documents, each with its `_id`, in saved order.
    pub(crate) events: Vec<Document>,
}

/// One save, ready to write.
pub(crate) struct Batch {
    /// The records, each with the events of its resource.
    pub(crate) records: Vec<RecordWithEvents>,
    /// Events of resources whose record is not in the save.
    pub(crate) unattached: Vec<Document>,
}

impl Batch {
    /// The documents of `records` and `events`, each event with a new ObjectId (in the
    /// events' order) and placed with the last record of its resource.
    pub(crate) fn new(records: &[DriftRecord], events: &[DriftEvent]) -> Result<Self> {
        let mut batch = Self {
            records: Vec::with_capacity(records.len()),
            unattached: Vec::new(),
        };
        let mut position: HashMap<String, usize> = HashMap::with_capacity(records.len());
        for record in records {
            let resource_id = documents::record_key(&record.cluster, &record.resource_id);
            position.insert(resource_id.clone(), batch.records.len());
            batch.records.push(RecordWithEvents {
                record: RecordWrite {
                    resource_id,
                    document: documents::record_document(record)?,
                },
                events: Vec::new(),
            });
        }
        let mut keys: HashSet<&str> = HashSet::new();
        for event in events {
            // The same transition twice in one save is stored once.
            if !event.key.is_empty() && !keys.insert(event.key.as_str()) {
                continue;
            }
            let mut document = Document::new();
            document.insert("_id", ObjectId::new());
            document.extend(documents::event_document(event)?);
            match position.get(&documents::record_key(&event.cluster, &event.resource_id)) {
                Some(&index) => batch.records[index].events.push(document),
                None => batch.unattached.push(document),
            }
        }
        Ok(batch)
    }

    /// The batch cut into batches of at most `records` records each, with their events;
    /// the unattached events go with the last one.
    pub(crate) fn split(self, records: usize) -> Vec<Batch> {
        let mut parts = Vec::new();
        let mut rest = self.records.into_iter().peekable();
        while rest.peek().is_some() {
            parts.push(Batch {
                records: rest.by_ref().take(records.max(1)).collect(),
                unattached: Vec::new(),
            });
        }
        match parts.last_mut() {
            Some(last) => last.unattached = self.unattached,
            None => parts.push(Batch {
                records: Vec::new(),
                unattached: self.unattached,
            }),
        }
        parts
    }
}

/// The error of a save that kept finding pending outboxes on its records.
pub(crate) fn held_too_often(uri: &str, held: usize) -> Error {
    Error::Mongo {
        operation: "saving records",
        uri: redact_uri(uri),
        message: format!(
            "{held} records still held undelivered events after {ATTEMPTS} attempts; \
             another writer is saving the same records"
        ),
        kind: PortErrorKind::Conflict,
    }
}
