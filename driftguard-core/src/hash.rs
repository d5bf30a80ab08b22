//! BLAKE3 over the canonical form: equal hashes mean equal objects, and no field walk is needed.

use std::fmt;

use serde_json::Value;

/// A BLAKE3 digest of a canonical object.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// The digest as 64 lowercase hex characters, as stored in records.
    pub fn to_hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({})", self.to_hex())
    }
}

/// Hashes a JSON value with map keys in sorted order, whatever order the map keeps them in.
///
/// The encoding tags every node with its type and length, so distinct values cannot
/// produce the same byte stream.
pub fn content_hash(value: &Value) -> ContentHash {
    let mut hasher = blake3::Hasher::new();
    feed(&mut hasher, value);
    ContentHash(*hasher.finalize().as_bytes())
}

fn feed(hasher: &mut blake3::Hasher, value: &Value) {
    match value {
        Value::Null => {
            hasher.update(b"n");
        }
        Value::Bool(b) => {
            hasher.update(if *b { b"t" } else { b"f" });
        }
        Value::Number(n) => {
            let text = n.to_string();
            hasher.update(b"d");
            feed_len(hasher, text.len());
            hasher.update(text.as_bytes());
        }
        Value::String(s) => feed_str(hasher, s),
        Value::Array(items) => {
            hasher.update(b"a");
            feed_len(hasher, items.len());
            for item in items {
                feed(hasher, item);
            }
        }
        Value::Object(map) => {
            hasher.update(b"o");
            feed_len(hasher, map.len());
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            if !entries.is_sorted_by(|a, b| a.0 <= b.0) {
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            }
            for (key, value) in entries {
                feed_str(hasher, key);
                feed(hasher, value);
            }
        }
    }
}

fn feed_str(hasher: &mut blake3::Hasher, s: &str) {
    hasher.update(b"s");
    feed_len(hasher, s.len());
    hasher.update(s.as_bytes());
}

fn feed_len(hasher: &mut blake3::Hasher, len: usize) {
    hasher.update(&(len as u64).to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn different_values_hash_differently() {
        let values = [
            json!(null),
            json!(""),
            json!("1"),
            json!(1),
            json!([]),
            json!({}),
            json!(["a", "b"]),
            json!(["ab"]),
            json!({"a": "b"}),
            json!({"ab": ""}),
        ];
        let hashes: std::collections::HashSet<_> = values.iter().map(content_hash).collect();
        assert_eq!(hashes.len(), values.len());
    }
}
