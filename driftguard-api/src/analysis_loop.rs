//! The analysis loop: full analyses at start, every interval and on request; targeted
//! analyses on live change notifications; readiness, metrics and logs from their results.
//!
//! Analyses run one at a time, so the store sees one writer and the active-drift view
//! kept here stays in step with it.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::{Duration, Instant};

use chrono::Utc;
use driftguard_core::analysis::AnalysisOutcome;
use driftguard_core::error_chain;
use driftguard_core::ports::RecordFilter;
use driftguard_core::{
    DriftRecord, DriftStatus, Error as CoreError, LiveChangeStream, ReadStatus, ResourceId,
};
use futures_util::{FutureExt, StreamExt};
use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::Service;
use crate::accounting::count_events;
use crate::active::ActiveDrift;
use crate::metrics::AnalysisMode;
use crate::readiness::Component;
use crate::report;

/// How many queued live changes one targeted batch takes at most.
const MAX_CHANGE_BATCH: usize = 256;

/// What the loop does next.
enum Work {
    /// A full analysis.
    Full,
    /// Targeted analyses of these resources, in notification order, without repeats.
    Targeted(Vec<ResourceId>),
}

/// Runs analyses until `cancel` fires. A running analysis then gets the service's
/// shutdown grace period to finish; after that it is dropped, which leaves the store as
/// the last complete batch left it (the store saves each analysis as one batch).
pub(crate) async fn run(service: Service, cancel: CancellationToken) {
    Runner::new(service).run(cancel).await;
}

struct Runner {
    service: Service,
    changes: Option<LiveChangeStream>,
    /// The active records; `None` until read from the store.
    active: Option<ActiveDrift>,
}

impl Runner {
    fn new(service: Service) -> Self {
        Self {
            service,
            changes: None,
            active: None,
        }
    }

