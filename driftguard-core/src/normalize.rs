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

use crate::k8s::fields::{
    is_int_or_string_field, is_meaningful_empty_map, is_quantity_field, is_quantity_map,
    is_set_list, is_user_map,
};
use crate::k8s::metadata::{
    DEFAULT_IGNORED_ANNOTATIONS, DEFAULT_IGNORED_LABELS, HELM_MANAGED_BY, SERVER_METADATA,
};
use crate::k8s::schema::{Format, ListType, SchemaCursor, builtin};
use crate::quantity::canonical_quantity;
pub use crate::scalar::is_empty_value;

pub mod server_written;
pub mod versions;

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

/// Canonicalises `object` without copying it, by the bundled schema of its kind.
pub fn canonicalize_in_place(object: &mut Value, options: &CanonicalOptions) {
    let api_version = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let schema = builtin().cursor(api_version, kind);
    canonicalize_with_schema(object, options, schema);
}

/// Canonicalises `object` without copying it; `schema` describes it (the cluster's, a
/// CRD's, or the bundled schema), and where it says nothing, the tables decide.
pub fn canonicalize_with_schema(
    object: &mut Value,
    options: &CanonicalOptions,
    schema: SchemaCursor<'_>,
) {
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
    canonical_node(object, None, None, 0, &context, schema);
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
    name == HELM_MANAGED_BY.0 && value.as_str() == Some(HELM_MANAGED_BY.1)
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

fn canonical_node(
    value: &mut Value,
    key: Option<&str>,
    parent: Option<&str>,
    depth: usize,
    context: &Context<'_>,
    schema: SchemaCursor<'_>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(map) => {
            let user_map = key.is_some_and(|k| is_user_map(context.kind, parent, k, depth));
            let quantity_map = !schema.is_known() && key.is_some_and(is_quantity_map);
            for (child_key, child) in map.iter_mut() {
                if user_map {
                    stringify_scalar(child);
                } else if quantity_map && !child.is_object() && !child.is_array() {
                    canonical_quantity_in_place(child);
                } else {
                    let child_schema = schema.field(child_key);
                    canonical_node(
                        child,
                        Some(child_key),
                        key,
                        depth + 1,
                        context,
                        child_schema,
                    );
                }
            }
            if user_map {
                map.retain(|_, v| !v.is_null());
            } else {
                map.retain(|k, v| {
                    !is_empty_value(v) || (v.is_object() && is_meaningful_empty_map(k))
                });
            }
        }
        Value::Array(items) => {
            let item_schema = schema.item();
            for item in items.iter_mut() {
                canonical_node(item, key, parent, depth + 1, context, item_schema);
            }
            let set = match schema.list_type() {
                Some(list) => list == ListType::Set,
                None => key.is_some_and(|k| is_set_list(context.kind, k)),
            };
            if set {
                items.sort_by_cached_key(Value::to_string);
            }
        }
        Value::Number(number) => {
            if let Some(integral) = integral_number(number) {
                *number = integral;
            }
            if scalar_format(schema, key, parent) == Some(Format::Quantity) {
                canonical_quantity_in_place(value);
            }
        }
        Value::String(text) => match scalar_format(schema, key, parent) {
            Some(Format::IntOrString) => {
                if let Ok(port) = text.parse::<u64>() {
                    *value = Value::Number(port.into());
                }
            }
            Some(Format::Quantity) => canonical_quantity_in_place(value),
            None => {}
        },
        Value::Bool(_) | Value::Null => {}
    }
}

/// Whether the scalar at `key` is a quantity or an int-or-string: as the schema says
/// where it describes the field, else as the tables say.
fn scalar_format(
    schema: SchemaCursor<'_>,
    key: Option<&str>,
    parent: Option<&str>,
) -> Option<Format> {
    if schema.is_known() {
        return schema.format();
    }
    let key = key?;
    if is_int_or_string_field(key) {
        Some(Format::IntOrString)
    } else if is_quantity_field(key, parent) {
        Some(Format::Quantity)
    } else {
        None
    }
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
