//! What a dashboard pages, filters and sorts over: the record lists' `severity`, `type`,
//! `q` and `sort`, their `total`, and `GET /api/v1/statistics/timeline`; over the
//! in-memory store and over SQLite.
//!
//! The service analyses the drifted shop in cluster `default` (web: Scaling and
//! VersionChange, High; the billing ConfigMap: ConfigurationChange, Medium; api in sync);
//! the test writes cluster `east`'s records straight into the store.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use driftguard_core::testing::InMemoryStore;
use driftguard_core::{DriftDetail, DriftStatus, DriftStore, DriftType, ResourceId, Severity};
use driftguard_store::SqliteStore;
use hyper::StatusCode;
use serde_json::Value;

use crate::fixtures;
use crate::harness::Harness;

/// The drifted shop analysed in `default`, and in `east` web with a Low label drift
/// detected an hour earlier and a resource in sync.
async fn shop_in_two_clusters(store: Arc<dyn DriftStore>) -> Harness {
    let harness = Harness::started_over(store, fixtures::desired(), fixtures::live_drifted()).await;
    let store = &harness.ports.store;
    let web = store
        .get("default", &fixtures::web_id())
        .await
        .expect("get")
        .expect("web analysed in default");
    let mut east_web = web.clone();
    east_web.cluster = "east".to_owned();
    east_web.severity = Some(Severity::Low);
    east_web.drift_types = vec![DriftType::LabelChange];
    east_web.drifts = vec![DriftDetail {
        path: "metadata.labels.team".to_owned(),
        drift_type: DriftType::LabelChange,
        severity: Severity::Low,
        desired: None,
        live: Some(serde_json::json!("payments")),
        manager: Some("kubectl-label".to_owned()),
        hand_edit: true,
        unowned: false,
    }];
    east_web.first_detected = web.first_detected.map(|t| t - Duration::hours(1));
    east_web.detection_count = 7;
    let mut quiet = east_web.clone();
    quiet.resource_id = ResourceId::namespaced("Deployment", "shop", "quiet");
    quiet.name = "quiet".to_owned();
    quiet.drift_detected = false;
    quiet.drift_status = DriftStatus::None;
    quiet.severity = None;
    quiet.drift_types = Vec::new();
    quiet.drifts = Vec::new();
    quiet.first_detected = None;
    quiet.last_detected = None;
    quiet.detection_count = 0;
    store
        .save(&[east_web, quiet], &[])
        .await
        .expect("save east's records");
    harness
}

/// `resource_id@cluster` of each record of a list answer, in order.
fn listed(body: &Value) -> Vec<String> {
    body["drift_records"]
        .as_array()
        .unwrap_or_else(|| panic!("a drift_records list: {body}"))
        .iter()
        .map(|r| {
            format!(
                "{}@{}",
                r["resource_id"].as_str().unwrap(),
                r["cluster"].as_str().unwrap()
            )
        })
        .collect()
}

const WEB: &str = "Deployment:shop:web@default";
const EAST_WEB: &str = "Deployment:shop:web@east";
const QUIET: &str = "Deployment:shop:quiet@east";
const API: &str = "Deployment:shop:api@default";
const SETTINGS: &str = "ConfigMap:billing:settings@default";

