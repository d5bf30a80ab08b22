//! A position in a schema, moved down together with the walk over an object.

use serde_json::Value;

use super::node::{Format, ListType, Node, NodeId, Schema, property};

/// Where the walk is in the schema of the object it walks; unknown where no schema says
/// anything, and then every question answers `None` and the tables decide.
///
/// Copying a cursor is free: it is a reference and an index.
#[derive(Debug, Clone, Copy, Default)]
pub struct SchemaCursor<'s> {
    at: Option<(&'s Schema, NodeId)>,
}

impl<'s> SchemaCursor<'s> {
    /// The cursor of a place no schema describes.
    pub const UNKNOWN: Self = Self { at: None };

    /// A cursor at `node` of `schema`.
    pub(crate) fn new(schema: &'s Schema, node: NodeId) -> Self {
        Self {
            at: Some((schema, node)),
        }
    }

    /// Whether a schema describes this position.
    pub fn is_known(self) -> bool {
        self.at.is_some()
    }

    /// The node here, with the facts of its reference chain.
    fn node(self) -> Option<&'s Node> {
        let (schema, node) = self.at?;
        schema.node(node)
    }

    /// The node holding the fields, map values and items of the node here.
    fn structure(self) -> Option<(&'s Schema, &'s Node)> {
        let (schema, node) = self.at?;
        Some((schema, schema.node(schema.node(node)?.structure?)?))
    }

    fn to(self, node: Option<NodeId>) -> Self {
        match (self.at, node) {
            (Some((schema, _)), Some(node)) => Self::new(schema, node),
            _ => Self::UNKNOWN,
        }
    }

    /// The field `name` of the object here: a declared property, else the values of a
    /// map. Unknown below a field the schema does not describe.
    pub fn field(self, name: &str) -> Self {
        let Some((_, structure)) = self.structure() else {
            return Self::UNKNOWN;
        };
        self.to(property(structure, name).or(structure.additional))
    }

    /// The items of the list here.
    pub fn item(self) -> Self {
        self.to(self.structure().and_then(|(_, structure)| structure.items))
    }

    /// `x-kubernetes-list-type` of the list here.
    pub fn list_type(self) -> Option<ListType> {
        self.node()?.list
    }

    /// `x-kubernetes-list-map-keys` of the list here; empty when none is stated.
    pub fn list_map_keys(self) -> &'s [Box<str>] {
        self.node().map_or(&[], |node| node.keys.as_slice())
    }

    /// `x-kubernetes-patch-merge-key` of the list here.
    pub fn merge_key(self) -> Option<&'s str> {
        self.node()?.merge_key.as_deref()
    }

    /// Whether the scalar here is a quantity or an int-or-string.
    pub fn format(self) -> Option<Format> {
        self.node()?.format
    }

    /// The value the server fills in here when the field is absent.
    pub fn default_value(self) -> Option<&'s Value> {
        self.node()?.default.as_ref()
    }

    /// Whether fields the schema does not list are kept here as they are.
    pub fn preserves_unknown_fields(self) -> bool {
        self.node().is_some_and(|node| node.preserve_unknown)
    }
}
