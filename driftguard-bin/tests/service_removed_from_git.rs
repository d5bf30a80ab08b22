//! `driftguard serve` when resources leave the desired state, end to end over real parts
//! on 127.0.0.1: a Git repository served by `git daemon` with kmock as the cluster, and a
//! local folder with a dump as the live side.
//!
//! - A commit that empties the watched path, and a folder whose manifests are deleted,
//!   are held back: every record stays exactly as it was, `/ready` and the log say why,
//!   and a metric counts it, until `detection.allow_empty` is set.
//! - A resource removed from Git that still runs is active Orphaned drift, resolved once
//!   it is deleted from the cluster too.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use driftguard_test_support::git::{GitDaemon, TestRepo};
use driftguard_test_support::http;
use driftguard_test_support::kube::KmockServer;
use driftguard_test_support::service::ServiceProcess;
use serde_json::{Value, json};

const CONFIG_MAP: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
  namespace: shop
data:
  LOG_LEVEL: info
";

const SERVICE: &str = "\
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

const FLAGS: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: feature-flags
  namespace: shop
data:
  CHECKOUT: v2
";

fn live_service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"type": "ClusterIP", "clusterIP": "10.96.12.7", "clusterIPs": ["10.96.12.7"],
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster", "sessionAffinity": "None",
            "selector": {"app": "web"},
            "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}]},
        "status": {"loadBalancer": {}}})
}

fn live_config_map(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop"}, "data": data})
}

/// The cluster: the Service as Git has it, `shop-config` edited by hand (active drift),
/// `feature-flags` as Git has it.
fn cluster_seed() -> Value {
    json!({"objects": [
        live_service(),
        live_config_map("shop-config", json!({"LOG_LEVEL": "debug"})),
        live_config_map("feature-flags", json!({"CHECKOUT": "v2"})),
    ]})
}

fn git_config(dir: &Path, git_url: &str, cluster: &KmockServer) -> PathBuf {
    let config = format!(
        "\
logging:
  level: info
  format: json
database:
  type: sqlite
  path: {database}
sources:
  desired: git
  live: kubernetes
git:
  url: {git_url}
  branch: main
  path: apps
  cache_dir: {cache}
  pull_timeout: 20s
kubernetes:
  kubeconfig: {kubeconfig}
  namespaces: [shop]
  resource_types: [services, configmaps]
detection:
  interval: 1h
  periodic: true
  watch: true
  fingerprint_key: removed from git test key
",
        database = dir.join("drift.db").display(),
        cache = dir.join("git-cache").display(),
        kubeconfig = cluster.kubeconfig().display(),
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, config).unwrap();
    path
}

fn metric(metrics: &str, prefix: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn records(driftguard: &ServiceProcess) -> Value {
    let (status, list) = driftguard.get("/api/v1/drift-records");
    assert_eq!(status, 200, "{list}");
    list
}

/// `(resource_id, drift_status, drift_types)` of every record.
fn states(list: &Value) -> Vec<(String, String, Value)> {
    list["drift_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["resource_id"].as_str().unwrap().to_owned(),
                r["drift_status"].as_str().unwrap().to_owned(),
                r["drift_types"].clone(),
            )
        })
        .collect()
}

/// Waits until `/ready` says the instance serves degraded, its desired source failing
/// with a reason containing
/// `expected`; returns the reason.
fn wait_held_back(driftguard: &mut ServiceProcess, expected: &str) -> String {
    driftguard.wait_for("the desired state to be held back", |d| {
        let (status, ready) = d.get("/ready");
        status == 200 && ready["status"] == "degraded" && ready.to_string().contains(expected)
    });
    let (_, ready) = driftguard.get("/ready");
    let component = &ready["components"][0];
    assert_eq!(component["component"], "desired_source", "{ready}");
    component["reason"].as_str().unwrap().to_owned()
}

