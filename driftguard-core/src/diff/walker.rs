//! The walk itself: both objects side by side, the schema and the owners moving down
//! with it.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::defaults::{
    contains_all, is_finalizers, is_omitted_zero, is_schema_default, mirrors_declared_field,
    same_item,
};
use super::last_applied::{LastApplied, value_at};
use super::lists::{ListKind, key_text, keyed_segment, list_kind, merge_key};
use super::{FieldDiff, WalkContext};
use crate::k8s::defaults::{ObjectType, differs_from_known_default, is_server_default};
use crate::k8s::fields::{is_user_map, never_filled_in};
use crate::k8s::schema::SchemaCursor;
use crate::managed::Owners;
use crate::path::{FieldPath, Segment};
use crate::scalar::{is_empty_value, scalars_equal};

/// Walks `desired` against `live` (see the module docs of [`super`]).
pub(super) fn walk(
    desired: &Value,
    live: &Value,
    owners: &Owners<'_>,
    context: &WalkContext<'_>,
) -> Vec<FieldDiff> {
    let mut walker = Walker {
        context,
        path: FieldPath::root(),
        diffs: Vec::new(),
    };
    let at = At {
        key: None,
        parent: None,
        depth: 0,
        schema: context.schema,
    };
    walker.value(desired, live, owners, at);
    walker.diffs
}

/// Where the walk is: the field name, its parent's, the depth and the schema there.
#[derive(Clone, Copy)]
struct At<'k, 's> {
    key: Option<&'k str>,
    parent: Option<&'k str>,
    depth: usize,
    schema: SchemaCursor<'s>,
}

impl<'k, 's> At<'k, 's> {
    /// The field `field` of the map here.
    fn field(self, field: &'k str) -> Self {
        Self {
            key: Some(field),
            parent: self.key,
            depth: self.depth + 1,
            schema: self.schema.field(field),
        }
    }

    /// An item of the list here (named by the list's field, as the tables expect).
    fn item(self) -> Self {
        Self {
            key: self.key,
            parent: self.key,
            depth: self.depth + 1,
            schema: self.schema.item(),
        }
    }
}

struct Walker<'c, 'a> {
    context: &'c WalkContext<'a>,
    path: FieldPath,
    diffs: Vec<FieldDiff>,
}

