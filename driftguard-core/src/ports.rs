//! The ports: what the detector needs from sources and stores, implemented by adapters.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::pin::Pin;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use futures_core::Stream;
use serde::Serialize;

use crate::ResourceId;
use crate::drift::{DriftType, Severity};
use crate::model::{DesiredSnapshot, LiveSnapshot, Resource};
use crate::record::{DriftEvent, DriftRecord, DriftStatus, EventKind};
use crate::stats::{DriftStatistics, StatusCounts};
use crate::status::ClusterStatusDocument;
use crate::stored::StoredRecords;

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

/// Which records a listing returns, in which order ([`RecordFilter::sort`]).
///
/// Lists (`Vec`s) of severities and drift types select records having any one of them;
/// an empty list selects every record.
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
    /// Only records whose severity is one of these (a record without one never is).
    pub severities: Vec<Severity>,
    /// Only records having at least one of these drift types.
    pub drift_types: Vec<DriftType>,
    /// Only records whose resource id, or the `path` of one of whose drifts, holds this
    /// text, ASCII letters compared case-insensitively ([`text_matches`]).
    pub text: Option<String>,
    /// The order of the listing.
    pub sort: RecordSort,
    /// At most this many records.
    pub limit: Option<usize>,
    /// Skip this many records first.
    pub offset: usize,
}

impl RecordFilter {
    /// Whether a record passes the field filters (sort, limit and offset aside).
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
            && (self.severities.is_empty()
                || record
                    .severity
                    .is_some_and(|s| self.severities.contains(&s)))
            && (self.drift_types.is_empty()
                || record
                    .drift_types
                    .iter()
                    .any(|t| self.drift_types.contains(t)))
            && self.text.as_deref().is_none_or(|text| {
                text_matches(&record.resource_id.to_string(), text)
                    || record.drifts.iter().any(|d| text_matches(&d.path, text))
            })
    }

    /// The order of records in a listing with this filter's [`RecordFilter::sort`]; what
    /// every store's listing follows.
    pub fn compare(&self, a: &DriftRecord, b: &DriftRecord) -> Ordering {
        self.sort.compare(a, b)
    }

    /// The same filter without paging: what [`DriftStore::count`] counts.
    pub fn unpaged(&self) -> Self {
        Self {
            limit: None,
            offset: 0,
            ..self.clone()
        }
    }
}

/// Whether `haystack` holds `needle`, ASCII letters compared case-insensitively (other
/// characters as they are): the meaning of [`RecordFilter::text`] in every store.
pub fn text_matches(haystack: &str, needle: &str) -> bool {
    haystack
        .to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

/// What a listing is ordered by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// The resource id, in [`ResourceId`] order: kind, namespace (cluster-scoped objects
    /// first), name.
    #[default]
    ResourceId,
    /// The record's severity: `Low < Medium < High`; records without one come last.
    Severity,
    /// When the current (or last) drift episode began; records without one come last.
    FirstDetected,
    /// The last analysis that saw drift; records without one come last.
    LastDetected,
    /// When the last drift episode ended; records without one come last.
    ResolvedAt,
    /// How many analyses saw the current (or last) drift episode.
    DetectionCount,
}

impl SortKey {
    /// Every key, in the order the API lists them.
    pub const ALL: [SortKey; 6] = [
        Self::ResourceId,
        Self::Severity,
        Self::FirstDetected,
        Self::LastDetected,
        Self::ResolvedAt,
        Self::DetectionCount,
    ];

    /// The name in the API's `sort` parameter (and the record field it sorts by).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResourceId => "resource_id",
            Self::Severity => "severity",
            Self::FirstDetected => "first_detected",
            Self::LastDetected => "last_detected",
            Self::ResolvedAt => "resolved_at",
            Self::DetectionCount => "detection_count",
        }
    }
}