    async fn run(mut self, cancel: CancellationToken) {
        let settings = self.service.settings().clone();
        if settings.watch {
            self.changes = self.service.detector().live_source().changes();
            if self.changes.is_none() {
                tracing::info!(
                    "the live source cannot watch; live changes are seen at the next full analysis"
                );
            }
        }
        let mut ticker = settings.periodic.then(|| {
            let start = tokio::time::Instant::now() + settings.interval;
            let mut ticker = tokio::time::interval_at(start, settings.interval);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            ticker
        });
        // The first full analysis, at start.
        self.service.request_analysis();
        loop {
            let work = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                () = self.service.trigger().requested() => Work::Full,
                () = next_tick(&mut ticker) => Work::Full,
                change = next_change(&mut self.changes) => match change {
                    Some(first) => Work::Targeted(self.queued_changes(first.id)),
                    None => {
                        self.stop_watching();
                        continue;
                    }
                },
            };
            let grace = settings.shutdown_grace;
            let finished = match work {
                Work::Full => {
                    if let Some(ticker) = ticker.as_mut() {
                        ticker.reset();
                    }
                    self.full_within_grace(&cancel, grace).await
                }
                Work::Targeted(ids) => self.targeted_within_grace(ids, &cancel, grace).await,
            };
            if !finished {
                break;
            }
        }
        tracing::info!("analysis loop stopped");
    }

    /// `first` and the changes already queued behind it, each resource once.
    fn queued_changes(&mut self, first: ResourceId) -> Vec<ResourceId> {
        let mut seen: HashSet<ResourceId> = HashSet::from([first.clone()]);
        let mut ids = vec![first];
        let mut ended = false;
        if let Some(changes) = self.changes.as_mut() {
            while ids.len() < MAX_CHANGE_BATCH {
                match changes.next().now_or_never() {
                    Some(Some(change)) => {
                        if seen.insert(change.id.clone()) {
                            ids.push(change.id);
                        }
                    }
                    Some(None) => {
                        ended = true;
                        break;
                    }
                    None => break,
                }
            }
        }
        if ended {
            self.stop_watching();
        }
        ids
    }

    fn stop_watching(&mut self) {
        report::watch_ended();
        self.changes = None;
    }

    /// A full analysis that shutdown may abandon after `grace`; returns whether it finished.
    async fn full_within_grace(&mut self, cancel: &CancellationToken, grace: Duration) -> bool {
        let finished = within_grace(self.full(), cancel, grace).await;
        if !finished {
            report::analysis_abandoned(AnalysisMode::Full);
        }
        finished
    }

    /// Targeted analyses of `ids`, stopping at shutdown; the running one may be abandoned
    /// after `grace`. Returns whether none was abandoned.
    async fn targeted_within_grace(
        &mut self,
        ids: Vec<ResourceId>,
        cancel: &CancellationToken,
        grace: Duration,
    ) -> bool {
        for id in ids {
            if cancel.is_cancelled() {
                break;
            }
            if !within_grace(self.targeted(&id), cancel, grace).await {
                report::analysis_abandoned(AnalysisMode::Targeted);
                return false;
            }
        }
        true
    }

    /// One full analysis, with its readiness, metrics and logs.
    async fn full(&mut self) {
        let mode = AnalysisMode::Full;
        let started = Instant::now();
        report::analysis_started(mode, None);
        let now = Utc::now();
        let readiness = self.service.readiness();
        // A fresh view of the active records before each full analysis keeps the counts
        // right even if something else wrote to the store.
        let before = match read_active(&self.service).await {
            Ok(active) => active,
            Err(error) => {
                readiness.failed(Component::Store, error_chain(&error), now);
                self.service.last_analysis().finished(now, false);
                self.finish_failed(mode, Component::Store, &error, started);
                return;
            }
        };
        self.active = Some(before);
        let result = self.service.detector().run(now).await;
        self.service.last_analysis().finished(now, result.is_ok());
        match result {
            Ok(outcome) => {
                for component in Component::ALL {
                    readiness.succeeded(component);
                }
                self.note_applications(now, true);
                for warning in &outcome.warnings {
                    report::analysis_warning(warning);
                }
                self.service
                    .metrics()
                    .full_analysis_succeeded(outcome.summary.resources, now);
                self.finish_succeeded(mode, &outcome, started);
            }
            Err(error) => {
                let component = self.mark_failure(mode, &error);
                self.note_applications(now, false);
                self.finish_failed(mode, component, &error, started);
            }
        }
    }

    /// Metrics, logs and readiness from how reading each application went in the full
    /// analysis at `now`. An application that could not be read, or whose desired state
    /// was held back, keeps the desired source not ready, naming it, while the others were
    /// analysed (`analysed`); when the whole analysis failed its error already says so.
    fn note_applications(&self, now: chrono::DateTime<Utc>, analysed: bool) {
        let metrics = self.service.metrics();
        let mut failed = Vec::new();
        for status in self.service.detector().application_statuses() {
            if status.checked_at != Some(now) {
                continue;
            }
            match status.status {
                ReadStatus::Failed => {
                    let error = status.error.as_deref().unwrap_or_default();
                    metrics.render_failed(&status.name);
                    if analysed {
                        report::application_failed(&status.name, error);
                    }
                    failed.push(format!("application {}: {error}", status.name));
                }
                ReadStatus::HeldBack => {
                    let reason = status.error.as_deref().unwrap_or_default();
                    metrics.desired_held_back(&status.name);
                    report::application_held_back(&status.name, reason);
                    failed.push(format!("application {}: {reason}", status.name));
                }
                ReadStatus::Ok => {
                    if let Some(render) = status.render.filter(|r| r.rendered > 0) {
                        metrics.rendered(&status.name, render.seconds);
                    }
                }
                ReadStatus::Pending => {}
            }
        }
        if analysed && !failed.is_empty() {
            self.service.readiness().failed(
                Component::DesiredSource,
                format!("desired state unavailable: {}", failed.join("; ")),
                now,
            );
        }
    }

    /// One targeted analysis of `id`, with its readiness, metrics and logs.
    async fn targeted(&mut self, id: &ResourceId) {
        let mode = AnalysisMode::Targeted;
        let started = Instant::now();
        let resource_id = id.to_string();
        report::analysis_started(mode, Some(&resource_id));
        let now = Utc::now();
        if self.active.is_none() {
            match read_active(&self.service).await {
                Ok(active) => self.active = Some(active),
                Err(error) => {
                    self.service
                        .readiness()
                        .failed(Component::Store, error_chain(&error), now);
                    self.finish_failed(mode, Component::Store, &error, started);
                    return;
                }
            }
        }
        match self.service.detector().run_one(id, now).await {
            Ok(Some(outcome)) => {
                let readiness = self.service.readiness();
                readiness.succeeded(Component::LiveSource);
                readiness.succeeded(Component::Store);
                self.finish_succeeded(mode, &outcome, started);
            }
            Ok(None) => {
                tracing::debug!(
                    resource_id,
                    "live change of a resource that no analysed desired state declares; ignored"
                );
            }
            Err(error) => {
                let component = self.mark_failure(mode, &error);
                self.finish_failed(mode, component, &error, started);
            }
        }
    }

    /// Marks what `error` says about each component; returns the one that failed.
    ///
    /// The detector reads the desired state (full analyses only), then the live state,
    /// then the store, so a failure of one means the ones before it succeeded. Errors in
    /// the desired objects themselves (a resource declared twice) surface after every
    /// read succeeded and make the desired source not ready until they are fixed.
    fn mark_failure(&self, mode: AnalysisMode, error: &CoreError) -> Component {
        let readiness = self.service.readiness();
        let now = Utc::now();
        let full = mode == AnalysisMode::Full;
        match error {
            CoreError::Desired(_) => {
                readiness.failed(Component::DesiredSource, error_chain(error), now);
                Component::DesiredSource
            }
            CoreError::Live(_) => {
                if full {
                    readiness.succeeded(Component::DesiredSource);
                }
                readiness.failed(Component::LiveSource, error_chain(error), now);
                Component::LiveSource
            }
            CoreError::Store(_) => {
                if full {
                    readiness.succeeded(Component::DesiredSource);
                }
                readiness.succeeded(Component::LiveSource);
                readiness.failed(Component::Store, error_chain(error), now);
                Component::Store
            }
            _ => {
                readiness.succeeded(Component::LiveSource);
                readiness.succeeded(Component::Store);
                readiness.failed(
                    Component::DesiredSource,
                    format!("the desired state is invalid: {}", error_chain(error)),
                    now,
                );
                Component::DesiredSource
            }
        }
    }

    fn finish_succeeded(
        &mut self,
        mode: AnalysisMode,
        outcome: &AnalysisOutcome,
        started: Instant,
    ) {
        let metrics = self.service.metrics();
        let records: HashMap<&ResourceId, &DriftRecord> = outcome
            .records
            .iter()
            .map(|r| (&r.resource_id, r))
            .collect();
        for event in &outcome.events {
            report::drift_event(event, records.get(&event.resource_id).copied());
        }
        let active = self.active.get_or_insert_with(ActiveDrift::default);
        let counts = count_events(&outcome.records, &outcome.events, active);
        for drift in &counts.drift {
            metrics.drift_event(drift);
        }
        for drift in &counts.resolved {
            metrics.drift_resolved(drift);
        }
        active.apply(&outcome.records);
        metrics.drift_scores(&active.scores());
        metrics.active_drift(&active.counts());
        let took = started.elapsed();
        metrics.analysis_finished(mode, true, took.as_secs_f64());
        report::analysis_finished(mode, outcome, took);
    }

    fn finish_failed(
        &self,
        mode: AnalysisMode,
        component: Component,
        error: &CoreError,
        started: Instant,
    ) {
        self.service
            .metrics()
            .analysis_finished(mode, false, started.elapsed().as_secs_f64());
        report::analysis_failed(mode, component.as_str(), &error_chain(error));
    }
}

