//! `driftguard check` reading desired state from Git (served by `git daemon`) and live
//! state from a cluster (kmock), as a CI job would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use driftguard_test_support::check::CheckRun;
use driftguard_test_support::files::copy_tree;
use driftguard_test_support::git::{GitDaemon, TestRepo};
use driftguard_test_support::kube::{KmockServer, write_kubeconfig};
use driftguard_test_support::process::free_port;
use serde_json::{Value, json};

fn check(args: &[&str]) -> CheckRun {
    Command::new(env!("CARGO_BIN_EXE_driftguard"))
        .arg("check")
        .args(args)
        .args(["--output", "json"])
        .env_remove("KUBECONFIG")
        .output()
        .expect("driftguard runs")
        .into()
}

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

#[test]
fn git_desired_state_gives_the_same_answer_as_the_folder_and_names_the_commit() {
    let repo = TestRepo::new();
    copy_tree(
        &examples().join("desired"),
        &repo.work_dir().join("deploy/shop"),
    );
    repo.write("README.md", "# manifests\n");
    let sha = repo.commit("shop manifests");
    let daemon = GitDaemon::serve(repo.base_dir());
    let live = examples().join("live");
    let live = live.to_str().unwrap();

    let from_git = check(&[
        "--desired",
        &daemon.url(repo.name()),
        "--path",
        "deploy/shop",
        "--live-dir",
        live,
    ]);
    assert_eq!(from_git.code, 1, "stderr: {}", from_git.stderr);
    assert_eq!(from_git.report()["revision"], sha.as_str());

    let desired = examples().join("desired");
    let from_folder = check(&["--desired", desired.to_str().unwrap(), "--live-dir", live]);
    assert_eq!(from_folder.code, 1, "stderr: {}", from_folder.stderr);
    assert_eq!(from_folder.report()["revision"], Value::Null);
    assert_eq!(from_git.types(), from_folder.types());
}

#[test]
fn another_branch_is_read_when_asked_for() {
    let repo = TestRepo::new();
    let config_map = |level: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata:\n  LOG_LEVEL: {level}\n"
        )
    };
    repo.commit_file("settings.yaml", &config_map("info"), "main");
    repo.switch_new("staging");
    let staging = repo.commit_file("settings.yaml", &config_map("debug"), "staging");
    repo.switch("main");
    let daemon = GitDaemon::serve(repo.base_dir());
    let live = tempfile::tempdir().unwrap();
    std::fs::write(live.path().join("cm.yaml"), config_map("debug")).unwrap();
    let live = live.path().to_str().unwrap();

    let main = check(&["--desired", &daemon.url(repo.name()), "--live-dir", live]);
    assert_eq!(main.code, 1, "stderr: {}", main.stderr);
    let staging_run = check(&[
        "--desired",
        &daemon.url(repo.name()),
        "--branch",
        "staging",
        "--live-dir",
        live,
    ]);
    assert_eq!(staging_run.code, 0, "stderr: {}", staging_run.stderr);
    assert_eq!(staging_run.report()["revision"], staging.as_str());
}

#[test]
fn an_unreachable_git_remote_is_exit_2_with_a_clear_reason() {
    let live = examples().join("live");
    let run = check(&[
        "--desired",
        &format!("git://127.0.0.1:{}/nothing-here", free_port()),
        "--live-dir",
        live.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "stdout: {}", run.stdout);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains("127.0.0.1"), "{}", run.stderr);
}

fn cluster_objects() -> Value {
    json!({"objects": [
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "api", "namespace": "shop", "generation": 3},
         "spec": {"replicas": 4, "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": "api"}},
            "template": {"metadata": {"labels": {"app": "api"}},
                "spec": {"containers": [{"name": "api", "image": "shop/api:2.0",
                    "imagePullPolicy": "IfNotPresent"}], "restartPolicy": "Always"}}},
         "status": {"replicas": 4}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "settings", "namespace": "shop"},
         "data": {"LOG_LEVEL": "info"}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "settings", "namespace": "billing"},
         "data": {"LOG_LEVEL": "info"}},
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": {"name": "db", "namespace": "shop"},
         "data": {"password": "aHVudGVyMi1saXZl"}}
    ]})
}

const DESIRED: &str = "\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: api
  namespace: shop
