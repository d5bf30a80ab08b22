//! Several applications against one live state: destination namespaces, a resource two
//! applications declare, and an application that cannot be read or analysed keeping its
//! records exactly as they were while the others go on.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use driftguard_core::analysis::{ApplicationDesired, DetectionSettings, analyze_applications};
use driftguard_core::ports::{DriftStore, RecordFilter};
use driftguard_core::testing::{InMemoryDesired, InMemoryLive, InMemoryStore};
use driftguard_core::{
    Application, DesiredSnapshot, Detector, DriftRecord, DriftStatus, DriftType, LiveCoverage,
    LiveSnapshot, ReadStatus, Resource, ResourceId, StoredRecords,
};
use futures::executor::block_on;
use serde_json::{Value, json};

fn resource(object: Value) -> Resource {
    Resource::from_object(object, None).expect("valid object")
}

fn config_map(name: &str, namespace: Option<&str>, value: &str) -> Value {
    let mut object = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name}, "data": {"value": value}});
    if let Some(namespace) = namespace {
        object["metadata"]["namespace"] = json!(namespace);
    }
    object
}

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
        .single()
        .expect("valid time")
        + Duration::minutes(minutes)
}

fn snapshot(objects: Vec<Value>, revision: &str) -> DesiredSnapshot {
    DesiredSnapshot {
        resources: objects.into_iter().map(resource).collect(),
        revision: Some(revision.to_owned()),
        render: None,
    }
}

fn application(
    name: &str,
    namespace: Option<&str>,
    snapshot: DesiredSnapshot,
) -> ApplicationDesired {
    ApplicationDesired {
        name: name.to_owned(),
        namespace: namespace.map(str::to_owned),
        snapshot,
    }
}

fn ids(records: &[DriftRecord]) -> Vec<(String, String)> {
    records
        .iter()
        .map(|r| (r.resource_id.to_string(), r.application.clone()))
        .collect()
}

#[test]
fn namespace_less_objects_take_their_applications_destination_namespace() {
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "invoices.billing.example.com"},
        "spec": {"scope": "Namespaced", "names": {"kind": "Invoice"}}});
    let shop = application(
        "shop",
        Some("shop"),
        snapshot(
            vec![
                config_map("settings", None, "a"),
                // Names a namespace: keeps it.
                config_map("shared", Some("platform"), "b"),
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": "shop-reader"}}),
                crd,
                json!({"apiVersion": "billing.example.com/v1", "kind": "Invoice",
                    "metadata": {"name": "march"}}),
                // Discovery says this kind is cluster-scoped.
                json!({"apiVersion": "example.com/v1", "kind": "Tenant",
                    "metadata": {"name": "shop"}}),
            ],
            "r1",
        ),
    );
    let tools = application(
        "tools",
        None,
        snapshot(vec![config_map("settings", None, "c")], "r1"),
    );
    let mut coverage = LiveCoverage::of_kinds(
        [
            "ConfigMap",
            "ClusterRole",
            "CustomResourceDefinition",
            "Invoice",
            "Tenant",
        ]
        .map(str::to_owned),
    );
    coverage.set_scope("Tenant", true);
    let live = LiveSnapshot {
        resources: Vec::new(),
        coverage: Some(coverage),
        schema: None,
    };
    let outcome = analyze_applications(
        vec![shop, tools],
        &[],
        live,
        StoredRecords::new(),
        &DetectionSettings::default(),
        at(0),
    );
    assert_eq!(
        ids(&outcome.records),
        [
            ("ClusterRole::shop-reader".to_owned(), "shop".to_owned()),
            ("ConfigMap:default:settings".to_owned(), "tools".to_owned()),
            ("ConfigMap:platform:shared".to_owned(), "shop".to_owned()),
            ("ConfigMap:shop:settings".to_owned(), "shop".to_owned()),
            (
                "CustomResourceDefinition::invoices.billing.example.com".to_owned(),
                "shop".to_owned()
            ),
            ("Invoice:shop:march".to_owned(), "shop".to_owned()),
            ("Tenant::shop".to_owned(), "shop".to_owned()),
        ]
    );
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
    assert_eq!(outcome.applications.len(), 2);
    assert_eq!(outcome.applications[0].summary.missing, 6);
    assert_eq!(outcome.applications[1].summary.missing, 1);
}

