//! The embedded store: one SQLite file, no server to run.
//!
//! - WAL mode with `synchronous = FULL`: a save is on disk when it returns;
//! - one immediate transaction per save, so an analysis is stored whole or not at all;
//! - the schema is migrated in code (`PRAGMA user_version`) when the file is opened;
//! - statistics read summaries kept in the same transactions as the rows they
//!   summarise, so they cost the same at any size;
//! - pruning deletes in short transactions, then returns the freed pages to the file
//!   system (incremental auto-vacuum);
//! - blocking calls run on tokio's blocking threads, reads on a small set of read-only
//!   connections that never wait for a save.

mod clusters;
mod codec;
mod connections;
mod counts;
mod prune;
mod queries;
mod schema;
mod statistics;
mod status;
mod summaries;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use driftguard_core::ports::{
    DriftStore, EventFilter, EventPage, PruneCounts, RecordFilter, Timeline, TimelineQuery,
};
use driftguard_core::stats::{DriftStatistics, StatusCounts};
use driftguard_core::{
    ClusterStatusDocument, DriftEvent, DriftRecord, PortError, ResourceId, StoredRecords,
};
use rusqlite::Connection;
use tokio::runtime::RuntimeFlavor;

use crate::error::{Error, Result};
use connections::Connections;

/// Drift records and events in a SQLite file.
///
/// Cloning is cheap and shares the connections.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    connections: Arc<Connections>,
}

impl SqliteStore {
    /// Opens the database at `path`, creating the file and its schema when missing and
    /// migrating an older schema. Blocking; call it at start-up (or from
    /// `spawn_blocking`).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self {
            connections: Arc::new(Connections::open(path.as_ref())?),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.connections.path()
    }

    /// The schema version this build creates and expects.
    pub fn schema_version() -> i64 {
        schema::current_version()
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let connections = Arc::clone(&self.connections);
        tokio::task::spawn_blocking(move || connections.with_reader(f))
            .await
            .map_err(Error::Worker)?
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let connections = Arc::clone(&self.connections);
        tokio::task::spawn_blocking(move || connections.with_writer(f))
            .await
            .map_err(Error::Worker)?
    }
}

#[async_trait]
impl DriftStore for SqliteStore {
    async fn get(&self, cluster: &str, id: &ResourceId) -> Result<Option<DriftRecord>, PortError> {
        let (cluster, id) = (cluster.to_owned(), id.clone());
        Ok(self
            .read(move |connection| queries::get_record(connection, &cluster, &id))
            .await?)
    }

    async fn lookup(&self, id: &ResourceId) -> Result<Vec<DriftRecord>, PortError> {
        let id = id.clone();
        Ok(self
            .read(move |connection| queries::lookup_records(connection, &id))
            .await?)
    }

    async fn list(&self, filter: &RecordFilter) -> Result<Vec<DriftRecord>, PortError> {
        if filter.limit == Some(0) {
            return Ok(Vec::new());
        }
        let filter = filter.clone();
        Ok(self
            .read(move |connection| queries::list_records(connection, &filter))
            .await?)
    }

    async fn stored_records(&self, cluster: &str) -> Result<StoredRecords, PortError> {
        let filter = RecordFilter {
            cluster: Some(cluster.to_owned()),
            ..RecordFilter::default()
        };
        Ok(self
            .read(move |connection| queries::list_records(connection, &filter))
            .await?)
    }

    async fn count(&self, filter: &RecordFilter) -> Result<u64, PortError> {
        let filter = filter.clone();
        Ok(self
            .read(move |connection| queries::count_records(connection, &filter))
            .await?)
    }

    async fn timeline(&self, query: &TimelineQuery) -> Result<Timeline, PortError> {
        let query = query.clone();
        Ok(self
            .read(move |connection| queries::timeline(connection, &query))
            .await?)
    }

