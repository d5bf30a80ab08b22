//! The analysis loops, one per cluster: full analyses when the instance becomes the
//! cluster's leader, every interval and on request; targeted analyses on live change
//! notifications; readiness, metrics, logs and the cluster's status document from their
//! results. A standby analyses nothing and writes nothing; a hub runs no loop of these
//! (see [`crate::hub`]).
//!
//! A cluster's analyses run one at a time, so the store sees one writer per cluster and
//! the active-drift view kept here stays in step with it.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use driftguard_core::analysis::AnalysisOutcome;
use driftguard_core::error_chain;
use driftguard_core::ports::RecordFilter;
use driftguard_core::{
    DriftRecord, DriftStatus, Error as CoreError, Leadership, LiveChangeStream, ReadStatus,
    ResourceId,
};
use futures_util::future::join_all;
use futures_util::{FutureExt, StreamExt};
use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::Service;
use crate::accounting::count_events;
use crate::active::ActiveDrift;
use crate::cluster::ClusterRuntime;
use crate::metrics::AnalysisMode;
use crate::readiness::Component;
use crate::{hub, report};

/// How many queued live changes one targeted batch takes at most.
const MAX_CHANGE_BATCH: usize = 256;

/// What the loop does next.
enum Work {
    /// A full analysis.
    Full,
    /// Targeted analyses of these resources, in notification order, without repeats.
    Targeted(Vec<ResourceId>),
}

/// Runs every cluster's analyses (or, for a hub, the refresh of what it serves) until
/// `cancel` fires. A running analysis then gets the service's shutdown grace period to
/// finish; after that it is dropped, which leaves the store as the last complete batch
/// left it (the store saves each analysis as one batch).
pub(crate) async fn run(service: Service, cancel: CancellationToken) {
    if service.clusters().is_empty() {
        hub::run(service, cancel).await;
        return;
    }
    let runners = (0..service.clusters().len())
        .map(|index| Runner::new(service.clone(), index).run(cancel.clone()));
    join_all(runners).await;
    tracing::info!("analysis loop stopped");
}

/// How a leader's analyses of a cluster ended.
enum Reign {
    /// Shutdown: stop.
    Shutdown,
    /// Another instance leads now: stand by.
    Deposed,
}

struct Runner {
    service: Service,
    /// The cluster's index in [`Service::clusters`].
    index: usize,
    changes: Option<LiveChangeStream>,
    /// The active records; `None` until read from the store.
    active: Option<ActiveDrift>,
}

impl Runner {
    fn new(service: Service, index: usize) -> Self {
        Self {
            service,
            index,
            changes: None,
            active: None,
        }
    }

    fn cluster(&self) -> &ClusterRuntime {
        &self.service.clusters()[self.index]
    }

    async fn run(mut self, cancel: CancellationToken) {
        let settings = self.service.settings().clone();
        if settings.watch {
            self.changes = self.cluster().detector().live_source().changes();
            if self.changes.is_none() {
                tracing::info!(
                    cluster = self.cluster().name(),
                    "the live source cannot watch; live changes are seen at the next full analysis"
                );
            }
        }
        let mut leadership = self.cluster().leadership_changes();
        loop {
            if !self.stand_by(&mut leadership, &cancel).await {
                break;
            }
            match self.lead(&mut leadership, &cancel).await {
                Reign::Shutdown => break,
                Reign::Deposed => {}
            }
        }
        tracing::info!(
            cluster = self.cluster().name(),
            "analysis of the cluster stopped"
        );
    }

