//! The shapes of successful answers.

use chrono::{DateTime, Utc};
use driftguard_core::stats::DriftStatistics;
use driftguard_core::{DriftEvent, DriftRecord};
use serde::Serialize;

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

/// One resource's history: `{"resource_id": …, "events": […], "count": N}`.
#[derive(Debug, Serialize)]
pub(crate) struct EventList {
    pub(crate) resource_id: String,
    pub(crate) events: Vec<DriftEvent>,
    pub(crate) count: usize,
}

/// `{"statistics": {…}}`.
#[derive(Debug, Serialize)]
pub(crate) struct StatisticsBody {
    pub(crate) statistics: DriftStatistics,
}
