//! The detector: one analysis pass over the three ports.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::Error;
use crate::analysis::{AnalysisOutcome, DetectionSettings, analyze};
use crate::ports::{DesiredSource, DriftStore, LiveSource, RecordFilter};

/// Reads both sides, compares them and stores the result.
///
/// A source that fails leaves every stored record as it was: a Git outage must not
/// look like "every resource was deleted", nor an API outage like "everything is missing".
pub struct Detector {
    desired: Arc<dyn DesiredSource>,
    live: Arc<dyn LiveSource>,
    store: Arc<dyn DriftStore>,
    settings: DetectionSettings,
}

impl Detector {
    /// A detector over these ports.
    pub fn new(
        desired: Arc<dyn DesiredSource>,
        live: Arc<dyn LiveSource>,
        store: Arc<dyn DriftStore>,
        settings: DetectionSettings,
    ) -> Self {
        Self {
            desired,
            live,
            store,
            settings,
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &DetectionSettings {
        &self.settings
    }

    /// Runs one full analysis at time `now` and stores its records and events.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<AnalysisOutcome, Error> {
        let desired = self.desired.snapshot().await.map_err(Error::Desired)?;
        let live = self.live.snapshot().await.map_err(Error::Live)?;
        let previous: HashMap<_, _> = self
            .store
            .list(&RecordFilter::default())
            .await
            .map_err(Error::Store)?
            .into_iter()
            .map(|r| (r.resource_id.clone(), r))
            .collect();
        let outcome = analyze(desired, live, &previous, &self.settings, now)?;
        self.store
            .save(&outcome.records, &outcome.events)
            .await
            .map_err(Error::Store)?;
        Ok(outcome)
    }
}