#[test]
fn a_resource_two_applications_declare_is_tracked_under_the_first_with_a_warning() {
    let first = application(
        "shop",
        None,
        snapshot(vec![config_map("cfg", Some("shop"), "a")], "r1"),
    );
    let second = application(
        "extras",
        Some("shop"),
        snapshot(vec![config_map("cfg", None, "b")], "r1"),
    );
    let live = LiveSnapshot::complete(vec![resource(config_map("cfg", Some("shop"), "a"))]);
    let outcome = analyze_applications(
        vec![first, second],
        &[],
        live,
        StoredRecords::new(),
        &DetectionSettings::default(),
        at(0),
    );
    assert_eq!(
        ids(&outcome.records),
        [("ConfigMap:shop:cfg".to_owned(), "shop".to_owned())]
    );
    assert!(
        !outcome.records[0].drift_detected,
        "compared with the first's"
    );
    assert_eq!(outcome.warnings.len(), 1);
    let warning = &outcome.warnings[0];
    assert!(
        warning.contains("ConfigMap:shop:cfg")
            && warning.contains("shop")
            && warning.contains("extras"),
        "{warning}"
    );
}

struct Cluster {
    shop: Arc<InMemoryDesired>,
    tools: Arc<InMemoryDesired>,
    live: Arc<InMemoryLive>,
    store: Arc<InMemoryStore>,
    detector: Detector,
}

fn cluster() -> Cluster {
    let shop = Arc::new(InMemoryDesired::new(snapshot(
        vec![config_map("web", None, "1"), config_map("api", None, "1")],
        "r1",
    )));
    let tools = Arc::new(InMemoryDesired::new(snapshot(
        vec![config_map("tools", None, "1")],
        "r1",
    )));
    let live = Arc::new(InMemoryLive::new(LiveSnapshot::complete(vec![
        resource(config_map("web", Some("shop"), "2")),
        resource(config_map("api", Some("shop"), "1")),
        resource(config_map("tools", Some("tools"), "1")),
    ])));
    let store = Arc::new(InMemoryStore::new());
    let app = |name: &str, source: Arc<InMemoryDesired>| Application {
        name: name.to_owned(),
        namespace: Some(name.to_owned()),
        source,
        description: format!("{name} folder"),
    };
    let detector = Detector::with_applications(
        vec![app("shop", shop.clone()), app("tools", tools.clone())],
        live.clone(),
        store.clone(),
        DetectionSettings::default(),
    );
    Cluster {
        shop,
        tools,
        live,
        store,
        detector,
    }
}

fn stored(cluster: &Cluster) -> Vec<DriftRecord> {
    block_on(cluster.store.list(&RecordFilter::default())).expect("store answers")
}

#[test]
fn an_application_that_cannot_be_read_keeps_its_records_while_the_others_are_analysed() {
    let cluster = cluster();
    let statuses = cluster.detector.application_statuses();
    assert!(statuses.iter().all(|s| s.status == ReadStatus::Pending));
    block_on(cluster.detector.run(at(0))).expect("both applications read");
    let before: Vec<DriftRecord> = stored(&cluster)
        .into_iter()
        .filter(|r| r.application == "shop")
        .collect();
    assert_eq!(before.len(), 2);
    let web: ResourceId = "ConfigMap:shop:web".parse().expect("id");
    assert!(
        before
            .iter()
            .any(|r| r.resource_id == web && r.drift_status == DriftStatus::Active)
    );

    // The shop render fails, its live drift is reverted and the tools ConfigMap drifts.
    cluster.shop.fail();
    cluster.live.set(LiveSnapshot::complete(vec![
        resource(config_map("web", Some("shop"), "1")),
        resource(config_map("tools", Some("tools"), "2")),
    ]));
    let outcome = block_on(cluster.detector.run(at(5))).expect("tools analysed");
    let shop_after: Vec<DriftRecord> = stored(&cluster)
        .into_iter()
        .filter(|r| r.application == "shop")
        .collect();
    // Not resolved (the revert is not seen), not Missing (`api` left the cluster), untouched.
    assert_eq!(shop_after, before);
    let tools = stored(&cluster)
        .into_iter()
        .find(|r| r.application == "tools")
        .expect("tools record");
    assert_eq!(tools.drift_status, DriftStatus::Active);
    assert_eq!(tools.drift_types, [DriftType::ConfigurationChange]);
    let names: Vec<(&str, bool)> = outcome
        .applications
        .iter()
        .map(|a| (a.name.as_str(), a.error.is_some()))
        .collect();
    assert_eq!(names, [("shop", true), ("tools", false)]);
    let statuses = cluster.detector.application_statuses();
    assert_eq!(statuses[0].status, ReadStatus::Failed);
    assert!(statuses[0].error.is_some());
    assert_eq!(
        statuses[0].revision.as_deref(),
        Some("r1"),
        "the last revision read"
    );
    assert_eq!(statuses[1].status, ReadStatus::Ok);

    // A live change to a held application's resource is not analysed either.
    let one = block_on(cluster.detector.run_one(&web, at(6))).expect("runs");
    assert!(one.is_none());
    assert_eq!(
        stored(&cluster)
            .into_iter()
            .filter(|r| r.application == "shop")
            .collect::<Vec<_>>(),
        before
    );

    // Every application failing is a failed analysis that changes nothing.
    cluster.tools.fail();
    let all = stored(&cluster);
    let error = block_on(cluster.detector.run(at(10))).expect_err("nothing to analyse");
    let message = driftguard_core::error_chain(&error);
    assert!(
        message.contains("application shop") && message.contains("application tools"),
        "{message}"
    );
    assert_eq!(stored(&cluster), all);
}

