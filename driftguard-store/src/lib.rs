//! Persistence of DriftGuard's drift records and their event history.
//!
//! Two adapters implement the [`DriftStore`](driftguard_core::DriftStore) port of
//! `driftguard-core`:
//!
//! - [`SqliteStore`]: an embedded SQLite file, the default; nothing to install or run;
//! - [`MongoStore`]: MongoDB, for production and for several replicas of the service.
//!
//! Both keep one current record per `(cluster, resource_id)` (upserted after each
//! analysis), an append-only log of lifecycle events (one per transition: an event whose
//! non-empty `key` is stored already is not stored again), and each cluster's status
//! documents (replaced whole by `publish_status`); they answer the same queries (get,
//! filtered and paged listings in `ResourceId` order, events by resource and time range,
//! statistics with the meaning of `driftguard_core::stats::compute`, record counts per
//! `(cluster, application)` and per cluster, status documents by cluster), and save one
//! analysis as one batch. Event pages start after a position, an event's time and
//! its key (SQLite: the row's sequence number; MongoDB: its `_id`), so paging through
//! events sharing a time neither skips nor repeats any. Records and events carry the
//! application that declares the resource; those stored before applications existed read
//! back in the default one. One contract test suite (`tests/contract`) holds them, and
//! the in-memory store of `driftguard-core`, to the same behaviour.
//!
//! Both delete what retention no longer keeps when asked
//! ([`DriftStore::prune`](driftguard_core::DriftStore::prune)): events older than
//! `retention.events`, resolved records older than `retention.resolved_records`
//! ([`RetentionConfig`]).
//!
//! [`open()`] builds the store the `database` configuration section ([`StoreConfig`])
//! names.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use driftguard_core::DriftStore as _;
//! use driftguard_store::{StoreConfig, open};
//!
//! let store = open(&StoreConfig::sqlite("/var/lib/driftguard/drift.db")).await?;
//! // Every cluster; `Some("prod")` for one.
//! let statistics = store.statistics(None).await?;
//! println!("{} resources drifted", statistics.drifted_resources);
//! # Ok(()) }
//! ```

mod config;
mod error;
mod identity;
pub mod mongo;
mod open;
mod redact;
mod retention;
pub mod sqlite;

pub use config::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_DATABASE_NAME, DEFAULT_SQLITE_PATH, DatabaseKind, StoreConfig,
};
pub use error::{Error, Result};
pub use mongo::{BulkWriteMode, MongoStore};
pub use open::open;
pub use redact::redact_uri;
pub use retention::{
    DEFAULT_EVENT_RETENTION, DEFAULT_PRUNE_INTERVAL, DEFAULT_RESOLVED_RECORD_RETENTION,
    RetentionConfig, RetentionCutoffs,
};
pub use sqlite::SqliteStore;
