//! The production store: MongoDB (6.0 or later), with the official driver.
//!
//! - Database `database.name`; collections `drift_records` (one document per resource
//!   and cluster, its `_id` the record key of `documents::record_key`, and
//!   `(cluster, resource_id)` uniquely indexed), `drift_events` (append-only), and the
//!   status documents `cluster_status` and `application_status` (`mongo/status.rs`);
//! - versioned migrations (`migrations`) and indexes, run when the store first reaches
//!   the server, idempotently;
//! - statistics and counts per application as aggregation pipelines; record writes as
//!   bulk writes ([`BulkWriteMode`]);
//! - each record saved together with its events: in multi-document transactions on a
//!   replica set or sharded cluster, through an outbox in the record document on a
//!   standalone server (both described in `mongo/save.rs`), so no failure at any point
//!   loses an event;
//! - pruning by query (`deleteMany` on indexed fields), not TTL indexes: retention
//!   stays a setting that can change without rebuilding indexes, a record is deleted
//!   only once its pending events are delivered, and prunes report what they deleted
//!   (nx-27017, the test server, accepts TTL indexes but never expires documents and
//!   ignores partial filters, so TTL deletion could not be held to the contract suite);
//! - no change streams, so any server speaking the wire protocol with these commands
//!   will do.
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
mod migrations;
mod outbox;
mod queries;
mod save;
mod statistics;
mod status;
mod timeline;
mod transaction;
mod writes;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bson::{Document, doc};
use chrono::{DateTime, Utc};
use driftguard_core::ports::{
    DriftStore, EventFilter, EventPage, PruneCounts, RecordFilter, SortKey, Timeline, TimelineQuery,
};
use driftguard_core::stats::{DriftStatistics, StatusCounts};
use driftguard_core::{
    ClusterStatusDocument, DriftEvent, DriftRecord, PortError, PortErrorKind, ResourceId,
    StoredRecords,
};
use futures_util::TryStreamExt;
use mongodb::options::{ClientOptions, ConnectionString};
use mongodb::{Client, Collection, Database};
use tokio::sync::OnceCell;

use crate::config::StoreConfig;
use crate::error::{Error, Result};
use crate::redact::{redact_uri, scrub};
use failure::failure;
use save::Batch;
#[doc(hidden)]
pub use save::{SaveFault, SavePath, SaveStep};
pub use status::{APPLICATION_STATUS_COLLECTION, CLUSTER_STATUS_COLLECTION};
pub use writes::BulkWriteMode;
use writes::{CLIENT_BULK_WRITE_WIRE_VERSION, Writer};

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
    path: SavePath,
    fault: Option<SaveFault>,
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
    /// What [`SavePath::Auto`] means for this server.
    server_path: SavePath,
}

impl Prepared {
    /// The mode to write in: the one asked for, or the server's best.
    fn mode(&self, requested: BulkWriteMode) -> BulkWriteMode {
        match requested {
            BulkWriteMode::Auto => self.server_mode,
            mode => mode,
        }
    }

