//! The values the API server fills in when a manifest leaves a field out.
//!
//! A field only live has is normally a default and not drift. It still counts as drift
//! when the three-way rule or `managedFields` says somebody put it there; but when its value
//! is exactly what the server would fill in anyway, applying Git would leave it as it is,
//! so it is no drift either. That covers a default that Git once spelled out and later
//! dropped, and the defaults an object created by an imperative command (whose manager
//! is not an applier) owns from its creation.
//!
//! Values are compared in canonical form (see [`crate::normalize`]).

use serde_json::{Map, Value, json};

/// Probe fields and their defaults.
const PROBES: &[&str] = &["livenessProbe", "readinessProbe", "startupProbe"];

/// Maps whose keys people choose; nothing in them is ever a default.
const USER_MAPS: &[&str] = &[
    "labels",
    "annotations",
    "nodeSelector",
    "matchLabels",
    "selector",
    "data",
    "binaryData",
];

/// Whether `value`, found at `key` in the map `siblings` (itself found at `parent`) of an
/// object of `kind`, is what the API server fills in when the field is left out.
/// A map is a default when every field in it is.
pub(crate) fn is_server_default(
    kind: &str,
    key: &str,
    parent: Option<&str>,
    value: &Value,
    siblings: &Map<String, Value>,
) -> bool {
    if USER_MAPS.contains(&key) {
        return false;
    }
    if let Value::Object(map) = value {
        if let Some(default) = map_default(kind, key) {
            return *value == default;
        }
        return !map.is_empty()
            && map
                .iter()
                .all(|(k, v)| is_server_default(kind, k, Some(key), v, map));
    }
    scalar_default(kind, key, parent, value, siblings)
}

/// Defaults that are whole maps, compared as one value.
fn map_default(kind: &str, key: &str) -> Option<Value> {
    match (kind, key) {
        ("HorizontalPodAutoscaler", "behavior") => Some(json!({
            "scaleDown": {"policies": [{"periodSeconds": 15, "type": "Percent", "value": 100}],
                "selectPolicy": "Max", "stabilizationWindowSeconds": 300},
            "scaleUp": {"policies": [{"periodSeconds": 15, "type": "Pods", "value": 4},
                {"periodSeconds": 15, "type": "Percent", "value": 100}],
                "selectPolicy": "Max", "stabilizationWindowSeconds": 0}
        })),
        _ => None,
    }
}

fn is_str(value: &Value, expected: &str) -> bool {
    value.as_str() == Some(expected)
}

fn is_int(value: &Value, expected: i64) -> bool {
    value.as_i64() == Some(expected)
}

/// `IfNotPresent`, or `Always` for an image without a tag or tagged `latest`.
fn default_pull_policy(image: Option<&str>) -> &'static str {
    let Some(image) = image else {
        return "IfNotPresent";
    };
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        Some((_, "latest")) | None if !image.contains('@') => "Always",
        _ => "IfNotPresent",
    }
}

