//! Every route answers with the documented shape.

use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::{self, REVISION};
use crate::harness::Harness;

fn ids(answer: &Value) -> Vec<&str> {
    answer["drift_records"]
        .as_array()
        .expect("a drift_records list")
        .iter()
        .map(|r| r["resource_id"].as_str().expect("a resource_id"))
        .collect()
}

#[tokio::test]
async fn health_answers_that_the_service_runs() {
    let service = Harness::start(fixtures::desired(), fixtures::live_in_sync()).await;
    let answer = service.get("/health").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type, "application/json");
    assert_eq!(
        answer.json(),
        json!({"status": "healthy", "message": "Service is running"})
    );
    service.stop().await.unwrap();
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let service = Harness::started(fixtures::desired(), fixtures::live_in_sync()).await;
    for path in [
        "/health",
        "/ready",
        "/api/v1/drift-records",
        "/api/v1/statistics",
    ] {
        let answer = service.request(Method::HEAD, path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.content_type, "application/json", "{path}");
        assert!(answer.body.is_empty(), "{path}: {:?}", answer.body);
    }
    let answer = service.request(Method::HEAD, "/api/v1/analyze").await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    service.stop().await.unwrap();
}

#[tokio::test]
async fn ready_answers_ready_once_every_component_succeeded() {
    let service = Harness::started(fixtures::desired(), fixtures::live_in_sync()).await;
    let answer = service.get("/ready").await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["message"], "All components ready");
    assert_eq!(body["components"], json!([]));
    assert_eq!(
        body["clusters"],
        json!([{"name": "default", "ready": true, "leader": "driftguard", "leading": true, "failing_applications": []}])
    );
    service.stop().await.unwrap();
}

#[tokio::test]
async fn drift_records_have_the_documented_shape() {
    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    let answer = service.get("/api/v1/drift-records").await;
    assert_eq!(answer.status, StatusCode::OK);
    let list = answer.json();
    assert_eq!(list["count"], 3);
    assert_eq!(
        ids(&list),
        [
            "ConfigMap:billing:settings",
            "Deployment:shop:api",
            "Deployment:shop:web"
        ]
    );

    let web = &list["drift_records"][2];
    let keys: Vec<&str> = web
        .as_object()
        .expect("a record object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "resource_id",
        "api_version",
        "kind",
        "namespace",
        "name",
        "cluster",
        "application",
        "drift_detected",
        "drift_status",
        "severity",
        "drift_types",
        "drifts",
        "desired_hash",
        "live_hash",
        "last_known_good_hash",
        "git_revision",
        "first_detected",
        "last_detected",
        "resolved_at",
        "last_checked",
        "resolution_message",
        "detection_count",
    ];
    expected.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(web["kind"], "Deployment");
    assert_eq!(web["namespace"], "shop");
    assert_eq!(web["name"], "web");
    assert_eq!(web["api_version"], "apps/v1");
    assert_eq!(web["application"], "default");
    assert_eq!(web["drift_detected"], true);
    assert_eq!(web["drift_status"], "active");
    assert_eq!(web["severity"], "High");
    assert_eq!(web["drift_types"], json!(["Scaling", "VersionChange"]));
    assert_eq!(web["git_revision"], REVISION);
    assert_eq!(web["detection_count"], 1);
    assert_eq!(web["resolved_at"], Value::Null);
    let first = web["first_detected"].as_str().expect("a time");
    chrono::DateTime::parse_from_rfc3339(first).expect("an RFC 3339 time");
    let image = web["drifts"]
        .as_array()
        .expect("drifts")
        .iter()
        .find(|d| d["drift_type"] == "VersionChange")
        .expect("the image drift");
    assert_eq!(image["desired"], "nginx:1.25.3");
    assert_eq!(image["live"], "nginx:1.27.0");
    assert_eq!(image["severity"], "High");

    let api = &list["drift_records"][1];
    assert_eq!(api["drift_status"], "none");
    assert_eq!(api["severity"], Value::Null);
    service.stop().await.unwrap();
}

