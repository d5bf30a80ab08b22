//! The production store: MongoDB (6.0 or later), with the official driver.
//!
//! - Database `database.name`; collections `drift_records` (one document per resource,
//!   its `_id` and its uniquely indexed `resource_id` both the resource id) and
//!   `drift_events` (append-only);
//! - indexes created when the store first reaches the server, idempotently;
//! - statistics and counts per application as aggregation pipelines; saves as bulk
//!   writes ([`BulkWriteMode`]);
//! - no transactions and no change streams, so any server speaking the wire protocol
//!   with these commands will do.
//!
//! # A server that is down
//!
//! [`MongoStore::new`] checks the URI and returns at once, without contacting the server.
//! Every call first makes sure the store is *prepared* (client created, indexes in
//! place); while the server cannot be reached within `connect_timeout`, calls fail with
//! [`PortErrorKind::Unavailable`] and the
//! next call tries again. Once prepared, the driver reconnects by itself after an outage.
//! So a service can start with the database down, answer `/health`, report the store not
//! ready through [`DriftStore::ping`], and recover when the database comes back.
//! [`MongoStore::connect`] is the strict variant: it fails unless the server answers.

mod documents;
mod failure;
mod indexes;
mod queries;
mod statistics;
mod writes;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bson::{Document, doc};
use driftguard_core::ports::{DriftStore, EventFilter, EventPage, RecordFilter};
use driftguard_core::stats::{DriftStatistics, StatusCounts};
use driftguard_core::{DriftEvent, DriftRecord, PortError, PortErrorKind, ResourceId};
use futures_util::TryStreamExt;
use mongodb::options::{ClientOptions, ConnectionString};
use mongodb::{Client, Collection, Database};
use tokio::sync::OnceCell;

use crate::config::StoreConfig;
use crate::error::{Error, Result};
use crate::redact::{redact_uri, scrub};
use failure::failure;
pub use writes::BulkWriteMode;
use writes::{CLIENT_BULK_WRITE_WIRE_VERSION, RecordWrite, Writer};

/// The collection of current records.
pub const RECORDS_COLLECTION: &str = "drift_records";
/// The collection of lifecycle events.
pub const EVENTS_COLLECTION: &str = "drift_events";

/// After a failed attempt to reach the server, calls within this pause fail at once
/// with that failure instead of each waiting `connect_timeout` again.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Drift records and events in a MongoDB database.
pub struct MongoStore {
    uri: String,
    database_name: String,
    connect_timeout: Duration,
    mode: BulkWriteMode,
    prepared: OnceCell<Prepared>,
    last_failure: Mutex<Option<RecentFailure>>,
}

/// The last failed attempt to reach the server.
struct RecentFailure {
    at: Instant,
    error: FailureCopy,
}

/// What is needed to repeat a store error (which is not `Clone`).
struct FailureCopy {
    text: String,
    kind: PortErrorKind,
}

/// A store that has reached its server once: client, collections, indexes, write mode.
struct Prepared {
    client: Client,
    database: Database,
    records: Collection<Document>,
    events: Collection<Document>,
    /// What [`BulkWriteMode::Auto`] means for this server.
    server_mode: BulkWriteMode,
}

impl Prepared {
    /// The mode to write in: the one asked for, or the server's best.
    fn mode(&self, requested: BulkWriteMode) -> BulkWriteMode {
        match requested {
            BulkWriteMode::Auto => self.server_mode,
            mode => mode,
        }
    }
}

impl fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoStore")
            .field("uri", &redact_uri(&self.uri))
            .field("database", &self.database_name)
            .field("connect_timeout", &self.connect_timeout)
            .field("mode", &self.mode)
            .field("prepared", &self.prepared.initialized())
            .finish()
    }
}

impl MongoStore {
    /// A store for database `database` at `uri`, without contacting the server yet.
    ///
    /// Fails only when the URI or the database name cannot be used; the message never
    /// shows the URI's credentials.
    pub fn new(uri: &str, database: &str, connect_timeout: Duration) -> Result<Self> {
        StoreConfig::mongodb(uri, database)
            .with_connect_timeout(connect_timeout)
            .validate()?;
        ConnectionString::parse(uri).map_err(|e| Error::MongoUri {
            uri: redact_uri(uri),
            message: scrub(&e.kind.to_string(), uri),
        })?;
        Ok(Self {
            uri: uri.to_owned(),
            database_name: database.to_owned(),
            connect_timeout,
            mode: BulkWriteMode::Auto,
            prepared: OnceCell::new(),
            last_failure: Mutex::new(None),
        })
    }

    /// A store for database `database` at `uri`, prepared: fails when the server does not
    /// answer within `connect_timeout`.
    pub async fn connect(uri: &str, database: &str, connect_timeout: Duration) -> Result<Self> {
        let store = Self::new(uri, database, connect_timeout)?;
        store.prepare().await?;
        Ok(store)
    }

    /// The same store, writing in `mode` (the default is [`BulkWriteMode::Auto`]).
    pub fn with_bulk_write_mode(mut self, mode: BulkWriteMode) -> Self {
        self.mode = mode;
        self
    }

