//! Properties of canonicalisation and hashing that must hold for any object.

use driftguard_core::hash::content_hash;
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
        "[a-z]{1,6}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| Value::from(n)),
        (-1000.0f64..1000.0).prop_map(|f| Value::from(f)),
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
}