    /// The path to save by: the one asked for, or the one the server allows.
    fn path(&self, requested: SavePath) -> SavePath {
        match requested {
            SavePath::Auto => self.server_path,
            path => path,
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
            .field("path", &self.path)
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
            path: SavePath::Auto,
            fault: None,
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

    /// The same store, saving by `path` whatever the server says of itself. For tests:
    /// some servers run transactions while describing themselves as standalone.
    #[doc(hidden)]
    pub fn with_save_path(mut self, path: SavePath) -> Self {
        self.path = path;
        self
    }

    /// The same store, asking `fault` at every [`SaveStep`] whether to fail there. For
    /// tests of what a save that stops half-way leaves behind.
    #[doc(hidden)]
    pub fn with_save_fault(mut self, fault: SaveFault) -> Self {
        self.fault = Some(fault);
        self
    }

    /// The save path in use: the one asked for, or for [`SavePath::Auto`] the one chosen
    /// once the store reached the server (`None` before that).
    #[doc(hidden)]
    pub fn save_path(&self) -> Option<SavePath> {
        match self.path {
            SavePath::Auto => self.prepared.get().map(|p| p.server_path),
            path => Some(path),
        }
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

    /// Reaches the server, creates the indexes and picks the write mode and save path,
    /// once (a failed attempt is retried by the next call); then delivers the events that
    /// an earlier run left pending.
    pub async fn prepare(&self) -> Result<()> {
        let prepared = self.prepared().await?;
        outbox::drain(&self.writer(prepared), self.fault.as_ref()).await?;
        Ok(())
    }

    /// The writer over the prepared collections.
    fn writer<'a>(&'a self, prepared: &'a Prepared) -> Writer<'a> {
        Writer {
            client: &prepared.client,
            database: &prepared.database,
            records: &prepared.records,
            events: &prepared.events,
            uri: &self.uri,
        }
    }

    /// The prepared store, with the events earlier saves left pending delivered: what
    /// reads of events need.
    async fn drained(&self) -> Result<&Prepared> {
        let prepared = self.prepared().await?;
        outbox::drain(&self.writer(prepared), self.fault.as_ref()).await?;
        Ok(prepared)
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
        migrations::migrate(&database, uri).await?;
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
        let server_path = if runs_transactions(&hello) {
            SavePath::Transaction
        } else {
            SavePath::Outbox
        };
        tracing::debug!(
            uri = %redact_uri(uri),
            database = %self.database_name,
            ?server_mode,
            ?server_path,
            "MongoDB store prepared"
        );
        Ok(Prepared {
            client,
            database,
            records,
            events,
            server_mode,
            server_path,
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

/// Whether the server `hello` describes runs multi-document transactions: a replica set
/// member (it names its set) or a `mongos`, with sessions.
fn runs_transactions(hello: &Document) -> bool {
    let sessions = hello.contains_key("logicalSessionTimeoutMinutes");
    let replica_set = hello.get_str("setName").is_ok();
    let router = hello.get_str("msg").is_ok_and(|msg| msg == "isdbgrid");
    sessions && (replica_set || router)
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl DriftStore for MongoStore {
    async fn get(&self, cluster: &str, id: &ResourceId) -> Result<Option<DriftRecord>, PortError> {
        let prepared = self.prepared().await?;
        let document = prepared
            .records
            .find_one(doc! { "_id": documents::record_key(cluster, id) })
            .projection(outbox::without_outbox())
            .await
            .map_err(|e| failure("reading a record", &self.uri, &e))?;
        Ok(document.map(documents::record_from_document).transpose()?)
    }

    async fn lookup(&self, id: &ResourceId) -> Result<Vec<DriftRecord>, PortError> {
        let prepared = self.prepared().await?;
        let find = prepared
            .records
            .find(doc! { "resource_id": id.to_string() })
            .projection(outbox::without_outbox());
        let documents = self.collect("reading a record", find.await).await?;
        let mut records = documents
            .into_iter()
            .map(documents::record_from_document)
            .collect::<Result<Vec<_>>>()?;
        records.sort_by(|a, b| a.cluster.cmp(&b.cluster));
        Ok(records)
    }

    /// A listing in `resource_id` order (or by detection count, or latest time first)
    /// is a `find`, sorted through the `(kind, namespace, name)` indexes where the order
    /// is theirs; one that sorts on a computed key (severity, earliest time first) is an
    /// aggregation (`queries::record_sort`). Sorts no index serves may spill to disk.
    async fn list(&self, filter: &RecordFilter) -> Result<Vec<DriftRecord>, PortError> {
        if filter.limit == Some(0) {
            return Ok(Vec::new());
        }
        let prepared = self.prepared().await?;
        let query = queries::record_query(filter);
        let operation = "listing records";
        let documents = match queries::record_sort(filter.sort) {
            queries::RecordOrder::Fields(sort) => {
                let mut find = prepared
                    .records
                    .find(query)
                    .projection(outbox::without_outbox())
                    .sort(sort)
                    .skip(to_u64(filter.offset));
                if filter.sort.key != SortKey::ResourceId {
                    find = find.allow_disk_use(true);
                }
                if let Some(limit) = filter.limit {
                    find = find.limit(to_i64(limit));
                }
                self.collect(operation, find.await).await?
            }
            queries::RecordOrder::Computed { key, sort } => {
                let mut pipeline = vec![
                    doc! { "$match": query },
                    doc! { "$addFields": { queries::SORT_KEY_FIELD: key } },
                    doc! { "$sort": sort },
                ];
                if filter.offset > 0 {
                    pipeline.push(doc! { "$skip": to_i64(filter.offset) });
                }
                if let Some(limit) = filter.limit {
                    pipeline.push(doc! { "$limit": to_i64(limit) });
                }
                let mut projection = outbox::without_outbox();
                projection.insert(queries::SORT_KEY_FIELD, 0);
                pipeline.push(doc! { "$project": projection });
                let cursor = prepared
                    .records
                    .aggregate(pipeline)
                    .allow_disk_use(true)
                    .await;
                self.collect(operation, cursor).await?
            }
        };
        Ok(documents
            .into_iter()
            .map(documents::record_from_document)
            .collect::<Result<Vec<_>>>()?)
    }

    /// `$match` and `$count` (`queries::record_count`): on MongoDB the aggregation
    /// `count_documents` would send; on nx-27017, one its SQL tier runs.
    async fn stored_records(&self, cluster: &str) -> Result<StoredRecords, PortError> {
        let prepared = self.prepared().await?;
        let operation = "reading the stored records";
        let query = queries::record_query(&RecordFilter {
            cluster: Some(cluster.to_owned()),
            ..RecordFilter::default()
        });
        // Decoded one document at a time, in no order: an analysis keys them by id.
        let mut cursor = prepared
            .records
            .find(query)
            .projection(outbox::without_outbox())
            .await
            .map_err(|e| failure(operation, &self.uri, &e))?;
        let mut stored = StoredRecords::new();
        while let Some(document) = cursor
            .try_next()
            .await
            .map_err(|e| failure(operation, &self.uri, &e))?
        {
            stored.extend(Some(documents::record_from_document(document)?));
        }
        Ok(stored)
    }

    async fn count(&self, filter: &RecordFilter) -> Result<u64, PortError> {
        let prepared = self.prepared().await?;
        let cursor = prepared
            .records
            .aggregate(queries::record_count(filter))
            .await;
        let documents = self.collect("counting records", cursor).await?;
        Ok(queries::record_count_from(&documents)?)
    }

    /// The range's events through the `(at)` or `(cluster, at)` index, counted per
    /// bucket here (the `timeline` module).
    async fn timeline(&self, query: &TimelineQuery) -> Result<Timeline, PortError> {
        let filter = queries::event_query(&query.events())?;
        let prepared = self.drained().await?;
        let find = prepared
            .events
            .find(filter)
            .projection(timeline::projection())
            .batch_size(10_000);
        let operation = "counting events per time bucket";
        let mut cursor = find.await.map_err(|e| failure(operation, &self.uri, &e))?;
        let mut counted = Timeline::empty(query);
        while let Some(document) = cursor
            .try_next()
            .await
            .map_err(|e| failure(operation, &self.uri, &e))?
        {
            timeline::add(&mut counted, query, document)?;
        }
        Ok(counted)
    }

    async fn save(&self, records: &[DriftRecord], events: &[DriftEvent]) -> Result<(), PortError> {
        if records.is_empty() && events.is_empty() {
            return Ok(());
        }
        let batch = Batch::new(records, events)?;
        let prepared = self.prepared().await?;
        let writer = self.writer(prepared);
        let mode = prepared.mode(self.mode);
        let fault = self.fault.as_ref();
        Ok(match prepared.path(self.path) {
            SavePath::Transaction | SavePath::Auto => {
                transaction::save(&writer, mode, batch, fault).await
            }
            SavePath::Outbox => outbox::save(&writer, mode, batch, fault).await,
        }?)
    }

    async fn events(&self, filter: &EventFilter) -> Result<EventPage, PortError> {
        if filter.limit == Some(0) {
            return Ok(EventPage::default());
        }
        let query = queries::event_query(filter)?;
        let prepared = self.drained().await?;
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

    async fn statistics(&self, cluster: Option<&str>) -> Result<DriftStatistics, PortError> {
        let prepared = self.drained().await?;
        let operation = "computing statistics";
        let aggregate = |collection: &Collection<Document>, pipeline: Vec<Document>| {
            let collection = collection.clone();
            async move {
                let cursor = collection.aggregate(pipeline).await;
                self.collect(operation, cursor).await
            }
        };
        let (breakdowns, most_drifted, time_to_resolve, total_events) = tokio::try_join!(
            aggregate(&prepared.records, statistics::record_breakdowns(cluster)),
            aggregate(&prepared.events, statistics::most_drifted(cluster)),
            aggregate(&prepared.events, statistics::time_to_resolve(cluster)),
            async {
                prepared
                    .events
                    .count_documents(queries::event_query(&EventFilter {
                        cluster: cluster.map(str::to_owned),
                        ..EventFilter::default()
                    })?)
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
            by_cluster: breakdowns.by_cluster,
            total_events,
            mean_time_to_resolve_seconds: statistics::mean_seconds_from(time_to_resolve.first())?,
            most_drifted: statistics::most_drifted_from(&most_drifted)?,
        })
    }

    async fn application_counts(
        &self,
    ) -> Result<BTreeMap<(String, String), StatusCounts>, PortError> {
        let prepared = self.prepared().await?;
        let operation = "counting records per application";
        let cursor = prepared
            .records
            .aggregate(statistics::application_counts())
            .await;
        let groups = self.collect(operation, cursor).await?;
        Ok(statistics::application_counts_from(&groups)?)
    }

    async fn publish_status(&self, status: &ClusterStatusDocument) -> Result<(), PortError> {
        let prepared = self.prepared().await?;
        Ok(match prepared.path(self.path) {
            SavePath::Transaction | SavePath::Auto => {
                status::publish_in_transaction(
                    &prepared.client,
                    &prepared.database,
                    &self.uri,
                    status,
                )
                .await
            }
            SavePath::Outbox => status::publish(&prepared.database, &self.uri, status).await,
        }?)
    }

    async fn cluster_statuses(&self) -> Result<Vec<ClusterStatusDocument>, PortError> {
        let prepared = self.prepared().await?;
        Ok(status::read_all(&prepared.database, &self.uri).await?)
    }

    async fn cluster_counts(&self) -> Result<BTreeMap<String, StatusCounts>, PortError> {
        let prepared = self.prepared().await?;
        let operation = "counting records per cluster";
        let cursor = prepared
            .records
            .aggregate(statistics::cluster_counts())
            .await;
        let groups = self.collect(operation, cursor).await?;
        Ok(statistics::status_counts_from(&groups)?)
    }

    /// Deletes by query: events through the `at` index, resolved records through the
    /// `(drift_status, resolved_at)` index. Pending outboxes are delivered first, and a
    /// record still holding one is kept until the next prune.
    async fn prune(
        &self,
        before_events: DateTime<Utc>,
        before_resolved: DateTime<Utc>,
    ) -> Result<PruneCounts, PortError> {
        // Earlier than any time a BSON date of every server in the family holds: the
        // first instant of year 1 deletes the same (nothing written by a detector).
        let floor = DateTime::<Utc>::from_timestamp(-62_135_596_800, 0).unwrap_or_default();
        let (before_events, before_resolved) =
            (before_events.max(floor), before_resolved.max(floor));
        let prepared = self.drained().await?;
        let records = prepared
            .records
            .delete_many(queries::prunable_records(before_resolved))
            .await
            .map_err(|e| failure("pruning resolved records", &self.uri, &e))?
            .deleted_count;
        let events = prepared
            .events
            .delete_many(queries::event_query(&EventFilter {
                until: Some(before_events),
                ..EventFilter::default()
            })?)
            .await
            .map_err(|e| failure("pruning events", &self.uri, &e))?
            .deleted_count;
        Ok(PruneCounts { events, records })
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

    #[test]
    fn transactions_on_replica_sets_and_routers_with_sessions_only() {
        let sessions = doc! { "logicalSessionTimeoutMinutes": 30 };
        let with = |extra: Document| {
            let mut hello = sessions.clone();
            hello.extend(extra);
            hello
        };
        assert!(runs_transactions(&with(doc! { "setName": "rs0" })));
        assert!(runs_transactions(&with(doc! { "msg": "isdbgrid" })));
        assert!(!runs_transactions(&sessions), "a standalone server");
        assert!(
            !runs_transactions(&doc! { "setName": "rs0" }),
            "no sessions"
        );
        assert!(!runs_transactions(&with(doc! { "msg": "hello" })));
    }

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
