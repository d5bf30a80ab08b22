//! Records and events for the contract suite, and the reference answers the port defines.
//!
//! Times are whole milliseconds: BSON dates (MongoDB) hold no finer precision.

use chrono::{DateTime, Duration, TimeZone, Utc};
use driftguard_core::ports::{EventFilter, RecordFilter};
use driftguard_core::{
    DEFAULT_APPLICATION, DEFAULT_CLUSTER, DriftDetail, DriftEvent, DriftRecord, DriftStatus,
    DriftType, EventKind, ResourceId, Severity,
};
use serde_json::json;

/// `2026-01-01T12:00:00Z` plus `millis` milliseconds.
pub fn time(millis: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
        .single()
        .expect("valid time")
        + Duration::milliseconds(millis)
}

/// A small deterministic generator, so every store sees the same "random" data.
pub struct Sequence(u64);

impl Sequence {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(
            seed.wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407),
        )
    }

    /// The next number below `bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn detail(drift_type: DriftType, severity: Severity, n: usize) -> DriftDetail {
    let (path, desired, live, manager) = match drift_type {
        DriftType::Scaling => (
            "spec.replicas",
            json!(3),
            json!(5 + n),
            Some("kubectl-scale"),
        ),
        DriftType::VersionChange => (
            "spec.template.spec.containers[name=web].image",
            json!("nginx:1.25.3"),
            json!(format!("nginx:1.27.{n}")),
            Some("kubectl-edit"),
        ),
        DriftType::ResourceChange => (
            "spec.template.spec.containers[name=web].resources.limits.cpu",
            json!(0.5),
            json!(1.25),
            None,
        ),
        DriftType::LabelChange => (
            "metadata.labels.team",
            serde_json::Value::Null,
            json!("payments"),
            Some("dashboard"),
        ),
        DriftType::Missing => (
            "",
            json!({"kind": "Service"}),
            serde_json::Value::Null,
            None,
        ),
        DriftType::PortChange => (
            "spec.ports[port=80,protocol=TCP].targetPort",
            json!(8080),
            json!("http"),
            None,
        ),
        _ => (
            "spec.template.spec.containers[name=web].args",
            json!(["--fast", {"level": -2}]),
            json!(["--slow", true, null]),
            Some("kubectl-patch"),
        ),
    };
    DriftDetail {
        path: path.to_owned(),
        drift_type,
        severity,
        desired: (!desired.is_null()).then_some(desired),
        live: (!live.is_null()).then_some(live),
        manager: manager.map(str::to_owned),
        hand_edit: manager.is_some(),
        unowned: false,
    }
}

/// The applications of [`records`] and [`events`]: the default one and two more, across
/// namespaces (an application is not a namespace).
pub const APPLICATIONS: [&str; 3] = [DEFAULT_APPLICATION, "shop-frontend", "platform"];

/// The application of the `index`-th of [`resource_ids`].
pub fn application_of(index: usize) -> &'static str {
    APPLICATIONS[index % APPLICATIONS.len()]
}

/// A record with every field set as the lifecycle would set it, in the default
/// application.
pub fn record(id: &str, status: DriftStatus, types: &[DriftType], at: i64) -> DriftRecord {
    let resource_id: ResourceId = id.parse().expect("valid id");
    let severity_of = |t: DriftType| match t {
        DriftType::VersionChange | DriftType::Missing | DriftType::SecretChange => Severity::High,
        DriftType::LabelChange | DriftType::AnnotationChange => Severity::Low,
        _ => Severity::Medium,
    };
    let drifted = status == DriftStatus::Active;
    let mut types: Vec<DriftType> = if drifted { types.to_vec() } else { Vec::new() };
    types.sort_unstable();
    types.dedup();
    let drifts: Vec<DriftDetail> = types
        .iter()
        .enumerate()
        .map(|(n, t)| detail(*t, severity_of(*t), n))
        .collect();
    DriftRecord {
        api_version: if resource_id.kind() == "Deployment" {
            "apps/v1"
        } else {
            "v1"
        }
        .to_owned(),
        kind: resource_id.kind().to_owned(),
        namespace: resource_id.namespace().map(str::to_owned),
        name: resource_id.name().to_owned(),
        cluster: DEFAULT_CLUSTER.to_owned(),
        application: DEFAULT_APPLICATION.to_owned(),
        drift_detected: drifted,
        drift_status: status,
        severity: drifts.iter().map(|d| d.severity).max(),
        drift_types: types,
        drifts,
        desired_hash: format!("{:064x}", at.unsigned_abs() * 7919 + 1),
        live_hash: (status != DriftStatus::Active || at % 3 != 0)
            .then(|| format!("{:064x}", at.unsigned_abs() * 104_729 + 2)),
        last_known_good_hash: (status != DriftStatus::Active || at % 2 == 0)
            .then(|| format!("{:064x}", at.unsigned_abs() * 7919 + 1)),
        git_revision: (at % 5 != 0).then(|| format!("{:040x}", at.unsigned_abs() + 0xabc)),
        first_detected: (status != DriftStatus::None).then(|| time(at - 60_000)),
        last_detected: (status != DriftStatus::None).then(|| time(at - 1_000)),
        resolved_at: (status == DriftStatus::Resolved).then(|| time(at)),
        last_checked: time(at),
        resolution_message: (status == DriftStatus::Resolved)
            .then(|| "the live state was reverted to match Git".to_owned()),
        detection_count: if status == DriftStatus::None {
            0
        } else {
            1 + (at as u64 % 4)
        },
        resource_id,
    }
}

