//! Drift records and their lifecycle: none → active → resolved, with an event per transition.
//!
//! [`advance`] is a pure function of the previous record, the new comparison and the time,
//! so the same rules hold for every store and are tested without one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ResourceId;
use crate::compare::Comparison;
use crate::drift::{DriftDetail, DriftType, Severity};

/// The application of a single-source installation, and of records stored before
/// applications existed.
pub const DEFAULT_APPLICATION: &str = "default";

fn default_application() -> String {
    DEFAULT_APPLICATION.to_owned()
}

/// Where a resource is in the drift lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftStatus {
    /// Never drifted since it was first seen.
    None,
    /// Drifted now.
    Active,
    /// Drifted before, in sync now.
    Resolved,
}

impl DriftStatus {
    /// The name used in records and API filters.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Active => "active",
            Self::Resolved => "resolved",
        }
    }
}

impl std::str::FromStr for DriftStatus {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Self::None),
            "active" => Ok(Self::Active),
            "resolved" => Ok(Self::Resolved),
            other => Err(crate::Error::InvalidRule(format!(
                "unknown drift status `{other}` (expected none, active or resolved)"
            ))),
        }
    }
}

/// The current drift state of one desired resource (DESIGN.md §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftRecord {
    /// `Kind:namespace:name`.
    pub resource_id: ResourceId,
    /// The desired object's `apiVersion`.
    pub api_version: String,
    /// The object's kind.
    pub kind: String,
    /// The namespace; `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// The object's name.
    pub name: String,
    /// The application whose desired state declares the resource
    /// ([`DEFAULT_APPLICATION`] for a single-source installation).
    #[serde(default = "default_application")]
    pub application: String,
    /// Whether the last analysis found drift.
    pub drift_detected: bool,
    /// Lifecycle state.
    pub drift_status: DriftStatus,
    /// The highest severity among `drifts`; `None` when there is no drift.
    pub severity: Option<Severity>,
    /// The sorted set of the drifts' types.
    pub drift_types: Vec<DriftType>,
    /// One entry per differing field.
    pub drifts: Vec<DriftDetail>,
    /// Hash of the canonical desired object.
    pub desired_hash: String,
    /// Hash of the canonical live object; `None` when it is missing.
    pub live_hash: Option<String>,
    /// The live hash at the last in-sync observation.
    pub last_known_good_hash: Option<String>,
    /// The desired-state revision (commit) of the last analysis.
    pub git_revision: Option<String>,
    /// When the current (or last) drift episode began.
    pub first_detected: Option<DateTime<Utc>>,
    /// The last analysis that saw drift.
    pub last_detected: Option<DateTime<Utc>>,
    /// When the last drift episode ended.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The last analysis of this resource.
    pub last_checked: DateTime<Utc>,
    /// How the last episode ended.
    pub resolution_message: Option<String>,
    /// How many analyses saw the current (or last) drift episode.
    pub detection_count: u64,
}

/// What happened to a record in one analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Drift appeared.
    DriftDetected,
    /// Drift persists but its fields, types or severity changed.
    DriftChanged,
    /// Drift disappeared.
    DriftResolved,
}

impl EventKind {
    /// The name used in storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DriftDetected => "drift_detected",
            Self::DriftChanged => "drift_changed",
            Self::DriftResolved => "drift_resolved",
        }
    }
}

/// One lifecycle transition, kept for history and trends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftEvent {
    /// The resource.
    pub resource_id: ResourceId,
    /// The application whose desired state declares the resource.
    #[serde(default = "default_application")]
    pub application: String,
    /// What happened.
    pub kind: EventKind,
    /// When.
    pub at: DateTime<Utc>,
    /// The drift types at that moment (for a resolution: the types that were resolved).
    pub drift_types: Vec<DriftType>,
    /// The severity at that moment (for a resolution: the severity that was resolved).
    pub severity: Option<Severity>,
    /// The desired-state revision.
    pub git_revision: Option<String>,
    /// A human-readable account.
    pub message: String,
}

/// A record after one analysis, and the events that analysis produced for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The new record.
    pub record: DriftRecord,
    /// Zero or one events.
    pub events: Vec<DriftEvent>,
}

fn types_and_severity(drifts: &[DriftDetail]) -> (Vec<DriftType>, Option<Severity>) {
    let mut types: Vec<DriftType> = drifts.iter().map(|d| d.drift_type).collect();
    types.sort_unstable();
    types.dedup();
    (types, drifts.iter().map(|d| d.severity).max())
}

fn resolution_message(previous: &DriftRecord, comparison: &Comparison) -> String {
    let desired_changed = previous.desired_hash != comparison.desired_hash.to_hex();
    let live_changed = previous.live_hash != comparison.live_hash.map(|h| h.to_hex());
    match (desired_changed, live_changed) {
        (true, false) => "Git changed to match the live state".to_owned(),
        (false, true) => "the live state was reverted to match Git".to_owned(),
        (true, true) => "both Git and the live state changed; they match again".to_owned(),
        (false, false) => {
            "the difference is no longer reported (rules or configuration changed)".to_owned()
        }
    }
}

