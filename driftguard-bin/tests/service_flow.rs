//! The product's user flow, end to end, over real parts on 127.0.0.1: manifests in a Git
//! repository served by `git daemon`, kmock as the cluster, MongoDB (nx-27017) or SQLite
//! as the store, and `driftguard serve` started as a process on a free port. The test
//! drives everything through HTTP, as a user with curl and kubectl would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;

use driftguard_test_support::git::{GitDaemon, TestRepo};
use driftguard_test_support::http;
use driftguard_test_support::kube::KmockServer;
use driftguard_test_support::mongo::MongoServer;
use driftguard_test_support::service::ServiceProcess;
use serde_json::{Value, json};

const WEB_DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels:
    app: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx:1.25.3
          ports:
            - containerPort: 80
          resources:
            limits:
              cpu: 0.5
              memory: 256Mi
";

const SHOP_CONFIG: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
  namespace: shop
data:
  LOG_LEVEL: info
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector:
    app: web
  ports:
    - port: 80
      targetPort: 80
";

/// The live Deployment as the API server keeps it: defaults, status and metadata added.
fn live_deployment(replicas: u64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"},
            "generation": 1,
            "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {"replicas": replicas, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File"}],
                    "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
                    "schedulerName": "default-scheduler", "securityContext": {},
                    "terminationGracePeriodSeconds": 30}}},
        "status": {"replicas": replicas, "readyReplicas": replicas, "observedGeneration": 1}
    })
}

fn cluster_seed() -> Value {
    json!({"objects": [
        live_deployment(3, "nginx:1.25.3"),
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "shop-config", "namespace": "shop"},
         "data": {"LOG_LEVEL": "info"}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "web", "namespace": "shop"},
         "spec": {"type": "ClusterIP", "clusterIP": "10.96.12.7", "clusterIPs": ["10.96.12.7"],
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster", "sessionAffinity": "None",
            "selector": {"app": "web"},
            "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}]},
         "status": {"loadBalancer": {}}}
    ]})
}

/// Changes the live Deployment as `kubectl patch` (or `kubectl scale`) would.
fn patch_deployment(cluster: &KmockServer, patch: &Value) {
    let address: SocketAddr = cluster.url().trim_start_matches("http://").parse().unwrap();
    let (status, body) = http::request(
        address,
        "PATCH",
        "/apis/apps/v1/namespaces/shop/deployments/web",
        Some(("application/merge-patch+json", &patch.to_string())),
    );
    assert!(
        (200..300).contains(&status),
        "PATCH answered {status}: {body}"
    );
}

/// A merge patch setting the container list with `image` (a merge patch replaces lists
/// whole, so it carries the whole container as the API server keeps it).
fn containers_patch(image: &str) -> Value {
    let live = live_deployment(5, image);
    json!({"spec": {"template": {"spec": {
        "containers": live["spec"]["template"]["spec"]["containers"].clone()}}}})
}

fn metric_value(metrics: &str, name_and_labels: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| line.starts_with(name_and_labels))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn write_config(
    dir: &Path,
    git_url: &str,
    cluster: &KmockServer,
    database: &str,
) -> std::path::PathBuf {
    let config = format!(
        "\
logging:
  level: info
  format: json
database:
{database}
sources:
  desired: git
  live: kubernetes
git:
  url: {git_url}
  branch: main
  cache_dir: {cache}
  pull_timeout: 20s
kubernetes:
  kubeconfig: {kubeconfig}
  namespaces: [shop]
  resource_types: [deployments, services, configmaps]
detection:
  interval: 1h
  periodic: true
  watch: true
  fingerprint_key: end-to-end test key
",
        cache = dir.join("git-cache").display(),
        kubeconfig = cluster.kubeconfig().display(),
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, config).unwrap();
    path
}

