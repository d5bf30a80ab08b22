//! `docs/rbac.yaml` grants exactly what the Kubernetes source needs for its default types:
//! `get`, `list` and `watch`, and nothing else; Secrets never across the cluster (they
//! take a Role per namespace, which the file documents), and `get` on the discovery and
//! OpenAPI documents.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

use driftguard_core::secret::FingerprintKey;
use driftguard_sources::kube::{DEFAULT_RESOURCE_TYPES, KubeSourceConfig};
use driftguard_sources::{ManifestLimits, ManifestReader};
use serde_json::Value;

#[test]
fn the_cluster_role_grants_read_verbs_on_the_default_types_only() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rbac.yaml");
    let reader = ManifestReader::new(FingerprintKey::derive("rbac"), ManifestLimits::DESIRED);
    let objects = reader
        .read_file(&path)
        .expect("docs/rbac.yaml is valid YAML");
    let role = objects
        .iter()
        .find(|r| r.id.kind() == "ClusterRole")
        .expect("a ClusterRole");
    let binding = objects
        .iter()
        .find(|r| r.id.kind() == "ClusterRoleBinding")
        .expect("a ClusterRoleBinding");
    assert_eq!(
        binding.object.to_value()["roleRef"]["name"],
        role.object.to_value()["metadata"]["name"]
    );

    let mut granted = BTreeSet::new();
    for rule in role.object.to_value()["rules"].as_array().expect("rules") {
        if let Some(urls) = rule.get("nonResourceURLs").and_then(Value::as_array) {
            assert_eq!(rule["verbs"], serde_json::json!(["get"]), "{rule}");
            for url in urls {
                let url = url.as_str().unwrap();
                assert!(
                    ["/api", "/apis", "/openapi/v3", "/version"]
                        .iter()
                        .any(|prefix| url == *prefix || url.starts_with(&format!("{prefix}/"))),
                    "{url}"
                );
            }
            continue;
        }
        let verbs: Vec<&str> = rule["verbs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(verbs, ["get", "list", "watch"], "only read verbs: {rule}");
        assert!(rule.get("resourceNames").is_none_or(Value::is_null));
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                granted.insert(format!(
                    "{}/{}",
                    group.as_str().unwrap(),
                    resource.as_str().unwrap()
                ));
            }
        }
    }
    let expected: BTreeSet<String> = ["/configmaps", "/services", "apps/deployments"]
        .map(str::to_owned)
        .into();
    assert_eq!(granted, expected);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("kind: Role\n") && text.contains(r#"resources: ["secrets"]"#),
        "the per-namespace Role for Secrets is documented"
    );

    // The rules follow the defaults the source reads.
    assert_eq!(
        KubeSourceConfig::default().resource_types,
        DEFAULT_RESOURCE_TYPES
            .iter()
            .map(|t| (*t).to_owned())
            .collect::<Vec<_>>()
    );
    for plural in DEFAULT_RESOURCE_TYPES.iter().filter(|p| **p != "secrets") {
        assert!(
            granted.iter().any(|g| g.ends_with(&format!("/{plural}"))),
            "{plural} is not granted"
        );
    }
}
