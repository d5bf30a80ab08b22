//! Statistics over records and events, for the API and dashboards.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::drift::DriftType;
use crate::record::{DriftEvent, DriftRecord, DriftStatus, EventKind};

/// How often one resource drifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftCount {
    /// The cluster the resource runs in.
    #[serde(default = "crate::record::default_cluster")]
    pub cluster: String,
    /// The resource id.
    pub resource_id: String,
    /// Number of `drift_detected` events.
    pub drift_events: u64,
}

/// Totals and breakdowns of drift.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DriftStatistics {
    /// Records stored.
    pub total_resources: u64,
    /// Records with drift now.
    pub drifted_resources: u64,
    /// Records by status (`none`, `active`, `resolved`).
    pub by_status: BTreeMap<String, u64>,
    /// Drifted records by severity.
    pub by_severity: BTreeMap<String, u64>,
    /// Drifted records by drift type (a record counts once per type it has).
    pub by_type: BTreeMap<String, u64>,
    /// Drifted records by namespace (`""` for cluster-scoped).
    pub by_namespace: BTreeMap<String, u64>,
    /// Drifted records by application.
    pub by_application: BTreeMap<String, u64>,
    /// Drifted records by cluster.
    #[serde(default)]
    pub by_cluster: BTreeMap<String, u64>,
    /// Events stored.
    pub total_events: u64,
    /// Mean seconds from a drift being detected to its resolution, over resolved episodes.
    pub mean_time_to_resolve_seconds: Option<f64>,
    /// The resources with the most drift episodes, most first.
    pub most_drifted: Vec<DriftCount>,
}

/// Record counts of one group (an application, a cluster): by lifecycle state, and how
/// many of the active ones are Missing from the cluster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// Records that never drifted.
    pub none: u64,
    /// Records with drift now (Missing ones included).
    pub active: u64,
    /// Records whose drift was resolved.
    pub resolved: u64,
    /// Active records whose resource is missing from the cluster.
    pub missing: u64,
}

impl StatusCounts {
    /// Counts one record.
    pub fn add(&mut self, record: &DriftRecord) {
        match record.drift_status {
            DriftStatus::None => self.none += 1,
            DriftStatus::Active => {
                self.active += 1;
                if record.drift_types.contains(&DriftType::Missing) {
                    self.missing += 1;
                }
            }
            DriftStatus::Resolved => self.resolved += 1,
        }
    }
}

/// Status counts of `records`, grouped by the key `group` gives each record.
pub fn status_counts_by<'a, K: Ord + ToOwned + ?Sized + 'a>(
    records: &'a [DriftRecord],
    group: impl Fn(&'a DriftRecord) -> &'a K,
) -> BTreeMap<K::Owned, StatusCounts>
where
    K::Owned: Ord,
{
    let mut counts: BTreeMap<K::Owned, StatusCounts> = BTreeMap::new();
    for record in records {
        counts
            .entry(group(record).to_owned())
            .or_default()
            .add(record);
    }
    counts
}

/// How many resources `most_drifted` lists.
pub const MOST_DRIFTED_LIMIT: usize = 10;

/// A count of zero for every status: statistics list each status, also one no record has.
pub fn zero_status_counts() -> BTreeMap<String, u64> {
    [
        DriftStatus::None,
        DriftStatus::Active,
        DriftStatus::Resolved,
    ]
    .iter()
    .map(|status| (status.as_str().to_owned(), 0))
    .collect()
}

/// Computes statistics from all records and events.
pub fn compute(records: &[DriftRecord], events: &[DriftEvent]) -> DriftStatistics {
    let mut stats = DriftStatistics {
        total_resources: records.len() as u64,
        total_events: events.len() as u64,
        by_status: zero_status_counts(),
        ..DriftStatistics::default()
    };
    for record in records {
        *stats
            .by_status
            .entry(record.drift_status.as_str().to_owned())
            .or_default() += 1;
        if !record.drift_detected {
            continue;
        }
        stats.drifted_resources += 1;
        if let Some(severity) = record.severity {
            *stats
                .by_severity
                .entry(severity.as_str().to_owned())
                .or_default() += 1;
        }
        for drift_type in &record.drift_types {
            *stats
                .by_type
                .entry(drift_type.as_str().to_owned())
                .or_default() += 1;
        }
        *stats
            .by_namespace
            .entry(record.namespace.clone().unwrap_or_default())
            .or_default() += 1;
        *stats
            .by_application
            .entry(record.application.clone())
            .or_default() += 1;
        *stats.by_cluster.entry(record.cluster.clone()).or_default() += 1;
    }
    stats.mean_time_to_resolve_seconds = mean_time_to_resolve(events);
    stats.most_drifted = most_drifted(events, MOST_DRIFTED_LIMIT);
    stats
}

/// Mean detection-to-resolution time, pairing each resolution with the detection before it.
pub fn mean_time_to_resolve(events: &[DriftEvent]) -> Option<f64> {
    let mut sorted: Vec<&DriftEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.at);
    let mut open: HashMap<(String, String), DateTime<Utc>> = HashMap::new();
    let (mut total, mut count) = (0.0_f64, 0u32);
    for event in sorted {
        let id = (event.cluster.clone(), event.resource_id.to_string());
        match event.kind {
            EventKind::DriftDetected => {
                open.entry(id).or_insert(event.at);
            }
            EventKind::DriftResolved => {
                if let Some(start) = open.remove(&id) {
                    total += (event.at - start).num_milliseconds() as f64 / 1000.0;
                    count += 1;
                }
            }
            EventKind::DriftChanged => {}
        }
    }
    (count > 0).then(|| total / f64::from(count))
}

/// The resources with the most `drift_detected` events.
pub fn most_drifted(events: &[DriftEvent], limit: usize) -> Vec<DriftCount> {
    let mut counts: HashMap<(String, String), u64> = HashMap::new();
    for event in events.iter().filter(|e| e.kind == EventKind::DriftDetected) {
        *counts
            .entry((event.cluster.clone(), event.resource_id.to_string()))
            .or_default() += 1;
    }
    let mut list: Vec<DriftCount> = counts
        .into_iter()
        .map(|((cluster, resource_id), drift_events)| DriftCount {
            cluster,
            resource_id,
            drift_events,
        })
        .collect();
    list.sort_by(|a, b| {
        b.drift_events
            .cmp(&a.drift_events)
            .then(a.resource_id.cmp(&b.resource_id))
            .then(a.cluster.cmp(&b.cluster))
    });
    list.truncate(limit);
    list
}
