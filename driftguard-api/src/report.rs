//! Log lines for drift events and analyses, each message starting with its marker:
//! 🚨 drift detected or changed, ✅ drift resolved, 🔄 analysis start and summary, ❌ error.
//!
//! Records and events hold only fingerprints of Secret values, and port errors are built
//! without them, so nothing logged here can carry a Secret's plaintext.

use std::time::Duration;

use driftguard_core::analysis::AnalysisOutcome;
use driftguard_core::{DriftEvent, DriftRecord, DriftType, EventKind};

use crate::metrics::AnalysisMode;

fn joined(types: &[DriftType]) -> String {
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// One line for one lifecycle event; `record` is the record as the analysis stored it.
pub(crate) fn drift_event(event: &DriftEvent, record: Option<&DriftRecord>) {
    let resource_id = event.resource_id.to_string();
    let drift_types = joined(&event.drift_types);
    let severity = event.severity.map_or("", |s| s.as_str());
    // Absent from the line when the desired state has no revision (a folder).
    let git_revision = event.git_revision.as_deref();
    match event.kind {
        EventKind::DriftDetected | EventKind::DriftChanged => {
            let verb = if event.kind == EventKind::DriftDetected {
                "detected"
            } else {
                "changed"
            };
            let paths = record
                .map(|r| {
                    r.drifts
                        .iter()
                        .map(|d| d.path.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            tracing::warn!(
                event = event.kind.as_str(),
                resource_id,
                cluster = event.cluster,
                application = event.application,
                drift_types,
                severity,
                git_revision,
                paths,
                "🚨 drift {verb} on {resource_id}: {drift_types} ({severity})"
            );
        }
        EventKind::DriftResolved => {
            let resolution = record
                .and_then(|r| r.resolution_message.as_deref())
                .unwrap_or_default();
            tracing::info!(
                event = event.kind.as_str(),
                resource_id,
                cluster = event.cluster,
                application = event.application,
                drift_types,
                severity,
                git_revision,
                resolution,
                "✅ drift resolved on {resource_id}: {resolution}"
            );
        }
    }
}

/// The line that opens an analysis.
pub(crate) fn analysis_started(cluster: &str, mode: AnalysisMode, resource_id: Option<&str>) {
    match mode {
        AnalysisMode::Full => tracing::info!(cluster, mode = mode.as_str(), "🔄 analysis started"),
        AnalysisMode::Targeted => tracing::debug!(
            cluster,
            mode = mode.as_str(),
            resource_id = resource_id.unwrap_or_default(),
            "🔄 targeted analysis started"
        ),
    }
}

/// The summary line of a successful analysis.
pub(crate) fn analysis_finished(
    cluster: &str,
    mode: AnalysisMode,
    outcome: &AnalysisOutcome,
    took: Duration,
) {
    let summary = outcome.summary;
    let git_revision = outcome.revision.as_deref();
    let duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
    let events = outcome.events.len();
    match mode {
        AnalysisMode::Full => tracing::info!(
            cluster,
            mode = mode.as_str(),
            resources = summary.resources,
            in_sync = summary.in_sync,
            drifted = summary.drifted,
            missing = summary.missing,
            not_observed = summary.not_observed,
            events,
            git_revision,
            duration_ms,
            "🔄 analysis finished: {} resources, {} in sync, {} drifted, {} missing, {} not observed",
            summary.resources,
            summary.in_sync,
            summary.drifted,
            summary.missing,
            summary.not_observed
        ),
        AnalysisMode::Targeted => tracing::debug!(
            cluster,
            mode = mode.as_str(),
            resources = summary.resources,
            drifted = summary.drifted,
            missing = summary.missing,
            events,
            git_revision,
            duration_ms,
            "🔄 targeted analysis finished"
        ),
    }
}

/// The line of a failed analysis, naming the component that failed.
pub(crate) fn analysis_failed(cluster: &str, mode: AnalysisMode, component: &str, error: &str) {
    tracing::error!(
        cluster,
        mode = mode.as_str(),
        component,
        error = %error,
        "❌ {} analysis failed: {error}",
        mode.as_str()
    );
}

/// The line of an application whose desired state could not be produced while others'
/// could: its records were left as they were.
pub(crate) fn application_failed(cluster: &str, application: &str, error: &str) {
    tracing::error!(
        cluster,
        application,
        error,
        "❌ application {application}: desired state unavailable, its records are left as they were: {error}"
    );
}

/// The line of an application whose desired state was read but not believed (empty, or
/// too many objects gone at once): its records were left as they were.
pub(crate) fn application_held_back(cluster: &str, application: &str, reason: &str) {
    tracing::error!(
        cluster,
        application,
        reason,
        "❌ application {application}: desired state held back, its records are left as they were: {reason}"
    );
}

/// The line of something an analysis noticed that did not stop it.
pub(crate) fn analysis_warning(warning: &str) {
    tracing::warn!(warning, "{warning}");
}

/// The line of an analysis abandoned at shutdown after the grace period.
pub(crate) fn analysis_abandoned(cluster: &str, mode: AnalysisMode) {
    tracing::error!(
        cluster,
        mode = mode.as_str(),
        "❌ {} analysis abandoned at shutdown: it did not finish within the grace period; \
         the store keeps the last complete batch",
        mode.as_str()
    );
}

/// The line of a live source whose change notifications ended.
pub(crate) fn watch_ended(cluster: &str) {
    tracing::error!(
        cluster,
        "❌ the live source stopped sending change notifications; live changes are seen at \
         the next full analysis"
    );
}

/// The line of an instance that became a cluster's leader and starts analysing it.
pub(crate) fn leading(cluster: &str, identity: &str) {
    tracing::info!(
        cluster,
        identity,
        "🔄 leading the analyses of cluster {cluster} as {identity}"
    );
}

/// The line of an instance that no longer leads a cluster: it stops analysing it.
pub(crate) fn deposed(cluster: &str, leader: Option<&str>) {
    let leader = leader.unwrap_or("nobody yet");
    tracing::warn!(
        cluster,
        leader,
        "no longer leading cluster {cluster} (leader: {leader}); standing by"
    );
}

/// The line of a status document the store did not take.
pub(crate) fn status_not_published(cluster: &str, reason: &str) {
    tracing::error!(
        cluster,
        error = reason,
        "❌ cannot write the status of cluster {cluster}: {reason}"
    );
}