async fn filters_sorts_and_totals(service: &Harness) {
    let list = |query: &str| {
        let path = format!("/api/v1/drift-records{query}");
        async move {
            let answer = service.get(&path).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
            let body = answer.json();
            assert_eq!(
                body.as_object().map(|o| o.len()),
                Some(3),
                "{path}: drift_records, count and total only: {body}"
            );
            assert_eq!(
                body["count"],
                body["drift_records"].as_array().unwrap().len(),
                "{path}"
            );
            body
        }
    };
    let ids = |body: Value| (listed(&body), body["total"].as_u64().unwrap());
    let owned = |ids: Vec<&str>, total: u64| (ids.into_iter().map(str::to_owned).collect(), total);

    assert_eq!(
        ids(list("").await),
        owned(vec![SETTINGS, API, QUIET, WEB, EAST_WEB], 5)
    );
    for (query, expected) in [
        ("?severity=high", vec![WEB]),
        ("?severity=High,low", vec![WEB, EAST_WEB]),
        ("?severity=Medium%2CHIGH", vec![SETTINGS, WEB]),
        ("?type=ConfigurationChange", vec![SETTINGS]),
        ("?type=scaling,labelchange", vec![WEB, EAST_WEB]),
        ("?type=Missing", vec![]),
        ("?q=IMAGE", vec![WEB]),
        ("?q=containers%5Bname%3Dweb%5D", vec![WEB]),
        ("?q=labels.TEAM", vec![EAST_WEB]),
        ("?q=shop%3Aweb", vec![WEB, EAST_WEB]),
        ("?q=billing", vec![SETTINGS]),
        ("?q=.*", vec![]),
        ("?q=web&severity=Low&cluster=east", vec![EAST_WEB]),
        ("?q=shop&drift_detected=false", vec![API, QUIET]),
        ("?sort=-severity", vec![WEB, SETTINGS, EAST_WEB, API, QUIET]),
        ("?sort=severity", vec![EAST_WEB, SETTINGS, WEB, API, QUIET]),
        (
            "?sort=-resource_id",
            vec![WEB, EAST_WEB, QUIET, API, SETTINGS],
        ),
        (
            "?sort=-detection_count",
            vec![EAST_WEB, SETTINGS, WEB, API, QUIET],
        ),
        (
            "?sort=first_detected",
            vec![EAST_WEB, SETTINGS, WEB, API, QUIET],
        ),
    ] {
        let total = expected.len() as u64;
        assert_eq!(ids(list(query).await), owned(expected, total), "{query}");
    }

    // Pages: `total` counts past the page, whatever the offset.
    for (query, expected, total) in [
        ("?limit=2", vec![SETTINGS, API], 5),
        ("?limit=2&offset=2", vec![QUIET, WEB], 5),
        ("?limit=2&offset=4", vec![EAST_WEB], 5),
        ("?limit=2&offset=9", vec![], 5),
        (
            "?limit=1&sort=-severity&severity=High,Medium,Low",
            vec![WEB],
            3,
        ),
        ("?limit=1&offset=5&drift_detected=true", vec![], 3),
        ("?limit=1&cluster=east", vec![QUIET], 2),
    ] {
        assert_eq!(ids(list(query).await), owned(expected, total), "{query}");
    }

    // The status lists take the same parameters.
    let active = service
        .get("/api/v1/drift-records/active?severity=medium,low&sort=-severity&limit=1")
        .await
        .json();
    assert_eq!(ids(active), (vec![SETTINGS.to_owned()], 2));
    let resolved = service
        .get("/api/v1/drift-records/resolved?q=web&type=Scaling&sort=-resolved_at")
        .await
        .json();
    assert_eq!(ids(resolved), (vec![], 0));
}

async fn bad_list_parameters_are_refused(service: &Harness) {
    let long = "x".repeat(201);
    for (query, named, says) in [
        (
            "severity=Critical",
            "`severity`",
            "`High`, `Medium` or `Low`",
        ),
        ("severity=High,,Low", "`severity`", "got ``"),
        (
            "type=Nope",
            "`type`",
            "AnnotationChange, ConfigMapChange, ConfigurationChange",
        ),
        ("type=Scaling,Drift", "`type`", "got `Drift`"),
        (&format!("q={long}"), "`q`", "at most 200 characters"),
        (
            "sort=name",
            "`sort`",
            "resource_id, severity, first_detected, last_detected, resolved_at, detection_count",
        ),
        ("sort=%2Bseverity", "`sort`", "optionally after `-`"),
        ("sorting=severity", "`sorting`", "severity, type, q, sort"),
    ] {
        for list in ["", "/active", "/resolved"] {
            let path = format!("/api/v1/drift-records{list}?{query}");
            let answer = service.get(&path).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}");
            let message = answer.json()["error"].as_str().unwrap().to_owned();
            assert!(
                message.contains(named) && message.contains(says),
                "{path}: {message}"
            );
        }
    }
    let answer = service
        .get(&format!("/api/v1/drift-records?q={}", "x".repeat(200)))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
}

/// Parses an RFC 3339 time of an answer.
fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().unwrap_or_else(|| panic!("a time: {value}")))
        .unwrap_or_else(|e| panic!("{value}: {e}"))
        .with_timezone(&Utc)
}

/// Totals of a timeline: `(drift, resolved)` summed over buckets and severities.
fn totals(body: &Value) -> (u64, u64) {
    let sum = |kind: &str| -> u64 {
        body["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                ["High", "Medium", "Low"]
                    .iter()
                    .map(|s| b[kind][*s].as_u64().unwrap())
                    .sum::<u64>()
            })
            .sum()
    };
    (sum("drift"), sum("resolved"))
}

