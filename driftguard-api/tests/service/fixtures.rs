//! Kubernetes objects of the tests: a shop with two Deployments and a billing ConfigMap.

use driftguard_core::{DesiredSnapshot, LiveSnapshot, Resource, ResourceId};
use serde_json::json;

pub const REVISION: &str = "4f2a9c1e";

pub fn web_id() -> ResourceId {
    ResourceId::namespaced("Deployment", "shop", "web")
}

pub fn deployment(name: &str, replicas: u64, image: &str) -> Resource {
    Resource::from_object(
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "shop", "labels": {"app": name}},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": name, "image": image}]}}}
        }),
        None,
    )
    .expect("a valid Deployment")
}

pub fn config_map(mode: &str) -> Resource {
    Resource::from_object(
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "billing"},
            "data": {"mode": mode}
        }),
        None,
    )
    .expect("a valid ConfigMap")
}

/// What Git declares.
pub fn desired() -> DesiredSnapshot {
    DesiredSnapshot {
        resources: vec![
            deployment("web", 3, "nginx:1.25.3"),
            deployment("api", 2, "shop/api:1.0"),
            config_map("fast"),
        ],
        revision: Some(REVISION.to_owned()),
        render: None,
    }
}

/// A cluster that matches Git.
pub fn live_in_sync() -> LiveSnapshot {
    LiveSnapshot::complete(desired().resources)
}

/// A cluster where web was scaled and given another image (Scaling, Medium;
/// VersionChange, High), and the billing ConfigMap was edited (ConfigurationChange, Medium).
pub fn live_drifted() -> LiveSnapshot {
    LiveSnapshot::complete(vec![
        deployment("web", 5, "nginx:1.27.0"),
        deployment("api", 2, "shop/api:1.0"),
        config_map("slow"),
    ])
}

/// A cluster where only web was scaled.
pub fn live_web_scaled() -> LiveSnapshot {
    LiveSnapshot::complete(vec![
        deployment("web", 5, "nginx:1.25.3"),
        deployment("api", 2, "shop/api:1.0"),
        config_map("fast"),
    ])
}
