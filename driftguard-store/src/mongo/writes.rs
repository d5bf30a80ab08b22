//! The writes a save is made of, in as few round trips as the server allows, inside a
//! transaction or not: record replacements that never overwrite a pending outbox, event
//! inserts that ignore events already there (by `_id` or by transition `key`), and the
//! clearing of delivered outboxes.
//!
//! A record document is replaced whole (matched by `_id`, which is the `resource_id`),
//! but only while it holds no pending outbox (see [`crate::mongo::outbox`]): the
//! replacement's filter asks for `outbox_token` to be absent, so against a document with
//! one the upsert tries to insert a second document with the same `_id` and fails with a
//! duplicate key. The writer reports those records instead of failing; the caller
//! delivers their outboxes and writes them again.

use std::collections::HashSet;

use bson::{Document, doc};
use futures_util::TryStreamExt;
use mongodb::error::ErrorKind;
use mongodb::options::{ReplaceOneModel, WriteModel};
use mongodb::{Client, ClientSession, Collection, Database, Namespace};

use crate::error::{Error, Result};
use crate::mongo::failure::{DUPLICATE_KEY, failure, write_errors};
use crate::mongo::outbox::{OUTBOX_EVENTS, OUTBOX_TOKEN};

/// The field of an event document holding its transition's key, when it has one.
pub(crate) const EVENT_KEY: &str = "key";

/// The first wire version of MongoDB 8.0, which has the client-level `bulkWrite` command.
pub(crate) const CLIENT_BULK_WRITE_WIRE_VERSION: i64 = 25;

/// Most bytes of statements in one `update` command: half of MongoDB's 16 MiB document
/// limit, leaving room for the command itself.
const UPDATE_COMMAND_BYTES: usize = 8 * 1024 * 1024;

/// Most statements in one `update` command.
const UPDATE_COMMAND_STATEMENTS: usize = 10_000;

/// How record replacements reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BulkWriteMode {
    /// [`ClientBulkWrite`](Self::ClientBulkWrite) when the server has it (MongoDB 8.0 and
    /// later), else [`CollectionCommands`](Self::CollectionCommands); decided when the
    /// store first reaches the server.
    #[default]
    Auto,
    /// One client-level `bulkWrite` command carrying the record replacements (the driver
    /// splits it only past 100,000 operations or 48 MB).
    ClientBulkWrite,
    /// An `update` command with many replacements (split every 10,000 records or
    /// 8 MiB), on any MongoDB.
    CollectionCommands,
}

/// One record to write: its id and its whole document (with its outbox, if any).
#[derive(Debug, Clone)]
pub(crate) struct RecordWrite {
    /// The record's key ([`crate::mongo::documents::record_key`]), which is the document's
    /// `_id`: the upsert matches on it.
    pub(crate) resource_id: String,
    /// The replacement document.
    pub(crate) document: Document,
}

/// An outbox delivered: the record holding it and the token it was written with.
pub(crate) struct Delivered {
    /// The record's `_id`.
    pub(crate) resource_id: String,
    /// The outbox's token; the outbox is cleared only while the record still holds it.
    pub(crate) token: String,
}

/// Where and how to write.
pub(crate) struct Writer<'a> {
    pub(crate) client: &'a Client,
    pub(crate) database: &'a Database,
    pub(crate) records: &'a Collection<Document>,
    pub(crate) events: &'a Collection<Document>,
    /// The URI, for scrubbing messages.
    pub(crate) uri: &'a str,
}

/// The filter of a record replacement: this `_id`, and no pending outbox.
fn replacement_filter(resource_id: &str) -> Document {
    doc! { "_id": resource_id, OUTBOX_TOKEN: { "$exists": false } }
}

