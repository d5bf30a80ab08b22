//! The sparse YAML document one side of a resource's diff shows: only the drifted fields,
//! with their values on that side, inside the maps and list items that lead to them (see
//! the parent module for how it reads).

use driftguard_core::DriftDetail;
use driftguard_core::path::{FieldPath, Segment};
use serde_json::Value;

/// A YAML document in the making.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    /// A scalar, or an empty map or list, printed on its key's line.
    Leaf(Value),
    /// Entries in the order they were added. Empty, it is context that holds nothing on
    /// this side and prints as its key alone.
    Map(Vec<(String, Node)>),
    /// Items in the order they were added, each with the segment that addresses it.
    List(Vec<(Segment, Node)>),
}

impl Node {
    pub(super) fn from_value(value: &Value) -> Self {
        match value {
            Value::Object(map) if !map.is_empty() => Self::Map(
                map.iter()
                    .map(|(k, v)| (k.clone(), Self::from_value(v)))
                    .collect(),
            ),
            Value::Array(items) if !items.is_empty() => Self::List(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (Segment::Index(i), Self::from_value(v)))
                    .collect(),
            ),
            other => Self::Leaf(other.clone()),
        }
    }

    /// Sets `value` at `path` below this node, adding the maps and list items on the way.
    /// With no value, only the way there is added, so that it shows as context.
    fn insert(&mut self, path: &[Segment], value: Option<&Value>) {
        let Some((segment, rest)) = path.split_first() else {
            if let Some(value) = value {
                self.set(Self::from_value(value));
            }
            return;
        };
        if rest.is_empty() && value.is_none() {
            // The field itself is absent on this side; its container is context.
            self.make_container_for(segment);
            return;
        }
        let child = match segment {
            Segment::Key(key) => {
                let Self::Map(entries) = self.make_container_for(segment) else {
                    return;
                };
                let at = match entries.iter().position(|(k, _)| k == key) {
                    Some(at) => at,
                    None => {
                        entries.push((key.clone(), Self::Map(Vec::new())));
                        entries.len() - 1
                    }
                };
                &mut entries[at].1
            }
            Segment::Index(_) | Segment::Keyed(_) => {
                let Self::List(items) = self.make_container_for(segment) else {
                    return;
                };
                let at = match items.iter().position(|(s, _)| s == segment) {
                    Some(at) => at,
                    None => {
                        items.push((segment.clone(), Self::item(segment)));
                        items.len() - 1
                    }
                };
                &mut items[at].1
            }
        };
        child.insert(rest, value);
    }

    /// This node as the container `segment` steps into: a map for a key, a list for an
    /// item. Anything else here is replaced.
    fn make_container_for(&mut self, segment: &Segment) -> &mut Self {
        let fits = matches!(
            (&*self, segment),
            (Self::Map(_), Segment::Key(_))
                | (Self::List(_), Segment::Index(_) | Segment::Keyed(_))
        );
        if !fits {
            *self = match segment {
                Segment::Key(_) => Self::Map(Vec::new()),
                Segment::Index(_) | Segment::Keyed(_) => Self::List(Vec::new()),
            };
        }
        self
    }

    /// A new list item: a keyed one starts with its key fields.
    fn item(segment: &Segment) -> Self {
        match segment {
            Segment::Keyed(fields) => Self::Map(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), Self::Leaf(v.clone())))
                    .collect(),
            ),
            _ => Self::Map(Vec::new()),
        }
    }

    /// Puts `node` here; a map merges into a map already here (a keyed item keeps its
    /// key fields first).
    fn set(&mut self, node: Self) {
        match (&mut *self, node) {
            (Self::Map(entries), Self::Map(new)) => {
                for (key, value) in new {
                    match entries.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, old)) => *old = value,
                        None => entries.push((key, value)),
                    }
                }
            }
            (_, node) => *self = node,
        }
    }
}

