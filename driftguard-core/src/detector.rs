//! The detector: one analysis pass over the three ports.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use futures_util::future::join_all;

use crate::analysis::{
    AnalysisOutcome, AnalysisRun, ApplicationDesired, ApplicationResult, DetectionSettings,
    run_analysis,
};
use crate::application::{Application, ApplicationStatus, ReadStatus};
use crate::desired_index::DesiredIndex;
use crate::k8s::schema::SchemaCatalog;
use crate::model::{DesiredSnapshot, LiveSnapshot};
use crate::ports::{DesiredSource, DriftStore, LiveSource, PortError, PortErrorKind, RecordFilter};
use crate::{Error, ResourceId, error_chain};

/// Reads both sides, compares them and stores the result.
///
/// A source that fails leaves every stored record as it was: a Git outage must not
/// look like "every resource was deleted", nor an API outage like "everything is missing".
/// With several applications, one that cannot be read (or rendered) leaves its own
/// records as they were while the others are analysed.
pub struct Detector {
    applications: Vec<Application>,
    live: Arc<dyn LiveSource>,
    store: Arc<dyn DriftStore>,
    settings: DetectionSettings,
    /// The desired state of the last full run, for single-resource analyses between runs.
    last_desired: Mutex<Option<Arc<KeptDesired>>>,
    /// What the last full run learnt about each application, in configuration order.
    statuses: Mutex<Vec<ApplicationStatus>>,
}

