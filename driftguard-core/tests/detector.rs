//! The detector over in-memory ports: the lifecycle round trip, and failures that must
//! leave stored records untouched.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use driftguard_core::analysis::DetectionSettings;
use driftguard_core::ports::{DriftStore, EventFilter, RecordFilter};
use driftguard_core::testing::{InMemoryDesired, InMemoryLive, InMemoryStore};
use driftguard_core::{
    DesiredSnapshot, Detector, DriftStatus, DriftType, EventKind, LiveSnapshot, Resource,
    ResourceId, Severity,
};
use futures::executor::block_on;
use serde_json::{Value, json};

fn deployment(replicas: u32, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]}}}
    })
}

/// What the API server returns for `desired`: defaults, status and server metadata added.
fn as_live(mut object: Value) -> Value {
    object["metadata"]["uid"] = json!("0b6c3f9e-2d1a-4c1e-9d51-7f3f0f1a2b3c");
    object["metadata"]["resourceVersion"] = json!("48211");
    object["metadata"]["generation"] = json!(2);
    object["spec"]["revisionHistoryLimit"] = json!(10);
    object["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
    object["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
    object["status"] = json!({"replicas": 1, "readyReplicas": 1});
    object
}

fn resource(object: Value) -> Resource {
    Resource::from_object(object, None).expect("valid object")
}

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
        .single()
        .expect("valid time")
        + Duration::minutes(minutes)
}

struct World {
    desired: Arc<InMemoryDesired>,
    live: Arc<InMemoryLive>,
    store: Arc<InMemoryStore>,
    detector: Detector,
}

fn world() -> World {
    let desired = Arc::new(InMemoryDesired::new(DesiredSnapshot {
        resources: vec![resource(deployment(3, "nginx:1.25.3"))],
        revision: Some("a1".to_owned()),
        render: None,
    }));
    let live = Arc::new(InMemoryLive::new(LiveSnapshot::complete(vec![resource(
        as_live(deployment(3, "nginx:1.25.3")),
    )])));
    let store = Arc::new(InMemoryStore::new());
    let detector = Detector::new(
        desired.clone(),
        live.clone(),
        store.clone(),
        DetectionSettings::default(),
    );
    World {
        desired,
        live,
        store,
        detector,
    }
}

fn set_live(world: &World, object: Value) {
    world
        .live
        .set(LiveSnapshot::complete(vec![resource(as_live(object))]));
}

fn id() -> ResourceId {
    "Deployment:shop:web".parse().expect("valid id")
}

fn record(world: &World) -> driftguard_core::DriftRecord {
    block_on(world.store.get(&id()))
        .expect("store answers")
        .expect("record exists")
}

fn events(world: &World) -> Vec<EventKind> {
    block_on(world.store.events(&EventFilter {
        resource_id: Some(id()),
        ..EventFilter::default()
    }))
    .expect("store answers")
    .events
    .into_iter()
    .map(|e| e.kind)
    .collect()
}

#[test]
fn lifecycle_none_active_active_resolved_active() {
    let w = world();

    block_on(w.detector.run(at(0))).expect("analysis runs");
    let r = record(&w);
    assert_eq!(r.drift_status, DriftStatus::None);
    assert!(!r.drift_detected);
    assert_eq!(r.severity, None);
    assert_eq!(r.last_known_good_hash, r.live_hash);
    let good_hash = r.live_hash.clone();

    // Someone scales by hand.
    set_live(&w, deployment(5, "nginx:1.25.3"));
    block_on(w.detector.run(at(1))).expect("analysis runs");
    let r = record(&w);
    assert_eq!(r.drift_status, DriftStatus::Active);
    assert_eq!(r.drift_types, vec![DriftType::Scaling]);
    assert_eq!(r.severity, Some(Severity::Medium));
    assert_eq!(r.first_detected, Some(at(1)));
    assert_eq!(r.detection_count, 1);
    assert_eq!(r.git_revision.as_deref(), Some("a1"));

    // It persists, and the image is changed too.
    set_live(&w, deployment(5, "nginx:1.27.0"));
    block_on(w.detector.run(at(2))).expect("analysis runs");
    let r = record(&w);
    assert_eq!(r.drift_status, DriftStatus::Active);
    assert_eq!(
        r.drift_types,
        vec![DriftType::Scaling, DriftType::VersionChange]
    );
    assert_eq!(r.severity, Some(Severity::High));
    assert_eq!(r.first_detected, Some(at(1)));
    assert_eq!(r.last_detected, Some(at(2)));
    assert_eq!(r.detection_count, 2);
    assert_eq!(r.last_known_good_hash, good_hash);

    // Reverted to what Git says.
    set_live(&w, deployment(3, "nginx:1.25.3"));
    block_on(w.detector.run(at(3))).expect("analysis runs");
    let r = record(&w);
    assert_eq!(r.drift_status, DriftStatus::Resolved);
    assert!(!r.drift_detected);
    assert_eq!(r.resolved_at, Some(at(3)));
    assert!(
        r.resolution_message
            .as_deref()
            .is_some_and(|m| m.contains("reverted")),
        "{:?}",
        r.resolution_message
    );

    // Still in sync: stays resolved, no event.
    block_on(w.detector.run(at(4))).expect("analysis runs");
    assert_eq!(record(&w).drift_status, DriftStatus::Resolved);

    // Git moves ahead of the cluster: active again, a new episode.
    w.desired.set(DesiredSnapshot {
        resources: vec![resource(deployment(4, "nginx:1.25.3"))],
        revision: Some("b2".to_owned()),
        render: None,
    });
    block_on(w.detector.run(at(5))).expect("analysis runs");
    let r = record(&w);
    assert_eq!(r.drift_status, DriftStatus::Active);
    assert_eq!(r.first_detected, Some(at(5)));
    assert_eq!(r.resolved_at, None);
    assert_eq!(r.detection_count, 1);
    assert_eq!(r.git_revision.as_deref(), Some("b2"));

    // Then the cluster follows Git: resolved, and the message says so.
    set_live(&w, deployment(4, "nginx:1.25.3"));
    block_on(w.detector.run(at(6))).expect("analysis runs");
    assert_eq!(record(&w).drift_status, DriftStatus::Resolved);

    assert_eq!(
        events(&w),
        vec![
            EventKind::DriftDetected,
            EventKind::DriftChanged,
            EventKind::DriftResolved,
            EventKind::DriftDetected,
            EventKind::DriftResolved,
        ]
    );

    let stats = block_on(w.store.statistics()).expect("statistics");
    assert_eq!(stats.total_resources, 1);
    assert_eq!(stats.by_status.get("resolved"), Some(&1));
    assert_eq!(stats.most_drifted[0].drift_events, 2);
    // Two episodes of 2 and 1 minutes.
    assert_eq!(stats.mean_time_to_resolve_seconds, Some(90.0));
}

#[test]
fn git_catching_up_with_live_is_reported_as_such() {
    let w = world();
    set_live(&w, deployment(5, "nginx:1.25.3"));
    block_on(w.detector.run(at(0))).expect("analysis runs");
    w.desired.set(DesiredSnapshot {
        resources: vec![resource(deployment(5, "nginx:1.25.3"))],
        revision: Some("c3".to_owned()),
        render: None,
    });
    block_on(w.detector.run(at(1))).expect("analysis runs");
    let r = record(&w);
    assert_eq!(r.drift_status, DriftStatus::Resolved);
    assert!(
        r.resolution_message
            .as_deref()
            .is_some_and(|m| m.contains("Git changed")),
        "{:?}",
        r.resolution_message
    );
}

#[test]
fn missing_live_object_is_missing_with_high_severity() {
    let w = world();
    w.live.set(LiveSnapshot::default());
    let outcome = block_on(w.detector.run(at(0))).expect("analysis runs");
    assert_eq!(outcome.summary.missing, 1);
    let r = record(&w);
    assert_eq!(r.drift_types, vec![DriftType::Missing]);
    assert_eq!(r.severity, Some(Severity::High));
    assert_eq!(r.live_hash, None);
}

#[test]
fn failing_sources_leave_records_untouched() {
    let w = world();
    set_live(&w, deployment(5, "nginx:1.25.3"));
    block_on(w.detector.run(at(0))).expect("analysis runs");
    let before = record(&w);

    w.live.fail();
    let error = block_on(w.detector.run(at(1))).expect_err("live outage is an error");
    assert!(
        error.to_string().contains("live state unavailable"),
        "{error}"
    );
    assert_eq!(record(&w), before);

    set_live(&w, deployment(3, "nginx:1.25.3"));
    w.desired.fail();
    let error = block_on(w.detector.run(at(2))).expect_err("Git outage is an error");
    assert!(
        error.to_string().contains("desired state unavailable"),
        "{error}"
    );
    assert_eq!(record(&w), before);
    assert_eq!(events(&w), vec![EventKind::DriftDetected]);
}

#[test]
fn resource_removed_from_git_while_drifted_is_resolved() {
    let w = world();
    set_live(&w, deployment(5, "nginx:1.25.3"));
    block_on(w.detector.run(at(0))).expect("analysis runs");
    w.desired.set(DesiredSnapshot {
        resources: Vec::new(),
        revision: Some("d4".to_owned()),
        render: None,
    });
    block_on(w.detector.run(at(1))).expect("analysis runs");
    let r = record(&w);
    assert_eq!(r.drift_status, DriftStatus::Resolved);
    assert!(
        r.resolution_message
            .as_deref()
            .is_some_and(|m| m.contains("removed"))
    );
    let listed = block_on(w.store.list(&RecordFilter {
        drift_status: Some(DriftStatus::Active),
        ..RecordFilter::default()
    }))
    .expect("store answers");
    assert!(listed.is_empty());
}

#[test]
fn duplicate_desired_resources_are_an_error() {
    let w = world();
    w.desired.set(DesiredSnapshot {
        resources: vec![
            resource(deployment(3, "nginx:1.25.3")),
            resource(deployment(4, "nginx:1.25.3")),
        ],
        revision: None,
        render: None,
    });
    let error = block_on(w.detector.run(at(0))).expect_err("duplicates are rejected");
    assert!(error.to_string().contains("declared twice"), "{error}");
}

#[test]
fn single_resource_analysis_follows_a_live_change() {
    let w = world();
    // Before any full run there is no desired snapshot to compare against.
    assert!(
        block_on(w.detector.run_one(&id(), at(0)))
            .expect("runs")
            .is_none()
    );
    block_on(w.detector.run(at(0))).expect("analysis runs");

    set_live(&w, deployment(3, "nginx:1.27.0"));
    let outcome = block_on(w.detector.run_one(&id(), at(1)))
        .expect("runs")
        .expect("a declared resource is analysed");
    assert_eq!(outcome.records.len(), 1);
    let r = record(&w);
    assert_eq!(r.drift_status, DriftStatus::Active);
    assert_eq!(r.drift_types, vec![DriftType::VersionChange]);
    assert_eq!(r.first_detected, Some(at(1)));

    // A change to an object Git does not declare stores nothing.
    let other: ResourceId = "Deployment:shop:legacy".parse().expect("valid id");
    assert!(
        block_on(w.detector.run_one(&other, at(2)))
            .expect("runs")
            .is_none()
    );
    assert!(
        block_on(w.store.get(&other))
            .expect("store answers")
            .is_none()
    );

    // Deleted live: the same targeted analysis reports it missing.
    w.live.set(LiveSnapshot::default());
    block_on(w.detector.run_one(&id(), at(3))).expect("runs");
    assert_eq!(record(&w).drift_types, vec![DriftType::Missing]);
    assert_eq!(
        events(&w),
        vec![EventKind::DriftDetected, EventKind::DriftChanged]
    );
}
