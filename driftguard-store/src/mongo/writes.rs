//! Saving one analysis in as few round trips as the server allows.
//!
//! Records are replaced whole (upsert by `_id`, which is the `resource_id`), events
//! inserted; records go
//! first, so a batch that fails half-way loses events rather than duplicating them on
//! the next analysis. Without transactions a batch is not atomic: a failed save may have
//! written part of it, and the next analysis rewrites every record it touches.

use bson::{Document, doc};
use mongodb::options::{InsertOneModel, ReplaceOneModel, WriteModel};
use mongodb::{Client, Collection, Database, Namespace};

use crate::error::{Error, Result};
use crate::mongo::failure::{failure, write_errors};

/// The first wire version of MongoDB 8.0, which has the client-level `bulkWrite` command.
pub(crate) const CLIENT_BULK_WRITE_WIRE_VERSION: i64 = 25;

/// Most bytes of updates in one `update` command: half of MongoDB's 16 MiB document
/// limit, leaving room for the command itself.
const UPDATE_COMMAND_BYTES: usize = 8 * 1024 * 1024;

/// Most statements in one `update` command.
const UPDATE_COMMAND_STATEMENTS: usize = 10_000;

/// How a save reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BulkWriteMode {
    /// [`ClientBulkWrite`](Self::ClientBulkWrite) when the server has it (MongoDB 8.0 and
    /// later), else [`CollectionCommands`](Self::CollectionCommands); decided when the
    /// store first reaches the server.
    #[default]
    Auto,
    /// One client-level `bulkWrite` command carrying the record upserts and the event
    /// inserts (the driver splits it only past 100,000 operations or 48 MB).
    ClientBulkWrite,
    /// An `update` command with many upserts (split every 10,000 records or 8 MiB) for
    /// the records, then one `insert` command for the events: two round trips for a
    /// typical analysis, on any MongoDB.
    CollectionCommands,
}

/// One record to upsert: its id and its whole document.
pub(crate) struct RecordWrite {
    /// The `resource_id`, which is also the document's `_id`: the upsert matches on it.
    pub(crate) resource_id: String,
    /// The replacement document.
    pub(crate) document: Document,
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

impl Writer<'_> {
    /// Writes one batch in `mode` (never [`BulkWriteMode::Auto`] here).
    pub(crate) async fn save(
        &self,
        mode: BulkWriteMode,
        records: Vec<RecordWrite>,
        events: Vec<Document>,
    ) -> Result<()> {
        match mode {
            BulkWriteMode::ClientBulkWrite | BulkWriteMode::Auto => {
                self.client_bulk_write(records, events).await
            }
            BulkWriteMode::CollectionCommands => self.collection_commands(records, events).await,
        }
    }

    async fn client_bulk_write(
        &self,
        records: Vec<RecordWrite>,
        events: Vec<Document>,
    ) -> Result<()> {
        let database = self.database.name();
        let records_namespace = Namespace::new(database, self.records.name());
        let events_namespace = Namespace::new(database, self.events.name());
        let mut models: Vec<WriteModel> = Vec::with_capacity(records.len() + events.len());
        for record in records {
            models.push(
                ReplaceOneModel::builder()
                    .namespace(records_namespace.clone())
                    .filter(doc! { "_id": record.resource_id })
                    .replacement(record.document)
                    .upsert(true)
                    .build()
                    .into(),
            );
        }
        for event in events {
            models.push(
                InsertOneModel::builder()
                    .namespace(events_namespace.clone())
                    .document(event)
                    .build()
                    .into(),
            );
        }
        self.client
            .bulk_write(models)
            .ordered(true)
            .await
            .map(|_| ())
            .map_err(|e| failure("saving records and events", self.uri, &e))
    }

    async fn collection_commands(
        &self,
        records: Vec<RecordWrite>,
        events: Vec<Document>,
    ) -> Result<()> {
        let mut batch: Vec<Document> = Vec::new();
        let mut batch_bytes = 0;
        for record in records {
            let update = doc! {
                "q": { "_id": record.resource_id },
                "u": record.document,
                "upsert": true,
            };
            let bytes = encoded_len(&update)?;
            if !batch.is_empty()
                && (batch_bytes + bytes > UPDATE_COMMAND_BYTES
                    || batch.len() == UPDATE_COMMAND_STATEMENTS)
            {
                self.run_update(std::mem::take(&mut batch)).await?;
                batch_bytes = 0;
            }
            batch_bytes += bytes;
            batch.push(update);
        }
        if !batch.is_empty() {
            self.run_update(batch).await?;
        }
        if !events.is_empty() {
            self.events
                .insert_many(events)
                .ordered(true)
                .await
                .map_err(|e| failure("saving events", self.uri, &e))?;
        }
        Ok(())
    }

    async fn run_update(&self, updates: Vec<Document>) -> Result<()> {
        let reply = self
            .database
            .run_command(doc! {
                "update": self.records.name(),
                "updates": updates,
                "ordered": true,
            })
            .await
            .map_err(|e| failure("saving records", self.uri, &e))?;
        if let Ok(errors) = reply.get_array("writeErrors")
            && let Some(first) = errors.first().and_then(|e| e.as_document())
        {
            let code = first.get_i32("code").unwrap_or_default();
            let message = first.get_str("errmsg").unwrap_or("unknown write error");
            return Err(write_errors("saving records", self.uri, code, message));
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
