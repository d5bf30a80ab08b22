//! When this instance last ran a full analysis of a cluster and how it ended, for the
//! cluster's status document and `GET /api/v1/clusters`.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use driftguard_core::{AnalysisNote, AnalysisResult};

/// The last full analysis of one cluster by this instance; `None` before the first one
/// ends.
#[derive(Debug, Default)]
pub(crate) struct LastAnalysis {
    note: Mutex<Option<AnalysisNote>>,
}

impl LastAnalysis {
    /// Notes a full analysis started at `at` that succeeded or failed.
    pub(crate) fn finished(&self, at: DateTime<Utc>, succeeded: bool) {
        let outcome = if succeeded {
            AnalysisResult::Success
        } else {
            AnalysisResult::Failure
        };
        *self.lock() = Some(AnalysisNote { at, outcome });
    }

    /// The last full analysis, if one has ended.
    pub(crate) fn get(&self) -> Option<AnalysisNote> {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<AnalysisNote>> {
        self.note.lock().unwrap_or_else(PoisonError::into_inner)
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
                outcome: AnalysisResult::Success
            })
        );
    }
}
