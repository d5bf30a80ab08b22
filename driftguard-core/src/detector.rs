//! The detector: one analysis pass over the three ports.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};

use crate::analysis::{AnalysisOutcome, DetectionSettings, analyze};
use crate::desired_index::DesiredIndex;
use crate::model::LiveSnapshot;
use crate::ports::{DesiredSource, DriftStore, LiveSource, RecordFilter};
use crate::{Error, ResourceId};

/// Reads both sides, compares them and stores the result.
///
/// A source that fails leaves every stored record as it was: a Git outage must not
/// look like "every resource was deleted", nor an API outage like "everything is missing".
pub struct Detector {
    desired: Arc<dyn DesiredSource>,
    live: Arc<dyn LiveSource>,
    store: Arc<dyn DriftStore>,
    settings: DetectionSettings,
    /// The desired state of the last full run, for single-resource analyses between runs.
    last_desired: Mutex<Option<Arc<DesiredIndex>>>,
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
            last_desired: Mutex::new(None),
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &DetectionSettings {
        &self.settings
    }

    /// The live source, for callers that subscribe to its change notifications.
    pub fn live_source(&self) -> &Arc<dyn LiveSource> {
        &self.live
    }

    /// The store the detector writes to.
    pub fn store(&self) -> &Arc<dyn DriftStore> {
        &self.store
    }

    /// Runs one full analysis at time `now` and stores its records and events.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<AnalysisOutcome, Error> {
        let desired = self.desired.snapshot().await.map_err(Error::Desired)?;
        *self
            .last_desired
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(DesiredIndex::keep(&desired)));
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

    /// Analyses the one resource `id` after a live change, against the desired snapshot of
    /// the last full run, and stores its record and events.
    ///
    /// Returns `None`, storing nothing, when no full run has read the desired state yet or
    /// when `id` is not declared there: DriftGuard keeps records only for desired resources.
    pub async fn run_one(
        &self,
        id: &ResourceId,
        now: DateTime<Utc>,
    ) -> Result<Option<AnalysisOutcome>, Error> {
        let Some(desired) = self
            .last_desired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        else {
            return Ok(None);
        };
        let candidates = desired.candidates(id)?;
        if candidates.resources.is_empty() {
            return Ok(None);
        }
        let live = self.live.object(id).await.map_err(Error::Live)?;
        let previous: HashMap<_, _> = self
            .store
            .get(id)
            .await
            .map_err(Error::Store)?
            .into_iter()
            .map(|r| (r.resource_id.clone(), r))
            .collect();
        let mut outcome = analyze(
            candidates,
            // A change notification proves the object's kind and namespace are watched.
            LiveSnapshot::complete(live.into_iter().collect()),
            &previous,
            &self.settings,
            now,
        )?;
        outcome.records.retain(|r| &r.resource_id == id);
        outcome.events.retain(|e| &e.resource_id == id);
        if outcome.records.is_empty() {
            return Ok(None);
        }
        self.store
            .save(&outcome.records, &outcome.events)
            .await
            .map_err(Error::Store)?;
        Ok(Some(outcome))
    }
}
