//! The shapes of successful answers.

use chrono::{DateTime, Utc};
use driftguard_core::ports::TimelineBucket;
use driftguard_core::stats::{DriftStatistics, StatusCounts};
use driftguard_core::{AnalysisNote, ApplicationStatusDocument, DriftEvent, DriftRecord};
use serde::Serialize;

use crate::readiness::NotReady;

/// `{"status": …, "message": …}`: `/health`, `/ready` when ready, `POST /api/v1/analyze`.
#[derive(Debug, Serialize)]
pub(crate) struct StatusBody {
    pub(crate) status: &'static str,
    pub(crate) message: &'static str,
}

/// `/ready`: `status` is `ready` (everything works), `degraded` (the instance serves,
/// but a cluster or application it reports on is failing) or `not_ready` (the store does
/// not answer: 503). `components` lists every failing component, each with its cluster
/// (none for the store); `clusters` the clusters the instance reports on.
#[derive(Debug, Serialize)]
pub(crate) struct ReadyBody {
    pub(crate) status: &'static str,
    pub(crate) message: String,
    pub(crate) components: Vec<NotReadyComponent>,
    pub(crate) clusters: Vec<ReadyCluster>,
}

/// One component that is not ready, and why.
#[derive(Debug, Serialize)]
pub(crate) struct NotReadyComponent {
    pub(crate) component: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) cluster: Option<String>,
    pub(crate) reason: String,
    pub(crate) since: DateTime<Utc>,
}

impl From<NotReady> for NotReadyComponent {
    fn from(not_ready: NotReady) -> Self {
        Self {
            component: not_ready.component.as_str().to_owned(),
            cluster: None,
            reason: not_ready.reason,
            since: not_ready.since,
        }
    }
}

/// One cluster in `/ready`: whether it is analysed without failures (`null` when nothing
/// is known of it yet), who leads it, and its failing applications.
#[derive(Debug, Serialize)]
pub(crate) struct ReadyCluster {
    pub(crate) name: String,
    pub(crate) ready: Option<bool>,
    pub(crate) leader: Option<String>,
    /// Whether this instance leads it.
    pub(crate) leading: bool,
    pub(crate) failing_applications: Vec<FailingApplication>,
}

/// An application whose last read failed (`failed`) or was not believed (`held_back`).
#[derive(Debug, Serialize)]
pub(crate) struct FailingApplication {
    pub(crate) name: String,
    pub(crate) status: &'static str,
    pub(crate) error: Option<String>,
}

/// A list of records: `{"drift_records": […], "count": N, "total": M}`: `count` records
/// in this answer, `total` passing the filter, paging aside.
#[derive(Debug, Serialize)]
pub(crate) struct RecordList {
    pub(crate) drift_records: Vec<DriftRecord>,
    pub(crate) count: usize,
    pub(crate) total: u64,
}

/// One page of a resource's history:
/// `{"resource_id": …, "events": […], "count": N, "next": "…"}`.
#[derive(Debug, Serialize)]
pub(crate) struct EventList {
    pub(crate) resource_id: String,
    pub(crate) events: Vec<DriftEvent>,
    pub(crate) count: usize,
    /// The cursor of the next page; `null` on the last page.
    pub(crate) next: Option<String>,
}

/// `{"statistics": {…}}`.
#[derive(Debug, Serialize)]
pub(crate) struct StatisticsBody {
    pub(crate) statistics: DriftStatistics,
}

/// `GET /api/v1/statistics/timeline`: the window and step as asked, the range the
/// buckets cover (`from` included, `to` excluded) and every bucket, oldest first.
#[derive(Debug, Serialize)]
pub(crate) struct TimelineBody {
    pub(crate) window: &'static str,
    pub(crate) step: &'static str,
    pub(crate) from: DateTime<Utc>,
    pub(crate) to: DateTime<Utc>,
    pub(crate) buckets: Vec<TimelineBucket>,
}

/// `{"applications": […], "count": N}`.
#[derive(Debug, Serialize)]
pub(crate) struct ApplicationList {
    pub(crate) applications: Vec<ApplicationBody>,
    pub(crate) count: usize,
}

/// One application: its source, the revision last read, how its rendering went, and its
/// record counts.
#[derive(Debug, Serialize)]
pub(crate) struct ApplicationBody {
    pub(crate) name: String,
    pub(crate) cluster: String,
    pub(crate) source: String,
    pub(crate) namespace: Option<String>,
    pub(crate) revision: Option<String>,
    pub(crate) render: RenderBody,
    pub(crate) counts: StatusCounts,
    pub(crate) last_checked: Option<DateTime<Utc>>,
}

/// `{"clusters": […], "count": N}`.
#[derive(Debug, Serialize)]
pub(crate) struct ClusterList {
    pub(crate) clusters: Vec<ClusterBody>,
    pub(crate) count: usize,
}

/// One cluster: its record counts from the store, and its last analysis, readiness and
/// leader (the identity of the instance analysing it), from this instance's memory when
/// it leads the cluster and from the cluster's status document otherwise; `null` when
/// neither knows.
#[derive(Debug, Serialize)]
pub(crate) struct ClusterBody {
    pub(crate) name: String,
    pub(crate) last_analysis: Option<AnalysisNote>,
    pub(crate) counts: StatusCounts,
    pub(crate) ready: Option<bool>,
    pub(crate) leader: Option<String>,
}

/// How producing an application's desired state went at the last analysis.
#[derive(Debug, Serialize)]
pub(crate) struct RenderBody {
    /// `ok`, `failed` or `pending`.
    pub(crate) status: &'static str,
    pub(crate) error: Option<String>,
    /// Seconds its renderers took; `null` for plain manifests or before the first read.
    pub(crate) duration_seconds: Option<f64>,
}

impl ApplicationBody {
    pub(crate) fn new(status: ApplicationStatusDocument, counts: StatusCounts) -> Self {
        Self {
            render: RenderBody {
                status: status.status.as_str(),
                error: status.error,
                duration_seconds: status.render_seconds,
            },
            name: status.name,
            cluster: status.cluster,
            source: status.source,
            namespace: status.namespace,
            revision: status.revision,
            counts,
            last_checked: status.checked_at,
        }
    }
}
