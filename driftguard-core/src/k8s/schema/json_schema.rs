//! Reading the facts out of a Kubernetes JSON schema: a CustomResourceDefinition's
//! `openAPIV3Schema` or a definition of the API server's OpenAPI v3 document.
//!
//! The facts are those the API server itself compares and merges by:
//! `x-kubernetes-list-type`, `x-kubernetes-list-map-keys`, `x-kubernetes-patch-merge-key`,
//! `x-kubernetes-int-or-string`, `x-kubernetes-preserve-unknown-fields`, `default`, and
//! the `resource.Quantity` and `intstr.IntOrString` types. Everything else (descriptions,
//! validation) is left out.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::node::{Format, ListType, Node, NodeId, Schema, string_list};

/// The definition name of `resource.Quantity` in the API server's OpenAPI documents.
const QUANTITY_DEFINITION: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
/// The definition name of `intstr.IntOrString`.
const INT_OR_STRING_DEFINITION: &str = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
/// How deep an inline schema is read; deeper fields are unknown.
const MAX_DEPTH: usize = 64;

/// Reads JSON schemas into one [`Schema`]; `$ref`s are looked up among `definitions`
/// (an OpenAPI document's `components.schemas`).
pub(crate) struct Converter<'d> {
    schema: Schema,
    definitions: Option<&'d Map<String, Value>>,
    converted: HashMap<&'d str, NodeId>,
}

impl<'d> Converter<'d> {
    /// A converter resolving references among `definitions`.
    pub(crate) fn new(definitions: Option<&'d Map<String, Value>>) -> Self {
        Self {
            schema: Schema::default(),
            definitions,
            converted: HashMap::new(),
        }
    }

    /// The finished schema.
    pub(crate) fn finish(mut self) -> Schema {
        self.schema.finish();
        self.schema
    }

    /// The node of the definition `name`, converted once however often it is referred to.
    pub(crate) fn definition(&mut self, name: &str) -> Option<NodeId> {
        let (name, value) = self.definitions?.get_key_value(name)?;
        if let Some(id) = self.converted.get(name.as_str()) {
            return Some(*id);
        }
        let id = self.schema.reserve();
        self.converted.insert(name.as_str(), id);
        let mut node = self.node_fields(value, 0);
        match name.as_str() {
            QUANTITY_DEFINITION => node.format = Some(Format::Quantity),
            INT_OR_STRING_DEFINITION => node.format = Some(Format::IntOrString),
            _ => {}
        }
        self.schema.set(id, node);
        Some(id)
    }

    /// Converts an inline schema.
    pub(crate) fn node(&mut self, value: &'d Value, depth: usize) -> NodeId {
        let node = self.node_fields(value, depth);
        self.schema.push(node)
    }

    fn reference(&mut self, schema: &'d Map<String, Value>) -> Option<NodeId> {
        let target = schema.get("$ref").and_then(Value::as_str).or_else(|| {
            // OpenAPI v3 wraps a reference in `allOf` to give it a default or description.
            schema
                .get("allOf")?
                .as_array()?
                .iter()
                .find_map(|part| part.get("$ref")?.as_str())
        })?;
        let name = target.rsplit('/').next()?;
        self.definition(name)
    }

    fn node_fields(&mut self, value: &'d Value, depth: usize) -> Node {
        let mut node = Node::default();
        let Some(schema) = value.as_object() else {
            return node;
        };
        if depth > MAX_DEPTH {
            return node;
        }
        node.reference = self.reference(schema);
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (field, child) in properties {
                let id = self.node(child, depth + 1);
                node.properties.push((field.as_str().into(), id));
            }
        }
        if let Some(additional) = schema
            .get("additionalProperties")
            .filter(|value| value.is_object())
        {
            node.additional = Some(self.node(additional, depth + 1));
        }
        if let Some(items) = schema.get("items").filter(|value| value.is_object()) {
            node.items = Some(self.node(items, depth + 1));
        }
        node.list = schema
            .get("x-kubernetes-list-type")
            .and_then(Value::as_str)
            .and_then(ListType::from_name);
        node.keys = string_list(schema.get("x-kubernetes-list-map-keys"));
        node.merge_key = schema
            .get("x-kubernetes-patch-merge-key")
            .and_then(Value::as_str)
            .map(Into::into);
        node.format = format_of(schema);
        node.default = schema.get("default").cloned();
        node.preserve_unknown =
            schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
        node
    }
}

/// Whether the schema describes a quantity or an int-or-string.
///
/// A CRD spells a `resource.Quantity` field as an int-or-string with the quantity pattern
/// (what controller-gen writes for it); the API server's own documents name the type.
fn format_of(schema: &Map<String, Value>) -> Option<Format> {
    let int_or_string = schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    match schema.get("format").and_then(Value::as_str) {
        Some("quantity") => return Some(Format::Quantity),
        Some("int-or-string") if !int_or_string => return Some(Format::IntOrString),
        _ => {}
    }
    if !int_or_string {
        return None;
    }
    let quantity_pattern = schema
        .get("pattern")
        .and_then(Value::as_str)
        .is_some_and(|pattern| pattern.contains("[KMGTPE]i"));
    Some(if quantity_pattern {
        Format::Quantity
    } else {
        Format::IntOrString
    })
}
