//! Canonicalisation: one form for both sides, so that only real differences remain.
//!
//! What is removed or rewritten (DESIGN.md §4, rule 1): `status`; metadata the API server
//! writes; controller annotations and labels; the namespace (identity already pairs it);
//! Secret `stringData` folded into `data`; `null`, `""`, `[]` and `{}` values; Kubernetes
//! quantities in one spelling; int-or-string fields as numbers; integral floats as integers;
//! set-like lists in a stable order; and what controllers write into particular kinds
//! (see [`server_written`]).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Number, Value};

use crate::quantity::canonical_quantity;

pub mod server_defaults;
pub mod server_written;
pub mod versions;

/// Metadata fields the API server writes and nobody declares.
pub const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "namespace",
];

/// The annotation in which `kubectl apply` keeps the last applied manifest.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Annotations written by controllers; a trailing `*` matches a prefix.
pub const DEFAULT_IGNORED_ANNOTATIONS: &[&str] = &[
    LAST_APPLIED_ANNOTATION,
    "deployment.kubernetes.io/revision",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "control-plane.alpha.kubernetes.io/leader",
    "endpoints.kubernetes.io/last-change-trigger-time",
    "kubernetes.io/service-account.uid",
    "pv.kubernetes.io/*",
    "volume.kubernetes.io/*",
    "volume.beta.kubernetes.io/*",
    // The DaemonSet registry stamps every DaemonSet with its template generation.
    "deprecated.daemonset.template.generation",
    // Job tracking marker written by the Job controller (1.23 to 1.26).
    "batch.kubernetes.io/job-tracking",
    // An autoscaling/v2 HPA read at autoscaling/v1 carries its v2 status here.
    "autoscaling.alpha.kubernetes.io/conditions",
    "autoscaling.alpha.kubernetes.io/current-metrics",
    // Deployment tools record ownership in annotations that are not in Git.
    "meta.helm.sh/*",
    "argocd.argoproj.io/tracking-id",
    // Controllers of common platforms record status in annotations: GKE's network
    // endpoint groups, MetalLB's address pool, Rancher's endpoints.
    "cloud.google.com/neg",
    "cloud.google.com/neg-status",
    "metallb.universe.tf/ip-allocated-from-pool",
    "metallb.io/ip-allocated-from-pool",
    // Cloud load balancer controllers record what they built on the Service.
    "kubernetes.digitalocean.com/load-balancer-id",
    "loadbalancer.openstack.org/load-balancer-id",
    "service.kubernetes.io/backend-service",
    "service.kubernetes.io/firewall-rule*",
    "service.kubernetes.io/healthcheck",
    "service.kubernetes.io/tcp-forwarding-rule*",
    "service.kubernetes.io/udp-forwarding-rule*",
    "field.cattle.io/publicEndpoints",
    // The GCE ingress controller records the load balancer it built.
    "ingress.kubernetes.io/backends",
    "ingress.kubernetes.io/forwarding-rule",
    "ingress.kubernetes.io/https-forwarding-rule",
    "ingress.kubernetes.io/target-proxy",
    "ingress.kubernetes.io/https-target-proxy",
    "ingress.kubernetes.io/url-map",
    "ingress.kubernetes.io/ssl-cert",
    // The LimitRange admission plugin notes on each Pod which defaults it set.
    "kubernetes.io/limit-ranger",
    // GKE Autopilot's admission records how it adjusted requests.
    "autopilot.gke.io/*",
    // From 1.30 the API server mirrors a Pod's AppArmor fields into these annotations.
    // (Only an object's own annotations are filtered: a pod template's stay compared.)
    "container.apparmor.security.beta.kubernetes.io/*",
];

/// Labels written by the API server or controllers; a trailing `*` matches a prefix.
pub const DEFAULT_IGNORED_LABELS: &[&str] = &[
    "kubernetes.io/metadata.name",
    "pod-template-hash",
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    // Flux records the Kustomization or HelmRelease that applied an object.
    "kustomize.toolkit.fluxcd.io/*",
    "helm.toolkit.fluxcd.io/*",
    // The API server marks service account token Secrets when they are used, and when
    // it invalidates unused ones.
    "kubernetes.io/legacy-token-last-used",
    "kubernetes.io/legacy-token-invalid-since",
];

/// Map keys whose scalar values are Kubernetes quantities.
const QUANTITY_MAPS: &[&str] = &[
    "limits",
    "requests",
    "hard",
    "capacity",
    "allocatable",
    "overhead",
    "default",
    "defaultRequest",
    "max",
    "min",
    "maxLimitRequestRatio",
    "podFixed",
    "minAllowed",
    "maxAllowed",
];

/// Scalar fields whose value is itself a quantity.
const QUANTITY_FIELDS: &[&str] = &[
    "sizeLimit",
    "divisor",
    "averageValue",
    "capacity",
    "maximumVolumeSize",
];