#[tokio::test]
async fn lists_filter_by_namespace_drift_and_status() {
    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    let get_ids = |path: &'static str| {
        let service = &service;
        async move {
            let answer = service.get(path).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
            let list = answer.json();
            assert_eq!(
                list["count"],
                list["drift_records"].as_array().unwrap().len()
            );
            ids(&list)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        get_ids("/api/v1/drift-records?namespace=shop").await,
        ["Deployment:shop:api", "Deployment:shop:web"]
    );
    assert_eq!(
        get_ids("/api/v1/drift-records?drift_detected=true").await,
        ["ConfigMap:billing:settings", "Deployment:shop:web"]
    );
    assert_eq!(
        get_ids("/api/v1/drift-records?drift_detected=false").await,
        ["Deployment:shop:api"]
    );
    assert_eq!(
        get_ids("/api/v1/drift-records?drift_status=none&namespace=shop").await,
        ["Deployment:shop:api"]
    );
    assert_eq!(
        get_ids("/api/v1/drift-records/active?namespace=billing").await,
        ["ConfigMap:billing:settings"]
    );
    assert!(get_ids("/api/v1/drift-records/resolved").await.is_empty());

    service.ports.live.inner.set(fixtures::live_in_sync());
    service.analyze().await;
    assert!(get_ids("/api/v1/drift-records/active").await.is_empty());
    assert_eq!(
        get_ids("/api/v1/drift-records/resolved").await,
        ["ConfigMap:billing:settings", "Deployment:shop:web"]
    );
    assert_eq!(
        get_ids("/api/v1/drift-records/resolved?namespace=shop&limit=5&offset=0").await,
        ["Deployment:shop:web"]
    );
    service.stop().await.unwrap();
}

#[tokio::test]
async fn lists_page_with_limit_and_offset() {
    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    let mut seen = Vec::new();
    for offset in 0..4 {
        let answer = service
            .get(&format!("/api/v1/drift-records?limit=1&offset={offset}"))
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        let page = answer.json();
        seen.extend(ids(&page).into_iter().map(str::to_owned));
        assert_eq!(page["count"], if offset < 3 { 1 } else { 0 });
    }
    assert_eq!(
        seen,
        [
            "ConfigMap:billing:settings",
            "Deployment:shop:api",
            "Deployment:shop:web"
        ]
    );
    let two = service.get("/api/v1/drift-records?limit=2").await.json();
    assert_eq!(two["count"], 2);
    service.stop().await.unwrap();
}

#[tokio::test]
async fn one_record_by_id_plain_or_percent_encoded() {
    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    for path in [
        "/api/v1/drift-records/Deployment:shop:web",
        "/api/v1/drift-records/Deployment%3Ashop%3Aweb",
        "/api/v1/drift-records/Deployment%3ashop%3aweb",
    ] {
        let answer = service.get(path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        let record = answer.json();
        assert_eq!(record["resource_id"], "Deployment:shop:web");
        assert_eq!(record["drift_types"], json!(["Scaling", "VersionChange"]));
    }
    let missing = service
        .get("/api/v1/drift-records/Deployment:shop:nope")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.json(),
        json!({"error": "no drift record for `Deployment:shop:nope`"})
    );
    // RBAC names may hold colons: the name is everything after the second one.
    let colons = service
        .get("/api/v1/drift-records/ClusterRole::system:controller:x")
        .await;
    assert_eq!(colons.status, StatusCode::NOT_FOUND);
    assert_eq!(
        colons.json(),
        json!({"error": "no drift record for `ClusterRole::system:controller:x`"})
    );
    service.stop().await.unwrap();
}