/// Checks that the held-back state changed nothing, and that `/ready`, the application's
/// status, the metric and the log say why.
fn assert_held_back(driftguard: &mut ServiceProcess, before: &Value, what: &str) {
    let reason = wait_held_back(driftguard, "holds no objects");
    assert!(reason.contains("detection.allow_empty"), "{reason}");
    // Every record exactly as it was: none resolved, none orphaned, none added.
    assert_eq!(&records(driftguard), before, "{what}");
    let (_, applications) = driftguard.get("/api/v1/applications");
    let application = &applications["applications"][0];
    assert_eq!(
        application["render"]["status"], "held_back",
        "{applications}"
    );
    assert!(
        application["render"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("holds no objects")),
        "{applications}"
    );
    let metrics = driftguard.metrics();
    assert!(
        metric(
            &metrics,
            r#"driftguard_desired_held_back_total{application="default",cluster="default"}"#
        )
        .is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
    let log = driftguard.log();
    assert!(
        log.lines()
            .any(|l| l.contains("desired state held back") && l.contains("holds no objects")),
        "{log}"
    );
}

#[test]
fn a_commit_that_empties_the_watched_path_is_held_back_until_allowed() {
    let repo = TestRepo::new();
    repo.write("apps/shop.yaml", &format!("{CONFIG_MAP}---\n{SERVICE}"));
    repo.write("apps/flags.yaml", FLAGS);
    repo.write("apps/README.md", "The shop's manifests.\n");
    repo.commit("shop: config, flags and service");
    let daemon = GitDaemon::serve(repo.base_dir());
    let cluster = KmockServer::start(&cluster_seed());
    let dir = tempfile::tempdir().unwrap();
    let config = git_config(dir.path(), &daemon.url(repo.name()), &cluster);
    let binary = Path::new(env!("CARGO_BIN_EXE_driftguard"));
    let mut driftguard = ServiceProcess::start(binary, &config, &[]);
    driftguard.wait_for("/ready", |d| d.get("/ready").1["status"] == "ready");
    let before = records(&driftguard);
    assert_eq!(before["count"], 3, "{before}");
    assert_eq!(
        driftguard.record("ConfigMap:shop:shop-config")["drift_status"],
        "active"
    );

    // The manifests are deleted; only the README is left at the path.
    repo.remove("apps/shop.yaml");
    repo.remove("apps/flags.yaml");
    let emptied = repo.commit("remove every manifest");
    driftguard.analyze();
    assert_held_back(
        &mut driftguard,
        &before,
        "after the commit that empties apps/",
    );
    let reason = wait_held_back(&mut driftguard, &emptied);
    assert!(reason.contains(&format!("revision {emptied}")), "{reason}");
    driftguard.terminate();

    // The operator confirms: an empty desired state is accepted after the restart. The
    // objects still run, so they are Orphaned now.
    let mut driftguard = ServiceProcess::start(
        binary,
        &config,
        &[("DRIFTGUARD__DETECTION__ALLOW_EMPTY", "true")],
    );
    driftguard.wait_for("/ready after the confirmation", |d| {
        d.get("/ready").1["status"] == "ready"
    });
    let after = records(&driftguard);
    assert_eq!(
        states(&after),
        [
            (
                "ConfigMap:shop:feature-flags".to_owned(),
                "active".to_owned(),
                json!(["Orphaned"])
            ),
            (
                "ConfigMap:shop:shop-config".to_owned(),
                "active".to_owned(),
                json!(["Orphaned"])
            ),
            (
                "Service:shop:web".to_owned(),
                "active".to_owned(),
                json!(["Orphaned"])
            ),
        ],
        "{after}"
    );
    for record in after["drift_records"].as_array().unwrap() {
        assert_eq!(record["git_revision"], emptied.as_str(), "{record}");
    }
    driftguard.terminate();
}

fn folder_config(dir: &Path, desired: &Path, dump: &Path) -> PathBuf {
    let config = format!(
        "\
logging:
  level: info
  format: json
database:
  type: sqlite
  path: {database}
sources:
  desired: folder
  folder: {desired}
  live: dump
  dump: {dump}
  dump_types: [services, configmaps]
detection:
  interval: 1h
  periodic: true
  watch: false
  fingerprint_key: removed from git test key
",
        database = dir.join("drift.db").display(),
        desired = desired.display(),
        dump = dump.display(),
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, config).unwrap();
    path
}

#[test]
fn a_folder_whose_manifests_are_deleted_is_held_back_until_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let desired = dir.path().join("desired");
    let dump = dir.path().join("dump");
    std::fs::create_dir_all(&desired).unwrap();
    std::fs::create_dir_all(&dump).unwrap();
    std::fs::write(
        desired.join("shop.yaml"),
        format!("{CONFIG_MAP}---\n{SERVICE}"),
    )
    .unwrap();
    std::fs::write(desired.join("flags.yaml"), FLAGS).unwrap();
    let live = json!({"apiVersion": "v1", "kind": "List",
        "items": cluster_seed()["objects"].clone()});
    std::fs::write(dump.join("shop.json"), live.to_string()).unwrap();
    let config = folder_config(dir.path(), &desired, &dump);
    let binary = Path::new(env!("CARGO_BIN_EXE_driftguard"));
    let mut driftguard = ServiceProcess::start(binary, &config, &[]);
    driftguard.wait_for("/ready", |d| d.get("/ready").1["status"] == "ready");
    let before = records(&driftguard);
    assert_eq!(before["count"], 3, "{before}");
    assert_eq!(
        driftguard.record("ConfigMap:shop:shop-config")["drift_status"],
        "active"
    );

    std::fs::remove_file(desired.join("shop.yaml")).unwrap();
    std::fs::remove_file(desired.join("flags.yaml")).unwrap();
    driftguard.analyze();
    assert_held_back(&mut driftguard, &before, "after the folder was emptied");
    // Held back at every analysis, not only the first.
    driftguard.analyze();
    driftguard.wait_for("a second held-back analysis", |d| {
        metric(
            &d.metrics(),
            r#"driftguard_desired_held_back_total{application="default",cluster="default"}"#,
        )
        .is_some_and(|n| n >= 2.0)
    });
    assert_eq!(records(&driftguard), before);
    driftguard.terminate();

    let mut driftguard = ServiceProcess::start(
        binary,
        &config,
        &[("DRIFTGUARD__DETECTION__ALLOW_EMPTY", "true")],
    );
    driftguard.wait_for("/ready after the confirmation", |d| {
        d.get("/ready").1["status"] == "ready"
    });
    let after = records(&driftguard);
    let statuses: Vec<(String, String, Value)> = states(&after);
    assert!(
        statuses
            .iter()
            .all(|(_, status, types)| status == "active" && types == &json!(["Orphaned"])),
        "{after}"
    );
    assert_eq!(statuses.len(), 3, "{after}");
    driftguard.terminate();
}

