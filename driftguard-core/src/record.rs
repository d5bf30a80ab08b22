//! Drift records and their lifecycle: none → active → resolved, with an event per transition.
//!
//! [`advance`] is a pure function of the previous record, the new comparison and the time,
//! so the same rules hold for every store and are tested without one. A resource that
//! leaves the desired state goes through [`orphan`] while it still runs in the cluster
//! and through [`retire`] once it is gone.

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

/// The cluster of a single-cluster installation (`cluster.name` unset), and of records
/// stored before clusters existed.
pub const DEFAULT_CLUSTER: &str = "default";

/// [`DEFAULT_CLUSTER`] as an owned name: the serde default of `cluster` fields.
pub(crate) fn default_cluster() -> String {
    DEFAULT_CLUSTER.to_owned()
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
    /// The cluster the resource runs in (`cluster.name`; [`DEFAULT_CLUSTER`] for a
    /// single-cluster installation). Records are keyed by `(cluster, resource_id)`.
    #[serde(default = "default_cluster")]
    pub cluster: String,
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
    /// The cluster the resource runs in.
    #[serde(default = "default_cluster")]
    pub cluster: String,
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
    /// The identity of the transition ([`transition_key`]): stores keep one event per
    /// non-empty key, so a transition saved twice (a retried save, two replicas that
    /// both analysed during a failover) is stored once. Empty for events stored before
    /// keys existed. Stores keep it in a column of their own; it is not part of API
    /// answers (never serialized, read as empty when absent).
    #[serde(default, skip_serializing)]
    pub key: String,
}