/// The order of a listing: a key, ascending or descending.
///
/// Records the key ranks equal are ordered by resource id, then by cluster, both
/// ascending whatever the direction (for [`SortKey::ResourceId`] itself: records of one
/// id by cluster). A record without a value for the key (no severity, no
/// `first_detected`…) comes after every record with one, in both directions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RecordSort {
    /// What to order by.
    pub key: SortKey,
    /// Largest first.
    pub descending: bool,
}

impl RecordSort {
    /// The order of `a` and `b` in a listing sorted this way.
    pub fn compare(&self, a: &DriftRecord, b: &DriftRecord) -> Ordering {
        let by_id = || a.resource_id.cmp(&b.resource_id);
        let directed = |ordering: Ordering| {
            if self.descending {
                ordering.reverse()
            } else {
                ordering
            }
        };
        let primary = match self.key {
            SortKey::ResourceId => directed(by_id()),
            SortKey::Severity => nulls_last(a.severity, b.severity, directed),
            SortKey::FirstDetected => nulls_last(a.first_detected, b.first_detected, directed),
            SortKey::LastDetected => nulls_last(a.last_detected, b.last_detected, directed),
            SortKey::ResolvedAt => nulls_last(a.resolved_at, b.resolved_at, directed),
            SortKey::DetectionCount => directed(a.detection_count.cmp(&b.detection_count)),
        };
        primary
            .then_with(by_id)
            .then_with(|| a.cluster.cmp(&b.cluster))
    }
}

/// `a` against `b` by `directed` order, a missing value after every present one.
fn nulls_last<T: Ord>(
    a: Option<T>,
    b: Option<T>,
    directed: impl Fn(Ordering) -> Ordering,
) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => directed(a.cmp(&b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

impl std::fmt::Display for RecordSort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.descending {
            f.write_str("-")?;
        }
        f.write_str(self.key.as_str())
    }
}

impl std::str::FromStr for RecordSort {
    type Err = crate::Error;

    /// A key's name, optionally prefixed by `-` for descending: `severity`,
    /// `-last_detected`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (descending, name) = match s.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, s),
        };
        SortKey::ALL
            .into_iter()
            .find(|key| key.as_str() == name)
            .map(|key| Self { key, descending })
            .ok_or_else(|| crate::Error::InvalidRule(format!("unknown sort order `{s}`")))
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

/// Which lifecycle events a timeline counts, and in which buckets: `buckets` buckets of
/// `step`, the first starting at `from`, each holding the events at or after its start
/// and before the next one's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineQuery {
    /// Only events of this cluster.
    pub cluster: Option<String>,
    /// The start of the first bucket.
    pub from: DateTime<Utc>,
    /// The length of each bucket (positive).
    pub step: TimeDelta,
    /// How many buckets.
    pub buckets: usize,
}

impl TimelineQuery {
    /// The buckets of `step` covering `window` up to the bucket that holds `now`, buckets
    /// aligned to whole multiples of `step` since the Unix epoch (UTC): the last bucket
    /// starts at `now` rounded down to `step`, and the first `window` before the last one
    /// ends. `window` must be a whole multiple of `step` (else it is rounded down to
    /// one); both must be positive.
    pub fn ending_with(
        now: DateTime<Utc>,
        window: TimeDelta,
        step: TimeDelta,
        cluster: Option<String>,
    ) -> Self {
        let step_ms = step.num_milliseconds().max(1);
        let buckets = usize::try_from(window.num_milliseconds() / step_ms)
            .unwrap_or(0)
            .max(1);
        let now_ms = now.timestamp_millis();
        let last_start = now_ms - now_ms.rem_euclid(step_ms);
        let first_start = last_start - step_ms * (buckets as i64 - 1);
        Self {
            cluster,
            from: DateTime::from_timestamp_millis(first_start).unwrap_or(now),
            step: TimeDelta::milliseconds(step_ms),
            buckets,
        }
    }

    /// The end of the last bucket (excluded).
    pub fn to(&self) -> DateTime<Utc> {
        self.bucket_start(self.buckets)
    }