impl Writer<'_> {
    /// Replaces (or inserts) `records` in `mode` (never [`BulkWriteMode::Auto`] here), in
    /// `session` when given. Returns the positions in `records` of those not written
    /// because their stored document holds a pending outbox.
    pub(crate) async fn replace_records(
        &self,
        mode: BulkWriteMode,
        records: &[&RecordWrite],
        session: Option<&mut ClientSession>,
    ) -> Result<Vec<usize>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        match mode {
            BulkWriteMode::ClientBulkWrite | BulkWriteMode::Auto => {
                self.client_bulk_write(records, session).await
            }
            BulkWriteMode::CollectionCommands => self.update_commands(records, session).await,
        }
    }

    async fn client_bulk_write(
        &self,
        records: &[&RecordWrite],
        session: Option<&mut ClientSession>,
    ) -> Result<Vec<usize>> {
        let namespace = Namespace::new(self.database.name(), self.records.name());
        let models: Vec<WriteModel> = records
            .iter()
            .map(|record| {
                ReplaceOneModel::builder()
                    .namespace(namespace.clone())
                    .filter(replacement_filter(&record.resource_id))
                    .replacement(record.document.clone())
                    .upsert(true)
                    .build()
                    .into()
            })
            .collect();
        let action = self.client.bulk_write(models).ordered(false);
        let result = match session {
            Some(session) => action.session(session).await.map(|_| ()),
            None => action.await.map(|_| ()),
        };
        let error = match result {
            Ok(()) => return Ok(Vec::new()),
            Err(error) => error,
        };
        if let ErrorKind::BulkWrite(bulk) = error.kind.as_ref()
            && bulk.write_concern_errors.is_empty()
            && !bulk.write_errors.is_empty()
            && bulk.write_errors.values().all(|e| e.code == DUPLICATE_KEY)
        {
            let mut held: Vec<usize> = bulk.write_errors.keys().copied().collect();
            held.sort_unstable();
            return Ok(held);
        }
        Err(failure("saving records", self.uri, &error))
    }

    async fn update_commands(
        &self,
        records: &[&RecordWrite],
        mut session: Option<&mut ClientSession>,
    ) -> Result<Vec<usize>> {
        let mut held = Vec::new();
        let mut batch: Vec<Document> = Vec::new();
        let mut batch_start = 0;
        let mut batch_bytes = 0;
        for (index, record) in records.iter().enumerate() {
            let statement = doc! {
                "q": replacement_filter(&record.resource_id),
                "u": record.document.clone(),
                "upsert": true,
            };
            let bytes = encoded_len(&statement)?;
            if !batch.is_empty()
                && (batch_bytes + bytes > UPDATE_COMMAND_BYTES
                    || batch.len() == UPDATE_COMMAND_STATEMENTS)
            {
                let statements = std::mem::take(&mut batch);
                for position in self
                    .run_update("saving records", statements, session.as_deref_mut())
                    .await?
                {
                    held.push(batch_start + position);
                }
                batch_start = index;
                batch_bytes = 0;
            }
            batch_bytes += bytes;
            batch.push(statement);
        }
        if !batch.is_empty() {
            for position in self.run_update("saving records", batch, session).await? {
                held.push(batch_start + position);
            }
        }
        Ok(held)
    }

    /// Runs one unordered `update` command on the records; returns the positions of
    /// statements that failed with a duplicate key, fails on any other write error.
    async fn run_update(
        &self,
        operation: &'static str,
        statements: Vec<Document>,
        session: Option<&mut ClientSession>,
    ) -> Result<Vec<usize>> {
        let command = doc! {
            "update": self.records.name(),
            "updates": statements,
            "ordered": false,
        };
        let action = self.database.run_command(command);
        let reply = match session {
            Some(session) => action.session(session).await,
            None => action.await,
        }
        .map_err(|e| failure(operation, self.uri, &e))?;
        let mut duplicates = Vec::new();
        if let Ok(errors) = reply.get_array("writeErrors") {
            for error in errors.iter().filter_map(|e| e.as_document()) {
                let code = error.get_i32("code").unwrap_or_default();
                if code != DUPLICATE_KEY {
                    let message = error.get_str("errmsg").unwrap_or("unknown write error");
                    return Err(write_errors(operation, self.uri, code, message));
                }
                let index = error
                    .get_i32("index")
                    .ok()
                    .and_then(|i| usize::try_from(i).ok())
                    .ok_or_else(|| Error::Malformed {
                        what: format!("the server's answer to {operation}"),
                        reason: "a write error without an index".to_owned(),
                    })?;
                duplicates.push(index);
            }
        }
        Ok(duplicates)
    }

    /// Inserts events with the `_id`s they carry, in `session` when given.
    ///
    /// Outside a session, events already there are left as they are: a duplicate `_id`
    /// (a delivery repeated after a failure) or a duplicate `key` (the same transition
    /// saved again), so delivering the same events twice stores them once. In a session
    /// (a transaction, which any write error aborts) a duplicate fails with a conflict:
    /// callers leave out the events already stored first ([`Self::unstored_events`]).
    pub(crate) async fn insert_events(
        &self,
        events: &[Document],
        session: Option<&mut ClientSession>,
    ) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let action = self.events.insert_many(events).ordered(false);
        let in_session = session.is_some();
        let result = match session {
            Some(session) => action.session(session).await.map(|_| ()),
            None => action.await.map(|_| ()),
        };
        let Err(error) = result else {
            return Ok(());
        };
        if !in_session
            && let ErrorKind::InsertMany(insert) = error.kind.as_ref()
            && insert.write_concern_error.is_none()
            && insert
                .write_errors
                .iter()
                .flatten()
                .all(|e| e.code == DUPLICATE_KEY)
        {
            return Ok(());
        }
        Err(failure("saving events", self.uri, &error))
    }

    /// `events` without those whose `key` is stored already (in `session` when given, so
    /// a transaction sees its own snapshot). Events without a key are all kept.
    pub(crate) async fn unstored_events(
        &self,
        events: Vec<Document>,
        session: Option<&mut ClientSession>,
    ) -> Result<Vec<Document>> {
        let keys: Vec<&str> = events
            .iter()
            .filter_map(|event| event.get_str(EVENT_KEY).ok())
            .filter(|key| !key.is_empty())
            .collect();
        if keys.is_empty() {
            return Ok(events);
        }
        let operation = "saving events (looking up stored keys)";
        // `$gt: ""` repeats the index's partial filter, so the index serves the query.
        let find = self
            .events
            .find(doc! { EVENT_KEY: { "$in": &keys, "$gt": "" } })
            .projection(doc! { "_id": 0, EVENT_KEY: 1 });
        let found: Vec<Document> = match session {
            Some(session) => {
                let mut cursor = find
                    .session(&mut *session)
                    .await
                    .map_err(|e| failure(operation, self.uri, &e))?;
                cursor
                    .stream(session)
                    .try_collect()
                    .await
                    .map_err(|e| failure(operation, self.uri, &e))?
            }
            None => find
                .await
                .map_err(|e| failure(operation, self.uri, &e))?
                .try_collect()
                .await
                .map_err(|e| failure(operation, self.uri, &e))?,
        };
        let stored: HashSet<String> = found
            .iter()
            .filter_map(|document| document.get_str(EVENT_KEY).ok())
            .map(str::to_owned)
            .collect();
        if stored.is_empty() {
            return Ok(events);
        }
        Ok(events
            .into_iter()
            .filter(|event| match event.get_str(EVENT_KEY) {
                Ok(key) => !stored.contains(key),
                Err(_) => true,
            })
            .collect())
    }

    /// Clears the delivered outboxes: removes each record's pending events, as long as the
    /// record still holds the outbox of that token (else another delivery cleared it).
    pub(crate) async fn clear_outboxes(&self, delivered: &[Delivered]) -> Result<()> {
        for chunk in delivered.chunks(UPDATE_COMMAND_STATEMENTS) {
            let statements: Vec<Document> = chunk
                .iter()
                .map(|outbox| {
                    doc! {
                        "q": { "_id": &outbox.resource_id, OUTBOX_TOKEN: &outbox.token },
                        "u": { "$unset": { OUTBOX_TOKEN: "", OUTBOX_EVENTS: "" } },
                    }
                })
                .collect();
            let duplicates = self
                .run_update("clearing delivered events", statements, None)
                .await?;
            if !duplicates.is_empty() {
                return Err(Error::Malformed {
                    what: "the server's answer to clearing delivered events".to_owned(),
                    reason: "a duplicate key from an update without upsert".to_owned(),
                });
            }
        }
        Ok(())
    }
}

fn encoded_len(document: &Document) -> Result<usize> {
    bson::serialize_to_vec(document)
        .map(|bytes| bytes.len())
        .map_err(|e| Error::Unstorable {
            what: "a record".to_owned(),
            reason: e.to_string(),
        })
}
