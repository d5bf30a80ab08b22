//! The ports: what the detector needs from sources and stores, implemented by adapters.

use std::collections::BTreeMap;
use std::pin::Pin;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_core::Stream;

use crate::ResourceId;
use crate::model::{DesiredSnapshot, LiveSnapshot, Resource};
use crate::record::{DriftEvent, DriftRecord, DriftStatus};
use crate::stats::{DriftStatistics, StatusCounts};
use crate::status::ClusterStatusDocument;

/// Why a port call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortErrorKind {
    /// The thing asked for does not exist.
    NotFound,
    /// The backend cannot be reached or timed out; retrying later may work.
    Unavailable,
    /// The backend answered with something unusable (malformed manifests, bad data).
    InvalidData,
    /// A write conflicted with another.
    Conflict,
    /// The caller asked for something the adapter cannot serve as asked (an event
    /// position this store did not make); the same request fails again.
    InvalidRequest,
    /// Anything else.
    Other,
}

/// An error from an adapter, with a kind the detector and API can act on.
///
/// The message is the whole account, the adapter's error with its causes (see
/// [`crate::error_chain`]); the adapter's own error is kept beside it, for callers that
/// inspect it, but is not reported as the [`std::error::Error::source`] so that printing
/// the chain does not say it twice.
///
/// Messages must never contain Secret values; adapters fingerprint them before any
/// error can be built from them.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PortError {
    /// What kind of failure.
    pub kind: PortErrorKind,
    /// A one-line description naming what failed (file and line where there is one) and
    /// why.
    pub message: String,
    /// The adapter's own error, when there is one.
    pub cause: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl PortError {
    /// An error without an underlying cause.
    pub fn new(kind: PortErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            cause: None,
        }
    }

    /// An error of an adapter: its whole chain as the message, itself kept as the cause.
    pub fn from_error(
        kind: PortErrorKind,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            kind,
            message: crate::error_chain(&error),
            cause: Some(Box::new(error)),
        }
    }
}

/// What happened to one live object, as a watch reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveChangeKind {
    /// The object was created or modified.
    Applied,
    /// The object was deleted.
    Deleted,
}

/// A change notification for one live object: enough to analyse that resource alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveChange {
    /// The object that changed.
    pub id: ResourceId,
    /// How it changed.
    pub kind: LiveChangeKind,
}

/// A stream of live change notifications; it ends when the source stops watching.
pub type LiveChangeStream = Pin<Box<dyn Stream<Item = LiveChange> + Send>>;

/// The live state: every watched object, in one consistent snapshot.
#[async_trait]
pub trait LiveSource: Send + Sync {
    /// All watched objects. A failed or partial read is an error, never a short snapshot.
    async fn snapshot(&self) -> Result<LiveSnapshot, PortError>;

    /// One live object, or `None` when it does not exist.
    ///
    /// The default reads a whole snapshot; sources that keep a cache (a watch) answer
    /// from it, which is what makes single-resource analyses cheap.
    async fn object(&self, id: &ResourceId) -> Result<Option<Resource>, PortError> {
        Ok(self
            .snapshot()
            .await?
            .resources
            .into_iter()
            .find(|r| &r.id == id))
    }

    /// Change notifications, for sources that can watch; `None` (the default) when the
    /// source can only be polled. Called once, by the service, when it starts.
    fn changes(&self) -> Option<LiveChangeStream> {
        None
    }
}

/// The desired state: every declared object, at one revision.
#[async_trait]
pub trait DesiredSource: Send + Sync {
    /// All declared objects and the revision they were read at.
    async fn snapshot(&self) -> Result<DesiredSnapshot, PortError>;
}

/// Which records a listing returns. Records are ordered by `resource_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    /// Only records of this cluster.
    pub cluster: Option<String>,
    /// Only this namespace.
    pub namespace: Option<String>,
    /// Only records of this application.
    pub application: Option<String>,
    /// Only records with (or without) drift now.
    pub drift_detected: Option<bool>,
    /// Only records in this lifecycle state.
    pub drift_status: Option<DriftStatus>,
    /// At most this many records.
    pub limit: Option<usize>,
    /// Skip this many records first.
    pub offset: usize,
}

