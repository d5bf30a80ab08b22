//! Bad input gets a 400 naming what is wrong; a failing store gets 503s.

use hyper::StatusCode;

use crate::fixtures;
use crate::harness::Harness;

#[tokio::test]
async fn bad_parameters_are_refused_naming_the_parameter() {
    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    for (path, named) in [
        (
            "/api/v1/drift-records?drift_detected=maybe",
            "`drift_detected`",
        ),
        ("/api/v1/drift-records?limit=-1", "`limit`"),
        ("/api/v1/drift-records?limit=0", "`limit`"),
        ("/api/v1/drift-records?limit=1001", "`limit`"),
        ("/api/v1/drift-records?offset=x", "`offset`"),
        (
            "/api/v1/drift-records?drift_status=broken",
            "`drift_status`",
        ),
        (
            "/api/v1/drift-records?namespace=Not_A_Namespace",
            "`namespace`",
        ),
        ("/api/v1/drift-records?namespce=shop", "`namespce`"),
        ("/api/v1/drift-records?limit=1&limit=2", "`limit`"),
        (
            "/api/v1/drift-records/active?drift_status=resolved",
            "`drift_status`",
        ),
        ("/api/v1/drift-records/resolved?limit=5000", "`limit`"),
        ("/api/v1/drift-records/not-an-id", "resource_id"),
        ("/api/v1/drift-records/Deployment:web", "resource_id"),
        ("/api/v1/drift-records/%FF%FE:a:b", "resource_id"),
        ("/api/v1/drift-records/not-an-id/events", "resource_id"),
        (
            "/api/v1/drift-records/Deployment:shop:web/events?since=yesterday",
            "`since`",
        ),
        (
            "/api/v1/drift-records/Deployment:shop:web/events?until=2025-13-01T00:00:00Z",
            "`until`",
        ),
        (
            "/api/v1/drift-records/Deployment:shop:web/events?limit=abc",
            "`limit`",
        ),
        (
            "/api/v1/drift-records/Deployment:shop:web/events?cursor=not-a-cursor",
            "`cursor`",
        ),
        (
            "/api/v1/drift-records/Deployment:shop:web?verbose=1",
            "`verbose`",
        ),
        ("/api/v1/statistics?namespace=shop", "`namespace`"),
    ] {
        let answer = service.get(path).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            answer.text()
        );
        assert_eq!(answer.content_type, "application/json");
        let body = answer.json();
        let error = body["error"].as_str().expect("an error message");
        assert!(error.contains(named), "{path}: {error}");
        assert_eq!(body.as_object().unwrap().len(), 1, "only `error`: {body}");
    }
    let answer = service.post("/api/v1/analyze?now=yes").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.json()["error"].as_str().unwrap().contains("`now`"));
    service.stop().await.unwrap();
}

#[tokio::test]
async fn hostile_input_gets_an_answer_not_a_crash() {
    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    let long = "x".repeat(4000);
    for path in [
        format!("/api/v1/drift-records/{long}"),
        format!("/api/v1/drift-records?namespace={long}"),
        "/api/v1/drift-records?limit=99999999999999999999999999".to_owned(),
        "/api/v1/drift-records?%".to_owned(),
        "/api/v1/drift-records?&&&=&".to_owned(),
        "/api/v1/drift-records/%".to_owned(),
        "/api/v1/drift-records/%3Ab%3Ac".to_owned(),
    ] {
        let answer = service.get(&path).await;
        assert!(
            answer.status == StatusCode::BAD_REQUEST,
            "{}: {} {}",
            &path[..path.len().min(60)],
            answer.status,
            answer.text()
        );
        let error = answer.json()["error"].as_str().unwrap().to_owned();
        assert!(error.len() < 400, "error messages stay short: {error}");
    }
    // The service is still there.
    assert_eq!(service.get("/health").await.status, StatusCode::OK);
    service.stop().await.unwrap();
}

#[tokio::test]
async fn store_failures_answer_503_with_a_json_error() {
    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    service.ports.store.set_failing(true);
    for path in [
        "/api/v1/drift-records",
        "/api/v1/drift-records/active",
        "/api/v1/drift-records/resolved",
        "/api/v1/drift-records/Deployment:shop:web",
        "/api/v1/drift-records/Deployment:shop:web/events",
        "/api/v1/statistics",
    ] {
        let answer = service.get(path).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        let error = answer.json()["error"].as_str().unwrap().to_owned();
        assert_eq!(
            error, "the drift store is unavailable: the test store is down",
            "{path}"
        );
    }
    service.ports.store.set_failing(false);
    assert_eq!(
        service.get("/api/v1/drift-records").await.status,
        StatusCode::OK
    );
    service.stop().await.unwrap();
}