spec:
  rules:
    - host: shop.example.com
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels:
      app: api
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
        - name: api
          image: shop/api:2.0
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  LOG_LEVEL: info
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: billing
data:
  LOG_LEVEL: debug
---
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
stringData:
  password: hunter2-git
";

#[test]
fn the_cluster_is_read_when_no_dump_is_given() {
    let cluster = KmockServer::start(&cluster_objects());
    let desired = tempfile::tempdir().unwrap();
    std::fs::write(desired.path().join("all.yaml"), DESIRED).unwrap();
    let desired = desired.path().to_str().unwrap();
    let kubeconfig = cluster.kubeconfig().to_str().unwrap();

    // Ingresses are not among the types read: the gate cannot pass on them.
    let unobserved = check(&["--desired", desired, "--kubeconfig", kubeconfig]);
    assert_eq!(unobserved.code, 2, "stderr: {}", unobserved.stderr);
    let entry = &unobserved.report()["not_observed"][0];
    assert_eq!(entry["resource_id"], "Ingress:shop:api", "{entry}");
    assert_eq!(entry["reason"], "kind_not_read", "{entry}");
    assert!(
        unobserved.error().contains("Ingress:shop:api"),
        "{}",
        unobserved.error()
    );

    let run = check(&[
        "--desired",
        desired,
        "--kubeconfig",
        kubeconfig,
        "--allow-unobserved",
    ]);
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    let types = run.types();
    assert!(
        types.contains(&("Deployment:shop:api".to_owned(), json!(["Scaling"]))),
        "{types:?}"
    );
    assert!(
        types.contains(&(
            "ConfigMap:billing:settings".to_owned(),
            json!(["ConfigurationChange"])
        )),
        "{types:?}"
    );
    assert!(
        types.contains(&("Secret:shop:db".to_owned(), json!(["SecretChange"]))),
        "{types:?}"
    );
    assert!(types.contains(&("ConfigMap:shop:settings".to_owned(), json!([]))));
    // Ingresses are not among the types read: not observed, never reported missing.
    assert!(
        !types.iter().any(|(id, _)| id.starts_with("Ingress")),
        "{types:?}"
    );
    assert_eq!(run.report()["summary"]["not_observed"], 1, "{}", run.stdout);
    for plaintext in ["hunter2-git", "hunter2-live", "aHVudGVyMi1saXZl"] {
        assert!(!run.stdout.contains(plaintext), "{}", run.stdout);
        assert!(!run.stderr.contains(plaintext), "{}", run.stderr);
    }

    // Only the shop namespace, and only ConfigMaps.
    let run = check(&[
        "--desired",
        desired,
        "--kubeconfig",
        kubeconfig,
        "--namespace",
        "shop",
        "--resource-type",
        "configmaps",
        "--allow-unobserved",
    ]);
    let ids: Vec<String> = run.types().into_iter().map(|(id, _)| id).collect();
    assert!(
        ids.contains(&"ConfigMap:shop:settings".to_owned()),
        "{ids:?}"
    );
    assert!(!ids.iter().any(|id| id.contains("billing")), "{ids:?}");
}

#[test]
fn a_resource_type_the_cluster_does_not_serve_is_exit_2_naming_it() {
    let cluster = KmockServer::start(&cluster_objects());
    let desired = tempfile::tempdir().unwrap();
    std::fs::write(desired.path().join("all.yaml"), DESIRED).unwrap();
    let run = check(&[
        "--desired",
        desired.path().to_str().unwrap(),
        "--kubeconfig",
        cluster.kubeconfig().to_str().unwrap(),
        "--resource-type",
        "deploymentz",
        "--allow-unobserved",
    ]);
    assert_eq!(run.code, 2, "stdout: {}", run.stdout);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(run.error().contains("`deploymentz`"), "{}", run.error());
    assert!(run.error().contains("does not serve"), "{}", run.error());
}

#[test]
fn an_unreachable_cluster_is_exit_2_never_everything_missing() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}", free_port());
    let kubeconfig = write_kubeconfig(dir.path(), "kubeconfig.yaml", &[("down", &url)]);
    let desired = dir.path().join("desired");
    std::fs::create_dir_all(&desired).unwrap();
    std::fs::write(desired.join("all.yaml"), DESIRED).unwrap();

    let run = check(&[
        "--desired",
        desired.to_str().unwrap(),
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "stdout: {}", run.stdout);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("127.0.0.1"), "{}", run.stderr);
}
