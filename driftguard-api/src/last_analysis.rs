//! When this instance last ran a full analysis and how it ended, for
//! `GET /api/v1/clusters`.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One finished full analysis: `{"at": …, "outcome": "success" | "failure"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct AnalysisNote {
    /// When it started.
    pub(crate) at: DateTime<Utc>,
    /// `success` or `failure`, as the `outcome` label of `driftguard_analyses_total`.
    pub(crate) outcome: &'static str,
}

/// The last full analysis of this instance; `None` before the first one ends.
#[derive(Debug, Default)]
pub(crate) struct LastAnalysis {
    note: Mutex<Option<AnalysisNote>>,
}

impl LastAnalysis {
    /// Notes a full analysis started at `at` that succeeded or failed.
    pub(crate) fn finished(&self, at: DateTime<Utc>, succeeded: bool) {
        let outcome = if succeeded { "success" } else { "failure" };
        *self.note.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(AnalysisNote { at, outcome });
    }

    /// The last full analysis, if one has ended.
    pub(crate) fn get(&self) -> Option<AnalysisNote> {
        *self.note.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_analysis_only() {
        let last = LastAnalysis::default();
        assert_eq!(last.get(), None);
        let at = Utc::now();
        last.finished(at, false);
        last.finished(at, true);
        assert_eq!(
            last.get(),
            Some(AnalysisNote {
                at,
                outcome: "success"
            })
        );
    }
}
