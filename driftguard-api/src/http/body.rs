//! The shapes of successful answers.

use chrono::{DateTime, Utc};
use driftguard_core::stats::{DriftStatistics, StatusCounts};
use driftguard_core::{ApplicationStatus, DriftEvent, DriftRecord};
use serde::Serialize;

use crate::last_analysis::AnalysisNote;
use crate::readiness::NotReady;

/// `{"status": …, "message": …}`: `/health`, `/ready` when ready, `POST /api/v1/analyze`.
#[derive(Debug, Serialize)]
pub(crate) struct StatusBody {
    pub(crate) status: &'static str,
    pub(crate) message: &'static str,
}

/// `/ready` when some component is not ready.
#[derive(Debug, Serialize)]
pub(crate) struct NotReadyBody {
    pub(crate) status: &'static str,
    pub(crate) message: String,
    pub(crate) components: Vec<NotReadyComponent>,
}

/// One component that is not ready, and why.
#[derive(Debug, Serialize)]
pub(crate) struct NotReadyComponent {
    pub(crate) component: &'static str,
    pub(crate) reason: String,
    pub(crate) since: DateTime<Utc>,
}

impl From<NotReady> for NotReadyComponent {
    fn from(not_ready: NotReady) -> Self {
        Self {
            component: not_ready.component.as_str(),
            reason: not_ready.reason,
            since: not_ready.since,
        }
    }
}

/// A list of records: `{"drift_records": […], "count": N}`.
#[derive(Debug, Serialize)]
pub(crate) struct RecordList {
    pub(crate) drift_records: Vec<DriftRecord>,
    pub(crate) count: usize,
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

/// One cluster: its record counts from the store and, for the cluster this instance
/// analyses, its last analysis, readiness and leadership. Other clusters' state is not
/// known to this instance: those fields are `null`.
#[derive(Debug, Serialize)]
pub(crate) struct ClusterBody {
    pub(crate) name: String,
    pub(crate) last_analysis: Option<AnalysisNote>,
    pub(crate) counts: StatusCounts,
    pub(crate) ready: Option<bool>,
    pub(crate) leader: Option<bool>,
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
    pub(crate) fn new(status: ApplicationStatus, counts: StatusCounts) -> Self {
        Self {
            render: RenderBody {
                status: status.status.as_str(),
                error: status.error,
                duration_seconds: status.render.map(|r| r.seconds),
            },
            name: status.name,
            source: status.source,
            namespace: status.namespace,
            revision: status.revision,
            counts,
            last_checked: status.checked_at,
        }
    }
}
