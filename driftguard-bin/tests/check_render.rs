//! `driftguard check` on repositories as GitOps teams keep them: Kustomize overlays
//! (real Kustomize), Helm charts (Helm's own engine), plain folders that leave the
//! namespace to the deploy tool, and what happens when rendering fails or yields nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

use driftguard_test_support::check::CheckRun;
use driftguard_test_support::git::TestRepo;
use driftguard_test_support::helm::helm_bin_dir;
use driftguard_test_support::python::workspace_root;
use serde_json::{Value, json};

fn fixture(path: &str) -> PathBuf {
    workspace_root().join("tests/render").join(path)
}

/// `PATH` with the test `helm` command first.
fn path_with_helm() -> OsString {
    let mut paths = vec![helm_bin_dir()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

/// An argument, from a `&str` or a path.
fn os(value: impl AsRef<OsStr>) -> OsString {
    value.as_ref().to_owned()
}

fn check(args: &[OsString]) -> CheckRun {
    Command::new(env!("CARGO_BIN_EXE_driftguard"))
        .arg("check")
        .args(args)
        .args(["--output", "json"])
        .env("PATH", path_with_helm())
        .env("DRIFTGUARD_FINGERPRINT_KEY", "render check tests")
        .env_remove("KUBECONFIG")
        .output()
        .expect("driftguard runs")
        .into()
}

/// What `kubectl kustomize FOLDER` prints: the objects `kubectl apply -k` creates.
fn kustomize(folder: &Path) -> String {
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(folder)
        .output()
        .expect("kubectl runs (scripts/test.sh installs it when missing)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A live dump folder holding `yaml`.
fn live(yaml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dump.yaml"), yaml).unwrap();
    let path = dir.path().to_owned();
    (dir, path)
}

#[test]
fn an_overlay_is_compared_as_kustomize_renders_it() {
    let overlay = fixture("shop/overlays/prod");
    // The cluster as `kubectl apply -k` left it, then scaled by hand.
    let applied = kustomize(&overlay);
    assert!(applied.contains("replicas: 3"), "{applied}");
    let (_dir, live_dir) = live(&applied.replace("replicas: 3", "replicas: 5"));
    let run = check(&[
        os("--desired"),
        os(&overlay),
        os("--live-dir"),
        os(&live_dir),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.report();
    assert_eq!(report["summary"]["resources"], 7, "{report}");
    assert_eq!(report["summary"]["drifted"], 1, "{report}");
    assert_eq!(report["summary"]["in_sync"], 6, "{report}");
    let deployment = run.record("Deployment:shop:prod-web");
    assert_eq!(deployment["drift_types"], json!(["Scaling"]));
    assert_eq!(deployment["drifts"][0]["desired"], 3);
    assert_eq!(deployment["drifts"][0]["live"], 5);
    assert_eq!(deployment["application"], "default");
    assert!(
        run.ids()
            .contains(&"ClusterRole::prod-shop-reader".to_owned())
    );
    assert!(
        run.ids()
            .iter()
            .any(|id| id.starts_with("Secret:shop:prod-web-secret-")),
        "{:?}",
        run.ids()
    );
    // The generated Secret's value never shows, in plaintext or base64.
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains("prod-api-key-do-not-show"));
        assert!(!text.contains("cHJvZC1hcGkta2V5LWRvLW5vdC1zaG93"));
    }
}

#[test]
fn a_repository_root_is_its_overlays_and_the_base_is_not_missing() {
    let applied = format!(
        "{}---\n{}",
        kustomize(&fixture("shop/overlays/prod")),
        kustomize(&fixture("shop/overlays/staging"))
    );
    let (_dir, live_dir) = live(&applied);
    let run = check(&[
        os("--desired"),
        os(fixture("shop")),
        os("--live-dir"),
        os(&live_dir),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["summary"]["resources"], 11, "{report}");
    assert_eq!(report["summary"]["missing"], 0, "{report}");
    assert!(
        !run.ids().iter().any(|id| id.contains(":default:")),
        "{:?}",
        run.ids()
    );
}

#[test]
fn the_gitops_example_reports_the_hand_scaled_overlay_alone() {
    let examples = workspace_root().join("examples/gitops");
    let run = check(&[
        os("--desired"),
        os(examples.join("apps")),
        os("--live-dir"),
        os(examples.join("live")),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.report();
    assert_eq!(report["summary"]["resources"], 6, "{report}");
    assert_eq!(report["summary"]["drifted"], 1, "{report}");
    assert_eq!(
        run.record("Deployment:storefront-prod:storefront")["drift_types"],
        json!(["Scaling"])
    );
    let run = check(&[
        os("--desired"),
        os(examples.join("platform")),
        os("--target-namespace"),
        os("platform"),
        os("--live-dir"),
        os(examples.join("live")),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.record("ConfigMap:platform:platform-settings")["drift_types"],
        json!(["ConfigurationChange"])
    );
}

#[test]
fn plain_mode_reads_an_overlay_as_raw_files() {
    let (_dir, live_dir) = live(&kustomize(&fixture("shop/overlays/prod")));
    let run = check(&[
        os("--desired"),
        os(fixture("shop/overlays/prod")),
        os("--render"),
        os("plain"),
        os("--live-dir"),
        os(&live_dir),
    ]);
    // The patch file, read raw, is a Deployment `web` in `default` that nobody applied.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.record("Deployment:default:web")["drift_types"],
        json!(["Missing"])
    );
}

#[test]
fn an_overlay_in_git_is_rendered_at_the_commit() {
    let repo = TestRepo::new();
    repo.copy_tree(&fixture("shop"), "apps/shop");
    let head = repo.commit("the shop overlays");
    let (_dir, live_dir) = live(&kustomize(&fixture("shop/overlays/prod")));
    let run = check(&[
        os("--desired"),
        os(repo.file_url()),
        os("--path"),
        os("apps/shop/overlays/prod"),
        os("--live-dir"),
        os(&live_dir),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report = run.report();
    assert_eq!(report["revision"], head.as_str());
    assert_eq!(report["summary"]["in_sync"], 7, "{report}");
}

/// The billing chart as the cluster holds it after `helm install billing -n billing
/// -f values-prod.yaml --set image.tag=2.4.1` (hooks deleted by Helm after they ran).
fn billing_live() -> Value {
    let labels = json!({
        "app.kubernetes.io/name": "billing",
        "app.kubernetes.io/instance": "billing",
        "app.kubernetes.io/managed-by": "Helm"
    });
    json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
         "metadata": {"name": "invoices.billing.example.com"},
         "spec": {"group": "billing.example.com", "scope": "Namespaced",
            "names": {"kind": "Invoice", "plural": "invoices", "singular": "invoice",
                "listKind": "InvoiceList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object",
                    "x-kubernetes-preserve-unknown-fields": true}}}]}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "billing-config", "namespace": "billing", "labels": labels},
         "data": {"LOG_LEVEL": "warn", "CURRENCY": "EUR", "RELEASE_NAMESPACE": "billing"}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "billing", "namespace": "billing", "labels": labels},
         "spec": {"replicas": 3,
            "selector": {"matchLabels": {"app.kubernetes.io/instance": "billing"}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/instance": "billing"}},
                "spec": {"containers": [{"name": "billing",
                    "image": "ghcr.io/example/billing:2.4.1",
                    "envFrom": [{"configMapRef": {"name": "billing-config"}}]}]}}}}
    ]})
}

