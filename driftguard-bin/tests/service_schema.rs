//! `driftguard serve` comparing custom resources by the schema the cluster publishes at
//! `/openapi/v3` (kmock on 127.0.0.1), with no CustomResourceDefinition in Git: the
//! desired state holds only the custom resource, so only the cluster's schema can say
//! that `size` is a quantity, that `listeners` are keyed by `name` and that `mode`
//! defaults to `Fast`. The same cluster without OpenAPI v3 (a server before 1.24) shows
//! what DriftGuard would report without that knowledge.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use driftguard_test_support::kube::KmockServer;
use driftguard_test_support::service::ServiceProcess;
use serde_json::{Value, json};

const WIDGET: &str = "\
apiVersion: example.io/v1
kind: Widget
metadata:
  name: cache
  namespace: shop
spec:
  size: 12000m
  listeners:
    - name: http
      port: 80
    - name: https
      port: 443
";

/// What controller-gen writes for a `resource.Quantity` field.
fn quantity() -> Value {
    json!({
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "pattern": "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
        "x-kubernetes-int-or-string": true
    })
}

fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.io"},
        "spec": {"group": "example.io", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "size": quantity(),
                        "mode": {"type": "string", "default": "Fast"},
                        "listeners": {"type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name"],
                            "items": {"type": "object", "required": ["name"], "properties": {
                                "name": {"type": "string"},
                                "port": {"type": "integer"}}}}}}}}}}]}
    })
}

/// The Widget as the API server keeps it after a defaulting webhook respelled the size:
/// `mode` filled in from the schema, the listeners in another order, and `mode` later
/// set to its default value again by hand (so a hand-edit tool owns it).
fn live_widget() -> Value {
    json!({
        "apiVersion": "example.io/v1", "kind": "Widget",
        "metadata": {"name": "cache", "namespace": "shop", "generation": 2,
            "managedFields": [
                {"manager": "kubectl-client-side-apply", "operation": "Update",
                 "apiVersion": "example.io/v1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:size": {}, "f:listeners": {
                     "k:{\"name\":\"http\"}": {".": {}, "f:name": {}, "f:port": {}},
                     "k:{\"name\":\"https\"}": {".": {}, "f:name": {}, "f:port": {}}}}}},
                {"manager": "kubectl-edit", "operation": "Update",
                 "apiVersion": "example.io/v1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:mode": {}}}}]},
        "spec": {"size": "12", "mode": "Fast",
            "listeners": [{"name": "https", "port": 443}, {"name": "http", "port": 80}]}
    })
}

fn write_config(dir: &Path, cluster: &KmockServer) -> std::path::PathBuf {
    let desired = dir.join("desired");
    std::fs::create_dir_all(&desired).unwrap();
    std::fs::write(desired.join("widget.yaml"), WIDGET).unwrap();
    let config = format!(
        "\
logging:
  level: info
  format: json
database:
  path: {database}
sources:
  desired: folder
  folder: {desired}
  live: kubernetes
kubernetes:
  kubeconfig: {kubeconfig}
  namespaces: [shop]
  resource_types: [example.io/v1/widgets]
detection:
  interval: 1h
  periodic: true
  watch: false
  fingerprint_key: schema test key
",
        database = dir.join("driftguard.db").display(),
        desired = desired.display(),
        kubeconfig = cluster.kubeconfig().display(),
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, config).unwrap();
    path
}

/// The Widget's record after the first analysis of a cluster seeded with `seed`.
fn widget_record(seed: &Value) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let cluster = KmockServer::start(seed);
    let config = write_config(dir.path(), &cluster);
    let mut driftguard =
        ServiceProcess::start(Path::new(env!("CARGO_BIN_EXE_driftguard")), &config, &[]);
    driftguard.wait_for("/ready", |d| d.get("/ready").1["status"] == "ready");
    let record = driftguard.record("Widget:shop:cache");
    driftguard.terminate();
    record
}

#[test]
fn custom_resources_are_compared_by_the_schema_the_cluster_publishes() {
    let record = widget_record(&json!({"objects": [widget_crd(), live_widget()]}));
    assert_eq!(record["drift_detected"], false, "{record}");
    assert_eq!(record["drift_status"], "none", "{record}");
}

#[test]
fn without_openapi_v3_the_same_widget_looks_drifted() {
    let record =
        widget_record(&json!({"openapi": false, "objects": [widget_crd(), live_widget()]}));
    assert_eq!(record["drift_detected"], true, "{record}");
    let paths: Vec<&str> = record["drifts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    // The quantity compared as text, the listeners by position, and the default the
    // hand edit wrote taken for an edit.
    assert!(paths.contains(&"spec.size"), "{record}");
    assert!(
        paths.iter().any(|p| p.starts_with("spec.listeners")),
        "{record}"
    );
    assert!(paths.contains(&"spec.mode"), "{record}");
}
