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

impl ListType {
    /// The list type an `x-kubernetes-list-type` value names.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "atomic" => Some(Self::Atomic),
            "set" => Some(Self::Set),
            "map" => Some(Self::Map),
            _ => None,
        }
    }
}

/// The strings of a JSON list (`x-kubernetes-list-map-keys`); empty for anything else.
pub(crate) fn string_list(value: Option<&Value>) -> Vec<Box<str>> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(Into::into)
                .collect()
        })
        .unwrap_or_default()
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
    /// The node on the reference chain holding this one's fields, map values and items
    /// (set by [`Schema::finish`], which also copies the chain's facts here, so that a
    /// cursor never walks the chain).
    pub(crate) structure: Option<NodeId>,
}

impl Node {
    fn has_structure(&self) -> bool {
        !self.properties.is_empty() || self.additional.is_some() || self.items.is_some()
    }
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

    /// Sorts the properties of every node, so that lookups can search them, and resolves
    /// every reference chain once: each node gets the facts the chain states (its own
    /// first) and the node holding its structure.
    pub(crate) fn finish(&mut self) {
        for node in &mut self.nodes {
            node.properties
                .sort_by(|a, b| by_length_then_bytes(&a.0, &b.0));
            node.properties.dedup_by(|a, b| a.0 == b.0);
        }
        let resolved: Vec<Node> = (0..self.nodes.len())
            .map(|index| self.resolve(index))
            .collect();
        for (node, resolved) in self.nodes.iter_mut().zip(resolved) {
            node.structure = resolved.structure;
            node.list = resolved.list;
            node.keys = resolved.keys;
            node.merge_key = resolved.merge_key;
            node.format = resolved.format;
            node.default = resolved.default;
            node.preserve_unknown = resolved.preserve_unknown;
        }
    }

    /// The facts and structure of the node at `index`, read down its reference chain.
    fn resolve(&self, index: usize) -> Node {
        let mut chain: Vec<(NodeId, &Node)> = Vec::new();
        let mut current = u32::try_from(index).ok().map(NodeId);
        while let Some(id) = current {
            let Some(node) = self.node(id) else { break };
            chain.push((id, node));
            if chain.len() >= MAX_REFERENCE_CHAIN {
                break;
            }
            current = node.reference;
        }
        let nodes = || chain.iter().map(|(_, node)| *node);
        Node {
            structure: chain
                .iter()
                .find(|(_, node)| node.has_structure())
                .map(|(id, _)| *id),
            list: nodes().find_map(|n| n.list),
            keys: nodes()
                .find(|n| !n.keys.is_empty())
                .map(|n| n.keys.clone())
                .unwrap_or_default(),
            merge_key: nodes().find_map(|n| n.merge_key.clone()),
            format: nodes().find_map(|n| n.format),
            default: nodes().find_map(|n| n.default.clone()),
            preserve_unknown: nodes().any(|n| n.preserve_unknown),
            ..Node::default()
        }
    }
}

/// The order properties are kept in: by length first, so that most comparisons of a
/// lookup (and most lookups are of fields the schema does not list) need no byte
/// comparison at all.
fn by_length_then_bytes(a: &str, b: &str) -> std::cmp::Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

/// The property `name` of `node`.
pub(crate) fn property(node: &Node, name: &str) -> Option<NodeId> {
    node.properties
        .binary_search_by(|(field, _)| by_length_then_bytes(field, name))
        .ok()
        .map(|index| node.properties[index].1)
}
