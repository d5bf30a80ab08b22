//! `driftguard serve` with two applications from one repository served by `git daemon`:
//! a Kustomize overlay (real Kustomize) and a plain folder that leaves the namespace to
//! the deploy tool, against kmock as the cluster. Records carry their application, each
//! application's revision and render status are served, a drift in one application shows
//! under it alone, an unchanged revision is not rendered again, and a render that starts
//! failing leaves that application's records exactly as they were.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use driftguard_test_support::git::{GitDaemon, TestRepo};
use driftguard_test_support::http;
use driftguard_test_support::kube::KmockServer;
use driftguard_test_support::python::workspace_root;
use driftguard_test_support::service::ServiceProcess;
use serde_json::{Value, json};

/// The objects `kubectl apply -k` creates from the shop overlay, as JSON.
fn shop_objects() -> Vec<Value> {
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(workspace_root().join("tests/render/shop/overlays/prod"))
        .output()
        .expect("kubectl runs (scripts/test.sh installs it when missing)");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    serde_saphyr::from_multiple::<Value>(&text)
        .expect("kustomize prints YAML")
        .into_iter()
        .filter(|o| !o.is_null())
        .collect()
}

/// The tools folder as `kubectl apply -n tools -f` creates it.
fn tools_objects() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "tools-settings", "namespace": "tools"},
            "data": {"RETENTION": "7d"}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "tools", "namespace": "tools"}}),
    ]
}

fn write_config(dir: &Path, git_url: &str, cluster: &KmockServer) -> std::path::PathBuf {
    let config = format!(
        "\
logging:
  level: info
database:
  type: sqlite
  path: {database}
sources:
  live: kubernetes
git:
  url: {git_url}
  cache_dir: {cache}
  pull_timeout: 20s
applications:
  - name: shop
    git:
      path: apps/shop/overlays/prod
    namespace: shop
  - name: tools
    git:
      path: apps/tools
    render: auto
    namespace: tools
kubernetes:
  kubeconfig: {kubeconfig}
  namespaces: [shop, tools]
  resource_types: [deployments, services, configmaps, secrets, serviceaccounts, poddisruptionbudgets]
detection:
  interval: 1h
  watch: true
  fingerprint_key: applications test key
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

fn application<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["applications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no application {name} in {list}"))
}