    /// The start of bucket `index`.
    pub fn bucket_start(&self, index: usize) -> DateTime<Utc> {
        self.from + self.step * i32::try_from(index).unwrap_or(i32::MAX)
    }

    /// The bucket an event at `at` falls in; `None` outside the query's range.
    pub fn bucket_of(&self, at: DateTime<Utc>) -> Option<usize> {
        if at < self.from {
            return None;
        }
        let since = (at - self.from).num_nanoseconds()?;
        let step = self.step.num_nanoseconds()?;
        usize::try_from(since / step)
            .ok()
            .filter(|index| *index < self.buckets)
    }

    /// The events this query reads (all of them, oldest first): those of its cluster
    /// in its range.
    pub fn events(&self) -> EventFilter {
        EventFilter {
            cluster: self.cluster.clone(),
            since: Some(self.from),
            until: Some(self.to()),
            ..EventFilter::default()
        }
    }
}

/// Event counts by severity. Serialized as `{"High": n, "Medium": n, "Low": n}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SeverityCounts {
    /// High-severity events.
    #[serde(rename = "High")]
    pub high: u64,
    /// Medium-severity events.
    #[serde(rename = "Medium")]
    pub medium: u64,
    /// Low-severity events.
    #[serde(rename = "Low")]
    pub low: u64,
}

impl SeverityCounts {
    /// Adds `count` events of `severity`.
    pub fn add(&mut self, severity: Severity, count: u64) {
        match severity {
            Severity::High => self.high += count,
            Severity::Medium => self.medium += count,
            Severity::Low => self.low += count,
        }
    }
}

/// One bucket of a timeline: the lifecycle events from `start` to the next bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineBucket {
    /// The start of the bucket (included).
    pub start: DateTime<Utc>,
    /// `drift_detected` and `drift_changed` events, by the event's severity.
    pub drift: SeverityCounts,
    /// `drift_resolved` events, by the severity resolved.
    pub resolved: SeverityCounts,
}

/// Lifecycle events counted per bucket of a [`TimelineQuery`], every bucket present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    /// The buckets, oldest first.
    pub buckets: Vec<TimelineBucket>,
}

impl Timeline {
    /// Every bucket of `query`, with no event counted.
    pub fn empty(query: &TimelineQuery) -> Self {
        Self {
            buckets: (0..query.buckets)
                .map(|index| TimelineBucket {
                    start: query.bucket_start(index),
                    drift: SeverityCounts::default(),
                    resolved: SeverityCounts::default(),
                })
                .collect(),
        }
    }

    /// Counts `count` events of `kind` and `severity` in bucket `index`. An event
    /// without a severity (which the detector never writes) is not counted, nor one
    /// outside the buckets.
    pub fn add(&mut self, index: usize, kind: EventKind, severity: Option<Severity>, count: u64) {
        let (Some(bucket), Some(severity)) = (self.buckets.get_mut(index), severity) else {
            return;
        };
        match kind {
            EventKind::DriftDetected | EventKind::DriftChanged => {
                bucket.drift.add(severity, count);
            }
            EventKind::DriftResolved => bucket.resolved.add(severity, count),
        }
    }