async fn the_timeline(service: &Harness) {
    let asked_at = Utc::now();
    let answer = service.get("/api/v1/statistics/timeline").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let body = answer.json();
    let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["buckets", "from", "step", "to", "window"]);
    assert_eq!(
        (&body["window"], &body["step"]),
        (&Value::from("24h"), &Value::from("1h"))
    );
    let (from, to) = (time(&body["from"]), time(&body["to"]));
    assert_eq!(to - from, Duration::hours(24));
    assert_eq!(from.timestamp() % 3600, 0, "aligned to the step: {from}");
    assert!(
        to > asked_at && to - asked_at <= Duration::hours(1),
        "the last bucket holds now: {to}"
    );
    let buckets = body["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 24);
    for (i, bucket) in buckets.iter().enumerate() {
        assert_eq!(time(&bucket["start"]), from + Duration::hours(i as i64));
        for kind in ["drift", "resolved"] {
            let mut severities: Vec<&String> = bucket[kind].as_object().unwrap().keys().collect();
            severities.sort();
            assert_eq!(severities, ["High", "Low", "Medium"], "{bucket}");
        }
    }
    // The first analysis detected web (High) and the billing ConfigMap (Medium).
    let high: u64 = buckets
        .iter()
        .map(|b| b["drift"]["High"].as_u64().unwrap())
        .sum();
    let medium: u64 = buckets
        .iter()
        .map(|b| b["drift"]["Medium"].as_u64().unwrap())
        .sum();
    assert_eq!((high, medium, totals(&body)), (1, 1, (2, 0)), "{body}");

    let east = service
        .get("/api/v1/statistics/timeline?cluster=east&window=7d&step=6h")
        .await
        .json();
    assert_eq!(east["buckets"].as_array().unwrap().len(), 28);
    assert_eq!(totals(&east), (0, 0));
    let short = service
        .get("/api/v1/statistics/timeline?window=1h&step=5m&cluster=default")
        .await
        .json();
    assert_eq!(short["buckets"].as_array().unwrap().len(), 12);
    assert_eq!(
        (&short["window"], &short["step"]),
        (&Value::from("1h"), &Value::from("5m"))
    );
    assert_eq!(totals(&short), (2, 0), "{short}");
    let month = service
        .get("/api/v1/statistics/timeline?window=30d&step=1h")
        .await
        .json();
    assert_eq!(month["buckets"].as_array().unwrap().len(), 720);

    for (query, named) in [
        ("window=2h", "`window`"),
        ("step=1m", "`step`"),
        ("window=1h&step=1d", "`step`"),
        ("window=30d&step=5m", "`step`"),
        ("window=7d&step=5m", "`step`"),
        ("cluster=a%20b", "`cluster`"),
        ("namespace=shop", "`namespace`"),
    ] {
        let path = format!("/api/v1/statistics/timeline?{query}");
        let answer = service.get(&path).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{path}");
        let message = answer.json()["error"].as_str().unwrap().to_owned();
        assert!(message.contains(named), "{path}: {message}");
    }
}

/// The cluster back in sync: the resolutions show in the timeline, by the severity
/// resolved.
async fn resolutions_in_the_timeline(service: &Harness) {
    service.ports.live.inner.set(fixtures::live_in_sync());
    service.analyze().await;
    let body = service
        .get("/api/v1/statistics/timeline?cluster=default")
        .await
        .json();
    let buckets = body["buckets"].as_array().unwrap();
    let resolved = |severity: &str| -> u64 {
        buckets
            .iter()
            .map(|b| b["resolved"][severity].as_u64().unwrap())
            .sum()
    };
    assert_eq!(
        (resolved("High"), resolved("Medium"), resolved("Low")),
        (1, 1, 0),
        "{body}"
    );
    let resolved_list = service
        .get("/api/v1/drift-records/resolved?sort=-severity")
        .await
        .json();
    assert_eq!(resolved_list["total"], 2, "{resolved_list}");
}

async fn everything(store: Arc<dyn DriftStore>) {
    let service = shop_in_two_clusters(store).await;
    filters_sorts_and_totals(&service).await;
    bad_list_parameters_are_refused(&service).await;
    the_timeline(&service).await;
    resolutions_in_the_timeline(&service).await;
    service.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_timeline_over_the_in_memory_store() {
    everything(Arc::new(InMemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_timeline_over_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = SqliteStore::open(dir.path().join("drift.db")).expect("open SQLite");
    everything(Arc::new(store)).await;
}