#[test]
fn two_applications_from_one_repository() {
    let repo = TestRepo::new();
    repo.copy_tree(&workspace_root().join("tests/render/shop"), "apps/shop");
    repo.copy_tree(
        &workspace_root().join("tests/render/plain-tools"),
        "apps/tools",
    );
    let first = repo.commit("shop overlays and the tools folder");
    let daemon = GitDaemon::serve(repo.base_dir());
    let mut objects = shop_objects();
    objects.extend(tools_objects());
    let cluster = KmockServer::start(&json!({ "objects": objects }));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &daemon.url(repo.name()), &cluster);
    let mut driftguard =
        ServiceProcess::start(Path::new(env!("CARGO_BIN_EXE_driftguard")), &config, &[]);
    driftguard.wait_for("/ready", |d| d.get("/ready").1["status"] == "ready");

    // Both applications, at the commit, rendered (the overlay) or read (the folder).
    let (status, list) = driftguard.get("/api/v1/applications");
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["count"], 2, "{list}");
    let shop = application(&list, "shop");
    assert_eq!(shop["revision"], first.as_str(), "{shop}");
    assert_eq!(shop["namespace"], "shop");
    assert_eq!(shop["render"]["status"], "ok", "{shop}");
    assert!(shop["render"]["duration_seconds"].is_number(), "{shop}");
    assert!(
        shop["source"]
            .as_str()
            .unwrap()
            .contains("path apps/shop/overlays/prod"),
        "{shop}"
    );
    let tools = application(&list, "tools");
    assert_eq!(tools["revision"], first.as_str(), "{tools}");
    assert_eq!(tools["render"]["status"], "ok");
    assert!(tools["render"]["duration_seconds"].is_null(), "{tools}");
    assert_eq!(
        tools["counts"],
        json!({"none": 2, "active": 0, "resolved": 0, "missing": 0})
    );
    // The overlay's namespaced objects, in sync (the Namespace and the ClusterRole are
    // cluster-scoped, outside the watched namespaces).
    assert_eq!(shop["counts"]["none"], 5, "{shop}");

    // Records carry their application; the filter selects one.
    let (_, records) = driftguard.get("/api/v1/drift-records?application=tools");
    let ids: Vec<&str> = records["drift_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resource_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "ConfigMap:tools:tools-settings",
            "ServiceAccount:tools:tools"
        ]
    );
    let record = driftguard.record("Deployment:shop:prod-web");
    assert_eq!(record["application"], "shop");
    assert_eq!(record["drift_status"], "none", "{record}");

    // A hand edit in the tools namespace: drift under tools alone.
    let address: SocketAddr = cluster.url().trim_start_matches("http://").parse().unwrap();
    let (status, body) = http::request(
        address,
        "PATCH",
        "/api/v1/namespaces/tools/configmaps/tools-settings",
        Some((
            "application/merge-patch+json",
            &json!({"data": {"RETENTION": "30d"}}).to_string(),
        )),
    );
    assert!((200..300).contains(&status), "{status}: {body}");
    let record = driftguard.wait_for_record("ConfigMap:tools:tools-settings", "the drift", |r| {
        r["drift_status"] == "active"
    });
    assert_eq!(record["application"], "tools");
    let (_, active) = driftguard.get("/api/v1/drift-records/active?application=tools");
    assert_eq!(active["count"], 1, "{active}");
    let (_, active) = driftguard.get("/api/v1/drift-records/active?application=shop");
    assert_eq!(active["count"], 0, "{active}");
    let (_, statistics) = driftguard.get("/api/v1/statistics");
    assert_eq!(
        statistics["statistics"]["by_application"],
        json!({"tools": 1}),
        "{statistics}"
    );

    // Another analysis at the same revision: the overlay is not rendered again.
    driftguard.analyze();
    driftguard.wait_for("a second full analysis", |d| {
        metric(
            &d.metrics(),
            r#"driftguard_analyses_total{cluster="default",mode="full",outcome="success"}"#,
        )
        .is_some_and(|n| n >= 2.0)
    });
    let metrics = driftguard.metrics();
    assert_eq!(
        metric(
            &metrics,
            r#"driftguard_render_duration_seconds_count{application="shop",cluster="default"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
    assert!(
        metric(
            &metrics,
            r#"driftguard_drift_events_total{application="tools",cluster="default",namespace="tools""#
        )
        .is_some_and(|n| n >= 1.0),
        "{metrics}"
    );

    // The overlay breaks in Git: the shop records stay exactly as they were, the tools
    // application goes on, and readiness, the status and a metric say why.
    let shop_before = driftguard.get("/api/v1/drift-records?application=shop").1;
    repo.write(
        "apps/shop/overlays/prod/kustomization.yaml",
        "resources:\n  - ../../base\n  - missing-file.yaml\n",
    );
    let second = repo.commit("a kustomization that refers to a missing file");
    driftguard.analyze();
    // The application's status is published as its read fails, readiness once the
    // analysis ends: wait for both.
    driftguard.wait_for("the failed render", |d| {
        let (_, list) = d.get("/api/v1/applications");
        application(&list, "shop")["render"]["status"] == "failed"
            && d.get("/ready").1["status"] == "degraded"
    });
    let (_, list) = driftguard.get("/api/v1/applications");
    let shop = application(&list, "shop");
    let error = shop["render"]["error"].as_str().unwrap();
    assert!(error.contains("apps/shop/overlays/prod"), "{error}");
    assert!(error.contains("missing-file.yaml"), "{error}");
    assert_eq!(shop["revision"], first.as_str(), "the last revision read");
    let tools = application(&list, "tools");
    assert_eq!(tools["render"]["status"], "ok");
    assert_eq!(tools["revision"], second.as_str());
    assert_eq!(
        driftguard.get("/api/v1/drift-records?application=shop").1,
        shop_before
    );
    // The instance still serves: one application failing makes it degraded, not down.
    let (status, ready) = driftguard.get("/ready");
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(
        ready["clusters"][0]["failing_applications"][0]["name"], "shop",
        "{ready}"
    );
    assert!(ready.to_string().contains("application shop"), "{ready}");
    let metrics = driftguard.metrics();
    assert!(
        metric(
            &metrics,
            r#"driftguard_render_failures_total{application="shop",cluster="default"}"#
        )
        .is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
    assert!(
        driftguard.log().contains("application shop"),
        "{}",
        driftguard.log()
    );
    driftguard.terminate();
}