    /// The timeline of `query` over `events`: each event passing the query's cluster
    /// counted in its bucket. The definition every store's timeline follows.
    pub fn of_events<'a>(
        query: &TimelineQuery,
        events: impl IntoIterator<Item = &'a DriftEvent>,
    ) -> Self {
        let mut timeline = Self::empty(query);
        for event in events {
            if query
                .cluster
                .as_deref()
                .is_some_and(|cluster| event.cluster != cluster)
            {
                continue;
            }
            if let Some(index) = query.bucket_of(event.at) {
                timeline.add(index, event.kind, event.severity, 1);
            }
        }
        timeline
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

    /// Records passing `filter`, in its order ([`RecordFilter::compare`]), paged.
    async fn list(&self, filter: &RecordFilter) -> Result<Vec<DriftRecord>, PortError>;

    /// Every record of `cluster`, keyed by id: what a full analysis continues from.
    ///
    /// The default collects a full listing; stores override it to key the records as
    /// they read them, without a listing's vector of every record beside the map.
    async fn stored_records(&self, cluster: &str) -> Result<StoredRecords, PortError> {
        let filter = RecordFilter {
            cluster: Some(cluster.to_owned()),
            ..RecordFilter::default()
        };
        Ok(self.list(&filter).await?.into_iter().collect())
    }

    /// How many records pass `filter`, its `limit` and `offset` aside: the total a paged
    /// listing is part of.
    ///
    /// The default counts a full listing; stores with a query language count in place.
    async fn count(&self, filter: &RecordFilter) -> Result<u64, PortError> {
        let records = self.list(&filter.unpaged()).await?;
        Ok(u64::try_from(records.len()).unwrap_or(u64::MAX))
    }

    /// Upserts the records (each under its `(cluster, resource_id)`) and appends the
    /// events of one analysis, as one batch.
    async fn save(&self, records: &[DriftRecord], events: &[DriftEvent]) -> Result<(), PortError>;

    /// One page of the events passing `filter`, oldest first (ties by store key).
    async fn events(&self, filter: &EventFilter) -> Result<EventPage, PortError>;

    /// Totals and breakdowns over the records and events of `cluster`, or of every
    /// cluster when it is `None`.
    async fn statistics(&self, cluster: Option<&str>) -> Result<DriftStatistics, PortError>;

    /// The lifecycle events of `query.cluster` (every cluster when `None`) counted per
    /// bucket and severity, as [`Timeline::of_events`] defines.
    ///
    /// The default reads the events of the range page by page; stores with a query
    /// language count in place.
    async fn timeline(&self, query: &TimelineQuery) -> Result<Timeline, PortError> {
        const PAGE: usize = 10_000;
        let mut timeline = Timeline::empty(query);
        let mut filter = EventFilter {
            limit: Some(PAGE),
            ..query.events()
        };
        loop {
            let page = self.events(&filter).await?;
            for event in &page.events {
                if let Some(index) = query.bucket_of(event.at) {
                    timeline.add(index, event.kind, event.severity, 1);
                }
            }
            match page.next {
                Some(next) => filter.after = Some(next),
                None => return Ok(timeline),
            }
        }
    }

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

    fn time(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
            .single()
            .expect("valid time")
            + TimeDelta::minutes(minutes)
    }

    fn record(id: &str, cluster: &str) -> DriftRecord {
        let resource_id: ResourceId = id.parse().expect("valid id");
        DriftRecord {
            api_version: "v1".to_owned(),
            kind: resource_id.kind().to_owned(),
            namespace: resource_id.namespace().map(str::to_owned),
            name: resource_id.name().to_owned(),
            cluster: cluster.to_owned(),
            application: crate::DEFAULT_APPLICATION.to_owned(),
            resource_id,
            drift_detected: false,
            drift_status: DriftStatus::None,
            severity: None,
            drift_types: Vec::new(),
            drifts: Vec::new(),
            desired_hash: "d".to_owned(),
            live_hash: None,
            last_known_good_hash: None,
            git_revision: None,
            first_detected: None,
            last_detected: None,
            resolved_at: None,
            last_checked: time(0),
            resolution_message: None,
            detection_count: 0,
        }
    }

    fn drift(path: &str, drift_type: DriftType, severity: Severity) -> crate::DriftDetail {
        crate::DriftDetail {
            path: path.to_owned(),
            drift_type,
            severity,
            desired: None,
            live: None,
            manager: None,
            hand_edit: false,
            unowned: false,
        }
    }

    #[test]
    fn sort_orders_parse_and_print_back() {
        for key in SortKey::ALL {
            for descending in [false, true] {
                let sort = RecordSort { key, descending };
                assert_eq!(sort.to_string().parse::<RecordSort>().ok(), Some(sort));
            }
        }
        assert_eq!(
            "-severity".parse::<RecordSort>().ok(),
            Some(RecordSort {
                key: SortKey::Severity,
                descending: true
            })
        );
        for bad in ["", "-", "Severity", "--severity", "+severity", "kind"] {
            assert!(bad.parse::<RecordSort>().is_err(), "{bad}");
        }
    }

    #[test]
    fn severity_sorts_high_above_low_and_none_last_both_ways() {
        let mut high = record("Deployment:shop:b", "default");
        high.severity = Some(Severity::High);
        let mut low = record("Deployment:shop:c", "default");
        low.severity = Some(Severity::Low);
        let none = record("Deployment:shop:a", "default");
        let mut medium = record("Deployment:shop:d", "default");
        medium.severity = Some(Severity::Medium);
        let mut medium_east = medium.clone();
        medium_east.cluster = "east".to_owned();
        let records = [&none, &medium_east, &low, &high, &medium];
        let sorted = |sort: &str| {
            let filter = RecordFilter {
                sort: sort.parse().expect("a sort order"),
                ..RecordFilter::default()
            };
            let mut sorted = records.to_vec();
            sorted.sort_by(|a, b| filter.compare(a, b));
            sorted
                .iter()
                .map(|r| format!("{}@{}", r.name, r.cluster))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            sorted("-severity"),
            ["b@default", "d@default", "d@east", "c@default", "a@default"]
        );
        assert_eq!(
            sorted("severity"),
            ["c@default", "d@default", "d@east", "b@default", "a@default"]
        );
        assert_eq!(
            sorted("resource_id"),
            ["a@default", "b@default", "c@default", "d@default", "d@east"]
        );
        assert_eq!(
            sorted("-resource_id"),
            ["d@default", "d@east", "c@default", "b@default", "a@default"]
        );
    }

    #[test]
    fn times_sort_with_missing_ones_last_both_ways() {
        let mut early = record("ConfigMap:shop:early", "default");
        early.first_detected = Some(time(1));
        let mut late = record("ConfigMap:shop:late", "default");
        late.first_detected = Some(time(2));
        let never = record("ConfigMap:shop:a-never", "default");
        let mut tie = record("ConfigMap:shop:another-late", "default");
        tie.first_detected = Some(time(2));
        let names = |sort: &str| {
            let sort: RecordSort = sort.parse().expect("a sort order");
            let mut sorted = [&never, &late, &early, &tie];
            sorted.sort_by(|a, b| sort.compare(a, b));
            sorted.iter().map(|r| r.name.as_str()).collect::<Vec<_>>()
        };
        assert_eq!(
            names("first_detected"),
            ["early", "another-late", "late", "a-never"]
        );
        assert_eq!(
            names("-first_detected"),
            ["another-late", "late", "early", "a-never"]
        );
    }

    #[test]
    fn filters_by_severity_type_and_text() {
        let mut web = record("Deployment:shop:web", "default");
        web.severity = Some(Severity::High);
        web.drift_types = vec![DriftType::Scaling, DriftType::VersionChange];
        web.drifts = vec![
            drift("spec.replicas", DriftType::Scaling, Severity::Medium),
            drift(
                "spec.template.spec.containers[name=web].image",
                DriftType::VersionChange,
                Severity::High,
            ),
        ];
        let clean = record("ConfigMap:billing:Settings", "default");
        let filter = |f: fn(&mut RecordFilter)| {
            let mut filter = RecordFilter::default();
            f(&mut filter);
            (filter.matches(&web), filter.matches(&clean))
        };
        assert_eq!(
            filter(|f| f.severities = vec![Severity::High, Severity::Low]),
            (true, false)
        );
        assert_eq!(
            filter(|f| f.severities = vec![Severity::Medium]),
            (false, false)
        );
        assert_eq!(
            filter(|f| f.drift_types = vec![DriftType::Missing, DriftType::Scaling]),
            (true, false)
        );
        assert_eq!(
            filter(|f| f.drift_types = vec![DriftType::LabelChange]),
            (false, false)
        );
        assert_eq!(filter(|f| f.text = Some("IMAGE".to_owned())), (true, false));
        assert_eq!(
            filter(|f| f.text = Some("settings".to_owned())),
            (false, true)
        );
        assert_eq!(filter(|f| f.text = Some(":".to_owned())), (true, true));
        assert_eq!(
            filter(|f| f.text = Some("[name=web]".to_owned())),
            (true, false)
        );
        assert_eq!(filter(|f| f.text = Some("nope".to_owned())), (false, false));
        assert!(!text_matches("Ärger:Web", "äRGER:wEB"));
        assert!(text_matches("Ärger:Web", "Ärger:wEB"));
    }

    #[test]
    fn timeline_buckets_end_with_the_one_holding_now() {
        let now = time(7) + TimeDelta::seconds(30);
        let query =
            TimelineQuery::ending_with(now, TimeDelta::hours(1), TimeDelta::minutes(15), None);
        assert_eq!(query.buckets, 4);
        assert_eq!(query.from, time(-45));
        assert_eq!(query.to(), time(15));
        assert_eq!(query.bucket_of(time(-45)), Some(0));
        assert_eq!(query.bucket_of(time(-46)), None);
        assert_eq!(
            query.bucket_of(time(-30) - TimeDelta::nanoseconds(1)),
            Some(0)
        );
        assert_eq!(query.bucket_of(time(-30)), Some(1));
        assert_eq!(query.bucket_of(now), Some(3));
        assert_eq!(query.bucket_of(time(15)), None);
        let aligned = TimelineQuery::ending_with(
            time(0),
            TimeDelta::days(1),
            TimeDelta::hours(6),
            Some("east".to_owned()),
        );
        assert_eq!(
            (aligned.from, aligned.to(), aligned.buckets),
            (time(-18 * 60), time(6 * 60), 4)
        );
    }

    #[test]
    fn timeline_counts_drift_and_resolutions_by_severity() {
        let query = TimelineQuery {
            cluster: Some("default".to_owned()),
            from: time(0),
            step: TimeDelta::hours(1),
            buckets: 3,
        };
        let mut events: Vec<DriftEvent> = Vec::new();
        let mut event = |kind, minutes, severity, cluster: &str| {
            let (mut e, _) = keyed(1).remove(0);
            e.kind = kind;
            e.at = time(minutes);
            e.severity = severity;
            e.cluster = cluster.to_owned();
            events.push(e);
        };
        event(EventKind::DriftDetected, 0, Some(Severity::High), "default");
        event(EventKind::DriftChanged, 59, Some(Severity::Low), "default");
        event(
            EventKind::DriftResolved,
            60,
            Some(Severity::High),
            "default",
        );
        event(EventKind::DriftDetected, 61, Some(Severity::Medium), "east");
        event(EventKind::DriftDetected, 179, None, "default");
        event(
            EventKind::DriftDetected,
            180,
            Some(Severity::High),
            "default",
        );
        event(
            EventKind::DriftDetected,
            -1,
            Some(Severity::High),
            "default",
        );
        let timeline = Timeline::of_events(&query, &events);
        let counts: Vec<_> = timeline
            .buckets
            .iter()
            .map(|b| (b.start, b.drift, b.resolved))
            .collect();
        let severities = |high, medium, low| SeverityCounts { high, medium, low };
        assert_eq!(
            counts,
            [
                (time(0), severities(1, 0, 1), severities(0, 0, 0)),
                (time(60), severities(0, 0, 0), severities(1, 0, 0)),
                (time(120), severities(0, 0, 0), severities(0, 0, 0)),
            ]
        );
        assert_eq!(
            serde_json::to_value(&timeline.buckets[0]).expect("serializes"),
            serde_json::json!({
                "start": "2026-01-01T12:00:00Z",
                "drift": {"High": 1, "Medium": 0, "Low": 1},
                "resolved": {"High": 0, "Medium": 0, "Low": 0},
            })
        );
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
