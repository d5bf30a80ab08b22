//! The detector over in-memory ports: the lifecycle round trip, resources removed from
//! Git, and failures and desired states held back that must leave stored records
//! untouched.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use driftguard_core::analysis::DetectionSettings;
use driftguard_core::ports::{DriftStore, EventFilter, RecordFilter};
use driftguard_core::testing::{InMemoryDesired, InMemoryLive, InMemoryStore};
use driftguard_core::{
    DesiredSnapshot, Detector, DriftStatus, DriftType, EventKind, LiveCoverage, LiveSnapshot,
    ReadStatus, Resource, ResourceId, Severity,
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
    block_on(world.store.get("default", &id()))
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

    let stats = block_on(w.store.statistics(None)).expect("statistics");
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

fn config_map(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop"}, "data": {"k": "v"}})
}

fn desired(objects: Vec<Value>, revision: &str) -> DesiredSnapshot {
    DesiredSnapshot {
        resources: objects.into_iter().map(resource).collect(),
        revision: Some(revision.to_owned()),
        render: None,
    }
}

/// The Deployment (scaled by hand: active drift) and a ConfigMap, both in Git and live.
fn drifted_world(settings: DetectionSettings) -> World {
    let desired = Arc::new(InMemoryDesired::new(desired(
        vec![deployment(3, "nginx:1.25.3"), config_map("settings")],
        "a1",
    )));
    let live = Arc::new(InMemoryLive::new(LiveSnapshot::complete(vec![
        resource(as_live(deployment(5, "nginx:1.25.3"))),
        resource(config_map("settings")),
    ])));
    let store = Arc::new(InMemoryStore::new());
    let detector = Detector::new(desired.clone(), live.clone(), store.clone(), settings);
    World {
        desired,
        live,
        store,
        detector,
    }
}

fn all_records(world: &World) -> Vec<driftguard_core::DriftRecord> {
    block_on(world.store.list(&RecordFilter::default())).expect("store answers")
}

#[test]
fn a_resource_removed_from_git_that_still_runs_is_orphaned_until_it_leaves_the_cluster() {
    let w = drifted_world(DetectionSettings::default());
    block_on(w.detector.run(at(0))).expect("analysis runs");
    assert_eq!(record(&w).drift_types, vec![DriftType::Scaling]);

    // Git drops the Deployment; it still runs: not resolved, but Orphaned.
    w.desired.set(desired(vec![config_map("settings")], "b2"));
    block_on(w.detector.run(at(1))).expect("analysis runs");
    let r = record(&w);
    assert_eq!(r.drift_status, DriftStatus::Active);
    assert!(r.drift_detected);
    assert_eq!(r.drift_types, vec![DriftType::Orphaned]);
    assert_eq!(r.severity, Some(Severity::Medium));
    assert_eq!(r.drifts.len(), 1);
    assert_eq!(r.drifts[0].path, "");
    assert_eq!(r.git_revision.as_deref(), Some("b2"));
    assert_eq!(r.first_detected, Some(at(0)), "the same episode goes on");
    assert_eq!(r.resolved_at, None);
    assert!(r.live_hash.is_some());

    // Still running at the next analysis: stays Orphaned, no new event.
    block_on(w.detector.run(at(2))).expect("analysis runs");
    let r = record(&w);
    assert_eq!(r.drift_types, vec![DriftType::Orphaned]);
    assert_eq!(r.detection_count, 3);

    // Deleted from the cluster too: resolved, saying so.
    set_live_objects(&w, vec![config_map("settings")]);
    block_on(w.detector.run(at(3))).expect("analysis runs");
    let r = record(&w);
    assert_eq!(r.drift_status, DriftStatus::Resolved);
    assert!(!r.drift_detected);
    assert_eq!(r.resolved_at, Some(at(3)));
    assert_eq!(
        r.resolution_message.as_deref(),
        Some("removed from Git and from the cluster")
    );
    assert!(
        block_on(w.store.list(&RecordFilter {
            drift_status: Some(DriftStatus::Active),
            ..RecordFilter::default()
        }))
        .expect("store answers")
        .is_empty()
    );
    let history = block_on(w.store.events(&EventFilter {
        resource_id: Some(id()),
        ..EventFilter::default()
    }))
    .expect("store answers")
    .events;
    let kinds: Vec<(EventKind, Vec<DriftType>)> = history
        .iter()
        .map(|e| (e.kind, e.drift_types.clone()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (EventKind::DriftDetected, vec![DriftType::Scaling]),
            (EventKind::DriftChanged, vec![DriftType::Orphaned]),
            (EventKind::DriftResolved, vec![DriftType::Orphaned]),
        ]
    );
}

fn set_live_objects(world: &World, objects: Vec<Value>) {
    world.live.set(LiveSnapshot::complete(
        objects.into_iter().map(resource).collect(),
    ));
}

#[test]
fn an_in_sync_resource_removed_from_git_is_detected_as_orphaned_with_its_configured_severity() {
    let mut settings = DetectionSettings::default();
    settings
        .compare
        .classifier
        .set_severity(DriftType::Orphaned, Severity::High);
    let w = drifted_world(settings);
    set_live_objects(
        &w,
        vec![
            as_live(deployment(3, "nginx:1.25.3")),
            config_map("settings"),
        ],
    );
    block_on(w.detector.run(at(0))).expect("analysis runs");
    assert_eq!(record(&w).drift_status, DriftStatus::None);

    w.desired.set(desired(vec![config_map("settings")], "b2"));
    let outcome = block_on(w.detector.run(at(1))).expect("analysis runs");
    let r = record(&w);
    assert_eq!(r.drift_status, DriftStatus::Active);
    assert_eq!(r.drift_types, vec![DriftType::Orphaned]);
    assert_eq!(r.severity, Some(Severity::High));
    assert_eq!(r.first_detected, Some(at(1)));
    assert_eq!(r.detection_count, 1);
    assert_eq!(outcome.events.len(), 1);
    assert_eq!(outcome.events[0].kind, EventKind::DriftDetected);
    assert_eq!(outcome.events[0].drift_types, vec![DriftType::Orphaned]);

    // Back in Git as it runs: resolved, and the message says how.
    w.desired.set(desired(
        vec![deployment(3, "nginx:1.25.3"), config_map("settings")],
        "c3",
    ));
    block_on(w.detector.run(at(2))).expect("analysis runs");
    let r = record(&w);
    assert_eq!(r.drift_status, DriftStatus::Resolved);
    assert!(
        r.resolution_message
            .as_deref()
            .is_some_and(|m| m.contains("Git declares the resource again")),
        "{:?}",
        r.resolution_message
    );
}

#[test]
fn an_orphan_of_a_kind_the_live_source_does_not_read_stays_as_it_is() {
    let w = drifted_world(DetectionSettings::default());
    block_on(w.detector.run(at(0))).expect("analysis runs");
    let before = record(&w);
    // Git drops the Deployment, and the live source now reads ConfigMaps only.
    w.desired.set(desired(vec![config_map("settings")], "b2"));
    w.live.set(LiveSnapshot {
        resources: vec![resource(config_map("settings"))],
        coverage: Some(LiveCoverage::of_kinds(["ConfigMap".to_owned()])),
        schema: None,
    });
    let outcome = block_on(w.detector.run(at(1))).expect("analysis runs");
    assert_eq!(record(&w), before);
    assert!(outcome.events.is_empty(), "{:?}", outcome.events);
}

#[test]
fn deleting_an_orphan_from_the_cluster_resolves_it_at_once() {
    let w = drifted_world(DetectionSettings::default());
    block_on(w.detector.run(at(0))).expect("analysis runs");
    w.desired.set(desired(vec![config_map("settings")], "b2"));
    block_on(w.detector.run(at(1))).expect("analysis runs");
    assert_eq!(record(&w).drift_types, vec![DriftType::Orphaned]);

    // Edited while orphaned: still Orphaned, nothing new.
    set_live_objects(
        &w,
        vec![
            as_live(deployment(7, "nginx:1.25.3")),
            config_map("settings"),
        ],
    );
    let outcome = block_on(w.detector.run_one(&id(), at(2)))
        .expect("runs")
        .expect("the orphan is judged");
    assert!(outcome.events.is_empty());
    assert_eq!(record(&w).drift_types, vec![DriftType::Orphaned]);

    // Deleted: the change notification resolves it without a full analysis.
    set_live_objects(&w, vec![config_map("settings")]);
    let outcome = block_on(w.detector.run_one(&id(), at(3)))
        .expect("runs")
        .expect("the orphan is judged");
    assert_eq!(outcome.events.len(), 1);
    assert_eq!(outcome.events[0].kind, EventKind::DriftResolved);
    let r = record(&w);
    assert_eq!(r.drift_status, DriftStatus::Resolved);
    assert_eq!(
        r.resolution_message.as_deref(),
        Some("removed from Git and from the cluster")
    );
    assert_eq!(r.git_revision.as_deref(), Some("b2"));
    // Resolved, it is no longer judged between full analyses.
    assert!(
        block_on(w.detector.run_one(&id(), at(4)))
            .expect("runs")
            .is_none()
    );
}

#[test]
fn an_empty_desired_state_is_held_back_and_the_records_stay() {
    let w = drifted_world(DetectionSettings::default());
    block_on(w.detector.run(at(0))).expect("analysis runs");
    let before = all_records(&w);

    w.desired.set(desired(Vec::new(), "e5"));
    let error = block_on(w.detector.run(at(1))).expect_err("held back");
    let text = driftguard_core::error_chain(&error);
    assert!(
        text.contains("desired state unavailable")
            && text.contains("revision e5")
            && text.contains("holds no objects")
            && text.contains("allow_empty"),
        "{text}"
    );
    assert_eq!(all_records(&w), before);
    let status = &w.detector.application_statuses()[0];
    assert_eq!(status.status, ReadStatus::HeldBack);
    assert_eq!(status.revision.as_deref(), Some("a1"), "the last accepted");
    assert!(
        status
            .error
            .as_deref()
            .is_some_and(|e| e.contains("holds no objects")),
        "{status:?}"
    );
    // A live change meanwhile is analysed against the last accepted state.
    set_live_objects(
        &w,
        vec![
            as_live(deployment(3, "nginx:1.25.3")),
            config_map("settings"),
        ],
    );
    block_on(w.detector.run_one(&id(), at(2))).expect("runs");
    assert_eq!(record(&w).drift_status, DriftStatus::Resolved);

    // Confirmed: a detector that allows an empty state accepts it.
    let mut settings = DetectionSettings::default();
    settings.plausibility.allow_empty = true;
    let confirmed = Detector::new(w.desired.clone(), w.live.clone(), w.store.clone(), settings);
    block_on(confirmed.run(at(3))).expect("accepted");
    assert_eq!(confirmed.application_statuses()[0].status, ReadStatus::Ok);
    let r = record(&w);
    assert_eq!(r.drift_types, vec![DriftType::Orphaned]);
    assert_eq!(r.git_revision.as_deref(), Some("e5"));
}

#[test]
fn the_first_desired_state_is_held_back_only_when_empty() {
    let empty = Arc::new(InMemoryDesired::new(desired(Vec::new(), "a1")));
    let live = Arc::new(InMemoryLive::new(LiveSnapshot::default()));
    let store = Arc::new(InMemoryStore::new());
    let detector = Detector::new(
        empty.clone(),
        live.clone(),
        store.clone(),
        DetectionSettings::default(),
    );
    assert!(block_on(detector.run(at(0))).is_err());
    assert_eq!(
        detector.application_statuses()[0].status,
        ReadStatus::HeldBack
    );
    empty.set(desired(vec![config_map("settings")], "a2"));
    block_on(detector.run(at(1))).expect("a first non-empty state is accepted");
    assert_eq!(detector.application_statuses()[0].status, ReadStatus::Ok);
}

#[test]
fn a_drop_above_the_threshold_is_held_back_and_one_below_it_is_not() {
    let objects = |count: usize| -> Vec<Value> {
        (0..count).map(|i| config_map(&format!("cm-{i}"))).collect()
    };
    let desired_source = Arc::new(InMemoryDesired::new(desired(objects(10), "a1")));
    let live = Arc::new(InMemoryLive::new(LiveSnapshot::complete(
        objects(10).into_iter().map(resource).collect(),
    )));
    let store = Arc::new(InMemoryStore::new());
    let detector = Detector::new(
        desired_source.clone(),
        live.clone(),
        store.clone(),
        DetectionSettings::default(),
    );
    block_on(detector.run(at(0))).expect("analysis runs");
    let before = block_on(store.list(&RecordFilter::default())).expect("store answers");

    // 10 → 4: 60% gone, more than the default half.
    desired_source.set(desired(objects(4), "b2"));
    let error = block_on(detector.run(at(1))).expect_err("held back");
    let text = driftguard_core::error_chain(&error);
    assert!(text.contains("6 fewer than the 10"), "{text}");
    assert_eq!(
        block_on(store.list(&RecordFilter::default())).expect("store answers"),
        before
    );

    // 10 → 6: 40% gone, accepted; the baseline becomes 6.
    desired_source.set(desired(objects(6), "c3"));
    block_on(detector.run(at(2))).expect("accepted");
    let orphaned = block_on(store.list(&RecordFilter {
        drift_status: Some(DriftStatus::Active),
        ..RecordFilter::default()
    }))
    .expect("store answers");
    assert_eq!(orphaned.len(), 4);
    assert!(
        orphaned
            .iter()
            .all(|r| r.drift_types == [DriftType::Orphaned])
    );

    // 6 → 3 is exactly half: accepted.
    desired_source.set(desired(objects(3), "d4"));
    block_on(detector.run(at(3))).expect("accepted");

    // With the check off (1.0), 3 → 1 is accepted at once.
    let mut settings = DetectionSettings::default();
    settings.plausibility.max_drop = 1.0;
    let off = Detector::new(desired_source.clone(), live, store, settings);
    block_on(off.run(at(4))).expect("accepted");
    desired_source.set(desired(objects(1), "e5"));
    block_on(off.run(at(5))).expect("accepted");
    assert!(
        block_on(detector.run(at(6))).is_err(),
        "the default threshold still holds 3 → 1 back"
    );
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
        block_on(w.store.get("default", &other))
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