/// The active records of this instance's cluster as the store has them.
async fn read_active(service: &Service) -> Result<ActiveDrift, CoreError> {
    let filter = RecordFilter {
        cluster: Some(service.cluster().to_owned()),
        drift_status: Some(DriftStatus::Active),
        ..RecordFilter::default()
    };
    let records = service
        .store()
        .list(&filter)
        .await
        .map_err(CoreError::Store)?;
    Ok(ActiveDrift::from_records(&records))
}

/// Runs `work` to its end, or, once `cancel` fires, for at most `grace` more.
/// Returns whether it finished.
async fn within_grace(
    work: impl Future<Output = ()>,
    cancel: &CancellationToken,
    grace: Duration,
) -> bool {
    let mut work = std::pin::pin!(work);
    tokio::select! {
        () = &mut work => true,
        () = cancel.cancelled() => tokio::time::timeout(grace, work).await.is_ok(),
    }
}

/// The next periodic tick; never, when analyses are not periodic.
async fn next_tick(ticker: &mut Option<Interval>) {
    match ticker {
        Some(ticker) => {
            ticker.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// The next live change; never, when the source does not watch.
async fn next_change(
    changes: &mut Option<LiveChangeStream>,
) -> Option<driftguard_core::LiveChange> {
    match changes {
        Some(changes) => changes.next().await,
        None => std::future::pending().await,
    }
}
