//! Graceful shutdown: the listener closes, requests in flight are answered, a running
//! analysis finishes within the grace period or is abandoned without a partial save.

use std::time::Duration;

use hyper::{Method, StatusCode};
use tokio::net::TcpStream;

use crate::fixtures;
use crate::harness::{Harness, request, test_settings, wait_until, wait_until_async};

#[tokio::test]
async fn in_flight_requests_are_answered_and_new_connections_refused() {
    let mut service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    service.ports.store.list_gate.close();
    let addr = service.addr;
    let in_flight = tokio::spawn(request(addr, Method::GET, "/api/v1/drift-records"));
    wait_until("the request to reach the store", || {
        service.ports.store.list_gate.waiting() == 1
    })
    .await;

    service.begin_stop();
    wait_until_async("the listener to close", || async {
        TcpStream::connect(addr).await.is_err()
    })
    .await;

    service.ports.store.list_gate.open();
    let answer = in_flight.await.expect("the request task");
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["count"], 3);
    service.finish().await.expect("a clean stop");
}

#[tokio::test]
async fn a_running_analysis_finishes_within_the_grace_period() {
    let mut service = Harness::started(fixtures::desired(), fixtures::live_in_sync()).await;
    let saves = service.ports.store.saves();
    service.ports.live.inner.set(fixtures::live_drifted());
    service.ports.desired.gate.close();
    assert_eq!(
        service.post("/api/v1/analyze").await.status,
        StatusCode::ACCEPTED
    );
    wait_until("the analysis to start", || {
        service.ports.desired.gate.waiting() == 1
    })
    .await;

    service.begin_stop();
    let store = service.ports.store.clone();
    let desired = service.ports.desired.clone();
    desired.gate.open();
    service.finish().await.expect("a clean stop");
    assert_eq!(store.saves(), saves + 1, "the analysis was saved");
    let web = driftguard_core::DriftStore::get(&*store, "default", &fixtures::web_id())
        .await
        .unwrap()
        .expect("a record");
    assert_eq!(web.drift_status, driftguard_core::DriftStatus::Active);
}

#[tokio::test]
async fn an_analysis_that_outlasts_the_grace_period_is_abandoned_without_a_save() {
    let mut settings = test_settings();
    settings.shutdown_grace = Duration::ZERO;
    let mut service = Harness::start_with(
        fixtures::desired(),
        fixtures::live_drifted(),
        settings,
        |ports| ports.desired.gate.close(),
    )
    .await;
    wait_until("the first analysis to start", || {
        service.ports.desired.gate.waiting() == 1
    })
    .await;
    let store = service.ports.store.clone();
    service.begin_stop();
    service.finish().await.expect("a clean stop");
    assert_eq!(store.saves(), 0);
    assert!(
        driftguard_core::DriftStore::list(&*store, &Default::default())
            .await
            .unwrap()
            .is_empty()
    );
}