/// The flow of the product spec: health, no drift, scale and change the image by hand,
/// active drift of the right types and severity, revert, resolved with a time and a
/// message, Git moving to match the live state, statistics and metrics following.
fn user_flow(database: &str, dir: &Path) {
    let repo = TestRepo::new();
    repo.write("apps/web.yaml", WEB_DEPLOYMENT);
    repo.write("apps/shop.yaml", SHOP_CONFIG);
    let first_commit = repo.commit("shop: web, config and service");
    let daemon = GitDaemon::serve(repo.base_dir());
    let cluster = KmockServer::start(&cluster_seed());
    let config = write_config(dir, &daemon.url(repo.name()), &cluster, database);
    let mut driftguard =
        ServiceProcess::start(Path::new(env!("CARGO_BIN_EXE_driftguard")), &config, &[]);

    // Started: healthy, and ready once the first analysis has read Git, the cluster and
    // written to the store.
    let (status, health) = driftguard.get("/health");
    assert_eq!(status, 200);
    assert_eq!(
        health,
        json!({"status": "healthy", "message": "Service is running"})
    );
    driftguard.wait_for("/ready", |d| d.get("/ready").1["status"] == "ready");
    let (_, ready) = driftguard.get("/ready");
    assert_eq!(ready["message"], "All components ready", "{ready}");
    assert_eq!(ready["components"], json!([]), "{ready}");
    assert_eq!(ready["clusters"][0]["name"], "default", "{ready}");
    assert_eq!(ready["clusters"][0]["ready"], true, "{ready}");

    // Everything in sync: three records, none with drift, all at the commit.
    let (status, all) = driftguard.get("/api/v1/drift-records");
    assert_eq!(status, 200);
    assert_eq!(all["count"], 3, "{all}");
    for record in all["drift_records"].as_array().unwrap() {
        assert_eq!(record["drift_detected"], false, "{record}");
        assert_eq!(record["drift_status"], "none", "{record}");
        assert_eq!(record["git_revision"], first_commit.as_str(), "{record}");
    }
    let (_, active) = driftguard.get("/api/v1/drift-records/active");
    assert_eq!(active["count"], 0, "{active}");

    // Somebody scales the Deployment by hand: the watch reports it without a request.
    patch_deployment(&cluster, &json!({"spec": {"replicas": 5}}));
    let record = driftguard.wait_for_record("Deployment:shop:web", "the scaling", |r| {
        r["drift_status"] == "active"
    });
    assert_eq!(record["drift_types"], json!(["Scaling"]), "{record}");
    assert_eq!(record["severity"], "Medium");
    assert_eq!(record["drifts"][0]["path"], "spec.replicas");
    assert_eq!(record["drifts"][0]["desired"], 3);
    assert_eq!(record["drifts"][0]["live"], 5);
    let first_detected = record["first_detected"].as_str().unwrap().to_owned();

    // ... and changes the image; an analysis on request sees both.
    patch_deployment(&cluster, &containers_patch("nginx:1.27.0"));
    driftguard.analyze();
    let record = driftguard.wait_for_record("Deployment:shop:web", "the image change", |r| {
        r["drift_types"] == json!(["Scaling", "VersionChange"])
    });
    assert_eq!(record["severity"], "High");
    assert_eq!(record["drift_status"], "active");
    assert_eq!(record["first_detected"], first_detected.as_str());
    let (_, active) = driftguard.get("/api/v1/drift-records/active?namespace=shop");
    assert_eq!(active["count"], 1, "{active}");
    assert_eq!(
        active["drift_records"][0]["resource_id"],
        "Deployment:shop:web"
    );
    let metrics = driftguard.metrics();
    assert_eq!(
        metric_value(
            &metrics,
            r#"driftguard_drift_score{cluster="default",namespace="shop"}"#
        ),
        Some(10.0),
        "{metrics}"
    );
    assert!(
        metric_value(
            &metrics,
            r#"driftguard_drift_events_total{application="default",cluster="default",namespace="shop",severity="Medium",type="Scaling"}"#
        )
        .is_some_and(|v| v >= 1.0),
        "{metrics}"
    );

    // Reverted to what Git says: resolved, with the time and how.
    let mut revert = containers_patch("nginx:1.25.3");
    revert["spec"]["replicas"] = json!(3);
    patch_deployment(&cluster, &revert);
    driftguard.analyze();
    let record = driftguard.wait_for_record("Deployment:shop:web", "the resolution", |r| {
        r["drift_status"] == "resolved"
    });
    assert_eq!(record["drift_detected"], false);
    assert!(record["resolved_at"].is_string(), "{record}");
    let message = record["resolution_message"].as_str().unwrap();
    assert!(message.contains("reverted"), "{message}");
    let (_, resolved) = driftguard.get("/api/v1/drift-records/resolved");
    assert_eq!(resolved["count"], 1, "{resolved}");

    // The history holds the whole episode.
    let (status, history) = driftguard.get("/api/v1/drift-records/Deployment:shop:web/events");
    assert_eq!(status, 200, "{history}");
    let kinds: Vec<&str> = history["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events list: {history}"))
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds.first(), Some(&"drift_detected"), "{history}");
    assert_eq!(kinds.last(), Some(&"drift_resolved"), "{history}");

    // Git moves: the ConfigMap's new value is drift until the cluster follows.
    repo.write(
        "apps/shop.yaml",
        &SHOP_CONFIG.replace("LOG_LEVEL: info", "LOG_LEVEL: debug"),
    );
    let second_commit = repo.commit("shop: debug logging");
    driftguard.analyze();
    let record = driftguard.wait_for_record("ConfigMap:shop:shop-config", "the new commit", |r| {
        r["git_revision"] == second_commit.as_str()
    });
    assert_eq!(
        record["drift_types"],
        json!(["ConfigurationChange"]),
        "{record}"
    );
    assert_eq!(record["drifts"][0]["desired"], "debug");
    assert_eq!(record["drifts"][0]["live"], "info");

    // Statistics and metrics follow.
    let (status, statistics) = driftguard.get("/api/v1/statistics");
    assert_eq!(status, 200);
    let statistics = &statistics["statistics"];
    assert_eq!(statistics["total_resources"], 3, "{statistics}");
    assert_eq!(statistics["by_status"]["resolved"], 1, "{statistics}");
    assert_eq!(statistics["by_status"]["active"], 1, "{statistics}");
    assert!(
        statistics["mean_time_to_resolve_seconds"].is_number(),
        "{statistics}"
    );
    let metrics = driftguard.metrics();
    assert_eq!(
        metric_value(
            &metrics,
            r#"driftguard_resources_watched{cluster="default"}"#
        ),
        Some(3.0),
        "{metrics}"
    );
    assert_eq!(
        metric_value(
            &metrics,
            r#"driftguard_drift_score{cluster="default",namespace="shop"}"#
        ),
        Some(3.0),
        "{metrics}"
    );
    assert!(
        metrics.contains("driftguard_sync_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains("driftguard_api_request_duration_seconds_bucket"),
        "{metrics}"
    );

    // Bad parameters are a 400 with a JSON error; unknown resources a 404.
    let (status, error) = driftguard.get("/api/v1/drift-records?drift_detected=perhaps");
    assert_eq!(status, 400);
    assert!(
        error["error"].as_str().unwrap().contains("drift_detected"),
        "{error}"
    );
    let (status, _) = driftguard.get("/api/v1/drift-records/Deployment:shop:nope");
    assert_eq!(status, 404);

    // One JSON log line per drift event and per resolution, with the marker and fields.
    let log = driftguard.log();
    let event_line = |marker: &str| -> Value {
        let line = log
            .lines()
            .find(|l| l.contains(marker) && l.contains("Deployment:shop:web"))
            .unwrap_or_else(|| panic!("no {marker} line for the Deployment in:\n{log}"));
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"))
    };
    let detected = event_line("🚨");
    assert_eq!(detected["resource_id"], "Deployment:shop:web", "{detected}");
    assert_eq!(detected["severity"], "Medium", "{detected}");
    assert_eq!(
        detected["git_revision"],
        first_commit.as_str(),
        "{detected}"
    );
    assert!(
        detected["drift_types"]
            .as_str()
            .unwrap()
            .contains("Scaling"),
        "{detected}"
    );
    let resolved = event_line("✅");
    assert_eq!(resolved["resource_id"], "Deployment:shop:web", "{resolved}");

    driftguard.terminate();
}

#[test]
fn user_flow_with_mongodb() {
    let mongo = MongoServer::from_env_or_start();
    let dir = tempfile::tempdir().unwrap();
    let name = format!("driftguard_e2e_{}", std::process::id());
    user_flow(
        &format!(
            "  type: mongodb\n  uri: \"{}\"\n  name: {name}",
            mongo.uri()
        ),
        dir.path(),
    );
}

#[test]
fn user_flow_with_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    user_flow(
        &format!(
            "  type: sqlite\n  path: {}",
            dir.path().join("drift.db").display()
        ),
        dir.path(),
    );
}