    /// The database name.
    pub fn database_name(&self) -> &str {
        &self.database_name
    }

    /// The URI with its credentials hidden, for logs.
    pub fn redacted_uri(&self) -> String {
        redact_uri(&self.uri)
    }

    /// The write mode in use: the one asked for, or for [`BulkWriteMode::Auto`] the one
    /// chosen once the store reached the server (`None` before that).
    pub fn bulk_write_mode(&self) -> Option<BulkWriteMode> {
        match self.mode {
            BulkWriteMode::Auto => self.prepared.get().map(|p| p.server_mode),
            mode => Some(mode),
        }
    }

    /// Reaches the server, creates the indexes and picks the write mode, once; a failed
    /// attempt is retried by the next call.
    pub async fn prepare(&self) -> Result<()> {
        self.prepared().await.map(|_| ())
    }

    async fn prepared(&self) -> Result<&Prepared> {
        if let Some(prepared) = self.prepared.get() {
            return Ok(prepared);
        }
        self.prepared
            .get_or_try_init(|| async {
                if let Some(error) = self.recent_failure() {
                    return Err(error);
                }
                let result = self.reach().await;
                if let Err(error) = &result {
                    self.remember_failure(error);
                }
                result
            })
            .await
    }

    /// The failure of an attempt made less than [`RETRY_PAUSE`] ago, repeated: calls that
    /// queued behind a failed attempt then fail at once instead of one timeout each.
    fn recent_failure(&self) -> Option<Error> {
        let last = self
            .last_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let recent = last.as_ref().filter(|f| f.at.elapsed() < RETRY_PAUSE)?;
        Some(Error::Mongo {
            operation: "preparing the store",
            uri: redact_uri(&self.uri),
            message: format!("{} (retrying in a moment)", recent.error.text),
            kind: recent.error.kind,
        })
    }

    fn remember_failure(&self, error: &Error) {
        *self
            .last_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(RecentFailure {
            at: Instant::now(),
            error: FailureCopy {
                text: match error {
                    Error::Mongo { message, .. } => message.clone(),
                    other => other.to_string(),
                },
                kind: error.kind(),
            },
        });
    }

    async fn reach(&self) -> Result<Prepared> {
        let uri = self.uri.as_str();
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(|e| failure("reading the connection string", uri, &e))?;
        options.connect_timeout = Some(self.connect_timeout);
        options.server_selection_timeout = Some(self.connect_timeout);
        options
            .app_name
            .get_or_insert_with(|| "driftguard".to_owned());
        let client =
            Client::with_options(options).map_err(|e| failure("creating the client", uri, &e))?;
        let database = client.database(&self.database_name);
        let records = database.collection::<Document>(RECORDS_COLLECTION);
        let events = database.collection::<Document>(EVENTS_COLLECTION);
        records
            .create_indexes(indexes::record_indexes())
            .await
            .map_err(|e| {
                failure(
                    "preparing the store (creating the drift_records indexes)",
                    uri,
                    &e,
                )
            })?;
        events
            .create_indexes(indexes::event_indexes())
            .await
            .map_err(|e| {
                failure(
                    "preparing the store (creating the drift_events indexes)",
                    uri,
                    &e,
                )
            })?;
        let hello = database
            .run_command(doc! { "hello": 1 })
            .await
            .map_err(|e| failure("preparing the store (asking the server's version)", uri, &e))?;
        let wire_version = match hello.get("maxWireVersion") {
            Some(bson::Bson::Int32(v)) => i64::from(*v),
            Some(bson::Bson::Int64(v)) => *v,
            _ => 0,
        };
        let server_mode = if wire_version >= CLIENT_BULK_WRITE_WIRE_VERSION {
            BulkWriteMode::ClientBulkWrite
        } else {
            BulkWriteMode::CollectionCommands
        };
        tracing::debug!(
            uri = %redact_uri(uri),
            database = %self.database_name,
            ?server_mode,
            "MongoDB store prepared"
        );
        Ok(Prepared {
            client,
            database,
            records,
            events,
            server_mode,
        })
    }