fn scalar_default(
    kind: &str,
    key: &str,
    parent: Option<&str>,
    value: &Value,
    siblings: &Map<String, Value>,
) -> bool {
    let in_probe = parent.is_some_and(|p| PROBES.contains(&p));
    match key {
        // Pod spec.
        "dnsPolicy" => is_str(value, "ClusterFirst"),
        "restartPolicy" => is_str(value, "Always"),
        "schedulerName" => is_str(value, "default-scheduler"),
        "terminationGracePeriodSeconds" => is_int(value, 30),
        "serviceAccount" => siblings.get("serviceAccountName") == Some(value),
        "enableServiceLinks" => value == &Value::Bool(true),
        // Containers.
        "imagePullPolicy" => is_str(
            value,
            default_pull_policy(siblings.get("image").and_then(Value::as_str)),
        ),
        "terminationMessagePath" => is_str(value, "/dev/termination-log"),
        "terminationMessagePolicy" => is_str(value, "File"),
        "requests" if parent == Some("resources") => siblings.get("limits") == Some(value),
        // Probes.
        "timeoutSeconds" if in_probe => is_int(value, 1),
        "periodSeconds" if in_probe => is_int(value, 10),
        "successThreshold" if in_probe => is_int(value, 1),
        "failureThreshold" if in_probe => is_int(value, 3),
        "scheme" => is_str(value, "HTTP"),
        "timeoutSeconds" if parent == Some("clientIP") => is_int(value, 10800),
        // Ports and references.
        "protocol" => is_str(value, "TCP"),
        "targetPort" => siblings.get("port") == Some(value),
        "defaultMode" => is_int(value, 420),
        "expirationSeconds" if parent == Some("serviceAccountToken") => is_int(value, 3600),
        "apiVersion" if parent == Some("fieldRef") => is_str(value, "v1"),
        "divisor" => is_str(value, "0"),
        // Workload controllers.
        "replicas" | "minReplicas" => is_int(value, 1),
        "progressDeadlineSeconds" => is_int(value, 600),
        "revisionHistoryLimit" => is_int(value, 10),
        "maxSurge" if kind == "DaemonSet" => is_int(value, 0),
        "maxUnavailable" if kind == "DaemonSet" => is_int(value, 1),
        "maxSurge" | "maxUnavailable" if kind == "Deployment" => is_str(value, "25%"),
        "partition" => is_int(value, 0),
        "type" if matches!(parent, Some("strategy" | "updateStrategy")) => {
            is_str(value, "RollingUpdate")
        }
        "podManagementPolicy" => is_str(value, "OrderedReady"),
        "whenDeleted" | "whenScaled" => is_str(value, "Retain"),
        // Jobs and CronJobs.
        "backoffLimit" => is_int(value, 6),
        "completionMode" => is_str(value, "NonIndexed"),
        "completions" | "parallelism" => is_int(value, 1),
        "suspend" | "manualSelector" => value == &Value::Bool(false),
        "podReplacementPolicy" => is_str(value, "TerminatingOrFailed"),
        "concurrencyPolicy" => is_str(value, "Allow"),
        "successfulJobsHistoryLimit" => is_int(value, 3),
        "failedJobsHistoryLimit" => is_int(value, 1),
        // Services: defaults, and what the server allocates once and never changes.
        "type" if kind == "Service" && parent == Some("spec") => is_str(value, "ClusterIP"),
        "sessionAffinity" => is_str(value, "None"),
        "internalTrafficPolicy" | "externalTrafficPolicy" => is_str(value, "Cluster"),
        "allocateLoadBalancerNodePorts" => value == &Value::Bool(true),
        "ipFamilyPolicy" => is_str(value, "SingleStack"),
        "clusterIP" | "clusterIPs" if kind == "Service" => true,
        // Node ports are allocated like the cluster IP, and an update that leaves them out
        // keeps the allocated ones: applying Git changes nothing.
        "nodePort" if kind == "Service" && parent == Some("ports") => true,
        "healthCheckNodePort" if kind == "Service" => true,
        "ipFamilies" if kind == "Service" => value.as_array().is_some_and(|a| a.len() == 1),
        // Storage.
        "volumeMode" => is_str(value, "Filesystem"),
        "volumeName" | "storageClassName" if kind == "PersistentVolumeClaim" => true,
        "reclaimPolicy" if kind == "StorageClass" => is_str(value, "Delete"),
        "volumeBindingMode" => is_str(value, "Immediate"),
        "apiVersion" if parent == Some("volumeClaimTemplates") => is_str(value, "v1"),
        "kind" if parent == Some("volumeClaimTemplates") => is_str(value, "PersistentVolumeClaim"),
        "phase" if parent == Some("status") => is_str(value, "Pending"),
        // Other kinds.
        "type" if kind == "Secret" && parent.is_none() => is_str(value, "Opaque"),
        "preemptionPolicy" => is_str(value, "PreemptLowerPriority"),
        "finalizers" if kind == "Namespace" && parent == Some("spec") => {
            *value == json!(["kubernetes"])
        }
        "policyTypes" if kind == "NetworkPolicy" => {
            if siblings.contains_key("egress") {
                *value == json!(["Ingress", "Egress"])
            } else {
                *value == json!(["Ingress"])
            }
        }
        "strategy" if parent == Some("conversion") => is_str(value, "None"),
        // A CA bundle that Git leaves out is injected by a controller (cert-manager's
        // cainjector, the service CA operator) into webhooks and conversion settings.
        "caBundle" => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_in(
        kind: &str,
        key: &str,
        parent: Option<&str>,
        value: Value,
        siblings: Value,
    ) -> bool {
        let siblings = siblings.as_object().cloned().unwrap_or_default();
        is_server_default(kind, key, parent, &value, &siblings)
    }

    #[test]
    fn known_defaults() {
        assert!(default_in(
            "Deployment",
            "dnsPolicy",
            Some("spec"),
            json!("ClusterFirst"),
            json!({})
        ));
        assert!(default_in(
            "Deployment",
            "strategy",
            Some("spec"),
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
            json!({})
        ));
        assert!(default_in(
            "DaemonSet",
            "updateStrategy",
            Some("spec"),
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}),
            json!({})
        ));
        assert!(default_in(
            "Deployment",
            "periodSeconds",
            Some("readinessProbe"),
            json!(10),
            json!({})
        ));
        assert!(default_in(
            "Service",
            "targetPort",
            Some("ports"),
            json!(80),
            json!({"port": 80})
        ));
        assert!(default_in(
            "Deployment",
            "imagePullPolicy",
            Some("containers"),
            json!("Always"),
            json!({"image": "nginx"})
        ));
        assert!(default_in(
            "Deployment",
            "imagePullPolicy",
            Some("containers"),
            json!("Always"),
            json!({"image": "nginx:latest"})
        ));
        assert!(default_in(
            "Deployment",
            "imagePullPolicy",
            Some("containers"),
            json!("IfNotPresent"),
            json!({"image": "registry:5000/nginx:1.27"})
        ));
    }

    #[test]
    fn allocated_node_ports_are_defaults_of_services_only() {
        let port = json!({"port": 80, "protocol": "TCP", "nodePort": 31380});
        assert!(default_in(
            "Service",
            "nodePort",
            Some("ports"),
            json!(31380),
            port.clone()
        ));
        assert!(default_in(
            "Service",
            "healthCheckNodePort",
            Some("spec"),
            json!(32012),
            json!({"type": "LoadBalancer"})
        ));
        // Outside a Service a `nodePort` is somebody's setting.
        assert!(!default_in(
            "Widget",
            "nodePort",
            Some("ports"),
            json!(31380),
            port
        ));
    }

    #[test]
    fn other_values_are_not_defaults() {
        assert!(!default_in(
            "Deployment",
            "periodSeconds",
            Some("readinessProbe"),
            json!(3),
            json!({})
        ));
        assert!(!default_in(
            "Deployment",
            "periodSeconds",
            Some("policies"),
            json!(10),
            json!({})
        ));
        assert!(!default_in(
            "Deployment",
            "strategy",
            Some("spec"),
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}),
            json!({})
        ));
        assert!(!default_in(
            "Deployment",
            "imagePullPolicy",
            Some("containers"),
            json!("Always"),
            json!({"image": "nginx:1.27"})
        ));
        assert!(!default_in(
            "Service",
            "targetPort",
            Some("ports"),
            json!(8080),
            json!({"port": 80})
        ));
        assert!(!default_in(
            "NetworkPolicy",
            "policyTypes",
            Some("spec"),
            json!(["Ingress", "Egress"]),
            json!({})
        ));
        assert!(!default_in(
            "Deployment",
            "nodeSelector",
            Some("spec"),
            json!({"disk": "ssd"}),
            json!({})
        ));
        // A label that shares a default's name and value is still a label.
        assert!(!default_in(
            "Deployment",
            "labels",
            Some("metadata"),
            json!({"protocol": "TCP"}),
            json!({})
        ));
    }
}
