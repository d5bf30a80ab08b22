//! Secret values replaced by keyed fingerprints, so plaintext never travels past an adapter.
//!
//! Two Secrets with the same value get the same fingerprint under the same key, so drift
//! is still detected; without the key a fingerprint says nothing about the value.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

/// Prefix of every fingerprinted value, so readers can tell one from a plaintext.
pub const FINGERPRINT_PREFIX: &str = "fingerprint:";

use crate::k8s::metadata::LAST_APPLIED_ANNOTATION as LAST_APPLIED;

/// The key of the keyed BLAKE3 hash used for Secret fingerprints.
///
/// It comes from configuration or is generated once and kept; its `Debug` form never
/// shows the key bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct FingerprintKey([u8; 32]);

impl FingerprintKey {
    /// A key from 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A key derived from configured text (a passphrase or a hex string).
    pub fn derive(material: &str) -> Self {
        Self(blake3::derive_key(
            "driftguard 2024 secret fingerprint key",
            material.as_bytes(),
        ))
    }

    /// The fingerprint of one secret value: the prefix and 128 bits of keyed BLAKE3, in hex.
    pub fn fingerprint(&self, plaintext: &[u8]) -> String {
        let hash = blake3::keyed_hash(&self.0, plaintext);
        let hex = hash.to_hex();
        format!("{FINGERPRINT_PREFIX}{}", &hex.as_str()[..32])
    }
}

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FingerprintKey(<redacted>)")
    }
}

/// Replaces every value of a Secret (`data`, `stringData`, and the copy kubectl keeps in
/// the last-applied annotation) with its fingerprint. Objects of other kinds are left alone.
///
/// `stringData` is folded into `data` first, as the API server does, so a manifest that
/// uses `stringData` and a live object that shows base64 `data` fingerprint the same.
pub fn fingerprint_secret(object: &mut Value, key: &FingerprintKey) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    // The API server knows only `Secret`; a misspelt kind in a hand-written file is
    // still treated as one, so that its values never show.
    let is_secret = map.get("kind").and_then(Value::as_str).is_some_and(|kind| {
        let kind = kind.trim();
        kind.eq_ignore_ascii_case("Secret") || kind.eq_ignore_ascii_case("Secrets")
    });
    if !is_secret {
        return;
    }
    let mut data = match map.remove("data") {
        Some(Value::Object(data)) => data,
        _ => Map::new(),
    };
    let mut fingerprinted = Map::new();
    for (name, value) in std::mem::take(&mut data) {
        let plaintext = match &value {
            Value::String(encoded) => decode_base64(encoded)
                .unwrap_or_else(|| [b"invalid-base64:".as_slice(), encoded.as_bytes()].concat()),
            Value::Null => continue,
            other => other.to_string().into_bytes(),
        };
        fingerprinted.insert(name, Value::String(key.fingerprint(&plaintext)));
    }
    if let Some(Value::Object(string_data)) = map.remove("stringData") {
        for (name, value) in string_data {
            let plaintext = match value {
                Value::String(text) => text.into_bytes(),
                Value::Null => continue,
                other => other.to_string().into_bytes(),
            };
            fingerprinted.insert(name, Value::String(key.fingerprint(&plaintext)));
        }
    }
    if !fingerprinted.is_empty() {
        map.insert("data".to_owned(), Value::Object(fingerprinted));
    }
    fingerprint_last_applied(map, key);
}

/// Why a Secret's values are not shaped as the API server takes them, or `None` when they
/// are: `data` is a map of base64 strings and `stringData` a map of strings
/// (`map[string][]byte` and `map[string]string` in the Secret type of `core/v1`). The
/// answer names the field and key, never the value. Other kinds give `None`.
pub fn secret_shape_problem(object: &Value) -> Option<String> {
    let kind = object.get("kind").and_then(Value::as_str)?.trim();
    if !(kind.eq_ignore_ascii_case("Secret") || kind.eq_ignore_ascii_case("Secrets")) {
        return None;
    }
    for field in ["data", "stringData"] {
        match object.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(values)) => {
                if let Some((name, _)) = values
                    .iter()
                    .find(|(_, v)| !matches!(v, Value::String(_) | Value::Null))
                {
                    return Some(format!(
                        "the Secret's `{field}.{name}` is not a string (a Secret holds only string values)"
                    ));
                }
            }
            Some(_) => {
                return Some(format!(
                    "the Secret's `{field}` is not a mapping of names to values"
                ));
            }
        }
    }
    None
}

/// Decodes Secret `data` as the API server does: Go's base64 decoder skips line breaks, so
/// a value wrapped over several lines (as `base64` prints it) is the same bytes as one line.
fn decode_base64(encoded: &str) -> Option<Vec<u8>> {
    if encoded.bytes().any(|b| b.is_ascii_whitespace()) {
        let joined: String = encoded
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        STANDARD.decode(joined).ok()
    } else {
        STANDARD.decode(encoded).ok()
    }
}