#[tokio::test]
async fn events_tell_a_resource_history() {
    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    service.ports.live.inner.set(fixtures::live_in_sync());
    service.analyze().await;

    let answer = service
        .get("/api/v1/drift-records/Deployment:shop:web/events")
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let history = answer.json();
    assert_eq!(history["resource_id"], "Deployment:shop:web");
    assert_eq!(history["count"], 2);
    assert_eq!(history["next"], Value::Null);
    let events = history["events"].as_array().unwrap();
    assert_eq!(events[0]["kind"], "drift_detected");
    assert_eq!(
        events[0]["drift_types"],
        json!(["Scaling", "VersionChange"])
    );
    assert_eq!(events[0]["severity"], "High");
    assert_eq!(events[0]["git_revision"], REVISION);
    assert_eq!(events[1]["kind"], "drift_resolved");

    let resolved_at = events[1]["at"].as_str().unwrap();
    let since = resolved_at.replace('+', "%2B");
    let later = service
        .get(&format!(
            "/api/v1/drift-records/Deployment:shop:web/events?since={since}"
        ))
        .await
        .json();
    assert_eq!(later["count"], 1);
    assert_eq!(later["events"][0]["kind"], "drift_resolved");
    let first = service
        .get("/api/v1/drift-records/Deployment:shop:web/events?limit=1")
        .await
        .json();
    assert_eq!(first["count"], 1);
    assert_eq!(first["events"][0]["kind"], "drift_detected");
    let cursor = first["next"]
        .as_str()
        .expect("a cursor to the second event");
    let second = service
        .get(&format!(
            "/api/v1/drift-records/Deployment:shop:web/events?limit=1&cursor={cursor}"
        ))
        .await
        .json();
    assert_eq!(second["count"], 1);
    assert_eq!(second["events"][0]["kind"], "drift_resolved");
    assert_eq!(second["next"], Value::Null);

    let unknown = service
        .get("/api/v1/drift-records/Deployment:shop:nope/events")
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(
        unknown.json()["error"]
            .as_str()
            .unwrap()
            .contains("Deployment:shop:nope")
    );
    service.stop().await.unwrap();
}

#[tokio::test]
async fn statistics_count_records_by_status_severity_type_and_namespace() {
    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    let answer = service.get("/api/v1/statistics").await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    let statistics = &body["statistics"];
    assert_eq!(statistics["total_resources"], 3);
    assert_eq!(statistics["drifted_resources"], 2);
    assert_eq!(
        statistics["by_status"],
        json!({"none": 1, "active": 2, "resolved": 0})
    );
    assert_eq!(statistics["by_severity"], json!({"High": 1, "Medium": 1}));
    assert_eq!(statistics["by_namespace"], json!({"billing": 1, "shop": 1}));
    assert_eq!(statistics["by_type"]["VersionChange"], 1);
    assert_eq!(statistics["total_events"], 2);
    service.stop().await.unwrap();
}

#[tokio::test]
async fn analyze_is_accepted_and_runs_a_full_analysis() {
    let service = Harness::started(fixtures::desired(), fixtures::live_in_sync()).await;
    service.ports.live.inner.set(fixtures::live_web_scaled());
    let answer = service.post("/api/v1/analyze").await;
    assert_eq!(answer.status, StatusCode::ACCEPTED);
    assert_eq!(
        answer.json(),
        json!({"message": "Analysis triggered", "status": "started"})
    );
    service.wait_for_full_analyses(2).await;
    let web = service
        .get("/api/v1/drift-records/Deployment:shop:web")
        .await
        .json();
    assert_eq!(web["drift_types"], json!(["Scaling"]));
    assert_eq!(web["severity"], "Medium");
    service.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_errors() {
    let service = Harness::start(fixtures::desired(), fixtures::live_in_sync()).await;
    // `/` redirects to the dashboard (tests/service/ui.rs).
    for path in [
        "/nope",
        "/api/v1/drift-records/Deployment:shop:web/history",
        "/api/v2/statistics",
    ] {
        let answer = service.get(path).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.content_type, "application/json");
        let error = answer.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains(path), "{path}: {error}");
    }
    for (method, path) in [
        (Method::POST, "/health"),
        (Method::GET, "/api/v1/analyze"),
        (Method::DELETE, "/api/v1/drift-records/Deployment:shop:web"),
    ] {
        let answer = service.request(method.clone(), path).await;
        assert_eq!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        let error = answer.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains(method.as_str()), "{error}");
    }
    service.stop().await.unwrap();
}
