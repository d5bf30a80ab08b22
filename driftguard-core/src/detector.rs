//! The detector: one analysis pass over the three ports.

use std::collections::{HashMap, HashSet};
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
use crate::plausibility::HeldBack;
use crate::ports::{DesiredSource, DriftStore, LiveSource, PortError, PortErrorKind};
use crate::record::{DriftRecord, DriftStatus};
use crate::stored::StoredRecords;
use crate::{DriftType, Error, ResourceId, error_chain};

/// Reads both sides, compares them and stores the result.
///
/// A source that fails leaves every stored record as it was: a Git outage must not
/// look like "every resource was deleted", nor an API outage like "everything is missing".
/// With several applications, one that cannot be read (or rendered) leaves its own
/// records as they were while the others are analysed. So does one whose desired state
/// is not believed ([`crate::plausibility`]): empty, or with too many objects gone at once
/// compared with the last state accepted since the detector was created.
pub struct Detector {
    applications: Vec<Application>,
    live: Arc<dyn LiveSource>,
    store: Arc<dyn DriftStore>,
    settings: DetectionSettings,
    /// The desired state of the last full run, for single-resource analyses between runs.
    last_desired: Mutex<Option<Arc<KeptDesired>>>,
    /// What the last full run learnt about each application, in configuration order.
    statuses: Mutex<Vec<ApplicationStatus>>,
    /// Application → the object count of its last accepted desired state. Kept in
    /// memory: after a restart the first state is only checked for emptiness.
    accepted: Mutex<HashMap<String, usize>>,
}

/// The desired state kept between full runs.
#[derive(Debug)]
struct KeptDesired {
    index: DesiredIndex,
    /// Applications whose desired state the last full run could not use.
    held: Vec<String>,
    /// The schemas the last full run compared with: the cluster's and the CRDs it saw.
    schemas: SchemaCatalog,
    /// Resources the last full run found Orphaned, whose deletion from the cluster a
    /// targeted analysis resolves.
    orphans: HashSet<ResourceId>,
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
            accepted: Mutex::new(HashMap::new()),
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
    /// Fails, changing nothing, when no application could be read (or every one read was
    /// held back), or when the live source or the store fails. Applications that could not
    /// be read or were held back while others were analysed appear in the outcome's
    /// `applications` with their error; their records stay as they were.
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
        let held_back = self.hold_back(&mut readable);
        self.note_reads(&readable, &unreadable, &held_back, now);
        unreadable.extend(held_back.into_iter().map(|(application, text)| {
            (
                application,
                PortError::new(PortErrorKind::InvalidData, text),
            )
        }));
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
        let counts: Vec<(String, usize)> = desired
            .iter()
            .map(|a| (a.name.clone(), a.snapshot.resources.len()))
            .collect();
        let unread: Vec<String> = unreadable.iter().map(|(a, _)| a.name.clone()).collect();
        let live = self.live.snapshot().await.map_err(Error::Live)?;
        let previous = self
            .store
            .stored_records(&self.settings.cluster)
            .await
            .map_err(Error::Store)?;
        // Nothing can fail between here and keeping this analysis' desired state, so the
        // last one is dropped now rather than held beside the new one (the objects of both
        // at once would be the largest part of the analysis' peak memory).
        lock(&self.last_desired).take();
        let index = DesiredIndex::keep(&desired);
        let AnalysisRun {
            mut outcome,
            mut failures,
            schemas,
        } = run_analysis(desired, &unread, live, previous, &self.settings, now, None);
        let mut held = unread;
        held.extend(failures.iter().map(|(name, _)| name.clone()));
        let orphans = outcome
            .records
            .iter()
            .filter(|r| is_orphaned(r))
            .map(|r| r.resource_id.clone())
            .collect();
        *lock(&self.last_desired) = Some(Arc::new(KeptDesired {
            index,
            held,
            schemas,
            orphans,
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
        self.note_accepted(&outcome, counts);
        Ok(outcome)
    }

    /// Takes the desired states that are not believed out of `readable`, each with why
    /// (naming the revision when there is one).
    fn hold_back<'a>(
        &self,
        readable: &mut Vec<(&'a Application, DesiredSnapshot)>,
    ) -> Vec<(&'a Application, String)> {
        let accepted = lock(&self.accepted);
        let mut held_back = Vec::new();
        readable.retain(|(application, snapshot)| {
            let baseline = accepted.get(&application.name).copied();
            match self
                .settings
                .plausibility
                .judge(baseline, snapshot.resources.len())
            {
                Ok(()) => true,
                Err(why) => {
                    held_back.push((*application, held_back_text(&why, snapshot)));
                    false
                }
            }
        });
        held_back
    }

    /// Remembers the object counts of the desired states this analysis accepted: those
    /// analysed without an error.
    fn note_accepted(&self, outcome: &AnalysisOutcome, counts: Vec<(String, usize)>) {
        let mut accepted = lock(&self.accepted);
        for (name, count) in counts {
            if outcome
                .applications
                .iter()
                .any(|a| a.name == name && a.error.is_none())
            {
                accepted.insert(name, count);
            }
        }
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
        held_back: &[(&Application, String)],
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
            } else if let Some((_, why)) = held_back.iter().find(|(a, _)| a.name == status.name) {
                status.status = ReadStatus::HeldBack;
                status.error = Some(why.clone());
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
    /// The one exception is a resource the last full run found Orphaned: its record is
    /// judged again, so that its deletion from the cluster resolves it at once.
    pub async fn run_one(
        &self,
        id: &ResourceId,
        now: DateTime<Utc>,
    ) -> Result<Option<AnalysisOutcome>, Error> {
        let Some(kept) = lock(&self.last_desired).clone() else {
            return Ok(None);
        };
        let mut candidates = kept.index.candidates(id);
        let mut stored = None;
        if candidates.is_empty() {
            if !kept.orphans.contains(id) {
                return Ok(None);
            }
            let record = self
                .store
                .get(&self.settings.cluster, id)
                .await
                .map_err(Error::Store)?;
            let application = record
                .as_ref()
                .filter(|r| is_orphaned(r) && !kept.held.contains(&r.application))
                .and_then(|r| kept.index.application(&r.application));
            let Some(application) = application else {
                return Ok(None);
            };
            candidates.push(application);
            stored = Some(record);
        }
        let live = self.live.object(id).await.map_err(Error::Live)?;
        let stored = match stored {
            Some(record) => record,
            None => self
                .store
                .get(&self.settings.cluster, id)
                .await
                .map_err(Error::Store)?,
        };
        let previous: StoredRecords = stored.into_iter().collect();
        let mut outcome = run_analysis(
            candidates,
            &kept.held,
            // A change notification proves the object's kind and namespace are watched.
            LiveSnapshot::complete(live.into_iter().collect()),
            previous,
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

/// Whether `record` is active drift of a resource removed from Git that still runs.
fn is_orphaned(record: &DriftRecord) -> bool {
    record.drift_status == DriftStatus::Active && record.drift_types.contains(&DriftType::Orphaned)
}

/// Why a desired state was held back, with its revision when it has one.
fn held_back_text(why: &HeldBack, snapshot: &DesiredSnapshot) -> String {
    match &snapshot.revision {
        Some(revision) => format!("revision {revision}: {why}"),
        None => why.to_string(),
    }
}