impl RecordFilter {
    /// Whether a record passes the field filters (limit and offset aside).
    pub fn matches(&self, record: &DriftRecord) -> bool {
        self.cluster
            .as_deref()
            .is_none_or(|cluster| record.cluster == cluster)
            && self
                .namespace
                .as_deref()
                .is_none_or(|ns| record.namespace.as_deref() == Some(ns))
            && self
                .application
                .as_deref()
                .is_none_or(|app| record.application == app)
            && self
                .drift_detected
                .is_none_or(|d| record.drift_detected == d)
            && self.drift_status.is_none_or(|s| record.drift_status == s)
    }
}

/// Which events a query returns, oldest first.
///
/// Events are in a total order: by time, then by a key the store gives each event
/// (see [`EventPosition`]), so a query can start exactly after the last event of an
/// earlier page ([`EventFilter::after`]) and page through events sharing a time without
/// skipping or repeating any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events of this cluster.
    pub cluster: Option<String>,
    /// Only events of this resource.
    pub resource_id: Option<ResourceId>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only events after this position: the [`EventPage::next`] of an earlier page.
    pub after: Option<EventPosition>,
    /// At most this many events (the oldest ones).
    pub limit: Option<usize>,
}

impl EventFilter {
    /// Whether an event passes the filter (`after` and `limit` aside).
    pub fn matches(&self, event: &DriftEvent) -> bool {
        self.cluster
            .as_deref()
            .is_none_or(|cluster| event.cluster == cluster)
            && self
                .resource_id
                .as_ref()
                .is_none_or(|id| &event.resource_id == id)
            && self.since.is_none_or(|t| event.at >= t)
            && self.until.is_none_or(|t| event.at < t)
    }
}

/// The place of one event in the order events are listed in: its time, then its key.
///
/// The key tells apart events sharing a time. Each store makes its own (SQLite: the
/// row's sequence number; MongoDB: the document's ObjectId), unique among its events and
/// compared as the store compares them; a store refuses a key it did not make with
/// [`PortErrorKind::InvalidRequest`]. Callers treat it as opaque bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventPosition {
    /// The event's time, as the store keeps it.
    pub at: DateTime<Utc>,
    /// The store's key of the event.
    pub key: Vec<u8>,
}

/// One page of an event query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventPage {
    /// The events, oldest first.
    pub events: Vec<DriftEvent>,
    /// Where the next page starts (the position of this page's last event) when more
    /// events pass the filter; `None` on the last page.
    pub next: Option<EventPosition>,
}

impl EventPage {
    /// The page of a query with `limit` from `rows`: the first matching events in order,
    /// each with its store key, at least one more than `limit` when there are more.
    ///
    /// Stores ask for `limit + 1` rows, so that whether a next page exists is known
    /// without another query, and build the page with this.
    pub fn from_keyed(mut rows: Vec<(DriftEvent, Vec<u8>)>, limit: Option<usize>) -> Self {
        let more = limit.is_some_and(|limit| rows.len() > limit);
        if let Some(limit) = limit {
            rows.truncate(limit);
        }
        let next = if more {
            rows.last().map(|(event, key)| EventPosition {
                at: event.at,
                key: key.clone(),
            })
        } else {
            None
        };
        Self {
            events: rows.into_iter().map(|(event, _)| event).collect(),
            next,
        }
    }
}

/// What one [`DriftStore::prune`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneCounts {
    /// Events older than the events cutoff.
    pub events: u64,
    /// Resolved records whose resolution is older than the records cutoff.
    pub records: u64,
}

/// Persistence of records and their event history.
///
/// Records are keyed by `(cluster, resource_id)`: the same resource id in two clusters is
/// two records, and a save touches exactly the keys of the records it is given, so an
/// analysis of one cluster never writes, resolves or replaces another cluster's records.
#[async_trait]
pub trait DriftStore: Send + Sync {
    /// The record of one resource in one cluster.
    async fn get(&self, cluster: &str, id: &ResourceId) -> Result<Option<DriftRecord>, PortError>;

    /// The records of one resource id in every cluster that has one, ordered by cluster:
    /// what a lookup without a cluster resolves (none, one, or an ambiguous several).
    async fn lookup(&self, id: &ResourceId) -> Result<Vec<DriftRecord>, PortError>;

    /// Records passing `filter`, ordered by `resource_id` (then cluster).
    async fn list(&self, filter: &RecordFilter) -> Result<Vec<DriftRecord>, PortError>;