/// Scalar fields that are quantities only inside a map with this key: an HPA metric's
/// `target.value`, where elsewhere `value` is free text (an env var's value).
const QUANTITY_FIELDS_IN: &[(&str, &str)] = &[("target", "value"), ("current", "value")];

/// Fields that Kubernetes accepts as an integer or a string.
const INT_OR_STRING_FIELDS: &[&str] = &[
    "targetPort",
    "port",
    "maxSurge",
    "maxUnavailable",
    "minAvailable",
];

/// Empty maps that still mean something: `emptyDir: {}` selects the volume type.
const MEANINGFUL_EMPTY_MAPS: &[&str] = &["emptyDir"];

/// Recursion stops here; deeper input is compared as it is.
const MAX_DEPTH: usize = 200;

/// What canonicalisation drops besides the fixed server metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct CanonicalOptions {
    /// Annotation names to drop (exact, or a prefix ending in `*`).
    pub ignored_annotations: Vec<String>,
    /// Label names to drop (exact, or a prefix ending in `*`).
    pub ignored_labels: Vec<String>,
}

impl Default for CanonicalOptions {
    fn default() -> Self {
        Self {
            ignored_annotations: DEFAULT_IGNORED_ANNOTATIONS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            ignored_labels: DEFAULT_IGNORED_LABELS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        }
    }
}

fn name_matches(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => p == name,
    })
}

/// A canonical copy of `object`.
pub fn canonicalize(object: &Value, options: &CanonicalOptions) -> Value {
    let mut copy = object.clone();
    canonicalize_in_place(&mut copy, options);
    copy
}

/// Canonicalises `object` without copying it.
pub fn canonicalize_in_place(object: &mut Value, options: &CanonicalOptions) {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
            strip_metadata(metadata, options);
        }
        if kind == "Secret" {
            fold_string_data(map);
        }
        server_written::remove(&kind, map);
    }
    let context = Context { kind: &kind };
    canonical_node(object, None, None, 0, &context);
}

fn strip_metadata(metadata: &mut Map<String, Value>, options: &CanonicalOptions) {
    for field in SERVER_METADATA {
        metadata.remove(*field);
    }
    if let Some(Value::Object(annotations)) = metadata.get_mut("annotations") {
        annotations.retain(|name, _| !name_matches(&options.ignored_annotations, name));
    }
    if let Some(Value::Object(labels)) = metadata.get_mut("labels") {
        labels.retain(|name, value| {
            !name_matches(&options.ignored_labels, name) && !is_helm_ownership(name, value)
        });
    }
}

/// Helm 3 labels every object it installs `app.kubernetes.io/managed-by: Helm`, whether the
/// chart's templates (and so Git's rendered manifests) say so or not.
fn is_helm_ownership(name: &str, value: &Value) -> bool {
    name == "app.kubernetes.io/managed-by" && value.as_str() == Some("Helm")
}

fn fold_string_data(map: &mut Map<String, Value>) {
    let Some(Value::Object(string_data)) = map.remove("stringData") else {
        return;
    };
    let data = map
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    if let Some(data) = data.as_object_mut() {
        for (name, value) in string_data {
            let encoded = match value {
                Value::String(text) => STANDARD.encode(text),
                Value::Null => continue,
                other => STANDARD.encode(other.to_string()),
            };
            data.insert(name, Value::String(encoded));
        }
    }
}

struct Context<'a> {
    kind: &'a str,
}

/// Whether the map found at `key` (under `parent`, at `depth`) holds user-chosen keys,
/// where every key matters: labels, annotations, selectors, ConfigMap and Secret data.
pub(crate) fn is_user_map(kind: &str, parent: Option<&str>, key: &str, depth: usize) -> bool {
    match key {
        "labels" | "annotations" => parent == Some("metadata"),
        "nodeSelector" | "matchLabels" => true,
        "selector" => kind == "Service" && parent == Some("spec") && depth == 2,
        "data" | "binaryData" => depth == 1 && matches!(kind, "ConfigMap" | "Secret"),
        _ => false,
    }
}

/// Whether the list found at `key` is a set whose order the server does not keep.
pub(crate) fn is_set_list(kind: &str, key: &str) -> bool {
    kind == "Endpoints" && matches!(key, "addresses" | "notReadyAddresses" | "ports")
}

