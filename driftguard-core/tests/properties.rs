//! Properties of canonicalisation and hashing that must hold for any object.

use driftguard_core::diff::{LastApplied, WalkContext, diff_objects};
use driftguard_core::hash::content_hash;
use driftguard_core::k8s::schema::SchemaCursor;
use driftguard_core::managed::{ManagerPolicy, Owners};
use driftguard_core::normalize::{CanonicalOptions, canonicalize};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Arbitrary JSON, with keys and scalars drawn from Kubernetes-like vocabularies so that
/// the contextual rules (quantities, ports, user maps, empties) are exercised.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("metadata".to_owned()),
        Just("labels".to_owned()),
        Just("annotations".to_owned()),
        Just("spec".to_owned()),
        Just("status".to_owned()),
        Just("limits".to_owned()),
        Just("requests".to_owned()),
        Just("targetPort".to_owned()),
        Just("data".to_owned()),
        Just("containers".to_owned()),
        Just("env".to_owned()),
        Just("name".to_owned()),
        Just("ports".to_owned()),
        Just("protocol".to_owned()),
        "[a-z]{1,6}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        (-1000.0f64..1000.0).prop_map(Value::from),
        prop_oneof![
            Just("500m".to_owned()),
            Just("0.5".to_owned()),
            Just("1Gi".to_owned()),
            Just("1024Mi".to_owned()),
            Just("8080".to_owned()),
            Just(String::new()),
            "[a-z0-9.-]{0,8}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn with_kind(kind: &'static str) -> impl Strategy<Value = Value> {
    json_value().prop_map(move |v| {
        let mut map = match v {
            Value::Object(map) => map,
            other => {
                let mut m = Map::new();
                m.insert("spec".to_owned(), other);
                m
            }
        };
        map.insert("kind".to_owned(), Value::String(kind.to_owned()));
        Value::Object(map)
    })
}

/// The same value with every map's keys inserted in reverse order.
fn reversed(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map.iter().rev() {
                out.insert(k.clone(), reversed(v));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(reversed).collect()),
        other => other.clone(),
    }
}

/// The object's `metadata.labels` map, made a map (and `metadata` too) when it is not one.
fn labels_of(object: &mut Value) -> &mut Map<String, Value> {
    let Value::Object(map) = object else {
        unreachable!("generated objects are maps");
    };
    let metadata = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    let Value::Object(metadata) = metadata else {
        unreachable!("made a map above");
    };
    let labels = metadata
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    if !labels.is_object() {
        *labels = Value::Object(Map::new());
    }
    let Value::Object(labels) = labels else {
        unreachable!("made a map above");
    };
    labels
}

proptest! {
    #[test]
    fn hash_does_not_depend_on_key_order(value in json_value()) {
        prop_assert_eq!(content_hash(&value), content_hash(&reversed(&value)));
    }

    #[test]
    fn canonicalisation_is_idempotent(
        object in prop_oneof![with_kind("Deployment"), with_kind("ConfigMap"), with_kind("Secret"), with_kind("Service"), with_kind("Endpoints")]
    ) {
        let options = CanonicalOptions::default();
        let once = canonicalize(&object, &options);
        let twice = canonicalize(&once, &options);
        prop_assert_eq!(content_hash(&once), content_hash(&twice));
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn canonical_hash_does_not_depend_on_key_order(object in with_kind("Deployment")) {
        let options = CanonicalOptions::default();
        prop_assert_eq!(
            content_hash(&canonicalize(&object, &options)),
            content_hash(&canonicalize(&reversed(&object), &options))
        );
    }

    #[test]
    fn a_canonical_object_never_drifts_from_itself(
        object in prop_oneof![with_kind("Deployment"), with_kind("ConfigMap"), with_kind("Service"), with_kind("Endpoints")]
    ) {
        let canonical = canonicalize(&object, &CanonicalOptions::default());
        let kind = canonical["kind"].as_str().unwrap_or_default().to_owned();
        let policy = ManagerPolicy::default();
        let last_applied = LastApplied::canonical(&canonical);
        let context = WalkContext { kind: &kind, last_applied: &last_applied, policy: &policy, resources_set_by_admission: false, api_version: "", schema: SchemaCursor::UNKNOWN, ownership_recorded: false };
        let found = diff_objects(&canonical, &canonical, &Owners::none(), &context);
        prop_assert!(found.is_empty(), "{:?}", found);
    }

    #[test]
    fn a_label_only_live_has_is_always_drift(
        object in with_kind("Deployment"),
        name in "[a-z]{1,8}\\.example\\.com/[a-z]{1,8}",
        value in "[a-z0-9]{0,8}",
    ) {
        // Any object whose labels, if it has any, are a map of strings.
        let mut object = object;
        let labels = labels_of(&mut object);
        labels.retain(|_, v| v.is_string());
        labels.remove(&name);
        let options = CanonicalOptions::default();
        let desired = canonicalize(&object, &options);
        let mut live = object;
        labels_of(&mut live).insert(name.clone(), Value::String(value));
        let live = canonicalize(&live, &options);
        let policy = ManagerPolicy::default();
        let none = LastApplied::none();
        let context = WalkContext { kind: "Deployment", last_applied: &none, policy: &policy, resources_set_by_admission: false, api_version: "", schema: SchemaCursor::UNKNOWN, ownership_recorded: false };
        let found = diff_objects(&desired, &live, &Owners::none(), &context);
        let expected = format!("metadata.labels[{}]", Value::String(name));
        prop_assert!(
            found.iter().any(|d| d.path.to_string() == expected),
            "{} not among {:?}", expected, found
        );
    }
}
