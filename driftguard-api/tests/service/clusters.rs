//! Records of two clusters in one store: the `cluster` filter, `by_cluster`, the 409 of
//! an id two clusters have, `/api/v1/clusters`, and the `cluster` label of drift series.
//! The service analyses cluster `default`; the test writes cluster `east`'s records
//! straight into the store, as another instance sharing it would.

use driftguard_core::ports::{DriftStore, RecordFilter};
use driftguard_core::{DriftRecord, DriftStatus, ResourceId};
use hyper::StatusCode;
use serde_json::Value;

use crate::fixtures;
use crate::harness::{Harness, Metrics};

/// A service that analysed the drifted shop in `default`, with `east` holding web
/// (resolved there) and a Deployment only east has.
async fn two_clusters() -> Harness {
    let harness = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    let store = &harness.ports.store;
    let web = store
        .get("default", &fixtures::web_id())
        .await
        .expect("get")
        .expect("web analysed in default");
    let mut east_web = web.clone();
    east_web.cluster = "east".to_owned();
    east_web.drift_status = DriftStatus::Resolved;
    east_web.drift_detected = false;
    east_web.drift_types = Vec::new();
    east_web.drifts = Vec::new();
    east_web.severity = None;
    let only_east_id = ResourceId::namespaced("Deployment", "shop", "east-only");
    let only_east = DriftRecord {
        resource_id: only_east_id.clone(),
        name: "east-only".to_owned(),
        ..east_web.clone()
    };
    store
        .save(&[east_web, only_east], &[])
        .await
        .expect("save east's records");
    harness
}

fn clusters_of(body: &Value) -> Vec<String> {
    body["drift_records"]
        .as_array()
        .expect("drift_records")
        .iter()
        .map(|r| r["cluster"].as_str().expect("cluster").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_statistics_filter_by_cluster() {
    let service = two_clusters().await;

    let all = service.get("/api/v1/drift-records").await.json();
    assert_eq!(all["count"], 5, "three in default, two in east: {all}");
    let east = service
        .get("/api/v1/drift-records?cluster=east")
        .await
        .json();
    assert_eq!(clusters_of(&east), ["east", "east"]);
    let default_active = service
        .get("/api/v1/drift-records/active?cluster=default")
        .await
        .json();
    assert_eq!(clusters_of(&default_active), ["default", "default"]);
    let east_active = service
        .get("/api/v1/drift-records/active?cluster=east")
        .await
        .json();
    assert_eq!(east_active["count"], 0);
    let nowhere = service
        .get("/api/v1/drift-records?cluster=north")
        .await
        .json();
    assert_eq!(nowhere["count"], 0);
    let refused = service.get("/api/v1/drift-records?cluster=a%2Fb").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.text().contains("cluster"), "{}", refused.text());

    let statistics = service.get("/api/v1/statistics").await.json()["statistics"].clone();
    assert_eq!(statistics["total_resources"], 5);
    assert_eq!(
        statistics["by_cluster"],
        serde_json::json!({ "default": 2 })
    );
    let east = service.get("/api/v1/statistics?cluster=east").await.json()["statistics"].clone();
    assert_eq!(east["total_resources"], 2);
    assert_eq!(east["drifted_resources"], 0);
    assert_eq!(east["by_status"]["resolved"], 2);
    service.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_in_two_clusters_needs_a_cluster() {
    let service = two_clusters().await;

    for path in [
        "/api/v1/drift-records/Deployment:shop:web",
        "/api/v1/drift-records/Deployment:shop:web/events",
    ] {
        let ambiguous = service.get(path).await;
        assert_eq!(ambiguous.status, StatusCode::CONFLICT, "{path}");
        let body = ambiguous.json();
        assert_eq!(
            body["clusters"],
            serde_json::json!(["default", "east"]),
            "{path}: {body}"
        );
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("cluster")),
            "{body}"
        );
    }

    let east = service
        .get("/api/v1/drift-records/Deployment:shop:web?cluster=east")
        .await;
    assert_eq!(east.status, StatusCode::OK, "{}", east.text());
    assert_eq!(east.json()["cluster"], "east");
    assert_eq!(east.json()["drift_status"], "resolved");
    let events = service
        .get("/api/v1/drift-records/Deployment:shop:web/events?cluster=default")
        .await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.text());
    let events = events.json();
    assert_eq!(events["count"], 1, "{events}");
    assert_eq!(events["events"][0]["cluster"], "default");
    let none_in_east = service
        .get("/api/v1/drift-records/Deployment:shop:web/events?cluster=east")
        .await
        .json();
    assert_eq!(none_in_east["count"], 0);

    // An id only one cluster has needs no cluster; one a cluster lacks is a 404.
    let only = service
        .get("/api/v1/drift-records/Deployment:shop:east-only")
        .await;
    assert_eq!(only.status, StatusCode::OK);
    assert_eq!(only.json()["cluster"], "east");
    let api = service
        .get("/api/v1/drift-records/Deployment:shop:api")
        .await;
    assert_eq!(api.json()["cluster"], "default");
    let missing = service
        .get("/api/v1/drift-records/Deployment:shop:api?cluster=east")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    service.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_lists_the_store_s_clusters_and_this_instance_s_state() {
    let service = two_clusters().await;

    let answer = service.get("/api/v1/clusters").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["count"], 2, "{body}");
    let own = &body["clusters"][0];
    assert_eq!(own["name"], "default");
    // Without leader election, the instance leads its cluster under its identity.
    assert_eq!(own["leader"], "driftguard");
    assert_eq!(own["ready"], true);
    assert_eq!(own["last_analysis"]["outcome"], "success");
    assert!(own["last_analysis"]["at"].is_string(), "{own}");
    assert_eq!(
        own["counts"],
        serde_json::json!({ "none": 1, "active": 2, "resolved": 0, "missing": 0 })
    );
    let other = &body["clusters"][1];
    assert_eq!(other["name"], "east");
    assert_eq!(other["leader"], Value::Null);
    assert_eq!(other["ready"], Value::Null);
    assert_eq!(other["last_analysis"], Value::Null);
    assert_eq!(
        other["counts"],
        serde_json::json!({ "none": 0, "active": 0, "resolved": 2, "missing": 0 })
    );
    let refused = service.get("/api/v1/clusters?cluster=east").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    service.stop().await.expect("a clean stop");
}

/// Before anything is stored, the own cluster is listed with zero counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_own_cluster_is_listed_before_it_has_records() {
    let service = Harness::start(fixtures::desired(), fixtures::live_drifted()).await;
    let stored = service
        .ports
        .store
        .list(&RecordFilter::default())
        .await
        .expect("list");
    let body = service.get("/api/v1/clusters").await.json();
    let names: Vec<&str> = body["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert!(names.contains(&"default"), "{body} (stored: {stored:?})");
    service.stop().await.expect("a clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_series_carry_the_cluster() {
    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    let metrics = Metrics::parse(&service.get("/metrics").await.text());
    for (name, labels) in [
        (
            "driftguard_drift_score",
            vec![("cluster", "default"), ("namespace", "shop")],
        ),
        (
            "driftguard_active_drifts",
            vec![
                ("cluster", "default"),
                ("namespace", "shop"),
                ("severity", "High"),
            ],
        ),
        ("driftguard_resources_watched", vec![("cluster", "default")]),
    ] {
        assert!(
            metrics.value(name, &labels).is_some(),
            "{name} with {labels:?}"
        );
    }
    assert!(
        metrics.sum(
            "driftguard_drift_events_total",
            &[("cluster", "default"), ("type", "Scaling")]
        ) >= 1.0
    );
    service.stop().await.expect("a clean stop");
}