fn billing_check(extra: &[&str]) -> CheckRun {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dump.json"), billing_live().to_string()).unwrap();
    let mut args = vec![
        os("--desired"),
        os(fixture("charts/billing")),
        os("--helm-values"),
        os(fixture("charts/billing/values-prod.yaml")),
        os("--live-dir"),
        os(dir.path()),
    ];
    args.extend(extra.iter().map(os));
    check(&args)
}

#[test]
fn a_chart_is_compared_as_helm_renders_it_in_the_destination_namespace() {
    let run = billing_check(&[
        "--target-namespace",
        "billing",
        "--helm-set",
        "image.tag=2.4.1",
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.ids(),
        [
            "ConfigMap:billing:billing-config",
            "CustomResourceDefinition::invoices.billing.example.com",
            "Deployment:billing:billing",
        ],
        "the hook Job is not tracked, the CRD stays cluster-scoped"
    );

    // Another --set value is a drift of the image.
    let run = billing_check(&[
        "--target-namespace",
        "billing",
        "--helm-set",
        "image.tag=2.5.0",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let deployment = run.record("Deployment:billing:billing");
    assert_eq!(deployment["drift_types"], json!(["VersionChange"]));
    assert_eq!(
        deployment["drifts"][0]["desired"],
        "ghcr.io/example/billing:2.5.0"
    );

    // Without the destination namespace the chart lands in `default`, where the cluster
    // has nothing.
    let run = billing_check(&["--helm-set", "image.tag=2.4.1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.record("Deployment:default:billing")["drift_types"],
        json!(["Missing"])
    );
}

#[test]
fn a_plain_folder_takes_the_destination_namespace_for_namespaced_objects_only() {
    let live_yaml = "\
apiVersion: v1
kind: ConfigMap
metadata: {name: tools-settings, namespace: tools}
data: {RETENTION: 7d}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: tools, namespace: tools}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: tools-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: tools, namespace: tools}]
";
    let (_dir, live_dir) = live(live_yaml);
    let folder = fixture("plain-tools");
    let run = check(&[
        os("--desired"),
        os(&folder),
        os("--target-namespace"),
        os("tools"),
        os("--live-dir"),
        os(&live_dir),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.ids(),
        [
            "ClusterRoleBinding::tools-reader",
            "ConfigMap:tools:tools-settings",
            "ServiceAccount:tools:tools",
        ]
    );
    // Without it, `default`, as `kubectl apply` without -n.
    let run = check(&[
        os("--desired"),
        os(&folder),
        os("--live-dir"),
        os(&live_dir),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.record("ConfigMap:default:tools-settings")["drift_types"],
        json!(["Missing"])
    );
}

#[test]
fn a_failed_render_exits_2_with_one_line_naming_the_folder_and_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("overlays/prod");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("kustomization.yaml"),
        "resources: [deployment.yaml]\n",
    )
    .unwrap();
    let (_live, live_dir) = live("");
    let run = check(&[os("--desired"), os(&app), os("--live-dir"), os(&live_dir)]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    let error = run.error();
    assert!(error.starts_with("driftguard: error: "), "{}", run.stderr);
    assert!(error.contains("overlays/prod"), "{error}");
    assert!(error.contains("deployment.yaml"), "{error}");
}

#[test]
fn an_overlay_that_renders_nothing_exits_2_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("overlays/empty");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("kustomization.yaml"), "resources: []\n").unwrap();
    let (_live, live_dir) = live("");
    let run = check(&[os("--desired"), os(&app), os("--live-dir"), os(&live_dir)]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.error().contains("no Kubernetes objects found"),
        "{}",
        run.stderr
    );
    assert!(run.error().contains("overlays/empty"), "{}", run.stderr);
    let run = check(&[
        os("--desired"),
        os(&app),
        os("--allow-empty"),
        os("--live-dir"),
        os(&live_dir),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn helm_flags_need_a_chart() {
    let (_live, live_dir) = live("");
    let run = check(&[
        os("--desired"),
        os(fixture("shop/overlays/prod")),
        os("--render"),
        os("kustomize"),
        os("--helm-set"),
        os("a=b"),
        os("--live-dir"),
        os(&live_dir),
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.error().contains("--render helm or auto"),
        "{}",
        run.stderr
    );
    let run = check(&[
        os("--desired"),
        os(fixture("charts/billing")),
        os("--helm-values"),
        os("no-such-values.yaml"),
        os("--live-dir"),
        os(&live_dir),
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.error().contains("no-such-values.yaml"),
        "{}",
        run.stderr
    );
}
