//! The schema arena: every node of the schemas of one source (the bundled built-in kinds,
//! one CustomResourceDefinition, one OpenAPI document) in a flat vector, addressed by
//! index, so that a cursor is two words and stepping into a field is a binary search.

use serde_json::Value;

/// The index of a node in its [`Schema`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(pub(crate) u32);

/// How the items of a list are merged and compared (`x-kubernetes-list-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    /// The whole list is one value.
    Atomic,
    /// Items are unique scalars; order does not matter.
    Set,
    /// Items are objects identified by the list's map keys.
    Map,
}

/// The value semantics of a scalar field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A `resource.Quantity`: `0.5`, `500m` and `0.5e0` are the same value.
    Quantity,
    /// An `IntOrString`: `8080` and `"8080"` are the same value.
    IntOrString,
}

/// One node: the facts stated at a position of a schema and where its children are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    /// Named fields, sorted by name.
    pub(crate) properties: Vec<(Box<str>, NodeId)>,
    /// The values of a map (`additionalProperties`).
    pub(crate) additional: Option<NodeId>,
    /// The items of a list.
    pub(crate) items: Option<NodeId>,
    /// Another node whose structure and facts this one shares (a `$ref`); facts stated
    /// here win over the referenced node's.
    pub(crate) reference: Option<NodeId>,
    /// `x-kubernetes-list-type`.
    pub(crate) list: Option<ListType>,
    /// `x-kubernetes-list-map-keys`.
    pub(crate) keys: Vec<Box<str>>,
    /// `x-kubernetes-patch-merge-key`, for lists that state no list type.
    pub(crate) merge_key: Option<Box<str>>,
    /// Quantity or int-or-string.
    pub(crate) format: Option<Format>,
    /// The value the API server fills in when the field is absent.
    pub(crate) default: Option<Value>,
    /// `x-kubernetes-preserve-unknown-fields`: fields not listed are kept as they are.
    pub(crate) preserve_unknown: bool,
}

/// The nodes of one schema source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    nodes: Vec<Node>,
}

/// How deep a chain of references is followed; real schemas need one or two steps.
const MAX_REFERENCE_CHAIN: usize = 16;

impl Schema {
    /// Adds `node` and returns its id.
    pub(crate) fn push(&mut self, node: Node) -> NodeId {
        let id = NodeId(u32::try_from(self.nodes.len()).unwrap_or(u32::MAX));
        self.nodes.push(node);
        id
    }

    /// Reserves a node to fill in later (a definition that refers to itself).
    pub(crate) fn reserve(&mut self) -> NodeId {
        self.push(Node::default())
    }

    /// Replaces the node at `id`.
    pub(crate) fn set(&mut self, id: NodeId, node: Node) {
        if let Some(slot) = self.nodes.get_mut(id.0 as usize) {
            *slot = node;
        }
    }

    /// The node at `id`.
    pub(crate) fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0 as usize)
    }

    /// How many nodes the schema holds.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The first node on the reference chain from `id` for which `fact` answers.
    pub(crate) fn find<'s, T>(
        &'s self,
        id: NodeId,
        fact: impl Fn(&'s Node) -> Option<T>,
    ) -> Option<T> {
        let mut current = Some(id);
        for _ in 0..MAX_REFERENCE_CHAIN {
            let node = self.node(current?)?;
            if let Some(found) = fact(node) {
                return Some(found);
            }
            current = node.reference;
        }
        None
    }

    /// Sorts the properties of every node, so that lookups can search them.
    pub(crate) fn finish(&mut self) {
        for node in &mut self.nodes {
            node.properties.sort_by(|a, b| a.0.cmp(&b.0));
            node.properties.dedup_by(|a, b| a.0 == b.0);
        }
    }
}

/// The property `name` of `node`.
pub(crate) fn property(node: &Node, name: &str) -> Option<NodeId> {
    node.properties
        .binary_search_by(|(field, _)| (**field).cmp(name))
        .ok()
        .map(|index| node.properties[index].1)
}