impl<'a> Walker<'_, 'a> {
    /// The last-applied value at the current path.
    fn applied_here(&self) -> Option<&Value> {
        value_at(self.context.last_applied.get()?, self.path.segments())
    }

    fn record(&mut self, desired: Option<&Value>, live: Option<&Value>, owners: &Owners<'_>) {
        let policy = self.context.policy;
        let owner = owners.owner(policy);
        self.diffs.push(FieldDiff {
            path: self.path.clone(),
            desired: desired.cloned(),
            live: live.cloned(),
            owner: owner.map(str::to_owned),
            hand_editor: owners.hand_editor(policy).map(str::to_owned),
            unowned: self.context.ownership_recorded && owner.is_none() && live.is_some(),
        });
    }

    fn value(&mut self, desired: &Value, live: &Value, owners: &Owners<'_>, at: At<'_, 'a>) {
        match (desired, live) {
            (Value::Object(d), Value::Object(l)) => self.map(d, l, owners, at),
            (Value::Array(d), Value::Array(l)) => self.list(d, l, owners, at),
            (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => {
                self.record(Some(desired), Some(live), owners);
            }
            _ => {
                if !scalars_equal(desired, live) {
                    self.record(Some(desired), Some(live), owners);
                }
            }
        }
    }

    fn map(
        &mut self,
        desired: &Map<String, Value>,
        live: &Map<String, Value>,
        owners: &Owners<'_>,
        at: At<'_, 'a>,
    ) {
        let kind = self.context.kind;
        let object = ObjectType {
            api_version: self.context.api_version,
            kind,
        };
        for (field, d) in desired {
            if at.depth == 0 && field == "apiVersion" {
                // Pairing is by kind and name; the same object may be read at another version.
                continue;
            }
            self.path.push(Segment::Key(field.clone()));
            let child_owners = owners.key(field);
            match live.get(field) {
                Some(l) if is_finalizers(field, at.key) => {
                    if !contains_all(l, d) {
                        self.record(Some(d), Some(l), &child_owners);
                    }
                }
                Some(l) => self.value(d, l, &child_owners, at.field(field)),
                None if is_omitted_zero(field, d) => {}
                None => self.record(Some(d), None, &child_owners),
            }
            self.path.pop();
        }
        let user_map = at
            .key
            .is_some_and(|k| is_user_map(kind, at.parent, k, at.depth));
        for (field, l) in live {
            if desired.contains_key(field) || is_finalizers(field, at.key) {
                continue;
            }
            let child = at.field(field);
            if !user_map
                && (mirrors_declared_field(field, desired, l)
                    || is_schema_default(child.schema, l)
                    || is_server_default(object, field, at.key, l, live))
            {
                // The server filled it in, or writes a deprecated field and its successor
                // alike: applying Git would leave it as it is, whoever wrote it.
                continue;
            }
            self.path.push(Segment::Key(field.clone()));
            let child_owners = owners.key(field);
            if !user_map && differs_from_known_default(object, field, at.key, l, live) {
                // Leaving a defaulted field out declares its default (`type: Opaque`,
                // `targetPort` = the port): another value is a changed value, whoever
                // wrote it.
                self.record(None, Some(l), &child_owners);
                self.path.pop();
                continue;
            }
            // A value the server never fills in there was set by somebody, as surely as a
            // key of a user map was (only asked when ownership is unknown).
            let set_by_somebody = user_map
                // (`false` there behaves as if unset: no drift in it.)
                || (never_filled_in(kind, field, at.key)
                    && *l != Value::Bool(false)
                    && !(field == "resources" && self.context.resources_set_by_admission));
            self.live_only(l, &child_owners, set_by_somebody, child);
            self.path.pop();
        }
    }

    /// A field or item (at the current path) that live has and Git does not: drift when
    /// somebody put it there (see the module docs), else theirs or a default.
    fn live_only(
        &mut self,
        live: &Value,
        owners: &Owners<'_>,
        set_by_somebody: bool,
        at: At<'_, 'a>,
    ) {
        let policy = self.context.policy;
        if self.applied_here().is_some_and(|a| !is_empty_value(a)) {
            // Removed from Git, still live.
            self.record(None, Some(live), owners);
            return;
        }
        if owners.hand_editor(policy).is_some() || owners.server_side_applier(policy).is_some() {
            // A hand edit, or what a server-side applier declared, somewhere here: report
            // the fields they own, not the defaults around them. A keyed list is reported
            // item by item, so that each env var or volume gets its own type.
            let partial = !owners.declared_whole(policy);
            let keyed = matches!(live, Value::Array(items) if self.is_keyed_list(items, at));
            if !((partial || keyed) && self.live_only_children(live, owners, at)) {
                self.record(None, Some(live), owners);
            }
            return;
        }
        if self.context.ownership_recorded {
            // An operator's or controller's, or admission's when no manager owns it.
            return;
        }
        if set_by_somebody {
            self.record(None, Some(live), owners);
            return;
        }
        // Look inside: a map Git leaves out may hold a user map or keyed list somebody
        // filled in (a job template's labels, say), and every key of a user map counts. A
        // list is keyed here as the tables key it (a ServiceAccount's `imagePullSecrets`,
        // atomic in the schema, holds named items all the same).
        let at = match live {
            Value::Array(_) => At {
                schema: SchemaCursor::UNKNOWN,
                ..at
            },
            _ => at,
        };
        let look_inside = match live {
            Value::Object(_) => true,
            Value::Array(items) => self.is_keyed_list(items, at),
            _ => false,
        };
        if look_inside {
            self.live_only_children(live, owners, at);
        }
    }

    /// Whether `items` (a list found at `at`) is a keyed list: every item in it was put
    /// there by somebody.
    fn is_keyed_list(&self, items: &[Value], at: At<'_, 'a>) -> bool {
        match list_kind(self.context.kind, at.key, items, at.schema) {
            ListKind::Keyed(fields) => items.iter().all(|i| merge_key(i, &fields).is_some()),
            _ => false,
        }
    }

    /// Walks the children of a map or keyed list that only live has, as if Git declared it
    /// empty; returns `false` when `live` has no such children to walk.
    fn live_only_children(&mut self, live: &Value, owners: &Owners<'_>, at: At<'_, 'a>) -> bool {
        match live {
            Value::Object(map) => {
                self.map(&Map::new(), map, owners, at);
                true
            }
            Value::Array(items) => match list_kind(self.context.kind, at.key, items, at.schema) {
                ListKind::Keyed(fields) => {
                    self.keyed_list(&[], &[], items, owners, &fields, at);
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }

    fn list(&mut self, desired: &[Value], live: &[Value], owners: &Owners<'_>, at: At<'_, 'a>) {
        match list_kind(self.context.kind, at.key, desired, at.schema) {
            ListKind::Keyed(fields) => {
                if let Some(desired_keys) = desired
                    .iter()
                    .map(|d| merge_key(d, &fields))
                    .collect::<Option<Vec<_>>>()
                {
                    self.keyed_list(desired, &desired_keys, live, owners, &fields, at);
                    return;
                }
                self.positional_list(desired, live, owners, at);
            }
            ListKind::Set => self.set_list(desired, live, owners, at),
            ListKind::Atomic => self.atomic_list(desired, live, owners, at),
            ListKind::Positional => self.positional_list(desired, live, owners, at),
        }
    }

    fn keyed_list(
        &mut self,
        desired: &[Value],
        desired_keys: &[Map<String, Value>],
        live: &[Value],
        owners: &Owners<'_>,
        fields: &[(&str, Option<&str>)],
        at: At<'_, 'a>,
    ) {
        let item_at = at.item();
        let live_keys: Vec<Option<Map<String, Value>>> =
            live.iter().map(|l| merge_key(l, fields)).collect();
        let live_index: HashMap<String, usize> = live_keys
            .iter()
            .enumerate()
            .rev()
            .filter_map(|(i, k)| Some((key_text(k.as_ref()?), i)))
            .collect();
        let mut matched = vec![false; live.len()];
        for (d, d_key) in desired.iter().zip(desired_keys) {
            self.path.push(keyed_segment(fields, d_key));
            let text = key_text(d_key);
            // Items with the same key (an env var defined twice, which the API server
            // keeps) pair up in order: the second in Git with the second live.
            let found = live_index.get(&text).copied().and_then(|first| {
                if !matched[first] {
                    return Some(first);
                }
                (first + 1..live.len()).find(|&j| {
                    !matched[j] && live_keys[j].as_ref().is_some_and(|k| key_text(k) == text)
                })
            });
            match found {
                Some(i) => {
                    matched[i] = true;
                    let live_key = live_keys[i].as_ref().unwrap_or(d_key);
                    self.value(d, &live[i], &owners.keyed(live_key), item_at);
                }
                None => self.record(Some(d), None, &Owners::none()),
            }
            self.path.pop();
        }
        for (i, l) in live.iter().enumerate() {
            if matched[i] {
                continue;
            }
            let item_owners = match &live_keys[i] {
                Some(k) => {
                    self.path.push(keyed_segment(fields, k));
                    owners.keyed(k)
                }
                None => {
                    self.path.push(Segment::Index(i));
                    owners.item(i, l)
                }
            };
            // An item Git lacks was put there by somebody, unless ownership says it is a
            // controller's, an operator's or admission's.
            self.live_only(l, &item_owners, true, item_at);
            self.path.pop();
        }
    }

    fn positional_list(
        &mut self,
        desired: &[Value],
        live: &[Value],
        owners: &Owners<'_>,
        at: At<'_, 'a>,
    ) {
        if desired.len() != live.len() {
            self.resized_list(desired, live, owners, at);
            return;
        }
        let item_at = at.item();
        for (i, (d, l)) in desired.iter().zip(live).enumerate() {
            self.path.push(Segment::Index(i));
            self.value(d, l, &owners.item(i, l), item_at);
            self.path.pop();
        }
    }

    /// The indexes of the items the longer of `desired` and `live` has beyond the shorter
    /// one, when the shorter one's items all appear in it, in order (items were only added
    /// or only removed); `None` otherwise.
    fn extra_items(&self, desired: &[Value], live: &[Value], at: At<'_, 'a>) -> Option<Vec<usize>> {
        let desired_longer = desired.len() > live.len();
        let (longer, shorter) = if desired_longer {
            (desired, live)
        } else {
            (live, desired)
        };
        let object = ObjectType {
            api_version: self.context.api_version,
            kind: self.context.kind,
        };
        let item = at.schema.item();
        let same = |long: &Value, short: &Value| {
            let (d, l) = if desired_longer {
                (long, short)
            } else {
                (short, long)
            };
            same_item(object, d, l, at.key, item)
        };
        let mut extra = Vec::with_capacity(longer.len() - shorter.len());
        let mut next = shorter.iter().peekable();
        for (i, item) in longer.iter().enumerate() {
            match next.peek() {
                Some(short) if same(item, short) => {
                    next.next();
                }
                _ => extra.push(i),
            }
        }
        next.peek().is_none().then_some(extra)
    }

    /// A positional list whose length changed. When it holds objects and the items of the
    /// shorter side appear, in order, in the longer one (items were only added or only
    /// removed), each added or removed item is a difference of its own, at its index in
    /// the longer side, so that an added `configMapRef` next to an untouched `secretRef`
    /// is a ConfigMap change. Otherwise (`args`, say) the whole list is one difference.
    fn resized_list(
        &mut self,
        desired: &[Value],
        live: &[Value],
        owners: &Owners<'_>,
        at: At<'_, 'a>,
    ) {
        let objects = desired.iter().chain(live).all(Value::is_object);
        let extra = if objects {
            self.extra_items(desired, live, at)
        } else {
            None
        };
        let Some(extra) = extra else {
            self.record_whole(desired, live, owners);
            return;
        };
        let desired_longer = desired.len() > live.len();
        if !desired_longer && !self.added_by_somebody(owners, desired.len()) {
            // Appended by a controller, an operator or admission.
            return;
        }
        for i in extra {
            self.path.push(Segment::Index(i));
            if desired_longer {
                // Whoever owns the list removed the item.
                self.record(Some(&desired[i]), None, owners);
            } else {
                self.record(None, Some(&live[i]), &owners.item(i, &live[i]));
            }
            self.path.pop();
        }
    }

    fn record_whole(&mut self, desired: &[Value], live: &[Value], owners: &Owners<'_>) {
        let d = Value::Array(desired.to_vec());
        let l = Value::Array(live.to_vec());
        self.record(Some(&d), Some(&l), owners);
    }

    /// An atomic list: one value, owned as a whole by whoever wrote it last, and paired
    /// by position whatever the tables say (a ServiceAccount's `imagePullSecrets`).
    /// Differences are still reported item by item where they can be, as for any
    /// positional list; items only appended to it count as items Git never declared.
    fn atomic_list(
        &mut self,
        desired: &[Value],
        live: &[Value],
        owners: &Owners<'_>,
        at: At<'_, 'a>,
    ) {
        self.positional_list(desired, live, owners, at);
    }

    /// Whether items only live has in a list Git declares with `declared` items, owned by
    /// `owners`, were put there by somebody: a hand-edit tool or a server-side applier
    /// owns them, or the last-applied list was longer (Git dropped them). Always, when the
    /// object does not record ownership.
    fn added_by_somebody(&self, owners: &Owners<'_>, declared: usize) -> bool {
        let policy = self.context.policy;
        !self.context.ownership_recorded
            || owners.hand_editor(policy).is_some()
            || owners.server_side_applier(policy).is_some()
            || self
                .applied_here()
                .and_then(Value::as_array)
                .is_some_and(|applied| applied.len() > declared)
    }

    /// A set: the same items in any order. Items only live has count as items Git never
    /// declared; any other difference makes the whole set one difference.
    fn set_list(&mut self, desired: &[Value], live: &[Value], owners: &Owners<'_>, at: At<'_, 'a>) {
        let mut used = vec![false; live.len()];
        let all_found = desired.iter().all(|d| {
            let found = live
                .iter()
                .enumerate()
                .position(|(i, l)| !used[i] && self.same_value(d, l, at.item()));
            found.map(|i| used[i] = true).is_some()
        });
        if all_found && used.iter().all(|u| *u) {
            return;
        }
        if all_found {
            let extra_by_somebody = live.iter().zip(&used).any(|(item, used)| {
                !used && self.added_by_somebody(&owners.set_item(item), desired.len())
            });
            if !extra_by_somebody {
                return;
            }
        }
        self.record_whole(desired, live, owners);
    }

    /// Whether `desired` and `live` show no difference by the walk's rules, ownership
    /// and three-way aside.
    fn same_value(&self, desired: &Value, live: &Value, at: At<'_, 'a>) -> bool {
        let last_applied = LastApplied::none();
        let context = WalkContext {
            last_applied: &last_applied,
            ownership_recorded: false,
            ..*self.context
        };
        let mut scratch = Walker {
            context: &context,
            path: FieldPath::root(),
            diffs: Vec::new(),
        };
        scratch.value(desired, live, &Owners::none(), at);
        scratch.diffs.is_empty()
    }
}