/// One side of a resource's diff: each drift's value on that side (`side` picks it) at
/// its path.
pub(super) fn sparse_document(
    drifts: &[DriftDetail],
    side: impl Fn(&DriftDetail) -> Option<&Value>,
) -> Node {
    let mut root = Node::Map(Vec::new());
    for drift in drifts {
        let path = drift.path.parse::<FieldPath>().unwrap_or_else(|_| {
            // Not a path this version reads: show the text as one key.
            FieldPath::root().child(Segment::Key(drift.path.clone()))
        });
        root.insert(path.segments(), side(drift));
    }
    root
}

/// The YAML lines of a document, control characters not yet escaped.
pub(super) fn yaml_lines(root: &Node) -> Vec<String> {
    let mut lines = Vec::new();
    match root {
        Node::Map(entries) => map_lines(entries, 0, &mut lines),
        Node::List(items) => list_lines(items, 0, &mut lines),
        Node::Leaf(value) => leaf_lines(String::new(), value, 0, &mut lines),
    }
    lines
}

fn map_lines(entries: &[(String, Node)], indent: usize, lines: &mut Vec<String>) {
    let pad = " ".repeat(indent);
    for (key, node) in entries {
        let head = format!("{pad}{}:", yaml_string(key));
        match node {
            Node::Leaf(value) => leaf_lines(head, value, indent, lines),
            Node::Map(inner) => {
                lines.push(head);
                map_lines(inner, indent + 2, lines);
            }
            Node::List(items) => {
                lines.push(head);
                list_lines(items, indent, lines);
            }
        }
    }
}

/// List items at `indent`, each a `- ` with its content beside it, as `kubectl` prints
/// them.
fn list_lines(items: &[(Segment, Node)], indent: usize, lines: &mut Vec<String>) {
    let pad = " ".repeat(indent);
    for (_, node) in items {
        let start = lines.len();
        match node {
            Node::Leaf(value) => {
                leaf_lines(format!("{pad}-"), value, indent, lines);
                continue;
            }
            Node::Map(entries) => map_lines(entries, indent + 2, lines),
            Node::List(inner) => list_lines(inner, indent + 2, lines),
        }
        match lines.get_mut(start) {
            Some(first) => first.replace_range(..indent + 2, &format!("{pad}- ")),
            None => lines.push(format!("{pad}-")),
        }
    }
}

/// `head` (a key and its colon, or a list dash) with a scalar after it, or with a block
/// scalar whose lines follow at `indent + 2`.
fn leaf_lines(head: String, value: &Value, indent: usize, lines: &mut Vec<String>) {
    let sep = if head.is_empty() { "" } else { " " };
    let text = match value {
        Value::String(s) if is_block(s) => {
            let body = s.strip_suffix('\n').unwrap_or(s);
            let chomp = if !s.ends_with('\n') {
                "-"
            } else if s.ends_with("\n\n") {
                "+"
            } else {
                ""
            };
            let leading_space = body
                .split('\n')
                .find(|line| !line.is_empty())
                .is_some_and(|line| line.starts_with(' '));
            let indicator = if leading_space { "2" } else { "" };
            lines.push(format!("{head}{sep}|{indicator}{chomp}"));
            let pad = " ".repeat(indent + 2);
            lines.extend(body.split('\n').map(|line| {
                if line.is_empty() {
                    String::new()
                } else {
                    format!("{pad}{line}")
                }
            }));
            return;
        }
        Value::String(s) => yaml_string(s),
        Value::Object(_) => "{}".to_owned(),
        Value::Array(_) => "[]".to_owned(),
        other => other.to_string(),
    };
    lines.push(format!("{head}{sep}{text}"));
}

/// Whether `text` prints as a literal block scalar: it has several lines, not all blank.
fn is_block(text: &str) -> bool {
    text.contains('\n') && !text.trim().is_empty()
}

/// `text` as a YAML scalar on one line: plain where YAML reads it back as this string,
/// quoted otherwise.
fn yaml_string(text: &str) -> String {
    let options = serde_saphyr::ser_options! { prefer_block_scalars: false };
    if let Ok(yaml) = serde_saphyr::to_string_with_options(&text, options) {
        let yaml = yaml.trim_end_matches('\n');
        if !yaml.contains('\n') {
            return yaml.to_owned();
        }
    }
    // A JSON string is a double-quoted YAML scalar.
    Value::String(text.to_owned()).to_string()
}