/// An event of `kind` for `id` at `time(at)`, in the default application.
pub fn event(id: &str, kind: EventKind, at: i64, types: &[DriftType]) -> DriftEvent {
    DriftEvent {
        resource_id: id.parse().expect("valid id"),
        cluster: DEFAULT_CLUSTER.to_owned(),
        application: DEFAULT_APPLICATION.to_owned(),
        kind,
        at: time(at),
        drift_types: types.to_vec(),
        severity: (!types.is_empty()).then_some(if types.contains(&DriftType::VersionChange) {
            Severity::High
        } else {
            Severity::Medium
        }),
        git_revision: Some(format!("rev-{at}")),
        message: format!("{} on {id}", kind.as_str()),
        key: String::new(),
    }
}

/// Resource ids across namespaces (one starting with a digit), kinds and scopes.
pub fn resource_ids() -> Vec<String> {
    let mut ids = Vec::new();
    for namespace in ["shop", "payments", "1st-team", "kube-system"] {
        for name in ["web", "api", "worker"] {
            ids.push(format!("Deployment:{namespace}:{name}"));
        }
        ids.push(format!("ConfigMap:{namespace}:settings"));
        ids.push(format!("Service:{namespace}:web"));
        ids.push(format!("Secret:{namespace}:credentials"));
    }
    for name in ["shop", "payments", "1st-team"] {
        ids.push(format!("Namespace::{name}"));
    }
    ids.push("ClusterRole::reader".to_owned());
    ids.push("IngressClass::nginx".to_owned());
    ids.push("Ingress:shop:web".to_owned());
    ids
}

/// A varied set of records: every status, drift types and severities, namespaces,
/// cluster-scoped objects and [`APPLICATIONS`].
pub fn records(seed: u64) -> Vec<DriftRecord> {
    let mut random = Sequence::new(seed);
    let types = [
        DriftType::Scaling,
        DriftType::VersionChange,
        DriftType::ResourceChange,
        DriftType::LabelChange,
        DriftType::PortChange,
        DriftType::ConfigurationChange,
        DriftType::Missing,
    ];
    resource_ids()
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let status = *random.pick(&[
                DriftStatus::None,
                DriftStatus::Active,
                DriftStatus::Active,
                DriftStatus::Resolved,
            ]);
            // Some drift on a cluster-scoped object, whatever the seed.
            let status = if id == "ClusterRole::reader" {
                DriftStatus::Active
            } else {
                status
            };
            let count = 1 + random.below(3) as usize;
            let chosen: Vec<DriftType> = (0..count).map(|_| *random.pick(&types)).collect();
            let mut record = record(id, status, &chosen, 1_000_000 + i as i64 * 1_237);
            record.application = application_of(i).to_owned();
            record
        })
        .collect()
}

/// Irregular but possible event histories: repeated detections before a resolution,
/// resolutions with no detection before them, open episodes, changes in between, and
/// events of different resources (and of one resource) at the same instant; each event in
/// the application of its resource in [`records`].
pub fn events(seed: u64) -> Vec<DriftEvent> {
    let mut random = Sequence::new(seed);
    let ids = resource_ids();
    let kinds = [
        EventKind::DriftDetected,
        EventKind::DriftDetected,
        EventKind::DriftChanged,
        EventKind::DriftResolved,
        EventKind::DriftResolved,
    ];
    let mut events = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let mut at = 10_000 + random.below(5_000) as i64;
        for _ in 0..random.below(9) {
            let kind = *random.pick(&kinds);
            let mut drift = event(id, kind, at, &[DriftType::Scaling]);
            drift.application = application_of(i).to_owned();
            events.push(drift);
            // A few events share an instant with the one before.
            if random.below(6) != 0 {
                at += 1 + random.below(90_000) as i64;
            }
        }
        // Everyone's last event lands on a few shared instants.
        if i % 3 == 0 {
            let mut drift = event(
                id,
                EventKind::DriftDetected,
                2_000_000,
                &[DriftType::VersionChange],
            );
            drift.application = application_of(i).to_owned();
            events.push(drift);
        }
    }
    // Saved in an order other than time order.
    let mut shuffled = Vec::with_capacity(events.len());
    let mut rest = events;
    while !rest.is_empty() {
        let index = random.below(rest.len() as u64) as usize;
        shuffled.push(rest.remove(index));
    }
    shuffled
}

/// What `list(filter)` must answer over `records` (stored last-write-wins by id): the
/// port's own matching, in the filter's order (`RecordFilter::compare`), then paged.
pub fn expected_list(records: &[DriftRecord], filter: &RecordFilter) -> Vec<DriftRecord> {
    let mut matching: Vec<DriftRecord> = records
        .iter()
        .filter(|r| filter.matches(r))
        .cloned()
        .collect();
    matching.sort_by(|a, b| filter.compare(a, b));
    matching
        .into_iter()
        .skip(filter.offset)
        .take(filter.limit.unwrap_or(usize::MAX))
        .collect()
}

/// What `events(filter)` must answer over `events` in saved order: the port's own
/// matching, oldest first with ties in saved order, the oldest `limit`.
pub fn expected_events(events: &[DriftEvent], filter: &EventFilter) -> Vec<DriftEvent> {
    let mut matching: Vec<DriftEvent> = events
        .iter()
        .filter(|e| filter.matches(e))
        .cloned()
        .collect();
    matching.sort_by_key(|e| e.at);
    matching.truncate(filter.limit.unwrap_or(usize::MAX));
    matching
}