/// Whether a canonical value counts as absent.
pub fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn canonical_node(
    value: &mut Value,
    key: Option<&str>,
    parent: Option<&str>,
    depth: usize,
    context: &Context<'_>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(map) => {
            let user_map = key.is_some_and(|k| is_user_map(context.kind, parent, k, depth));
            let quantity_map = key.is_some_and(|k| QUANTITY_MAPS.contains(&k));
            for (child_key, child) in map.iter_mut() {
                if user_map {
                    stringify_scalar(child);
                } else if quantity_map && !child.is_object() && !child.is_array() {
                    canonical_quantity_in_place(child);
                } else {
                    canonical_node(child, Some(child_key), key, depth + 1, context);
                }
            }
            if user_map {
                map.retain(|_, v| !v.is_null());
            } else {
                map.retain(|k, v| {
                    !is_empty_value(v)
                        || (v.is_object() && MEANINGFUL_EMPTY_MAPS.contains(&k.as_str()))
                });
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                canonical_node(item, key, parent, depth + 1, context);
            }
            if key.is_some_and(|k| is_set_list(context.kind, k)) {
                items.sort_by_cached_key(Value::to_string);
            }
        }
        Value::Number(number) => {
            if let Some(integral) = integral_number(number) {
                *number = integral;
            }
            if key.is_some_and(|k| is_quantity_field(k, parent)) {
                canonical_quantity_in_place(value);
            }
        }
        Value::String(text) => {
            if let Some(k) = key {
                if INT_OR_STRING_FIELDS.contains(&k) {
                    if let Ok(port) = text.parse::<u64>() {
                        *value = Value::Number(port.into());
                    }
                } else if is_quantity_field(k, parent) {
                    canonical_quantity_in_place(value);
                }
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

fn is_quantity_field(key: &str, parent: Option<&str>) -> bool {
    QUANTITY_FIELDS.contains(&key) || parent.is_some_and(|p| QUANTITY_FIELDS_IN.contains(&(p, key)))
}

fn integral_number(number: &Number) -> Option<Number> {
    let float = number.as_f64().filter(|_| number.is_f64())?;
    if float.fract() == 0.0 && float.abs() < 9.0e15 {
        // The range check keeps the cast exact.
        #[allow(clippy::cast_possible_truncation)]
        Some(Number::from(float as i64))
    } else {
        None
    }
}

fn canonical_quantity_in_place(value: &mut Value) {
    if let Some(canonical) = canonical_quantity(value) {
        *value = Value::String(canonical);
    }
}

fn stringify_scalar(value: &mut Value) {
    match value {
        Value::Number(n) => *value = Value::String(n.to_string()),
        Value::Bool(b) => *value = Value::String(b.to_string()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: Value) -> Value {
        canonicalize(&v, &CanonicalOptions::default())
    }

    #[test]
    fn drops_status_server_metadata_and_controller_annotations() {
        let live = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "uid": "u", "resourceVersion": "1",
                "generation": 3, "creationTimestamp": "2024-01-01T00:00:00Z", "managedFields": [],
                "annotations": {"deployment.kubernetes.io/revision": "4", "team": "a"}},
            "spec": {"replicas": 2},
            "status": {"replicas": 2}
        });
        assert_eq!(
            canon(live),
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "annotations": {"team": "a"}},
                "spec": {"replicas": 2}})
        );
    }

    #[test]
    fn empty_values_are_absent() {
        assert_eq!(
            canon(json!({"kind": "X", "metadata": {"name": "a", "labels": {}},
                "spec": {"a": null, "b": "", "c": [], "d": {"e": {}}, "f": 1}})),
            json!({"kind": "X", "metadata": {"name": "a"}, "spec": {"f": 1}})
        );
    }

    #[test]
    fn quantities_and_int_or_string_are_normalised() {
        let desired = json!({"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{
            "name": "web", "resources": {"limits": {"cpu": 0.5, "memory": "1024Mi"}, "requests": {"cpu": 1}},
            "ports": [{"containerPort": 80.0}],
            "livenessProbe": {"httpGet": {"port": "8080"}}}]}},
            "strategy": {"rollingUpdate": {"maxSurge": "1", "maxUnavailable": "25%"}}}});
        let live = json!({"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{
            "name": "web", "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": "1"}},
            "ports": [{"containerPort": 80}],
            "livenessProbe": {"httpGet": {"port": 8080}}}]}},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}}}});
        assert_eq!(canon(desired), canon(live));
    }

    #[test]
    fn secret_string_data_folds_into_data() {
        let desired = json!({"kind": "Secret", "stringData": {"user": "admin"}});
        let live = json!({"kind": "Secret", "data": {"user": STANDARD.encode("admin")}});
        assert_eq!(canon(desired), canon(live));
    }

    #[test]
    fn user_map_values_keep_empty_strings_and_become_strings() {
        assert_eq!(
            canon(json!({"kind": "ConfigMap", "data": {"empty": "", "n": 1, "b": true}})),
            json!({"kind": "ConfigMap", "data": {"empty": "", "n": "1", "b": "true"}})
        );
    }

    #[test]
    fn endpoint_addresses_are_a_set() {
        let a = json!({"kind": "Endpoints", "subsets": [{"addresses": [{"ip": "10.0.0.2"}, {"ip": "10.0.0.1"}]}]});
        let b = json!({"kind": "Endpoints", "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}]}]});
        assert_eq!(canon(a), canon(b));
    }

    #[test]
    fn ignored_annotation_prefixes() {
        let v = canon(
            json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "d", "annotations": {
            "pv.kubernetes.io/bind-completed": "yes", "keep": "me"}}}),
        );
        assert_eq!(v["metadata"]["annotations"], json!({"keep": "me"}));
    }
}