    /// Waits, analysing nothing, until this instance leads the cluster; returns `false`
    /// at shutdown. Live changes and analysis requests that arrive meanwhile are dropped:
    /// the first full analysis as leader covers them. Every interval, the cluster's
    /// readiness gauge follows the leader's status document.
    async fn stand_by(
        &mut self,
        leadership: &mut watch::Receiver<Leadership>,
        cancel: &CancellationToken,
    ) -> bool {
        let mut refresh = tokio::time::interval(self.service.settings().interval);
        refresh.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let role = leadership.borrow_and_update().clone();
            if role.is_leader() {
                return true;
            }
            self.cluster().standing_by();
            let service = self.service.clone();
            let cluster = &service.clusters()[self.index];
            tokio::select! {
                biased;
                () = cancel.cancelled() => return false,
                changed = leadership.changed() => {
                    if changed.is_err() {
                        // The election ended (shutdown): nothing will make this one lead.
                        cancel.cancelled().await;
                        return false;
                    }
                }
                () = cluster.trigger().requested() => {}
                _ = refresh.tick() => follow_leader_status(&service, cluster).await,
                change = next_change(&mut self.changes) => {
                    if change.is_none() {
                        self.stop_watching();
                    }
                }
            }
        }
    }

    /// Analyses the cluster as its leader until shutdown or until another instance leads.
    async fn lead(
        &mut self,
        leadership: &mut watch::Receiver<Leadership>,
        cancel: &CancellationToken,
    ) -> Reign {
        let settings = self.service.settings().clone();
        let now = Utc::now();
        {
            let cluster = self.cluster();
            cluster.metrics().leader(true);
            cluster.readiness().restart(now);
            report::leading(cluster.name(), &settings.identity);
        }
        // What was read before may be stale: the next full analysis reads it again.
        self.active = None;
        let mut ticker = settings.periodic.then(|| every(settings.interval));
        // Without periodic analyses the status document still needs refreshing, so that
        // readers can tell a quiet leader from a dead one.
        let mut heartbeat = (!settings.periodic).then(|| every(settings.interval));
        // The first full analysis as leader, at once.
        self.cluster().trigger().request();
        let service = self.service.clone();
        let cluster = &service.clusters()[self.index];
        loop {
            let work = tokio::select! {
                biased;
                () = cancel.cancelled() => return Reign::Shutdown,
                () = deposed(leadership) => return self.deposed(),
                () = cluster.trigger().requested() => Work::Full,
                () = next_tick(&mut ticker) => Work::Full,
                () = next_tick(&mut heartbeat) => {
                    publish_status(&service, cluster, Utc::now(), Duration::ZERO).await;
                    continue;
                }
                change = next_change(&mut self.changes) => match change {
                    Some(first) => Work::Targeted(self.queued_changes(first.id)),
                    None => {
                        self.stop_watching();
                        continue;
                    }
                },
            };
            let grace = settings.shutdown_grace;
            let ended = match work {
                Work::Full => {
                    if let Some(ticker) = ticker.as_mut() {
                        ticker.reset();
                    }
                    let mut leadership = leadership.clone();
                    tokio::select! {
                        biased;
                        () = deposed(&mut leadership) => Some(Reign::Deposed),
                        finished = self.full_within_grace(cancel, grace) => {
                            (!finished).then_some(Reign::Shutdown)
                        }
                    }
                }
                Work::Targeted(ids) => {
                    let mut leadership = leadership.clone();
                    tokio::select! {
                        biased;
                        () = deposed(&mut leadership) => Some(Reign::Deposed),
                        finished = self.targeted_within_grace(ids, cancel, grace) => {
                            (!finished).then_some(Reign::Shutdown)
                        }
                    }
                }
            };
            match ended {
                None => {}
                Some(Reign::Deposed) => return self.deposed(),
                Some(Reign::Shutdown) => return Reign::Shutdown,
            }
        }
    }

    /// Stops leading: the running analysis (if any) was dropped before it could save.
    fn deposed(&mut self) -> Reign {
        let cluster = self.cluster();
        cluster.standing_by();
        let leader = match cluster.leadership() {
            Leadership::Standby { leader } => leader,
            Leadership::Leader => None,
        };
        report::deposed(cluster.name(), leader.as_deref());
        self.active = None;
        Reign::Deposed
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
        report::watch_ended(self.cluster().name());
        self.changes = None;
    }

    /// A full analysis that shutdown may abandon after `grace`; returns whether it finished.
    async fn full_within_grace(&mut self, cancel: &CancellationToken, grace: Duration) -> bool {
        let finished = within_grace(self.full(), cancel, grace).await;
        if !finished {
            report::analysis_abandoned(self.cluster().name(), AnalysisMode::Full);
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
                report::analysis_abandoned(self.cluster().name(), AnalysisMode::Targeted);
                return false;
            }
        }
        true
    }

    /// One full analysis, with its readiness, metrics and logs.
    async fn full(&mut self) {
        let service = self.service.clone();
        let cluster = &service.clusters()[self.index];
        let mode = AnalysisMode::Full;
        let started = Instant::now();
        report::analysis_started(cluster.name(), mode, None);
        let now = Utc::now();
        let readiness = cluster.readiness();
        // A fresh view of the active records before each full analysis keeps the counts
        // right even if something else wrote to the store.
        let before = match read_active(&service, cluster.name()).await {
            Ok(active) => active,
            Err(error) => {
                readiness.failed(Component::Store, error_chain(&error), now);
                cluster.last_analysis().finished(now, false);
                self.finish_failed(mode, Component::Store, &error, started);
                service.streams().failed(cluster.name(), mode, now);
                publish_status(&service, cluster, now, started.elapsed()).await;
                return;
            }
        };
        self.active = Some(before);
        let result = cluster.detector().run(now).await;
        cluster.last_analysis().finished(now, result.is_ok());
        match result {
            Ok(outcome) => {
                for component in Component::ALL {
                    readiness.succeeded(component);
                }
                self.note_applications(now, true);
                for warning in &outcome.warnings {
                    report::analysis_warning(warning);
                }
                cluster
                    .metrics()
                    .full_analysis_succeeded(outcome.summary.resources, now);
                cluster.set_resources(outcome.summary.resources);
                self.finish_succeeded(mode, &outcome, started);
                service
                    .streams()
                    .succeeded(cluster.name(), mode, now, &outcome.events);
            }
            Err(error) => {
                let component = self.mark_failure(mode, &error);
                self.note_applications(now, false);
                self.finish_failed(mode, component, &error, started);
                service.streams().failed(cluster.name(), mode, now);
            }
        }
        publish_status(&service, cluster, now, started.elapsed()).await;
    }

    /// Metrics, logs and readiness from how reading each application went in the full
    /// analysis at `now`. An application that could not be read, or whose desired state
    /// was held back, keeps the desired source not ready, naming it, while the others were
    /// analysed (`analysed`); when the whole analysis failed its error already says so.
    fn note_applications(&self, now: chrono::DateTime<Utc>, analysed: bool) {
        let metrics = self.cluster().metrics();
        let mut failed = Vec::new();
        for status in self.cluster().detector().application_statuses() {
            if status.checked_at != Some(now) {
                continue;
            }
            match status.status {
                ReadStatus::Failed => {
                    let error = status.error.as_deref().unwrap_or_default();
                    metrics.render_failed(&status.name);
                    if analysed {
                        report::application_failed(self.cluster().name(), &status.name, error);
                    }
                    failed.push(format!("application {}: {error}", status.name));
                }
                ReadStatus::HeldBack => {
                    let reason = status.error.as_deref().unwrap_or_default();
                    metrics.desired_held_back(&status.name);
                    report::application_held_back(self.cluster().name(), &status.name, reason);
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
            self.cluster().readiness().failed(
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
        let service = self.service.clone();
        let cluster = &service.clusters()[self.index];
        report::analysis_started(cluster.name(), mode, Some(&resource_id));
        let now = Utc::now();
        if self.active.is_none() {
            match read_active(&service, cluster.name()).await {
                Ok(active) => self.active = Some(active),
                Err(error) => {
                    cluster
                        .readiness()
                        .failed(Component::Store, error_chain(&error), now);
                    self.finish_failed(mode, Component::Store, &error, started);
                    service.streams().failed(cluster.name(), mode, now);
                    return;
                }
            }
        }
        match cluster.detector().run_one(id, now).await {
            Ok(Some(outcome)) => {
                let readiness = cluster.readiness();
                readiness.succeeded(Component::LiveSource);
                readiness.succeeded(Component::Store);
                self.finish_succeeded(mode, &outcome, started);
                service
                    .streams()
                    .succeeded(cluster.name(), mode, now, &outcome.events);
            }
            Ok(None) => {
                tracing::debug!(
                    cluster = cluster.name(),
                    resource_id,
                    "live change of a resource that no analysed desired state declares; ignored"
                );
            }
            Err(error) => {
                let component = self.mark_failure(mode, &error);
                self.finish_failed(mode, component, &error, started);
                service.streams().failed(cluster.name(), mode, now);
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
        let readiness = self.cluster().readiness();
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
                self.service
                    .store_health()
                    .failed(format!("drift store failed: {}", error_chain(error)), now);
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
        let service = self.service.clone();
        let cluster = &service.clusters()[self.index];
        let metrics = cluster.metrics();
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
        report::analysis_finished(cluster.name(), mode, outcome, took);
    }

    fn finish_failed(
        &self,
        mode: AnalysisMode,
        component: Component,
        error: &CoreError,
        started: Instant,
    ) {
        self.cluster()
            .metrics()
            .analysis_finished(mode, false, started.elapsed().as_secs_f64());
        report::analysis_failed(
            self.cluster().name(),
            mode,
            component.as_str(),
            &error_chain(error),
        );
    }
}

/// Writes the status document of `cluster` as of `now`; it stays current for three
/// intervals plus `took`, the time the analysis it reports took.
async fn publish_status(
    service: &Service,
    cluster: &ClusterRuntime,
    now: DateTime<Utc>,
    took: Duration,
) {
    let settings = service.settings();
    let valid_for = TimeDelta::from_std(settings.interval * 3 + took).unwrap_or(TimeDelta::MAX);
    let document = cluster.status_document(&settings.identity, now, valid_for);
    cluster.metrics().cluster_ready(document.is_ready(now));
    match service.store().publish_status(&document).await {
        Ok(()) => service.store_health().succeeded(),
        Err(error) => {
            let reason = format!("drift store failed: {}", error_chain(&error));
            report::status_not_published(cluster.name(), &reason);
            service.store_health().failed(reason, Utc::now());
        }
    }
}

/// Sets a standby's readiness gauge of `cluster` from the status document its leader
/// wrote; a store that does not answer leaves it as it was (the store's own health says
/// so).
async fn follow_leader_status(service: &Service, cluster: &ClusterRuntime) {
    match service.store().cluster_statuses().await {
        Ok(documents) => {
            service.store_answered();
            let ready = documents
                .iter()
                .find(|d| d.cluster == cluster.name())
                .is_some_and(|d| d.is_ready(Utc::now()));
            cluster.metrics().cluster_ready(ready);
        }
        Err(error) => service.store_health().failed(
            format!("drift store failed: {}", error_chain(&error)),
            Utc::now(),
        ),
    }
}

/// The active records of `cluster` as the store has them.
async fn read_active(service: &Service, cluster: &str) -> Result<ActiveDrift, CoreError> {
    let filter = RecordFilter {
        cluster: Some(cluster.to_owned()),
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

/// A ticker every `period`, the first tick one period from now.
fn every(period: Duration) -> Interval {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticker
}

/// Completes once `leadership` says another instance leads (or nobody does). A closed
/// channel never completes: the election only ends at shutdown.
async fn deposed(leadership: &mut watch::Receiver<Leadership>) {
    loop {
        if !leadership.borrow_and_update().is_leader() {
            return;
        }
        if leadership.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
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