    /// Upserts the records (each under its `(cluster, resource_id)`) and appends the
    /// events of one analysis, as one batch.
    async fn save(&self, records: &[DriftRecord], events: &[DriftEvent]) -> Result<(), PortError>;

    /// One page of the events passing `filter`, oldest first (ties by store key).
    async fn events(&self, filter: &EventFilter) -> Result<EventPage, PortError>;

    /// Totals and breakdowns over the records and events of `cluster`, or of every
    /// cluster when it is `None`.
    async fn statistics(&self, cluster: Option<&str>) -> Result<DriftStatistics, PortError>;

    /// Record counts per cluster: by status, and how many active ones are Missing.
    ///
    /// The default counts a full listing; stores with a query language count in place.
    async fn cluster_counts(&self) -> Result<BTreeMap<String, StatusCounts>, PortError> {
        let records = self.list(&RecordFilter::default()).await?;
        Ok(crate::stats::status_counts_by(&records, |r| {
            r.cluster.as_str()
        }))
    }

    /// Record counts per (cluster, application): by status, and how many active ones are
    /// Missing. The same application name in two clusters is two applications.
    ///
    /// The default counts a full listing; stores with a query language count in place.
    async fn application_counts(
        &self,
    ) -> Result<BTreeMap<(String, String), StatusCounts>, PortError> {
        let records = self.list(&RecordFilter::default()).await?;
        let mut counts: BTreeMap<(String, String), StatusCounts> = BTreeMap::new();
        for record in &records {
            counts
                .entry((record.cluster.clone(), record.application.clone()))
                .or_default()
                .add(record);
        }
        Ok(counts)
    }

    /// Replaces the status document of `status.cluster`, and its applications' documents
    /// with `status.applications` (an application no longer listed loses its document).
    /// Written by the instance that analyses the cluster; touches no other cluster.
    async fn publish_status(&self, status: &ClusterStatusDocument) -> Result<(), PortError>;

    /// Every cluster's status document, with its applications, ordered by cluster.
    async fn cluster_statuses(&self) -> Result<Vec<ClusterStatusDocument>, PortError>;

    /// Deletes what retention no longer keeps: events that happened before
    /// `before_events`, and records in state `resolved` whose `resolved_at` is before
    /// `before_resolved`. The events of a deleted record stay until they age out
    /// themselves, so history and trend statistics cover one window whatever became of
    /// the records. Returns how many of each were deleted.
    ///
    /// The default refuses: a store that keeps data must say how it deletes it.
    async fn prune(
        &self,
        before_events: DateTime<Utc>,
        before_resolved: DateTime<Utc>,
    ) -> Result<PruneCounts, PortError> {
        let _ = (before_events, before_resolved);
        Err(PortError::new(
            PortErrorKind::InvalidRequest,
            "this store cannot prune records and events",
        ))
    }

    /// Whether the store can serve reads and writes now; for readiness probes.
    /// The default assumes an embedded store that is always there.
    async fn ping(&self) -> Result<(), PortError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::record::EventKind;

    fn keyed(count: u8) -> Vec<(DriftEvent, Vec<u8>)> {
        let at = Utc
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("valid time");
        (0..count)
            .map(|i| {
                let event = DriftEvent {
                    resource_id: ResourceId::namespaced("Deployment", "shop", "web"),
                    cluster: crate::DEFAULT_CLUSTER.to_owned(),
                    application: crate::DEFAULT_APPLICATION.to_owned(),
                    kind: EventKind::DriftChanged,
                    at,
                    drift_types: Vec::new(),
                    severity: None,
                    git_revision: None,
                    message: format!("event {i}"),
                    key: String::new(),
                };
                (event, vec![i])
            })
            .collect()
    }

    #[test]
    fn a_page_points_past_its_last_event_only_when_more_follow() {
        let page = EventPage::from_keyed(keyed(3), Some(2));
        assert_eq!(page.events.len(), 2);
        let next = page.next.expect("a third event follows");
        assert_eq!((next.at, next.key), (page.events[1].at, vec![1]));

        for (rows, limit) in [(2, Some(2)), (1, Some(2)), (0, Some(1)), (3, None)] {
            let page = EventPage::from_keyed(keyed(rows), limit);
            assert_eq!(page.events.len(), usize::from(rows));
            assert_eq!(page.next, None, "{rows} rows, limit {limit:?}");
        }
    }
}