/// An active record as an analysis left it, for `application`.
fn active_record(id: &str, application: &str) -> DriftRecord {
    let desired = application_named(application, vec![config_map_of(id, "git")]);
    let live = LiveSnapshot::complete(vec![resource(config_map_of(id, "edited"))]);
    let outcome = analyze_applications(
        vec![desired],
        &[],
        live,
        StoredRecords::new(),
        &DetectionSettings::default(),
        at(0),
    );
    let record = outcome.records.into_iter().next().expect("a record");
    assert_eq!(record.drift_status, DriftStatus::Active);
    record
}

fn config_map_of(id: &str, value: &str) -> Value {
    let id: ResourceId = id.parse().expect("id");
    config_map(id.name(), id.namespace(), value)
}

fn application_named(name: &str, objects: Vec<Value>) -> ApplicationDesired {
    application(name, None, snapshot(objects, "r1"))
}

#[test]
fn records_of_an_application_no_longer_listed_are_held_while_another_is() {
    // Stored before applications were configured: under `default`.
    let old = active_record("ConfigMap:shop:web", "default");
    let previous: StoredRecords = [old.clone()].into_iter().collect();
    // Now listed as `shop`, which cannot be read on the first analysis; `tools` can.
    let tools = application_named("tools", vec![config_map("cfg", Some("tools"), "a")]);
    let outcome = analyze_applications(
        vec![tools.clone()],
        &["shop".to_owned()],
        LiveSnapshot::complete(vec![resource(config_map("cfg", Some("tools"), "a"))]),
        previous.clone(),
        &DetectionSettings::default(),
        at(5),
    );
    assert!(
        !outcome
            .records
            .iter()
            .any(|r| r.resource_id == old.resource_id),
        "not resolved while `shop` is held: {:?}",
        ids(&outcome.records)
    );
    // Once every application was analysed, a record nobody declares is retired.
    let outcome = analyze_applications(
        vec![tools],
        &[],
        LiveSnapshot::complete(vec![resource(config_map("cfg", Some("tools"), "a"))]),
        previous.clone(),
        &DetectionSettings::default(),
        at(10),
    );
    let retired = outcome
        .records
        .iter()
        .find(|r| r.resource_id == old.resource_id)
        .expect("retired");
    assert_eq!(retired.drift_status, DriftStatus::Resolved);
}

#[test]
fn a_held_applications_resource_is_not_taken_over_by_another() {
    let owned = active_record("ConfigMap:shop:cfg", "shop");
    let previous: StoredRecords = [owned.clone()].into_iter().collect();
    // `shop` is held; `extras` also declares the resource, with what live holds.
    let extras = application_named("extras", vec![config_map("cfg", Some("shop"), "edited")]);
    let outcome = analyze_applications(
        vec![extras],
        &["shop".to_owned()],
        LiveSnapshot::complete(vec![resource(config_map("cfg", Some("shop"), "edited"))]),
        previous.clone(),
        &DetectionSettings::default(),
        at(5),
    );
    assert!(outcome.records.is_empty(), "{:?}", ids(&outcome.records));
    assert!(outcome.events.is_empty());
}

