//! One cluster this instance analyses: its detector, whether this instance leads it now,
//! and what its analyses learnt (readiness, last analysis, metrics), from which its status
//! document is written.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use driftguard_core::{
    ApplicationStatusDocument, ClusterStatusDocument, Detector, FailingComponent, Leadership,
};
use tokio::sync::watch;

use crate::active::ActiveDrift;
use crate::last_analysis::LastAnalysis;
use crate::metrics::{ClusterMetrics, Metrics};
use crate::readiness::{Component, Readiness};
use crate::trigger::AnalysisTrigger;

/// A cluster for the service to analyse: a detector over its applications, its live
/// source and the shared store, and, with leader election, the channel that says whether
/// this instance leads it.
pub struct ClusterAnalysis {
    detector: Detector,
    leadership: Option<watch::Receiver<Leadership>>,
}

impl ClusterAnalysis {
    /// A cluster this instance always leads (no leader election).
    pub fn new(detector: Detector) -> Self {
        Self {
            detector,
            leadership: None,
        }
    }

    /// The same, analysed only while `leadership` says this instance leads it.
    pub fn with_leadership(mut self, leadership: watch::Receiver<Leadership>) -> Self {
        self.leadership = Some(leadership);
        self
    }

    /// The cluster's name (`cluster.name`, or its entry in `clusters`).
    pub fn name(&self) -> &str {
        &self.detector.settings().cluster
    }
}

impl std::fmt::Debug for ClusterAnalysis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterAnalysis")
            .field("cluster", &self.name())
            .field("elected", &self.leadership.is_some())
            .finish_non_exhaustive()
    }
}

/// A cluster as the running service keeps it.
pub(crate) struct ClusterRuntime {
    detector: Detector,
    leadership: watch::Receiver<Leadership>,
    /// Kept so that a cluster without election keeps its channel open.
    _always_leader: Option<watch::Sender<Leadership>>,
    readiness: Readiness,
    last_analysis: LastAnalysis,
    trigger: AnalysisTrigger,
    metrics: ClusterMetrics,
    /// Desired resources the last successful full analysis compared.
    resources: AtomicU64,
}

impl ClusterRuntime {
    /// The runtime of `cluster`, recording its series through `metrics`.
    pub(crate) fn new(cluster: ClusterAnalysis, metrics: &Metrics, now: DateTime<Utc>) -> Self {
        let metrics = metrics.cluster(cluster.name());
        let readiness = Readiness::new(metrics.component_ready_gauge(), now);
        let (leadership, always_leader) = match cluster.leadership {
            Some(leadership) => (leadership, None),
            None => {
                let (sender, receiver) = watch::channel(Leadership::Leader);
                (receiver, Some(sender))
            }
        };
        metrics.leader(leadership.borrow().is_leader());
        Self {
            detector: cluster.detector,
            leadership,
            _always_leader: always_leader,
            readiness,
            last_analysis: LastAnalysis::default(),
            trigger: AnalysisTrigger::default(),
            metrics,
            resources: AtomicU64::new(0),
        }
    }

    /// The cluster's name.
    pub(crate) fn name(&self) -> &str {
        &self.detector.settings().cluster
    }

    /// The detector of the cluster's analyses.
    pub(crate) fn detector(&self) -> &Detector {
        &self.detector
    }

    /// Whether this instance leads the cluster now.
    pub(crate) fn leadership(&self) -> Leadership {
        self.leadership.borrow().clone()
    }

    /// A receiver of the cluster's leadership changes.
    pub(crate) fn leadership_changes(&self) -> watch::Receiver<Leadership> {
        self.leadership.clone()
    }

    /// The readiness of the cluster's components, as this instance's analyses found them.
    pub(crate) fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// The last full analysis this instance ran.
    pub(crate) fn last_analysis(&self) -> &LastAnalysis {
        &self.last_analysis
    }

    /// The coalescing trigger of the cluster's full analyses.
    pub(crate) fn trigger(&self) -> &AnalysisTrigger {
        &self.trigger
    }

    /// The cluster's metric series.
    pub(crate) fn metrics(&self) -> &ClusterMetrics {
        &self.metrics
    }

    /// Publishes that this instance stands by for the cluster: `driftguard_leader` 0, no
    /// component of its own failing (the leader's are the cluster's), and no active drift
    /// of its own, so that aggregating the series of every replica (`max by (cluster)`)
    /// shows the leader's, never a former leader's stale values.
    pub(crate) fn standing_by(&self) {
        self.metrics.leader(false);
        for component in Component::ALL {
            self.readiness.succeeded(component);
        }
        let nothing = ActiveDrift::default();
        self.metrics.drift_scores(&nothing.scores());
        self.metrics.active_drift(&nothing.counts());
    }

    /// Notes how many desired resources a successful full analysis compared.
    pub(crate) fn set_resources(&self, resources: usize) {
        self.resources.store(
            u64::try_from(resources).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The cluster's status document as this instance, its leader `identity`, knows it at
    /// `now`; readers treat it as stale after `valid_for`.
    pub(crate) fn status_document(
        &self,
        identity: &str,
        now: DateTime<Utc>,
        valid_for: TimeDelta,
    ) -> ClusterStatusDocument {
        let cluster = self.name().to_owned();
        let applications = self
            .detector
            .application_statuses()
            .into_iter()
            .map(|status| ApplicationStatusDocument {
                cluster: cluster.clone(),
                name: status.name,
                source: status.source,
                namespace: status.namespace,
                revision: status.revision,
                status: status.status,
                error: status.error,
                render_seconds: status.render.map(|r| r.seconds),
                checked_at: status.checked_at,
            })
            .collect();
        let failing = self
            .readiness
            .not_ready()
            .into_iter()
            .map(|n| FailingComponent {
                component: n.component.as_str().to_owned(),
                reason: n.reason,
                since: n.since,
            })
            .collect();
        ClusterStatusDocument {
            cluster,
            leader: identity.to_owned(),
            last_analysis: self.last_analysis.get(),
            failing,
            resources: self.resources.load(Ordering::Relaxed),
            updated_at: now,
            expires_at: now
                .checked_add_signed(valid_for)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            applications,
        }
    }
}