/// The identity of one lifecycle transition: BLAKE3 (hex) over the cluster, the
/// resource id, the event kind, the previous record's `last_checked` (`none` without a
/// previous record), the new record's `desired_hash` and `live_hash`, and the event's
/// drift types, each length-prefixed.
///
/// Two instances that compute the same transition from the same stored record and the
/// same observed objects produce the same key (the time of the event is not part of
/// it); the next real transition starts from a record checked later, so its key
/// differs. `last_checked` enters at millisecond precision, the finest every store
/// keeps, so a record read back from any store gives the key its writer computed.
pub fn transition_key(
    event: &DriftEvent,
    previous: Option<&DriftRecord>,
    record: &DriftRecord,
) -> String {
    let mut hasher = blake3::Hasher::new();
    let mut field = |bytes: &[u8]| {
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(b"driftguard transition v1");
    field(event.cluster.as_bytes());
    field(event.resource_id.to_string().as_bytes());
    field(event.kind.as_str().as_bytes());
    let previous_checked = previous.map_or_else(
        || "none".to_owned(),
        |p| p.last_checked.timestamp_millis().to_string(),
    );
    field(previous_checked.as_bytes());
    field(record.desired_hash.as_bytes());
    field(record.live_hash.as_deref().unwrap_or("none").as_bytes());
    field(&(event.drift_types.len() as u64).to_le_bytes());
    for drift_type in &event.drift_types {
        field(drift_type.as_str().as_bytes());
    }
    hasher.finalize().to_hex().to_string()
}

/// `events` of the step from `previous` to `record`, each with its [`transition_key`].
fn keyed(
    mut events: Vec<DriftEvent>,
    previous: Option<&DriftRecord>,
    record: &DriftRecord,
) -> Vec<DriftEvent> {
    for event in &mut events {
        event.key = transition_key(event, previous, record);
    }
    events
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
    if previous.drift_types.contains(&DriftType::Orphaned) {
        return "Git declares the resource again, as it runs in the cluster".to_owned();
    }
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
///
/// `cluster` names the cluster analysed: a resource seen for the first time gets its record
/// there, and its events' keys are that cluster's, so the same first drift in two clusters
/// is two events.
pub fn advance(
    previous: Option<&DriftRecord>,
    comparison: &Comparison,
    cluster: &str,
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
        cluster: cluster.to_owned(),
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
    let cluster = record.cluster.clone();
    let event = |kind: EventKind, types: Vec<DriftType>, severity, message: String| DriftEvent {
        resource_id: id.clone(),
        cluster: cluster.clone(),
        application: application.to_owned(),
        kind,
        at: now,
        drift_types: types,
        severity,
        git_revision: revision.map(str::to_owned),
        message,
        key: String::new(),
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
    let events = keyed(events, previous, &record);
    Transition { record, events }
}

/// The resolution message of a record whose resource left both Git and the cluster.
pub const REMOVED_EVERYWHERE: &str = "removed from Git and from the cluster";

/// The lifecycle step for a resource that is no longer declared in the desired state and
/// still runs in the cluster: it is active drift of type [`DriftType::Orphaned`], with
/// one drift whose path is empty, since the whole object is what Git no longer wants.
/// It is never resolved while it runs.
///
/// A record that was not active becomes active (a `drift_detected` event); an active one
/// whose drift was something else becomes Orphaned (a `drift_changed` event); one that
/// was already Orphaned stays so, counted once more, without an event. `live_hash` is
/// the hash of the canonical live object.
pub fn orphan(
    previous: &DriftRecord,
    severity: Severity,
    live_hash: Option<String>,
    revision: Option<&str>,
    now: DateTime<Utc>,
) -> Transition {
    let id = &previous.resource_id;
    let mut record = previous.clone();
    record.drift_detected = true;
    record.drift_status = DriftStatus::Active;
    record.severity = Some(severity);
    record.drift_types = vec![DriftType::Orphaned];
    record.drifts = vec![DriftDetail {
        path: String::new(),
        drift_type: DriftType::Orphaned,
        severity,
        desired: None,
        live: None,
        manager: None,
        hand_edit: false,
        unowned: false,
    }];
    record.live_hash = live_hash;
    record.git_revision = revision.map(str::to_owned);
    record.last_checked = now;
    record.last_detected = Some(now);
    let kind = if previous.drift_status == DriftStatus::Active {
        record.detection_count += 1;
        (previous.drifts != record.drifts).then_some(EventKind::DriftChanged)
    } else {
        record.first_detected = Some(now);
        record.resolved_at = None;
        record.resolution_message = None;
        record.detection_count = 1;
        Some(EventKind::DriftDetected)
    };
    let events = kind
        .map(|kind| {
            let verb = if kind == EventKind::DriftDetected {
                "detected"
            } else {
                "changed"
            };
            DriftEvent {
                resource_id: id.clone(),
                cluster: previous.cluster.clone(),
                application: previous.application.clone(),
                kind,
                at: now,
                drift_types: record.drift_types.clone(),
                severity: record.severity,
                git_revision: record.git_revision.clone(),
                message: format!("drift {verb} on {id}: removed from Git, still in the cluster"),
                key: String::new(),
            }
        })
        .into_iter()
        .collect();
    let events = keyed(events, Some(previous), &record);
    Transition { record, events }
}

/// The lifecycle step for a resource that is no longer declared in the desired state and
/// is no longer judged against the cluster (it left the cluster too, or its application
/// is no longer configured): an active record is resolved with `message` saying how;
/// others stay as they are.
pub fn retire(
    previous: &DriftRecord,
    message: &str,
    revision: Option<&str>,
    now: DateTime<Utc>,
) -> Option<Transition> {
    if previous.drift_status != DriftStatus::Active {
        return None;
    }
    let mut record = previous.clone();
    record.drift_detected = false;
    record.drift_status = DriftStatus::Resolved;
    record.severity = None;
    record.drift_types = Vec::new();
    record.drifts = Vec::new();
    record.resolved_at = Some(now);
    record.last_checked = now;
    record.resolution_message = Some(message.to_owned());
    record.git_revision = revision.map(str::to_owned);
    let event = DriftEvent {
        resource_id: previous.resource_id.clone(),
        cluster: previous.cluster.clone(),
        application: previous.application.clone(),
        kind: EventKind::DriftResolved,
        at: now,
        drift_types: previous.drift_types.clone(),
        severity: previous.severity,
        git_revision: revision.map(str::to_owned),
        message: format!("drift on {} resolved: {message}", previous.resource_id),
        key: String::new(),
    };
    let events = keyed(vec![event], Some(previous), &record);
    Some(Transition { record, events })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 2, 1, 10, minute, 0)
            .single()
            .expect("valid time")
    }

    fn stored(status: DriftStatus, types: &[DriftType]) -> DriftRecord {
        let id = ResourceId::namespaced("Deployment", "shop", "web");
        let drifts: Vec<DriftDetail> = types
            .iter()
            .map(|t| DriftDetail {
                path: "spec.replicas".to_owned(),
                drift_type: *t,
                severity: Severity::Medium,
                desired: None,
                live: None,
                manager: None,
                hand_edit: false,
                unowned: false,
            })
            .collect();
        DriftRecord {
            api_version: "apps/v1".to_owned(),
            kind: id.kind().to_owned(),
            namespace: id.namespace().map(str::to_owned),
            name: id.name().to_owned(),
            resource_id: id,
            cluster: DEFAULT_CLUSTER.to_owned(),
            application: DEFAULT_APPLICATION.to_owned(),
            drift_detected: status == DriftStatus::Active,
            drift_status: status,
            severity: (!drifts.is_empty()).then_some(Severity::Medium),
            drift_types: types.to_vec(),
            drifts,
            desired_hash: "d".to_owned(),
            live_hash: Some("l".to_owned()),
            last_known_good_hash: Some("l".to_owned()),
            git_revision: Some("r1".to_owned()),
            first_detected: Some(at(0)),
            last_detected: Some(at(0)),
            resolved_at: (status == DriftStatus::Resolved).then_some(at(1)),
            last_checked: at(1),
            resolution_message: (status == DriftStatus::Resolved).then(|| "earlier".to_owned()),
            detection_count: 1,
        }
    }

    #[test]
    fn the_same_transition_has_the_same_key_and_later_ones_another() {
        let previous = stored(DriftStatus::Active, &[DriftType::Scaling]);
        // Two replicas resolving the same record at different times.
        let first = retire(&previous, REMOVED_EVERYWHERE, Some("r2"), at(5)).expect("resolved");
        let second = retire(&previous, REMOVED_EVERYWHERE, None, at(6)).expect("resolved");
        let key = &first.events[0].key;
        assert_eq!(key.len(), 64, "{key}");
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
        assert_eq!(key, &second.events[0].key);
        assert_eq!(
            key,
            &transition_key(&first.events[0], Some(&previous), &first.record)
        );

        // The same kind of step from a record checked later is another transition.
        let mut later = previous.clone();
        later.last_checked = at(4);
        let third = retire(&later, REMOVED_EVERYWHERE, Some("r2"), at(5)).expect("resolved");
        assert_ne!(key, &third.events[0].key);

        // Kind, cluster, hashes and types each make a difference; no previous record too.
        let event = &first.events[0];
        let changed = |f: &dyn Fn(&mut DriftEvent, &mut DriftRecord)| {
            let (mut event, mut record) = (event.clone(), first.record.clone());
            f(&mut event, &mut record);
            transition_key(&event, Some(&previous), &record)
        };
        let variants = [
            changed(&|e, _| e.kind = EventKind::DriftChanged),
            changed(&|e, _| e.cluster = "east".to_owned()),
            changed(&|e, _| e.drift_types = vec![DriftType::Orphaned]),
            changed(&|_, r| r.desired_hash = "d2".to_owned()),
            changed(&|_, r| r.live_hash = None),
            transition_key(event, None, &first.record),
        ];
        for (n, variant) in variants.iter().enumerate() {
            assert_ne!(variant, key, "variant {n}");
        }
    }

    #[test]
    fn the_key_stays_out_of_json_and_defaults_to_empty() {
        let t = orphan(
            &stored(DriftStatus::None, &[]),
            Severity::Medium,
            None,
            None,
            at(5),
        );
        let event = &t.events[0];
        assert!(!event.key.is_empty());
        let json = serde_json::to_value(event).expect("serializable");
        assert!(json.get("key").is_none(), "{json}");
        let read: DriftEvent = serde_json::from_value(json).expect("reads back");
        assert_eq!(read.key, "");
        assert_eq!(
            read,
            DriftEvent {
                key: String::new(),
                ..event.clone()
            }
        );
    }

    #[test]
    fn a_record_not_active_becomes_orphaned_with_a_detection() {
        for status in [DriftStatus::None, DriftStatus::Resolved] {
            let previous = stored(status, &[]);
            let t = orphan(
                &previous,
                Severity::Medium,
                Some("l2".to_owned()),
                Some("r2"),
                at(5),
            );
            let r = &t.record;
            assert_eq!(r.drift_status, DriftStatus::Active);
            assert!(r.drift_detected);
            assert_eq!(r.drift_types, [DriftType::Orphaned]);
            assert_eq!(r.severity, Some(Severity::Medium));
            assert_eq!(r.drifts[0].path, "");
            assert_eq!(
                (r.first_detected, r.last_detected),
                (Some(at(5)), Some(at(5)))
            );
            assert_eq!(
                (r.resolved_at, r.resolution_message.as_deref()),
                (None, None)
            );
            assert_eq!(r.detection_count, 1);
            assert_eq!(r.live_hash.as_deref(), Some("l2"));
            assert_eq!(r.git_revision.as_deref(), Some("r2"));
            assert_eq!(r.last_known_good_hash, previous.last_known_good_hash);
            assert_eq!(t.events.len(), 1);
            assert_eq!(t.events[0].kind, EventKind::DriftDetected);
            assert_eq!(t.events[0].drift_types, [DriftType::Orphaned]);
            assert!(
                t.events[0].message.contains("removed from Git"),
                "{}",
                t.events[0].message
            );
        }
    }

    #[test]
    fn active_drift_turns_orphaned_with_a_change_then_stays_without_events() {
        let previous = stored(DriftStatus::Active, &[DriftType::Scaling]);
        let t = orphan(&previous, Severity::High, None, Some("r2"), at(5));
        assert_eq!(t.events.len(), 1);
        assert_eq!(t.events[0].kind, EventKind::DriftChanged);
        assert_eq!(t.record.first_detected, Some(at(0)), "the episode goes on");
        assert_eq!(t.record.detection_count, 2);
        let again = orphan(&t.record, Severity::High, None, Some("r2"), at(6));
        assert!(again.events.is_empty());
        assert_eq!(again.record.detection_count, 3);
        assert_eq!(again.record.last_detected, Some(at(6)));
    }

    #[test]
    fn gone_from_both_sides_an_active_record_resolves_and_others_stay() {
        let previous = orphan(
            &stored(DriftStatus::None, &[]),
            Severity::Medium,
            None,
            Some("r2"),
            at(5),
        )
        .record;
        let t = retire(&previous, REMOVED_EVERYWHERE, Some("r3"), at(7)).expect("resolved");
        assert_eq!(t.record.drift_status, DriftStatus::Resolved);
        assert!(!t.record.drift_detected);
        assert!(t.record.drift_types.is_empty());
        assert_eq!(t.record.resolved_at, Some(at(7)));
        assert_eq!(
            t.record.resolution_message.as_deref(),
            Some("removed from Git and from the cluster")
        );
        assert_eq!(t.events[0].kind, EventKind::DriftResolved);
        assert_eq!(t.events[0].drift_types, [DriftType::Orphaned]);
        for status in [DriftStatus::None, DriftStatus::Resolved] {
            assert!(retire(&stored(status, &[]), REMOVED_EVERYWHERE, None, at(7)).is_none());
        }
    }
}