#[test]
fn a_resource_removed_from_git_is_orphaned_until_it_leaves_the_cluster() {
    let repo = TestRepo::new();
    repo.write("apps/shop.yaml", CONFIG_MAP);
    repo.write("apps/service.yaml", SERVICE);
    repo.write("apps/flags.yaml", FLAGS);
    repo.commit("shop: config, flags and service");
    let daemon = GitDaemon::serve(repo.base_dir());
    let cluster = KmockServer::start(&cluster_seed());
    let dir = tempfile::tempdir().unwrap();
    let config = git_config(dir.path(), &daemon.url(repo.name()), &cluster);
    let mut driftguard =
        ServiceProcess::start(Path::new(env!("CARGO_BIN_EXE_driftguard")), &config, &[]);
    driftguard.wait_for("/ready", |d| d.get("/ready").1["status"] == "ready");
    assert_eq!(
        driftguard.record("Service:shop:web")["drift_status"],
        "none"
    );

    // Git drops the Service; it still runs: active Orphaned drift, not resolved.
    repo.remove("apps/service.yaml");
    let removal = repo.commit("the shop no longer needs its service");
    driftguard.analyze();
    let record = driftguard.wait_for_record("Service:shop:web", "the orphan", |r| {
        r["drift_status"] == "active"
    });
    assert_eq!(record["drift_types"], json!(["Orphaned"]), "{record}");
    assert_eq!(record["severity"], "Medium", "{record}");
    assert_eq!(record["drift_detected"], true);
    assert_eq!(record["drifts"][0]["path"], "", "{record}");
    assert_eq!(record["git_revision"], removal.as_str(), "{record}");
    assert!(record["resolved_at"].is_null(), "{record}");
    // Removing one object of three is no implausible drop: the others were analysed.
    assert_eq!(driftguard.get("/ready").1["status"], "ready");
    let metrics = driftguard.metrics();
    assert!(
        metric(
            &metrics,
            r#"driftguard_drift_events_total{application="default",cluster="default",namespace="shop",severity="Medium",type="Orphaned"}"#
        )
        .is_some_and(|n| n >= 1.0),
        "{metrics}"
    );

    // Deleted from the cluster: the watch resolves it, saying how.
    let address: SocketAddr = cluster.url().trim_start_matches("http://").parse().unwrap();
    let (status, body) = http::request(
        address,
        "DELETE",
        "/api/v1/namespaces/shop/services/web",
        None,
    );
    assert!(
        (200..300).contains(&status),
        "DELETE answered {status}: {body}"
    );
    let record = driftguard.wait_for_record("Service:shop:web", "the resolution", |r| {
        r["drift_status"] == "resolved"
    });
    assert_eq!(
        record["resolution_message"], "removed from Git and from the cluster",
        "{record}"
    );
    assert_eq!(record["drift_detected"], false);
    assert!(record["resolved_at"].is_string(), "{record}");

    let (status, history) = driftguard.get("/api/v1/drift-records/Service:shop:web/events");
    assert_eq!(status, 200, "{history}");
    let events: Vec<(&str, &Value)> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), &e["drift_types"]))
        .collect();
    assert_eq!(
        events,
        [
            ("drift_detected", &json!(["Orphaned"])),
            ("drift_resolved", &json!(["Orphaned"])),
        ],
        "{history}"
    );
    let log = driftguard.log();
    assert!(
        log.lines().any(|l| l.contains("✅")
            && l.contains("Service:shop:web")
            && l.contains("removed from Git and from the cluster")),
        "{log}"
    );
    driftguard.terminate();
}