/// The lifecycle step for one resource.
///
/// - no previous record, or `none`/`resolved`, and drift now → `active`, a `drift_detected` event;
/// - `active` and drift now → stays `active`, count up, a `drift_changed` event if the drift differs;
/// - `active` and no drift → `resolved`, a `drift_resolved` event saying how;
/// - otherwise the status stays (`none` or `resolved`) and no event is produced.
pub fn advance(
    previous: Option<&DriftRecord>,
    comparison: &Comparison,
    application: &str,
    revision: Option<&str>,
    now: DateTime<Utc>,
) -> Transition {
    let (drift_types, severity) = types_and_severity(&comparison.drifts);
    let drifted = !comparison.drifts.is_empty();
    let live_hash = comparison.live_hash.map(|h| h.to_hex());
    let id = &comparison.resource_id;
    let mut record = DriftRecord {
        resource_id: id.clone(),
        api_version: comparison.api_version.clone(),
        kind: id.kind().to_owned(),
        namespace: id.namespace().map(str::to_owned),
        name: id.name().to_owned(),
        application: application.to_owned(),
        drift_detected: drifted,
        drift_status: DriftStatus::None,
        severity,
        drift_types: drift_types.clone(),
        drifts: comparison.drifts.clone(),
        desired_hash: comparison.desired_hash.to_hex(),
        live_hash: live_hash.clone(),
        last_known_good_hash: previous.and_then(|p| p.last_known_good_hash.clone()),
        git_revision: revision.map(str::to_owned),
        first_detected: previous.and_then(|p| p.first_detected),
        last_detected: previous.and_then(|p| p.last_detected),
        resolved_at: previous.and_then(|p| p.resolved_at),
        last_checked: now,
        resolution_message: previous.and_then(|p| p.resolution_message.clone()),
        detection_count: previous.map_or(0, |p| p.detection_count),
    };
    let event = |kind: EventKind, types: Vec<DriftType>, severity, message: String| DriftEvent {
        resource_id: id.clone(),
        application: application.to_owned(),
        kind,
        at: now,
        drift_types: types,
        severity,
        git_revision: revision.map(str::to_owned),
        message,
    };
    let previous_status = previous.map(|p| p.drift_status);
    let mut events = Vec::new();
    if drifted {
        record.drift_status = DriftStatus::Active;
        record.last_detected = Some(now);
        if previous_status == Some(DriftStatus::Active) {
            record.detection_count += 1;
            let changed = previous.is_some_and(|p| p.drifts != comparison.drifts);
            if changed {
                events.push(event(
                    EventKind::DriftChanged,
                    drift_types,
                    severity,
                    format!("drift on {id} changed"),
                ));
            }
        } else {
            record.first_detected = Some(now);
            record.resolved_at = None;
            record.resolution_message = None;
            record.detection_count = 1;
            events.push(event(
                EventKind::DriftDetected,
                drift_types,
                severity,
                format!("drift detected on {id}"),
            ));
        }
    } else {
        record.last_known_good_hash = live_hash;
        match previous {
            Some(previous) if previous.drift_status == DriftStatus::Active => {
                let message = resolution_message(previous, comparison);
                record.drift_status = DriftStatus::Resolved;
                record.resolved_at = Some(now);
                record.resolution_message = Some(message.clone());
                events.push(event(
                    EventKind::DriftResolved,
                    previous.drift_types.clone(),
                    previous.severity,
                    format!("drift on {id} resolved: {message}"),
                ));
            }
            Some(previous) => record.drift_status = previous.drift_status,
            None => record.drift_status = DriftStatus::None,
        }
    }
    Transition { record, events }
}

/// The lifecycle step for a resource that is no longer declared in the desired state:
/// an active record is resolved (nobody wants that object any more); others stay as they are.
pub fn retire(
    previous: &DriftRecord,
    revision: Option<&str>,
    now: DateTime<Utc>,
) -> Option<Transition> {
    if previous.drift_status != DriftStatus::Active {
        return None;
    }
    let message = "the resource was removed from the desired state".to_owned();
    let mut record = previous.clone();
    record.drift_detected = false;
    record.drift_status = DriftStatus::Resolved;
    record.severity = None;
    record.drift_types = Vec::new();
    record.drifts = Vec::new();
    record.resolved_at = Some(now);
    record.last_checked = now;
    record.resolution_message = Some(message.clone());
    record.git_revision = revision.map(str::to_owned);
    let event = DriftEvent {
        resource_id: previous.resource_id.clone(),
        application: previous.application.clone(),
        kind: EventKind::DriftResolved,
        at: now,
        drift_types: previous.drift_types.clone(),
        severity: previous.severity,
        git_revision: revision.map(str::to_owned),
        message: format!("drift on {} resolved: {message}", previous.resource_id),
    };
    Some(Transition {
        record,
        events: vec![event],
    })
}