/// The desired state kept between full runs.
#[derive(Debug)]
struct KeptDesired {
    index: DesiredIndex,
    /// Applications whose desired state the last full run could not use.
    held: Vec<String>,
    /// The schemas the last full run compared with: the cluster's and the CRDs it saw.
    schemas: SchemaCatalog,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Detector {
    /// A detector over one desired source (the application `default`).
    pub fn new(
        desired: Arc<dyn DesiredSource>,
        live: Arc<dyn LiveSource>,
        store: Arc<dyn DriftStore>,
        settings: DetectionSettings,
    ) -> Self {
        Self::with_applications(
            vec![Application::single(desired, "the desired source")],
            live,
            store,
            settings,
        )
    }

    /// A detector over several applications, analysed against one live source.
    pub fn with_applications(
        applications: Vec<Application>,
        live: Arc<dyn LiveSource>,
        store: Arc<dyn DriftStore>,
        settings: DetectionSettings,
    ) -> Self {
        let statuses = applications
            .iter()
            .map(ApplicationStatus::pending)
            .collect();
        Self {
            applications,
            live,
            store,
            settings,
            last_desired: Mutex::new(None),
            statuses: Mutex::new(statuses),
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &DetectionSettings {
        &self.settings
    }

    /// The applications, in configuration order.
    pub fn applications(&self) -> &[Application] {
        &self.applications
    }

    /// What the last full run learnt about each application, in configuration order.
    pub fn application_statuses(&self) -> Vec<ApplicationStatus> {
        lock(&self.statuses).clone()
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
    ///
    /// Fails, changing nothing, when no application could be read, or when the live
    /// source or the store fails. Applications that could not be read while others were
    /// appear in the outcome's `applications` with their error; their records stay as
    /// they were.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<AnalysisOutcome, Error> {
        let reads = join_all(self.applications.iter().map(|a| a.source.snapshot())).await;
        let mut readable = Vec::with_capacity(reads.len());
        let mut unreadable: Vec<(&Application, PortError)> = Vec::new();
        for (application, read) in self.applications.iter().zip(reads) {
            match read {
                Ok(snapshot) => readable.push((application, snapshot)),
                Err(error) => unreadable.push((application, error)),
            }
        }
        self.note_reads(&readable, &unreadable, now);
        if readable.is_empty() {
            return Err(Error::Desired(self.combined(unreadable)));
        }
        let desired: Vec<ApplicationDesired> = readable
            .into_iter()
            .map(|(application, snapshot)| ApplicationDesired {
                name: application.name.clone(),
                namespace: application.namespace.clone(),
                snapshot,
            })
            .collect();
        let unread: Vec<String> = unreadable.iter().map(|(a, _)| a.name.clone()).collect();
        let index = DesiredIndex::keep(&desired);
        let live = self.live.snapshot().await.map_err(Error::Live)?;
        let previous: HashMap<_, _> = self
            .store
            .list(&RecordFilter::default())
            .await
            .map_err(Error::Store)?
            .into_iter()
            .map(|r| (r.resource_id.clone(), r))
            .collect();
        let AnalysisRun {
            mut outcome,
            mut failures,
            schemas,
        } = run_analysis(desired, &unread, live, &previous, &self.settings, now, None);
        let mut held = unread;
        held.extend(failures.iter().map(|(name, _)| name.clone()));
        *lock(&self.last_desired) = Some(Arc::new(KeptDesired {
            index,
            held,
            schemas,
        }));
        self.note_analysis(&outcome, now);
        if outcome.applications.iter().all(|a| a.error.is_some()) {
            // Nothing was analysed: every readable application declares something twice.
            if self.applications.len() == 1
                && let Some((_, error)) = failures.pop()
            {
                return Err(error);
            }
            let mut parts: Vec<String> = unreadable
                .iter()
                .map(|(application, error)| {
                    format!("application {}: {}", application.name, error_chain(error))
                })
                .collect();
            parts.push(self.failure_text(&outcome));
            return Err(Error::Desired(PortError::new(
                PortErrorKind::InvalidData,
                parts.join("; "),
            )));
        }
        for (application, error) in unreadable {
            outcome.applications.push(ApplicationResult {
                name: application.name.clone(),
                revision: None,
                summary: Default::default(),
                error: Some(error_chain(&error)),
            });
        }
        let order = |name: &str| self.applications.iter().position(|a| a.name == name);
        outcome.applications.sort_by_key(|a| order(&a.name));
        self.store
            .save(&outcome.records, &outcome.events)
            .await
            .map_err(Error::Store)?;
        Ok(outcome)
    }

    /// One error for the applications that could not be read: the error itself for a
    /// single one, else each application named with its error.
    fn combined(&self, mut unreadable: Vec<(&Application, PortError)>) -> PortError {
        if self.applications.len() == 1
            && let Some((_, error)) = unreadable.pop()
        {
            return error;
        }
        let kind = unreadable
            .first()
            .map_or(PortErrorKind::Other, |(_, e)| e.kind);
        let text = unreadable
            .iter()
            .map(|(application, error)| {
                format!("application {}: {}", application.name, error_chain(error))
            })
            .collect::<Vec<_>>()
            .join("; ");
        PortError::new(kind, text)
    }

    fn failure_text(&self, outcome: &AnalysisOutcome) -> String {
        outcome
            .applications
            .iter()
            .filter_map(|a| {
                a.error
                    .as_ref()
                    .map(|e| format!("application {}: {e}", a.name))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Records how reading each application went.
    fn note_reads(
        &self,
        readable: &[(&Application, DesiredSnapshot)],
        unreadable: &[(&Application, PortError)],
        now: DateTime<Utc>,
    ) {
        let mut statuses = lock(&self.statuses);
        for status in statuses.iter_mut() {
            if let Some((_, snapshot)) = readable.iter().find(|(a, _)| a.name == status.name) {
                status.status = ReadStatus::Ok;
                status.error = None;
                status.revision = snapshot.revision.clone();
                status.render = snapshot.render;
                status.checked_at = Some(now);
            } else if let Some((_, error)) = unreadable.iter().find(|(a, _)| a.name == status.name)
            {
                status.status = ReadStatus::Failed;
                status.error = Some(error_chain(error));
                status.checked_at = Some(now);
            }
        }
    }

    /// Records applications that could be read but not analysed.
    fn note_analysis(&self, outcome: &AnalysisOutcome, now: DateTime<Utc>) {
        let mut statuses = lock(&self.statuses);
        for result in outcome.applications.iter().filter(|a| a.error.is_some()) {
            if let Some(status) = statuses.iter_mut().find(|s| s.name == result.name) {
                status.status = ReadStatus::Failed;
                status.error = result.error.clone();
                status.checked_at = Some(now);
            }
        }
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
        let Some(kept) = lock(&self.last_desired).clone() else {
            return Ok(None);
        };
        let candidates = kept.index.candidates(id)?;
        if candidates.is_empty() {
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
        let mut outcome = run_analysis(
            candidates,
            &kept.held,
            // A change notification proves the object's kind and namespace are watched.
            LiveSnapshot::complete(live.into_iter().collect()),
            &previous,
            &self.settings,
            now,
            Some(&kept.schemas),
        )
        .outcome;
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
