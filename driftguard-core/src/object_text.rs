//! Kubernetes objects held as compact JSON text between reading and comparing them.
//!
//! A parsed `serde_json::Value` costs several times its JSON text: every mapping is a
//! B-tree with room for eleven entries, every key and string its own allocation. Holding
//! both sides of a large cluster that way took over 12 KiB per resource. Sources therefore
//! hand objects over as compact text, shared rather than copied, and the analysis parses
//! each one again only while it compares it (about 5 µs for a Deployment).

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use serde::ser::{Serialize, Serializer};
use serde_json::Value;
use serde_json::ser::{CompactFormatter, Formatter};

/// Nesting that serde_json reads back without its recursion limit (128) getting in the
/// way; deeper objects are kept parsed.
const TEXT_DEPTH: usize = 100;

/// One object: compact JSON text, or, for the rare object nested too deeply to parse
/// again safely, the parsed value itself.
#[derive(Clone)]
pub struct ObjectText(Repr);

#[derive(Clone)]
enum Repr {
    Text(Arc<str>),
    Tree(Arc<Value>),
}

impl ObjectText {
    /// Holds `value` as compact JSON text (its keys in the order a `Value` keeps them).
    pub fn new(value: &Value) -> Self {
        let mut text = Vec::with_capacity(256);
        let deepest = Cell::new(0);
        let formatter = DepthCounter {
            depth: 0,
            deepest: &deepest,
        };
        let mut serializer = serde_json::Serializer::with_formatter(&mut text, formatter);
        // Writing a `Value` into memory cannot fail: its map keys are strings.
        if value.serialize(&mut serializer).is_err() || deepest.get() > TEXT_DEPTH {
            return Self(Repr::Tree(Arc::new(value.clone())));
        }
        match String::from_utf8(text) {
            Ok(text) => Self(Repr::Text(text.into())),
            Err(_) => Self(Repr::Tree(Arc::new(value.clone()))),
        }
    }

    /// The object parsed again.
    pub fn to_value(&self) -> Value {
        match &self.0 {
            Repr::Text(text) => serde_json::from_str(text)
                .expect("text written from a value of bounded depth parses back"),
            Repr::Tree(value) => Value::clone(value),
        }
    }

    /// The compact JSON text.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match &self.0 {
            Repr::Text(text) => std::borrow::Cow::Borrowed(text),
            Repr::Tree(value) => std::borrow::Cow::Owned(value.to_string()),
        }
    }

    /// Whether the text holds `needle` anywhere: a cheap test before parsing, for facts
    /// most objects do not have (a hook annotation, say).
    pub fn mentions(&self, needle: &str) -> bool {
        self.text().contains(needle)
    }

    /// Bytes of text held.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Text(text) => text.len(),
            Repr::Tree(value) => value.to_string().len(),
        }
    }

    /// Whether the text is empty (it never is: the smallest object is `{}`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<Value> for ObjectText {
    fn from(value: Value) -> Self {
        Self::new(&value)
    }
}

impl From<&Value> for ObjectText {
    fn from(value: &Value) -> Self {
        Self::new(value)
    }
}

impl PartialEq for ObjectText {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Text(a), Repr::Text(b)) => a == b,
            (Repr::Tree(a), Repr::Tree(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Debug for ObjectText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// The compact JSON text, as a `Value` displays.
impl fmt::Display for ObjectText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl Serialize for ObjectText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

/// serde_json's compact formatter, counting how deep the written value nests.
struct DepthCounter<'a> {
    depth: usize,
    deepest: &'a Cell<usize>,
}

impl DepthCounter<'_> {
    fn enter(&mut self) {
        self.depth += 1;
        self.deepest.set(self.deepest.get().max(self.depth));
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }
}

impl Formatter for DepthCounter<'_> {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.enter();
        CompactFormatter.begin_array(writer)
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.leave();
        CompactFormatter.end_array(writer)
    }

    fn begin_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.enter();
        CompactFormatter.begin_object(writer)
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, writer: &mut W) -> std::io::Result<()> {
        self.leave();
        CompactFormatter.end_object(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_round_trips_and_deep_objects_stay_parsed() {
        let object =
            json!({"kind": "ConfigMap", "data": {"b": "2", "a": 1.5}, "list": [null, true]});
        let text = ObjectText::new(&object);
        assert_eq!(text.to_value(), object);
        assert_eq!(text.to_string(), object.to_string());
        let mut deep = json!("leaf");
        for _ in 0..200 {
            deep = json!({ "x": deep });
        }
        let kept = ObjectText::new(&deep);
        assert_eq!(kept.to_value(), deep);
    }
}
