//! Detection latency with watch on: from a live edit in the cluster to the active drift
//! record the API serves, and from the revert to the resolved record.
//!
//! ```sh
//! scripts/test.sh --no-run        # once: target/test-venv with kmock
//! cargo build --release -p driftguard-bin
//! DRIFTGUARD_TEST_PYTHON=target/test-venv/bin/python \
//!   cargo run --release -p driftguard-bin --example watch_latency -- 20
//! ```
//!
//! The cluster is kmock on 127.0.0.1; the desired state a folder; the store SQLite. Each
//! round scales a Deployment by a merge patch, then polls its record every 5 ms until it
//! is active (and again after the revert, until it is resolved). The time of kmock's own
//! answer to the patch is reported apart, since a real API server answers in milliseconds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use driftguard_test_support::http;
use driftguard_test_support::kube::KmockServer;
use driftguard_test_support::service::ServiceProcess;
use serde_json::{Value, json};

const DESIRED: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
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
";

fn live(replicas: u64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"replicas": replicas, "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.25.3",
                    "imagePullPolicy": "IfNotPresent"}], "restartPolicy": "Always"}}},
        "status": {"replicas": replicas}
    })
}

/// The `driftguard` binary next to this example's folder (`target/<profile>/`).
fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the example's path");
    let profile_dir = exe
        .parent()
        .and_then(|examples| examples.parent())
        .expect("target/<profile>/examples");
    let binary = profile_dir.join("driftguard");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --release -p driftguard-bin` first",
        binary.display()
    );
    binary
}

/// Patches the replicas; returns how long kmock took to answer.
fn scale(cluster: SocketAddr, replicas: u64) -> Duration {
    let started = Instant::now();
    let patch = json!({"spec": {"replicas": replicas}}).to_string();
    let (status, body) = http::request(
        cluster,
        "PATCH",
        "/apis/apps/v1/namespaces/shop/deployments/web",
        Some(("application/merge-patch+json", &patch)),
    );
    assert!(
        (200..300).contains(&status),
        "PATCH answered {status}: {body}"
    );
    started.elapsed()
}

fn wait_until(service: &ServiceProcess, status: &str) -> Duration {
    let started = Instant::now();
    loop {
        let (code, record) = service.get("/api/v1/drift-records/Deployment:shop:web");
        if code == 200 && record["drift_status"] == status {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the record never became {status}: {record}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{name:<44} min {:>7.1} ms  median {:>7.1} ms  p90 {:>7.1} ms  max {:>7.1} ms",
        ms(samples[0]),
        ms(at(0.5)),
        ms(at(0.9)),
        ms(samples[samples.len() - 1])
    );
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let cluster = KmockServer::start(&json!({"objects": [live(3)]}));
    let cluster_address: SocketAddr = cluster
        .url()
        .trim_start_matches("http://")
        .parse()
        .expect("kmock's address");
    let dir = tempfile::tempdir().expect("a temporary folder");
    std::fs::create_dir_all(dir.path().join("desired")).unwrap();
    std::fs::write(dir.path().join("desired/web.yaml"), DESIRED).unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "logging: {{level: warn}}\n\
             database: {{path: {db}}}\n\
             sources: {{desired: folder, folder: {desired}, live: kubernetes}}\n\
             kubernetes: {{kubeconfig: {kubeconfig}, namespaces: [shop], resource_types: [deployments]}}\n\
             detection: {{interval: 1h, watch: true, fingerprint_key: latency}}\n",
            db = dir.path().join("drift.db").display(),
            desired = dir.path().join("desired").display(),
            kubeconfig = cluster.kubeconfig().display(),
        ),
    )
    .unwrap();
    let mut service = ServiceProcess::start(&binary(), &config, &[]);
    service.wait_for("the first analysis", |s| {
        s.get("/ready").1["status"] == "ready"
    });

    let mut patch_answers = Vec::new();
    let mut to_active = Vec::new();
    let mut to_resolved = Vec::new();
    for _ in 0..rounds {
        patch_answers.push(scale(cluster_address, 5));
        to_active.push(wait_until(&service, "active"));
        patch_answers.push(scale(cluster_address, 3));
        to_resolved.push(wait_until(&service, "resolved"));
    }
    println!("{rounds} rounds, watch on, record polled every 5 ms:");
    summary("kmock answering the patch", patch_answers);
    summary("patch answered → record active", to_active);
    summary("revert answered → record resolved", to_resolved);
    service.terminate();
}
