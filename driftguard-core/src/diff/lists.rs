//! How the items of a list pair up: by the schema's list type and keys, else by the
//! tables of list names.

use serde_json::{Map, Value};

use crate::k8s::fields::{is_set_list, merge_key_default};
use crate::k8s::schema::{ListType, SchemaCursor};
use crate::path::Segment;

/// A key field's name and the server's default for an item that leaves it out.
type KeyField<'a> = (&'a str, Option<&'a str>);

/// The fields that identify an item of a keyed list, each with the server's default for
/// an item that leaves it out (`protocol: TCP`). Held inline: lists are keyed by one to
/// three fields, and the walk asks for every list it meets.
pub(super) struct KeyFields<'a> {
    inline: [KeyField<'a>; INLINE_KEYS],
    len: usize,
    more: Vec<KeyField<'a>>,
}

const INLINE_KEYS: usize = 4;

impl<'a> KeyFields<'a> {
    fn collect(fields: impl IntoIterator<Item = KeyField<'a>>) -> Self {
        let mut keys = Self {
            inline: [("", None); INLINE_KEYS],
            len: 0,
            more: Vec::new(),
        };
        for field in fields {
            if keys.len < INLINE_KEYS && keys.more.is_empty() {
                keys.inline[keys.len] = field;
                keys.len += 1;
            } else {
                if keys.more.is_empty() {
                    keys.more.extend_from_slice(&keys.inline[..keys.len]);
                }
                keys.more.push(field);
            }
        }
        keys
    }
}

impl<'a> std::ops::Deref for KeyFields<'a> {
    type Target = [KeyField<'a>];

    fn deref(&self) -> &Self::Target {
        if self.more.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.more
        }
    }
}

/// How the items of one list are paired.
pub(super) enum ListKind<'a> {
    /// By these merge key fields.
    Keyed(KeyFields<'a>),
    /// As a set: order does not matter.
    Set,
    /// The whole list is one value (`x-kubernetes-list-type: atomic`).
    Atomic,
    /// By position: nothing says otherwise.
    Positional,
}

/// How the items of the list at `key` pair up; `schema` is the list's schema and `items`
/// the desired items, or the live ones when Git has none.
pub(super) fn list_kind<'a>(
    kind: &str,
    key: Option<&str>,
    items: &[Value],
    schema: SchemaCursor<'a>,
) -> ListKind<'a> {
    let keyed_by = |names: &mut dyn Iterator<Item = &'a str>| -> KeyFields<'a> {
        let item = schema.item();
        KeyFields::collect(names.map(|name| {
            let default = item
                .field(name)
                .default_value()
                .and_then(Value::as_str)
                .or_else(|| merge_key_default(name));
            (name, default)
        }))
    };
    match schema.list_type() {
        Some(ListType::Map) => {
            let keys = schema.list_map_keys();
            if !keys.is_empty() {
                return ListKind::Keyed(keyed_by(&mut keys.iter().map(|k| &**k)));
            }
            if let Some(merge_key) = schema.merge_key() {
                return ListKind::Keyed(keyed_by(&mut std::iter::once(merge_key)));
            }
        }
        Some(ListType::Set) => return ListKind::Set,
        Some(ListType::Atomic) => return ListKind::Atomic,
        None => {
            if let Some(merge_key) = schema.merge_key() {
                return ListKind::Keyed(keyed_by(&mut std::iter::once(merge_key)));
            }
        }
    }
    let Some(key) = key else {
        return ListKind::Positional;
    };
    if is_set_list(kind, key) {
        return ListKind::Set;
    }
    match crate::k8s::fields::merge_key(
        key,
        items.iter().map(|item| item.get("containerPort").is_some()),
    ) {
        Some(fields) => ListKind::Keyed(KeyFields::collect(fields.iter().copied())),
        None => ListKind::Positional,
    }
}

/// The merge key of a list item, with defaults filled in; `None` when a key field is missing.
pub(super) fn merge_key(
    item: &Value,
    fields: &[(&str, Option<&str>)],
) -> Option<Map<String, Value>> {
    let map = item.as_object()?;
    let mut key = Map::new();
    for (field, default) in fields {
        let value = match (map.get(*field), default) {
            (Some(v), _) if !v.is_object() && !v.is_array() => v.clone(),
            (None, Some(default)) => Value::String((*default).to_owned()),
            _ => return None,
        };
        key.insert((*field).to_owned(), value);
    }
    Some(key)
}

/// A key's values joined, to index items by.
pub(super) fn key_text(key: &Map<String, Value>) -> String {
    key.values()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\u{0}")
}

/// The path segment of the item with `key`.
pub(super) fn keyed_segment(fields: &[(&str, Option<&str>)], key: &Map<String, Value>) -> Segment {
    Segment::Keyed(
        fields
            .iter()
            .filter_map(|(f, _)| Some(((*f).to_owned(), key.get(*f)?.clone())))
            .collect(),
    )
}
