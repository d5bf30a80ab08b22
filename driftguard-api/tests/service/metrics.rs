//! `/metrics`: exact names, labels and values after drift and after its resolution.

use hyper::StatusCode;

use crate::fixtures::{self, deployment};
use crate::harness::{Harness, Metrics};

async fn scrape(service: &Harness) -> Metrics {
    let answer = service.get("/metrics").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.content_type.starts_with("text/plain; version=0.0.4"),
        "{}",
        answer.content_type
    );
    Metrics::parse(&answer.text())
}

fn drift_events(
    metrics: &Metrics,
    drift_type: &str,
    severity: &str,
    namespace: &str,
) -> Option<f64> {
    metrics.value(
        "driftguard_drift_events_total",
        &[
            ("type", drift_type),
            ("severity", severity),
            ("namespace", namespace),
            ("application", "default"),
            ("cluster", "default"),
        ],
    )
}

fn active_drifts(metrics: &Metrics, namespace: &str, severity: &str) -> Option<f64> {
    metrics.value(
        "driftguard_active_drifts",
        &[
            ("namespace", namespace),
            ("severity", severity),
            ("cluster", "default"),
        ],
    )
}

fn active_types(
    metrics: &Metrics,
    namespace: &str,
    drift_type: &str,
    severity: &str,
) -> Option<f64> {
    metrics.value(
        "driftguard_active_drift_types",
        &[
            ("namespace", namespace),
            ("type", drift_type),
            ("severity", severity),
            ("cluster", "default"),
        ],
    )
}

fn resolutions(
    metrics: &Metrics,
    drift_type: &str,
    severity: &str,
    namespace: &str,
) -> Option<f64> {
    metrics.value(
        "driftguard_drift_resolutions_total",
        &[
            ("type", drift_type),
            ("severity", severity),
            ("namespace", namespace),
            ("application", "default"),
            ("cluster", "default"),
        ],
    )
}

#[tokio::test]
async fn metrics_have_exactly_the_documented_names_and_types() {
    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    service
        .get("/api/v1/drift-records/Deployment:shop:web")
        .await;
    let metrics = scrape(&service).await;
    let types = metrics.types();
    for (name, kind) in [
        ("driftguard_drift_events_total", "counter"),
        ("driftguard_resources_watched", "gauge"),
        ("driftguard_drift_score", "gauge"),
        ("driftguard_sync_duration_seconds", "histogram"),
        ("driftguard_api_request_duration_seconds", "histogram"),
        ("driftguard_analyses_total", "counter"),
        (
            "driftguard_last_successful_analysis_timestamp_seconds",
            "gauge",
        ),
        ("driftguard_component_ready", "gauge"),
        ("driftguard_active_drifts", "gauge"),
        ("driftguard_leader", "gauge"),
        ("driftguard_cluster_ready", "gauge"),
        ("driftguard_active_drift_types", "gauge"),
        ("driftguard_http_streams", "gauge"),
    ] {
        assert_eq!(
            types.get(name).map(String::as_str),
            Some(kind),
            "{name} in\n{}",
            metrics.text
        );
    }
    assert!(!metrics.text.contains("otel_scope"), "{}", metrics.text);
    assert!(!metrics.text.contains("target_info"), "{}", metrics.text);
    service.stop().await.unwrap();
}