    async fn save(&self, records: &[DriftRecord], events: &[DriftEvent]) -> Result<(), PortError> {
        if records.is_empty() && events.is_empty() {
            return Ok(());
        }
        // A full analysis saves a record per resource: on a multi-threaded runtime the
        // batch is written where it is, blocking this worker (its other tasks move on to
        // the others) rather than copied whole to a blocking thread.
        if tokio::runtime::Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
            let connections = Arc::clone(&self.connections);
            let saved = tokio::task::block_in_place(|| {
                connections.with_writer(|connection| queries::save(connection, records, events))
            });
            // Still a point where the task can be cancelled (a shutdown), as when it
            // waited for a blocking thread: a loop of saves must not hold its worker.
            tokio::task::yield_now().await;
            return Ok(saved?);
        }
        let (records, events) = (records.to_vec(), events.to_vec());
        Ok(self
            .write(move |connection| queries::save(connection, &records, &events))
            .await?)
    }

    async fn events(&self, filter: &EventFilter) -> Result<EventPage, PortError> {
        if filter.limit == Some(0) {
            return Ok(EventPage::default());
        }
        let filter = filter.clone();
        Ok(self
            .read(move |connection| queries::list_events(connection, &filter))
            .await?)
    }

    async fn statistics(&self, cluster: Option<&str>) -> Result<DriftStatistics, PortError> {
        let cluster = cluster.map(str::to_owned);
        Ok(self
            .read(move |connection| statistics::statistics(connection, cluster.as_deref()))
            .await?)
    }

    async fn application_counts(
        &self,
    ) -> Result<BTreeMap<(String, String), StatusCounts>, PortError> {
        Ok(self.read(statistics::application_counts).await?)
    }

    async fn cluster_counts(&self) -> Result<BTreeMap<String, StatusCounts>, PortError> {
        Ok(self.read(statistics::cluster_counts).await?)
    }

    async fn publish_status(&self, status: &ClusterStatusDocument) -> Result<(), PortError> {
        let status = status.clone();
        Ok(self
            .write(move |connection| status::publish(connection, &status))
            .await?)
    }

    async fn cluster_statuses(&self) -> Result<Vec<ClusterStatusDocument>, PortError> {
        Ok(self.read(status::cluster_statuses).await?)
    }

    async fn prune(
        &self,
        before_events: DateTime<Utc>,
        before_resolved: DateTime<Utc>,
    ) -> Result<PruneCounts, PortError> {
        let mut counts = PruneCounts::default();
        // One chunk per call to the writer: saves get their turn in between.
        loop {
            let deleted = self
                .write(move |connection| prune::records_chunk(connection, before_resolved))
                .await?;
            counts.records += deleted;
            if deleted < prune::CHUNK as u64 {
                break;
            }
        }
        loop {
            let deleted = self
                .write(move |connection| prune::events_chunk(connection, before_events))
                .await?;
            counts.events += deleted;
            if deleted < prune::CHUNK as u64 {
                break;
            }
        }
        if counts != PruneCounts::default() {
            self.write(prune::reclaim).await?;
        }
        Ok(counts)
    }

    async fn ping(&self) -> Result<(), PortError> {
        Ok(self
            .read(|connection| {
                connection
                    .query_row("SELECT COUNT(*) FROM sqlite_schema", [], |_| Ok(()))
                    .map_err(|source| Error::Sqlite {
                        operation: "checking the database",
                        source,
                    })
            })
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use driftguard_core::{DEFAULT_APPLICATION, DriftStatus, PortErrorKind};

    use super::*;

    fn record(id: &str) -> DriftRecord {
        let resource_id: ResourceId = id.parse().expect("valid id");
        DriftRecord {
            api_version: "v1".to_owned(),
            kind: resource_id.kind().to_owned(),
            namespace: resource_id.namespace().map(str::to_owned),
            name: resource_id.name().to_owned(),
            cluster: driftguard_core::DEFAULT_CLUSTER.to_owned(),
            application: DEFAULT_APPLICATION.to_owned(),
            resource_id,
            drift_detected: false,
            drift_status: DriftStatus::None,
            severity: None,
            drift_types: Vec::new(),
            drifts: Vec::new(),
            desired_hash: "d".to_owned(),
            live_hash: Some("d".to_owned()),
            last_known_good_hash: Some("d".to_owned()),
            git_revision: None,
            first_detected: None,
            last_detected: None,
            resolved_at: None,
            last_checked: Utc
                .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .expect("valid time"),
            resolution_message: None,
            detection_count: 0,
        }
    }

    #[tokio::test]
    async fn rejects_a_record_whose_parts_disagree_with_its_id() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path().join("drift.db")).expect("open");
        let mut bad = record("ConfigMap:shop:settings");
        bad.namespace = Some("other".to_owned());
        let error = store.save(&[bad], &[]).await.expect_err("inconsistent");
        assert_eq!(error.kind, PortErrorKind::InvalidData);
        assert!(
            error.message.contains("ConfigMap:shop:settings"),
            "{}",
            error.message
        );
        assert!(
            store
                .list(&RecordFilter::default())
                .await
                .expect("list")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn rejects_times_outside_the_storable_range_without_writing_anything() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path().join("drift.db")).expect("open");
        let good = record("ConfigMap:shop:a");
        let mut bad = record("ConfigMap:shop:b");
        bad.last_checked = Utc
            .with_ymd_and_hms(2300, 1, 1, 0, 0, 0)
            .single()
            .expect("valid time");
        let error = store
            .save(&[good, bad], &[])
            .await
            .expect_err("out of range");
        assert_eq!(error.kind, PortErrorKind::InvalidData);
        assert!(error.message.contains("1677 to 2262"), "{}", error.message);
        assert!(
            store
                .list(&RecordFilter::default())
                .await
                .expect("list")
                .is_empty()
        );
    }

    #[test]
    fn reports_a_file_that_cannot_be_opened() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("missing-folder").join("drift.db");
        let error = SqliteStore::open(&path).expect_err("no such folder");
        assert!(error.to_string().contains("missing-folder"), "{error}");
        assert_eq!(error.kind(), PortErrorKind::Unavailable);
    }
}
