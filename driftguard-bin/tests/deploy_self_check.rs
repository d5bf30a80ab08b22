//! DriftGuard watching its own deployment: with `deploy/` as the desired state and
//! `tests/deploy-live/` (what `kubectl get -o yaml` returns for each object after
//! `kubectl apply -k deploy/`: server defaults, status, server metadata, managedFields and
//! the last-applied annotation) as the live state, every object is in sync; hand edits
//! to that live state are reported.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod deploy_support;

use driftguard_test_support::files::copy_tree;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use deploy_support::{deploy_dir, read, repo_root};
use driftguard_core::secret::FingerprintKey;
use driftguard_sources::{DumpLiveSource, FolderDesiredSource};
use serde_json::Value;

struct Run {
    code: i32,
    report: Value,
    stderr: String,
}

fn check(desired: &Path, live: &Path) -> Run {
    check_with(desired, live, &[])
}

/// [`check`] with more arguments.
fn check_with(desired: &Path, live: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_driftguard"))
        .arg("check")
        .args(args)
        .arg("--desired")
        .arg(desired)
        .arg("--live-dir")
        .arg(live)
        .args(["--output", "json"])
        .env_remove("KUBECONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("run driftguard check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}\nstderr: {stderr}"));
    Run {
        code: output.status.code().unwrap_or(-1),
        report,
        stderr,
    }
}

fn live_dir() -> std::path::PathBuf {
    repo_root().join("tests/deploy-live")
}

#[test]
fn driftguard_finds_its_own_deployment_in_sync() {
    let run = check(&deploy_dir(), &live_dir());
    let records = run.report["records"].as_array().expect("records");
    let drifted: Vec<&Value> = records
        .iter()
        .filter(|r| r["drift_detected"] != false)
        .collect();
    assert!(
        drifted.is_empty(),
        "drift between deploy/ and tests/deploy-live/: {drifted:#?}"
    );
    assert_eq!(run.code, 0, "{}\n{}", run.report, run.stderr);
    let summary = &run.report["summary"];
    assert_eq!(summary["resources"], 11, "{summary}");
    assert_eq!(summary["in_sync"], 11, "{summary}");
    assert_eq!(summary["drifted"], 0, "{summary}");
    assert_eq!(summary["missing"], 0, "{summary}");
    assert_eq!(summary["not_observed"], 0, "{summary}");
    for record in records {
        assert_eq!(record["drift_status"], "none", "{record}");
        assert_eq!(record["drift_types"], serde_json::json!([]), "{record}");
        assert!(
            record["live_hash"].is_string(),
            "compared with a live object: {record}"
        );
    }
}

/// The live dump holds one object per object of deploy/, as the cluster returns it:
/// with server metadata, and with the last-applied annotation kubectl writes, which
/// holds the object as applied.
#[test]
fn the_live_dump_is_what_the_cluster_returns_after_kubectl_apply() {
    let key = FingerprintKey::derive("deploy live dump");
    let desired = FolderDesiredSource::new(deploy_dir(), key.clone())
        .and_then(|source| source.read())
        .expect("read deploy/");
    let live = DumpLiveSource::new(live_dir(), key)
        .read()
        .expect("read tests/deploy-live/");
    let desired_ids: BTreeSet<String> =
        desired.resources.iter().map(|r| r.id.to_string()).collect();
    let live_ids: BTreeSet<String> = live.resources.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(desired_ids, live_ids);
    for object in &live.resources {
        let id = object.id.to_string();
        let metadata = &object.object.to_value()["metadata"];
        for field in ["uid", "resourceVersion", "creationTimestamp"] {
            assert!(metadata[field].is_string(), "{id}: no metadata.{field}");
        }
        let managers: Vec<&str> = metadata["managedFields"]
            .as_array()
            .unwrap_or_else(|| panic!("{id}: no managedFields"))
            .iter()
            .map(|m| m["manager"].as_str().unwrap())
            .collect();
        assert_eq!(managers[0], "kubectl-client-side-apply", "{id}");
        let applied = metadata["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: no last-applied-configuration"));
        let mut applied: Value = serde_json::from_str(applied)
            .unwrap_or_else(|e| panic!("{id}: last-applied is not JSON: {e}"));
        let declared = desired
            .resources
            .iter()
            .find(|r| r.id == object.id)
            .unwrap();
        // kubectl stores the object with an (emptied) annotations map.
        let annotations = applied["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("annotations");
        assert_eq!(annotations, Some(serde_json::json!({})), "{id}");
        assert_eq!(
            applied,
            declared.object.to_value(),
            "{id}: last-applied differs from deploy/"
        );
    }
    // Defaults the API server fills in, which are not drift.
    let deployment = read(&live_dir().join("deployment.yaml"));
    for default in [
        "progressDeadlineSeconds: 600",
        "terminationMessagePolicy: File",
        "defaultMode: 420",
        "defaultMode: 288",
        "serviceAccount: driftguard",
        "scheme: HTTP",
    ] {
        assert!(deployment.contains(default), "{default}");
    }
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = read(file);
    assert!(text.contains(from), "{} has no {from:?}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// The comparison is not vacuous: hand edits of the running objects (a new image, a
/// write verb for DriftGuard, scraping without honorLabels) and a deleted object are
/// drift.
#[test]
fn hand_edits_of_the_running_deployment_are_drift() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    copy_tree(&live_dir(), &live);
    edit(
        &live.join("deployment.yaml"),
        "image: ghcr.io/driftguard/driftguard:0.1.0",
        "image: ghcr.io/driftguard/driftguard:0.2.0-rc.1",
    );
    edit(
        &live.join("rbac.yaml"),
        "    - list\n    - watch\n",
        "    - list\n    - watch\n    - delete\n",
    );
    edit(
        &live.join("servicemonitor.yaml"),
        "honorLabels: true",
        "honorLabels: false",
    );
    std::fs::remove_file(live.join("prometheus-rules.yaml")).unwrap();

    // The dump now holds no PrometheusRule at all: nothing says it was deleted rather
    // than not dumped, so it is not observed, and the gate fails with exit 2...
    let undeclared = check(&deploy_dir(), &live);
    assert_eq!(undeclared.code, 2, "{}", undeclared.stderr);
    assert_eq!(
        undeclared.report["not_observed"][0]["resource_id"],
        "PrometheusRule:driftguard:driftguard"
    );
    // ...until the dump is declared to hold every PrometheusRule: then it is missing.
    let run = check_with(&deploy_dir(), &live, &["--resource-type", "PrometheusRule"]);
    assert_eq!(run.code, 1, "{}\n{}", run.report, run.stderr);
    let drifted: BTreeSet<(String, String)> = run.report["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["drift_detected"] == true)
        .flat_map(|r| {
            let id = r["resource_id"].as_str().unwrap().to_owned();
            r["drift_types"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |t| (id.clone(), t.as_str().unwrap().to_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("ClusterRole::driftguard-reader", "Other"),
        ("Deployment:driftguard:driftguard", "VersionChange"),
        ("PrometheusRule:driftguard:driftguard", "Missing"),
        ("ServiceMonitor:driftguard:driftguard", "Other"),
    ]
    .into_iter()
    .map(|(id, t)| (id.to_owned(), t.to_owned()))
    .collect();
    assert_eq!(drifted, expected, "{}", run.report);
    let summary = &run.report["summary"];
    assert_eq!(summary["in_sync"], 7, "{summary}");
    assert_eq!(summary["missing"], 1, "{summary}");
}
