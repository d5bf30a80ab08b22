//! `/ready` follows the components: not ready until their first success, not ready after a
//! failure until the next success. It answers 503 only while the store is down; a failing
//! source leaves the instance serving (200, `degraded`) and names the component.

use hyper::StatusCode;
use serde_json::{Value, json};

use crate::fixtures;
use crate::harness::{Harness, Metrics, test_settings, wait_until, wait_until_async};

fn not_ready_components(body: &Value) -> Vec<String> {
    body["components"]
        .as_array()
        .expect("a components list")
        .iter()
        .map(|c| {
            c["component"]
                .as_str()
                .expect("a component name")
                .to_owned()
        })
        .collect()
}

async fn wait_ready(service: &Harness) {
    wait_until_async("the service to be ready", || async {
        let answer = service.get("/ready").await;
        answer.status == StatusCode::OK && answer.json()["status"] == "ready"
    })
    .await;
}

/// Checks a `/ready` answer of a serving instance whose only cluster is ready.
fn assert_all_ready(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["message"], "All components ready");
    assert_eq!(body["components"], json!([]));
    assert_eq!(body["clusters"][0]["name"], "default");
    assert_eq!(body["clusters"][0]["ready"], true);
    assert_eq!(body["clusters"][0]["leading"], true);
}

#[tokio::test]
async fn sources_are_not_ready_before_the_first_analysis() {
    let service = Harness::start_with(
        fixtures::desired(),
        fixtures::live_in_sync(),
        test_settings(),
        |ports| ports.desired.gate.close(),
    )
    .await;
    wait_until("the first analysis to reach the desired source", || {
        service.ports.desired.gate.waiting() == 1
    })
    .await;
    let answer = service.get("/ready").await;
    // The store answers: the instance serves what it has while the analysis runs.
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["status"], "degraded");
    assert_eq!(
        not_ready_components(&body),
        ["desired_source", "live_source", "store"]
    );
    assert_eq!(body["components"][0]["cluster"], "default");
    assert_eq!(body["message"], "Serving; not ready: cluster default");
    assert_eq!(body["clusters"][0]["ready"], false);
    let reason = body["components"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("waiting for the first successful"),
        "{reason}"
    );
    chrono::DateTime::parse_from_rfc3339(body["components"][0]["since"].as_str().unwrap())
        .expect("an RFC 3339 time");

    service.ports.desired.gate.open();
    wait_ready(&service).await;
    service.stop().await.unwrap();
}

#[tokio::test]
async fn a_failing_desired_source_makes_the_service_unready_until_it_recovers() {
    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    let before = service
        .get("/api/v1/drift-records/Deployment:shop:web")
        .await
        .json();

    service.ports.desired.inner.fail();
    service.analyze().await;
    let answer = service.get("/ready").await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["status"], "degraded");
    assert_eq!(not_ready_components(&body), ["desired_source"]);
    assert_eq!(
        body["components"][0]["reason"],
        "desired state unavailable: the desired source is unavailable"
    );
    // The records are kept as they were: a Git outage is not "everything was deleted".
    let during = service
        .get("/api/v1/drift-records/Deployment:shop:web")
        .await
        .json();
    assert_eq!(during, before);
    assert_eq!(
        service.get("/api/v1/drift-records/active").await.json()["count"],
        2
    );

    service.ports.desired.inner.set(fixtures::desired());
    service.analyze().await;
    let answer = service.get("/ready").await;
    assert_all_ready(answer.status, &answer.json());
    let after = service
        .get("/api/v1/drift-records/Deployment:shop:web")
        .await
        .json();
    assert_eq!(after["detection_count"], 2);
    service.stop().await.unwrap();
}

#[tokio::test]
async fn an_empty_desired_state_is_held_back_and_ready_says_why() {
    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    let before = service.get("/api/v1/drift-records").await.json();

    service
        .ports
        .desired
        .inner
        .set(driftguard_core::DesiredSnapshot::default());
    service.analyze().await;
    let answer = service.get("/ready").await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(not_ready_components(&body), ["desired_source"]);
    assert_eq!(
        body["clusters"][0]["failing_applications"],
        json!([{"name": "default", "status": "held_back", "error": body["clusters"][0]["failing_applications"][0]["error"]}])
    );
    let reason = body["components"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("holds no objects") && reason.contains("detection.allow_empty"),
        "{reason}"
    );
    // Nothing was resolved or orphaned.
    assert_eq!(service.get("/api/v1/drift-records").await.json(), before);
    let applications = service.get("/api/v1/applications").await.json();
    assert_eq!(
        applications["applications"][0]["render"]["status"], "held_back",
        "{applications}"
    );
    let metrics = Metrics::parse(&service.get("/metrics").await.text());
    assert_eq!(
        metrics.value(
            "driftguard_desired_held_back_total",
            &[("application", "default"), ("cluster", "default")]
        ),
        Some(1.0),
        "{}",
        metrics.text
    );

    service.ports.desired.inner.set(fixtures::desired());
    service.analyze().await;
    let answer = service.get("/ready").await;
    assert_all_ready(answer.status, &answer.json());
    service.stop().await.unwrap();
}

#[tokio::test]
async fn a_failing_live_source_makes_the_service_unready_until_it_recovers() {
    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    service.ports.live.inner.fail();
    service.analyze().await;
    let body = service.get("/ready").await.json();
    assert_eq!(not_ready_components(&body), ["live_source"]);
    assert_eq!(
        body["components"][0]["reason"],
        "live state unavailable: the live source is unavailable"
    );
    assert_eq!(
        service.get("/api/v1/drift-records/active").await.json()["count"],
        2,
        "a live outage does not resolve or remove records"
    );

    service.ports.live.inner.set(fixtures::live_in_sync());
    service.analyze().await;
    let answer = service.get("/ready").await;
    assert_all_ready(answer.status, &answer.json());
    assert_eq!(
        service.get("/api/v1/drift-records/resolved").await.json()["count"],
        2
    );
    service.stop().await.unwrap();
}

#[tokio::test]
async fn a_failing_store_makes_the_service_unready_until_it_recovers() {
    let service = Harness::started(fixtures::desired(), fixtures::live_in_sync()).await;
    service.ports.store.set_failing(true);
    service.analyze().await;
    let answer = service.get("/ready").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    let body = answer.json();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(not_ready_components(&body), ["store"]);
    assert!(body["components"][0].get("cluster").is_none(), "{body}");
    let reason = body["components"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("the test store is down"), "{reason}");

    service.ports.store.set_failing(false);
    wait_ready(&service).await;
    service.stop().await.unwrap();
}