#[test]
fn an_application_whose_desired_state_is_held_back_keeps_its_records_while_the_others_are_analysed()
{
    let cluster = cluster();
    block_on(cluster.detector.run(at(0))).expect("both applications read");
    let shop_records = |cluster: &Cluster| -> Vec<DriftRecord> {
        stored(cluster)
            .into_iter()
            .filter(|r| r.application == "shop")
            .collect()
    };
    let before = shop_records(&cluster);
    assert_eq!(before.len(), 2);

    // The shop folder is emptied; its objects still run. Not orphaned: held back.
    cluster.shop.set(snapshot(Vec::new(), "r2"));
    cluster
        .tools
        .set(snapshot(vec![config_map("tools", None, "2")], "r2"));
    let outcome = block_on(cluster.detector.run(at(5))).expect("tools analysed");
    assert_eq!(shop_records(&cluster), before);
    let tools = stored(&cluster)
        .into_iter()
        .find(|r| r.application == "tools")
        .expect("tools record");
    assert_eq!(tools.drift_status, DriftStatus::Active);
    let shop = outcome
        .applications
        .iter()
        .find(|a| a.name == "shop")
        .expect("shop result");
    assert!(
        shop.error
            .as_deref()
            .is_some_and(|e| e.contains("revision r2") && e.contains("holds no objects")),
        "{shop:?}"
    );
    let statuses = cluster.detector.application_statuses();
    assert_eq!(statuses[0].status, ReadStatus::HeldBack);
    assert_eq!(statuses[0].revision.as_deref(), Some("r1"));
    assert_eq!(statuses[1].status, ReadStatus::Ok);
    // Neither is a live change to one of its resources analysed meanwhile.
    let web: ResourceId = "ConfigMap:shop:web".parse().expect("id");
    assert!(
        block_on(cluster.detector.run_one(&web, at(6)))
            .expect("runs")
            .is_none()
    );
    assert_eq!(shop_records(&cluster), before);
}

#[test]
fn records_of_a_held_application_are_never_orphaned_or_resolved() {
    let owned = active_record("ConfigMap:shop:cfg", "shop");
    let previous: StoredRecords = [owned.clone()].into_iter().collect();
    let tools = application_named("tools", vec![config_map("t", Some("tools"), "a")]);
    for live in [
        // Still running, and gone: either way `shop` is held and nothing is judged.
        vec![
            resource(config_map("t", Some("tools"), "a")),
            resource(config_map("cfg", Some("shop"), "edited")),
        ],
        vec![resource(config_map("t", Some("tools"), "a"))],
    ] {
        let outcome = analyze_applications(
            vec![tools.clone()],
            &["shop".to_owned()],
            LiveSnapshot::complete(live),
            previous.clone(),
            &DetectionSettings::default(),
            at(5),
        );
        assert!(
            !outcome
                .records
                .iter()
                .any(|r| r.resource_id == owned.resource_id),
            "{:?}",
            ids(&outcome.records)
        );
        assert!(
            outcome
                .events
                .iter()
                .all(|e| e.resource_id != owned.resource_id)
        );
    }
}

#[test]
fn records_of_an_application_no_longer_configured_are_resolved_not_orphaned() {
    let old = active_record("ConfigMap:shop:web", "retired-app");
    let previous: StoredRecords = [old.clone()].into_iter().collect();
    let tools = application_named("tools", vec![config_map("cfg", Some("tools"), "a")]);
    let outcome = analyze_applications(
        vec![tools],
        &[],
        // It still runs; nothing configured declares it.
        LiveSnapshot::complete(vec![
            resource(config_map("cfg", Some("tools"), "a")),
            resource(config_map("web", Some("shop"), "edited")),
        ]),
        previous.clone(),
        &DetectionSettings::default(),
        at(5),
    );
    let record = outcome
        .records
        .iter()
        .find(|r| r.resource_id == old.resource_id)
        .expect("retired");
    assert_eq!(record.drift_status, DriftStatus::Resolved);
    assert_eq!(
        record.resolution_message.as_deref(),
        Some("its application retired-app is no longer configured")
    );
}
