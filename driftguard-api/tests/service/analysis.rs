//! The analysis loop: requests coalesce, live changes trigger targeted analyses, periodic
//! analyses repeat.

use std::time::Duration;

use driftguard_core::ResourceId;
use hyper::StatusCode;
use serde_json::json;

use crate::fixtures::{self, web_id};
use crate::harness::{Harness, test_settings, wait_until, wait_until_async};

async fn wait_for_status(service: &Harness, id: &str, status: &str) {
    let path = format!("/api/v1/drift-records/{id}");
    wait_until_async(&format!("{id} to be {status}"), || async {
        let answer = service.get(&path).await;
        answer.status == StatusCode::OK && answer.json()["drift_status"] == status
    })
    .await;
}

#[tokio::test]
async fn requests_during_an_analysis_coalesce_into_one_more() {
    let service = Harness::started(fixtures::desired(), fixtures::live_in_sync()).await;
    assert_eq!(service.ports.desired.calls(), 1);

    // Hold the second analysis inside the desired source.
    service.ports.desired.gate.close();
    assert_eq!(
        service.post("/api/v1/analyze").await.status,
        StatusCode::ACCEPTED
    );
    wait_until("the second analysis to start", || {
        service.ports.desired.gate.waiting() == 1
    })
    .await;

    // Five requests while it runs.
    let answers =
        futures_util::future::join_all((0..5).map(|_| service.post("/api/v1/analyze"))).await;
    assert!(answers.iter().all(|a| a.status == StatusCode::ACCEPTED));

    service.ports.desired.gate.open();
    service.wait_for_full_analyses(3).await;

    // Requests are served before live changes, so had the five requests left more than
    // one analysis behind, it would run before this change is analysed.
    service.ports.live.inner.set(fixtures::live_web_scaled());
    service.ports.live.changed(web_id());
    wait_for_status(&service, "Deployment:shop:web", "active").await;
    assert_eq!(
        service.ports.desired.calls(),
        3,
        "one analysis for five requests"
    );
    assert_eq!(service.full_analyses().await, 3.0);
    service.stop().await.unwrap();
}

#[tokio::test]
async fn a_live_change_triggers_a_targeted_analysis_of_that_resource() {
    let service = Harness::started(fixtures::desired(), fixtures::live_in_sync()).await;
    service.ports.live.inner.set(fixtures::live_drifted());
    // A change of something Git does not declare is ignored.
    service
        .ports
        .live
        .changed(ResourceId::namespaced("Deployment", "shop", "ghost"));
    service.ports.live.changed(web_id());
    wait_for_status(&service, "Deployment:shop:web", "active").await;

    let web = service
        .get("/api/v1/drift-records/Deployment:shop:web")
        .await
        .json();
    assert_eq!(web["drift_types"], json!(["Scaling", "VersionChange"]));
    // Only web was analysed: the ConfigMap drift waits for a full analysis.
    let settings = service
        .get("/api/v1/drift-records/ConfigMap:billing:settings")
        .await
        .json();
    assert_eq!(settings["drift_status"], "none");
    assert_eq!(
        service
            .get("/api/v1/drift-records/Deployment:shop:ghost")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(service.ports.desired.calls(), 1, "no full analysis ran");

    // Reverting the live object resolves the record the same way.
    service.ports.live.inner.set(fixtures::live_in_sync());
    service.ports.live.changed(web_id());
    wait_for_status(&service, "Deployment:shop:web", "resolved").await;
    let web = service
        .get("/api/v1/drift-records/Deployment:shop:web")
        .await
        .json();
    assert_eq!(
        web["resolution_message"],
        "the live state was reverted to match Git"
    );
    service.stop().await.unwrap();
}

#[tokio::test]
async fn a_failing_targeted_analysis_marks_the_live_source_unready() {
    let service = Harness::started(fixtures::desired(), fixtures::live_in_sync()).await;
    service.ports.live.inner.fail();
    service.ports.live.changed(web_id());
    wait_until_async("the live source to be reported", || async {
        let answer = service.get("/ready").await;
        answer.status == StatusCode::OK
            && answer.json()["status"] == "degraded"
            && answer.json()["components"][0]["component"] == "live_source"
    })
    .await;
    service.ports.live.inner.set(fixtures::live_in_sync());
    service.ports.live.changed(web_id());
    wait_until_async("the live source to recover", || async {
        service.get("/ready").await.json()["status"] == "ready"
    })
    .await;
    service.stop().await.unwrap();
}

#[tokio::test]
async fn periodic_analyses_repeat_every_interval() {
    let mut settings = test_settings();
    settings.periodic = true;
    settings.interval = Duration::from_millis(20);
    let service = Harness::start_with(
        fixtures::desired(),
        fixtures::live_in_sync(),
        settings,
        |_| {},
    )
    .await;
    service.wait_for_full_analyses(3).await;
    service.ports.live.inner.set(fixtures::live_web_scaled());
    // No request: the next period finds the drift.
    wait_for_status(&service, "Deployment:shop:web", "active").await;
    service.stop().await.unwrap();
}

#[tokio::test]
async fn a_zero_interval_is_refused() {
    let mut settings = test_settings();
    settings.interval = Duration::ZERO;
    let ports = crate::fakes::Ports {
        desired: std::sync::Arc::new(crate::fakes::TestDesired::new(fixtures::desired())),
        live: std::sync::Arc::new(crate::fakes::TestLive::new(fixtures::live_in_sync())),
        store: std::sync::Arc::default(),
    };
    let detector = driftguard_core::Detector::new(
        ports.desired,
        ports.live,
        ports.store,
        driftguard_core::analysis::DetectionSettings::default(),
    );
    let error = driftguard_api::Service::new(detector, settings).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid service setting: interval must be longer than zero"
    );
}