/// kubectl keeps the whole applied manifest, plaintext included, in an annotation.
/// Fingerprint the Secret inside it, or drop the annotation when it cannot be read.
fn fingerprint_last_applied(map: &mut Map<String, Value>, key: &FingerprintKey) {
    let Some(annotations) = map
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let Some(Value::String(text)) = annotations.remove(LAST_APPLIED) else {
        return;
    };
    if let Ok(mut applied) = serde_json::from_str::<Value>(&text)
        && let Some(applied_map) = applied.as_object_mut()
    {
        applied_map.insert("kind".to_owned(), Value::String("Secret".to_owned()));
        fingerprint_secret(&mut applied, key);
        annotations.insert(LAST_APPLIED.to_owned(), Value::String(applied.to_string()));
    }
}

#[cfg(test)]
mod shape_tests {
    use serde_json::json;

    use super::secret_shape_problem;

    #[test]
    fn secret_values_must_be_strings_in_maps() {
        let ok =
            json!({"kind": "Secret", "data": {"a": "aGk="}, "stringData": {"b": "hi", "c": null}});
        assert_eq!(secret_shape_problem(&ok), None);
        let list = json!({"kind": "Secret", "data": ["hunter2"]});
        assert_eq!(
            secret_shape_problem(&list).as_deref(),
            Some("the Secret's `data` is not a mapping of names to values")
        );
        let nested = json!({"kind": "Secret", "stringData": {"db": {"password": "hunter2"}}});
        let problem = secret_shape_problem(&nested).unwrap_or_default();
        assert!(problem.contains("`stringData.db`"), "{problem}");
        assert!(!problem.contains("hunter2"), "{problem}");
        assert_eq!(
            secret_shape_problem(&json!({"kind": "ConfigMap", "data": [1]})),
            None
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> FingerprintKey {
        FingerprintKey::derive("test key")
    }

    #[test]
    fn string_data_and_base64_data_fingerprint_alike() {
        let mut desired = json!({"kind": "Secret", "stringData": {"password": "hunter2-db"}});
        let mut live =
            json!({"kind": "Secret", "data": {"password": STANDARD.encode("hunter2-db")}});
        fingerprint_secret(&mut desired, &key());
        fingerprint_secret(&mut live, &key());
        assert_eq!(desired, live);
        assert!(desired.get("stringData").is_none());
        let text = desired.to_string();
        assert!(!text.contains("hunter2-db"));
        assert!(text.contains(FINGERPRINT_PREFIX));
    }

    #[test]
    fn wrapped_base64_fingerprints_like_one_line() {
        let encoded =
            STANDARD.encode("-----BEGIN KEY-----\nsecret-key-material-0042\n-----END KEY-----\n");
        let wrapped: String = encoded
            .as_bytes()
            .chunks(16)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
        let mut desired = json!({"kind": "Secret", "data": {"tls.key": wrapped}});
        let mut live = json!({"kind": "Secret", "data": {"tls.key": encoded}});
        fingerprint_secret(&mut desired, &key());
        fingerprint_secret(&mut live, &key());
        assert_eq!(desired, live);
        let mut broken = json!({"kind": "Secret", "data": {"tls.key": "not base64!"}});
        fingerprint_secret(&mut broken, &key());
        assert_ne!(broken, live);
        assert!(!broken.to_string().contains("not base64"));
    }

    #[test]
    fn different_values_and_keys_give_different_fingerprints() {
        let a = key().fingerprint(b"one");
        assert_ne!(a, key().fingerprint(b"two"));
        assert_ne!(a, FingerprintKey::derive("other key").fingerprint(b"one"));
    }

    #[test]
    fn last_applied_annotation_is_fingerprinted() {
        let applied = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db"}, "stringData": {"password": "s3cr3t-value"}});
        let mut live = json!({"kind": "Secret",
            "metadata": {"name": "db", "annotations": {LAST_APPLIED: applied.to_string()}},
            "data": {"password": STANDARD.encode("s3cr3t-value")}});
        fingerprint_secret(&mut live, &key());
        let text = live.to_string();
        assert!(!text.contains("s3cr3t-value"));
        assert!(!text.contains(&STANDARD.encode("s3cr3t-value")));
        assert!(text.contains("last-applied-configuration"));
    }

    #[test]
    fn unreadable_last_applied_is_dropped() {
        let mut live = json!({"kind": "Secret",
            "metadata": {"name": "db", "annotations": {LAST_APPLIED: "{not json s3cr3t"}}});
        fingerprint_secret(&mut live, &key());
        assert!(!live.to_string().contains("s3cr3t"));
    }

    #[test]
    fn misspelt_secret_kinds_are_fingerprinted_too() {
        for kind in ["secret", " Secret", "SECRET", "Secrets"] {
            let mut object = json!({"kind": kind, "stringData": {"password": "s3cr3t"}});
            fingerprint_secret(&mut object, &key());
            assert!(!object.to_string().contains("s3cr3t"), "{kind}: {object}");
        }
    }

    #[test]
    fn other_kinds_are_untouched() {
        let mut cm = json!({"kind": "ConfigMap", "data": {"a": "b"}});
        let before = cm.clone();
        fingerprint_secret(&mut cm, &key());
        assert_eq!(cm, before);
    }

    #[test]
    fn debug_does_not_show_the_key() {
        assert_eq!(format!("{:?}", key()), "FingerprintKey(<redacted>)");
    }
}