#[tokio::test]
async fn metrics_follow_drift_and_its_resolution() {
    let service = Harness::started(fixtures::desired(), fixtures::live_drifted()).await;
    service
        .get("/api/v1/drift-records/Deployment:shop:web")
        .await;
    service
        .get("/api/v1/drift-records/Deployment:shop:api")
        .await;
    service.get("/nope").await;

    let metrics = scrape(&service).await;
    // One event per drift type, each with the severity of its own drifts.
    assert_eq!(
        drift_events(&metrics, "VersionChange", "High", "shop"),
        Some(1.0)
    );
    assert_eq!(
        drift_events(&metrics, "Scaling", "Medium", "shop"),
        Some(1.0)
    );
    assert_eq!(
        drift_events(&metrics, "ConfigurationChange", "Medium", "billing"),
        Some(1.0)
    );
    assert_eq!(metrics.sum("driftguard_drift_events_total", &[]), 3.0);
    // Score: High 10 (web) in shop, Medium 3 in billing.
    assert_eq!(
        metrics.value(
            "driftguard_drift_score",
            &[("namespace", "shop"), ("cluster", "default")]
        ),
        Some(10.0)
    );
    assert_eq!(
        metrics.value(
            "driftguard_drift_score",
            &[("namespace", "billing"), ("cluster", "default")]
        ),
        Some(3.0)
    );
    // Active records: web (High) in shop, the ConfigMap (Medium) in billing; by type,
    // each type with the severity of its own drifts.
    assert_eq!(active_drifts(&metrics, "shop", "High"), Some(1.0));
    assert_eq!(active_drifts(&metrics, "billing", "Medium"), Some(1.0));
    assert_eq!(metrics.sum("driftguard_active_drifts", &[]), 2.0);
    assert_eq!(
        active_types(&metrics, "shop", "VersionChange", "High"),
        Some(1.0)
    );
    assert_eq!(
        active_types(&metrics, "shop", "Scaling", "Medium"),
        Some(1.0)
    );
    assert_eq!(
        active_types(&metrics, "billing", "ConfigurationChange", "Medium"),
        Some(1.0)
    );
    assert_eq!(metrics.sum("driftguard_active_drift_types", &[]), 3.0);
    assert_eq!(
        metrics.value("driftguard_resources_watched", &[("cluster", "default")]),
        Some(3.0)
    );
    assert_eq!(
        metrics.value(
            "driftguard_analyses_total",
            &[
                ("mode", "full"),
                ("outcome", "success"),
                ("cluster", "default")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        metrics.value(
            "driftguard_sync_duration_seconds_count",
            &[
                ("mode", "full"),
                ("outcome", "success"),
                ("cluster", "default")
            ]
        ),
        Some(1.0)
    );
    let last = metrics
        .value(
            "driftguard_last_successful_analysis_timestamp_seconds",
            &[("cluster", "default")],
        )
        .expect("a last success time");
    assert!((last - chrono::Utc::now().timestamp() as f64).abs() < 86_400.0);
    // The store is the instance's; the sources are each cluster's.
    assert_eq!(
        metrics.value("driftguard_component_ready", &[("component", "store")]),
        Some(1.0)
    );
    for component in ["desired_source", "live_source", "store"] {
        assert_eq!(
            metrics.value(
                "driftguard_component_ready",
                &[("component", component), ("cluster", "default")]
            ),
            Some(1.0),
            "{component}"
        );
    }
    assert_eq!(
        metrics.value("driftguard_leader", &[("cluster", "default")]),
        Some(1.0)
    );
    assert_eq!(
        metrics.value("driftguard_cluster_ready", &[("cluster", "default")]),
        Some(1.0)
    );
    // Requests are labelled with their route template, never the raw path.
    assert_eq!(
        metrics.value(
            "driftguard_api_request_duration_seconds_count",
            &[
                ("route", "/api/v1/drift-records/{resource_id}"),
                ("status", "200")
            ]
        ),
        Some(2.0)
    );
    assert_eq!(
        metrics.value(
            "driftguard_api_request_duration_seconds_count",
            &[("route", "unmatched"), ("status", "404")]
        ),
        Some(1.0)
    );
    assert!(
        !metrics.text.contains("Deployment:shop:web"),
        "{}",
        metrics.text
    );

    // Revert: drift resolved, score back to 0, events unchanged, resolutions counted.
    service.ports.live.inner.set(fixtures::live_in_sync());
    service.analyze().await;
    let metrics = scrape(&service).await;
    assert_eq!(
        metrics.value(
            "driftguard_drift_score",
            &[("namespace", "shop"), ("cluster", "default")]
        ),
        Some(0.0)
    );
    assert_eq!(
        metrics.value(
            "driftguard_drift_score",
            &[("namespace", "billing"), ("cluster", "default")]
        ),
        Some(0.0)
    );
    assert_eq!(metrics.sum("driftguard_drift_events_total", &[]), 3.0);
    // Nothing active any more: every label set seen before reads 0.
    assert_eq!(active_drifts(&metrics, "shop", "High"), Some(0.0));
    assert_eq!(active_drifts(&metrics, "billing", "Medium"), Some(0.0));
    assert_eq!(metrics.sum("driftguard_active_drifts", &[]), 0.0);
    assert_eq!(
        active_types(&metrics, "shop", "VersionChange", "High"),
        Some(0.0)
    );
    assert_eq!(metrics.sum("driftguard_active_drift_types", &[]), 0.0);
    assert_eq!(
        resolutions(&metrics, "VersionChange", "High", "shop"),
        Some(1.0)
    );
    assert_eq!(
        resolutions(&metrics, "Scaling", "Medium", "shop"),
        Some(1.0)
    );
    assert_eq!(
        resolutions(&metrics, "ConfigurationChange", "Medium", "billing"),
        Some(1.0)
    );
    assert_eq!(
        metrics.value(
            "driftguard_analyses_total",
            &[
                ("mode", "full"),
                ("outcome", "success"),
                ("cluster", "default")
            ]
        ),
        Some(2.0)
    );
    service.stop().await.unwrap();
}

#[tokio::test]
async fn a_changed_drift_counts_only_its_new_types() {
    let service = Harness::started(fixtures::desired(), fixtures::live_web_scaled()).await;
    let metrics = scrape(&service).await;
    assert_eq!(
        drift_events(&metrics, "Scaling", "Medium", "shop"),
        Some(1.0)
    );
    assert_eq!(
        metrics.value(
            "driftguard_drift_score",
            &[("namespace", "shop"), ("cluster", "default")]
        ),
        Some(3.0)
    );
    assert_eq!(active_drifts(&metrics, "shop", "Medium"), Some(1.0));

    // Scaled further and given a new image: Scaling persists, VersionChange is new.
    let mut live = fixtures::live_web_scaled();
    live.resources[0] = deployment("web", 7, "nginx:1.27.0");
    service.ports.live.inner.set(live);
    service.analyze().await;
    let metrics = scrape(&service).await;
    assert_eq!(
        drift_events(&metrics, "Scaling", "Medium", "shop"),
        Some(1.0)
    );
    assert_eq!(
        drift_events(&metrics, "VersionChange", "High", "shop"),
        Some(1.0)
    );
    assert_eq!(
        metrics.value(
            "driftguard_drift_score",
            &[("namespace", "shop"), ("cluster", "default")]
        ),
        Some(10.0)
    );
    // The record's severity rose: it moved from Medium to High.
    assert_eq!(active_drifts(&metrics, "shop", "Medium"), Some(0.0));
    assert_eq!(active_drifts(&metrics, "shop", "High"), Some(1.0));
    assert_eq!(
        active_types(&metrics, "shop", "Scaling", "Medium"),
        Some(1.0)
    );
    assert_eq!(
        active_types(&metrics, "shop", "VersionChange", "High"),
        Some(1.0)
    );

    // A failed analysis is counted as such and changes no drift metric.
    service.ports.live.inner.fail();
    service.analyze().await;
    let metrics = scrape(&service).await;
    assert_eq!(
        metrics.value(
            "driftguard_analyses_total",
            &[
                ("mode", "full"),
                ("outcome", "failure"),
                ("cluster", "default")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        metrics.value(
            "driftguard_component_ready",
            &[("component", "live_source"), ("cluster", "default")]
        ),
        Some(0.0)
    );
    assert_eq!(
        metrics.value(
            "driftguard_drift_score",
            &[("namespace", "shop"), ("cluster", "default")]
        ),
        Some(10.0)
    );
    assert_eq!(active_drifts(&metrics, "shop", "High"), Some(1.0));
    service.stop().await.unwrap();
}