    async fn collect(
        &self,
        operation: &'static str,
        cursor: std::result::Result<mongodb::Cursor<Document>, mongodb::error::Error>,
    ) -> Result<Vec<Document>> {
        let cursor = cursor.map_err(|e| failure(operation, &self.uri, &e))?;
        cursor
            .try_collect()
            .await
            .map_err(|e| failure(operation, &self.uri, &e))
    }
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl DriftStore for MongoStore {
    async fn get(&self, id: &ResourceId) -> Result<Option<DriftRecord>, PortError> {
        let prepared = self.prepared().await?;
        let document = prepared
            .records
            .find_one(doc! { "_id": id.to_string() })
            .await
            .map_err(|e| failure("reading a record", &self.uri, &e))?;
        Ok(document.map(documents::record_from_document).transpose()?)
    }

    async fn list(&self, filter: &RecordFilter) -> Result<Vec<DriftRecord>, PortError> {
        if filter.limit == Some(0) {
            return Ok(Vec::new());
        }
        let prepared = self.prepared().await?;
        let mut find = prepared
            .records
            .find(queries::record_query(filter))
            .sort(queries::record_order())
            .skip(to_u64(filter.offset));
        if let Some(limit) = filter.limit {
            find = find.limit(to_i64(limit));
        }
        let documents = self.collect("listing records", find.await).await?;
        Ok(documents
            .into_iter()
            .map(documents::record_from_document)
            .collect::<Result<Vec<_>>>()?)
    }

    async fn save(&self, records: &[DriftRecord], events: &[DriftEvent]) -> Result<(), PortError> {
        if records.is_empty() && events.is_empty() {
            return Ok(());
        }
        let record_writes = records
            .iter()
            .map(|record| {
                Ok(RecordWrite {
                    resource_id: record.resource_id.to_string(),
                    document: documents::record_document(record)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let event_documents = events
            .iter()
            .map(documents::event_document)
            .collect::<Result<Vec<_>>>()?;
        let prepared = self.prepared().await?;
        let writer = Writer {
            client: &prepared.client,
            database: &prepared.database,
            records: &prepared.records,
            events: &prepared.events,
            uri: &self.uri,
        };
        Ok(writer
            .save(prepared.mode(self.mode), record_writes, event_documents)
            .await?)
    }

    async fn events(&self, filter: &EventFilter) -> Result<EventPage, PortError> {
        if filter.limit == Some(0) {
            return Ok(EventPage::default());
        }
        let query = queries::event_query(filter)?;
        let prepared = self.prepared().await?;
        let mut find = prepared.events.find(query).sort(queries::event_order());
        if let Some(limit) = filter.limit {
            // One more than asked for tells whether a next page exists.
            find = find.limit(to_i64(limit.saturating_add(1)));
        }
        let documents = self.collect("listing events", find.await).await?;
        let keyed = documents
            .into_iter()
            .map(documents::keyed_event_from_document)
            .collect::<Result<Vec<_>>>()?;
        Ok(EventPage::from_keyed(keyed, filter.limit))
    }

    async fn statistics(&self) -> Result<DriftStatistics, PortError> {
        let prepared = self.prepared().await?;
        let operation = "computing statistics";
        let aggregate = |collection: &Collection<Document>, pipeline: Vec<Document>| {
            let collection = collection.clone();
            async move {
                let cursor = collection.aggregate(pipeline).await;
                self.collect(operation, cursor).await
            }
        };
        let (breakdowns, most_drifted, time_to_resolve, total_events) = tokio::try_join!(
            aggregate(&prepared.records, statistics::record_breakdowns()),
            aggregate(&prepared.events, statistics::most_drifted()),
            aggregate(&prepared.events, statistics::time_to_resolve()),
            async {
                prepared
                    .events
                    .count_documents(Document::new())
                    .await
                    .map_err(|e| failure(operation, &self.uri, &e))
            },
        )?;
        let breakdowns = statistics::RecordBreakdowns::from_document(breakdowns.first())?;
        Ok(DriftStatistics {
            total_resources: breakdowns.by_status.values().sum(),
            drifted_resources: breakdowns.by_namespace.values().sum(),
            by_status: breakdowns.by_status,
            by_severity: breakdowns.by_severity,
            by_type: breakdowns.by_type,
            by_namespace: breakdowns.by_namespace,
            by_application: breakdowns.by_application,
            total_events,
            mean_time_to_resolve_seconds: statistics::mean_seconds_from(time_to_resolve.first())?,
            most_drifted: statistics::most_drifted_from(&most_drifted)?,
        })
    }

    async fn application_counts(&self) -> Result<BTreeMap<String, StatusCounts>, PortError> {
        let prepared = self.prepared().await?;
        let operation = "counting records per application";
        let cursor = prepared
            .records
            .aggregate(statistics::application_counts())
            .await;
        let groups = self.collect(operation, cursor).await?;
        Ok(statistics::application_counts_from(&groups)?)
    }

    async fn ping(&self) -> Result<(), PortError> {
        let prepared = self.prepared().await?;
        prepared
            .database
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(|e| failure("checking the connection", &self.uri, &e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_right_after_a_failed_attempt_fail_with_it_instead_of_waiting_again() {
        // Nothing listens on port 1: a real attempt would wait the whole minute.
        let store = MongoStore::new(
            "mongodb://127.0.0.1:1/",
            "driftguard",
            Duration::from_secs(60),
        )
        .expect("valid URI");
        store.remember_failure(&Error::Mongo {
            operation: "preparing the store",
            uri: "mongodb://127.0.0.1:1/".to_owned(),
            message: "server selection timed out".to_owned(),
            kind: PortErrorKind::Unavailable,
        });
        let error = store.ping().await.expect_err("still down");
        assert_eq!(error.kind, PortErrorKind::Unavailable);
        assert!(
            error
                .message
                .contains("server selection timed out (retrying in a moment)"),
            "{}",
            error.message
        );
    }
}
