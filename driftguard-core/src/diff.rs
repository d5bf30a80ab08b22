//! The field walk (DESIGN.md §4, rules 3 and 4): every field Git sets must match live, and
//! a field only in live is drift when somebody put it there.
//!
//! A field only in live is drift when:
//! - the last-applied configuration has it (removed from Git, still live: three-way);
//! - a server-side applier owns it (it was in the manifest last applied, and Git no longer
//!   declares it: the same three-way rule, read from `managedFields`);
//! - a manager that is neither an applier nor a controller owns it (a hand edit);
//! - it is a key of a user map or an item of a keyed list (labels, annotations, ConfigMap
//!   and Secret data, env vars, ports, volumes, containers, …), including a whole user map
//!   or keyed list that Git does not have at all, unless controllers alone own it;
//! - it is a field the server defaults, holding a value the server never fills in (a
//!   `targetPort` other than the port, `suspend: true`), or a field of a workload's pod
//!   template that the server never fills in at all (`command`, `resources`,
//!   `hostNetwork`), unless controllers alone own it.
//!
//! A map only live has is looked into with the same rules, so that a user map or keyed
//! list inside it still counts. Anything else only live has is a server default; and a
//! field whose live value is the one the API server fills in (see
//! [`crate::normalize::server_defaults`]) is never drift, since applying Git would leave it
//! unchanged. A desired `false` or `0` that live lacks is the zero value the API server
//! omits, not a difference.
//!
//! Both objects must already be canonical (see [`crate::normalize`]).

use std::cell::OnceCell;

use serde_json::{Map, Value};

use crate::managed::{ManagerPolicy, Owners};
use crate::normalize::server_defaults::{
    differs_from_known_default, is_server_default, never_filled_in,
};
use crate::normalize::{CanonicalOptions, canonicalize_in_place};
use crate::normalize::{is_set_list, is_user_map};
use crate::path::{FieldPath, Segment};

/// One difference found by the walk, before classification.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDiff {
    /// Where the values differ.
    pub path: FieldPath,
    /// The desired value, `None` when Git does not set the field.
    pub desired: Option<Value>,
    /// The live value, `None` when the field is absent in the cluster.
    pub live: Option<Value>,
    /// The manager owning the live field, if `managedFields` names one.
    pub owner: Option<String>,
    /// The owner when it is not a known applier or controller: a hand edit.
    pub hand_editor: Option<String>,
}

/// The last-applied configuration of a live object, for the three-way rule.
///
/// Most objects `kubectl apply` created carry one, and reading it costs as much as reading
/// the object. It is parsed and canonicalised only when the walk first meets a field that
/// only live has and that is not a server default, which most walks never do.
#[derive(Debug)]
pub struct LastApplied<'a> {
    source: Source<'a>,
    parsed: OnceCell<Option<Value>>,
}

#[derive(Debug)]
enum Source<'a> {
    Nothing,
    Text(&'a str, &'a CanonicalOptions),
    Canonical(&'a Value),
}

impl<'a> LastApplied<'a> {
    /// No last-applied configuration.
    pub fn none() -> Self {
        Self::from_source(Source::Nothing)
    }

    /// The annotation's text, read and canonicalised with `options` when first needed.
    /// Text that is not JSON counts as no configuration.
    pub fn from_text(text: &'a str, options: &'a CanonicalOptions) -> Self {
        Self::from_source(Source::Text(text, options))
    }

    /// A configuration already in canonical form.
    pub fn canonical(value: &'a Value) -> Self {
        Self::from_source(Source::Canonical(value))
    }

    fn from_source(source: Source<'a>) -> Self {
        Self {
            source,
            parsed: OnceCell::new(),
        }
    }

    /// The canonical configuration, if there is one.
    pub fn get(&self) -> Option<&Value> {
        match &self.source {
            Source::Nothing => None,
            Source::Canonical(value) => Some(value),
            Source::Text(text, options) => self
                .parsed
                .get_or_init(|| {
                    let mut value: Value = serde_json::from_str(text).ok()?;
                    canonicalize_in_place(&mut value, options);
                    Some(value)
                })
                .as_ref(),
        }
    }
}

/// The value at `path` inside `root`, following keyed segments by their merge key values.
fn value_at<'v>(root: &'v Value, path: &[Segment]) -> Option<&'v Value> {
    path.iter().try_fold(root, |value, segment| match segment {
        Segment::Key(key) => value.get(key),
        Segment::Index(index) => value.get(*index),
        Segment::Keyed(fields) => value.as_array()?.iter().find(|item| {
            fields.iter().all(|(field, wanted)| match item.get(field) {
                Some(found) => scalars_equal(found, wanted),
                None => key_default(field).is_some_and(|d| wanted.as_str() == Some(d)),
            })
        }),
    })
}

/// The server's default for a merge key field a list item leaves out.
fn key_default(field: &str) -> Option<&'static str> {
    [BY_CONTAINER_PORT, BY_PORT]
        .iter()
        .flat_map(|fields| fields.iter())
        .find(|(name, _)| *name == field)
        .and_then(|(_, default)| *default)
}

/// What the walk knows besides the two objects.
#[derive(Debug, Clone, Copy)]
pub struct WalkContext<'a> {
    /// The object's kind; some rules depend on it.
    pub kind: &'a str,
    /// The last-applied configuration, for the three-way rule.
    pub last_applied: &'a LastApplied<'a>,
    /// Who is an applier or controller.
    pub policy: &'a ManagerPolicy,
    /// Whether an admission webhook says it filled in the pod template's container
    /// resources (GKE Autopilot's `autopilot.gke.io/resource-adjustment`): resources Git
    /// leaves out are then the platform's, not somebody's edit.
    pub resources_set_by_admission: bool,
}

/// Compares canonical `desired` against canonical `live`; `owners` is the
/// `managedFields` cursor at the root.
pub fn diff_objects(
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
    walker.value(desired, live, owners, None, None, 0);
    walker.diffs
}

/// Whether two scalars are the same value: equal JSON, or a number and its string form.
pub fn scalars_equal(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            s.parse::<f64>().ok() == n.as_f64() && !s.trim().is_empty()
        }
        (Value::Bool(v), Value::String(s)) | (Value::String(s), Value::Bool(v)) => {
            s == if *v { "true" } else { "false" }
        }
        _ => false,
    }
}

/// How the items of one list are paired.
enum ListKind {
    /// By these merge key fields, with the server's default for a missing field.
    Keyed(&'static [(&'static str, Option<&'static str>)]),
    /// As a set: order does not matter.
    Set,
    /// By position.
    Positional,
}

const BY_NAME: &[(&str, Option<&str>)] = &[("name", None)];
const BY_MOUNT_PATH: &[(&str, Option<&str>)] = &[("mountPath", None)];
const BY_DEVICE_PATH: &[(&str, Option<&str>)] = &[("devicePath", None)];
const BY_IP: &[(&str, Option<&str>)] = &[("ip", None)];
const BY_CONTAINER_PORT: &[(&str, Option<&str>)] =
    &[("containerPort", None), ("protocol", Some("TCP"))];
const BY_PORT: &[(&str, Option<&str>)] = &[("port", None), ("protocol", Some("TCP"))];
const BY_TOPOLOGY: &[(&str, Option<&str>)] = &[("topologyKey", None), ("whenUnsatisfiable", None)];

/// How the items of the list at `key` pair up; `items` are the desired items, or the live
/// ones when Git has none.
fn list_kind(kind: &str, key: Option<&str>, items: &[Value]) -> ListKind {
    let Some(key) = key else {
        return ListKind::Positional;
    };
    if is_set_list(kind, key) {
        return ListKind::Set;
    }
    let fields = match key {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims"
        | "secrets" => BY_NAME,
        "volumeMounts" => BY_MOUNT_PATH,
        "volumeDevices" => BY_DEVICE_PATH,
        "hostAliases" => BY_IP,
        "topologySpreadConstraints" => BY_TOPOLOGY,
        "ports" if items.iter().all(|item| item.get("containerPort").is_some()) => {
            BY_CONTAINER_PORT
        }
        "ports" => BY_PORT,
        _ => return ListKind::Positional,
    };
    ListKind::Keyed(fields)
}

/// The merge key of a list item, with defaults filled in; `None` when a key field is missing.
fn merge_key(item: &Value, fields: &[(&str, Option<&str>)]) -> Option<Map<String, Value>> {
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

fn key_text(key: &Map<String, Value>) -> String {
    key.values()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\u{0}")
}

fn keyed_segment(fields: &[(&str, Option<&str>)], key: &Map<String, Value>) -> Segment {
    Segment::Keyed(
        fields
            .iter()
            .filter_map(|(f, _)| Some(((*f).to_owned(), key.get(*f)?.clone())))
            .collect(),
    )
}

struct Walker<'c, 'a> {
    context: &'c WalkContext<'a>,
    path: FieldPath,
    diffs: Vec<FieldDiff>,
}

/// Fields the API server keeps when they are `false` or `0` (optional fields, which it
/// returns whenever they are set): live lacking one that Git sets means it was removed.
const KEPT_ZERO_FIELDS: &[&str] = &[
    "runAsNonRoot",
    "runAsUser",
    "runAsGroup",
    "fsGroup",
    "privileged",
    "allowPrivilegeEscalation",
    "readOnlyRootFilesystem",
    "automountServiceAccountToken",
    "shareProcessNamespace",
    "hostUsers",
    "setHostnameAsFQDN",
    "enableServiceLinks",
    "optional",
    "immutable",
    "allowVolumeExpansion",
    "activeDeadlineSeconds",
    "startingDeadlineSeconds",
    "ttlSecondsAfterFinished",
    "terminationGracePeriodSeconds",
];

/// Whether a `false` or `0` that Git sets at `field` and live lacks is just left out of
/// the server's answer, as the zero value of a plain (not optional) field is.
fn is_omitted_zero(field: &str, value: &Value) -> bool {
    is_zero_scalar(value) && !KEPT_ZERO_FIELDS.contains(&field)
}

/// Whether `field` of the map found at `key` is an object's `metadata.finalizers`.
///
/// Controllers add finalizers to the objects they look after (volume protection, load
/// balancer clean-up, an ingress controller's own), under field managers of every name:
/// the finalizers Git declares must be there, in any order, and others are not drift.
fn is_finalizers(field: &str, key: Option<&str>) -> bool {
    field == "finalizers" && key == Some("metadata")
}

/// Whether the list `live` holds every item of the list `desired`.
fn contains_all(live: &Value, desired: &Value) -> bool {
    match (desired, live) {
        (Value::Array(desired), Value::Array(live)) => desired.iter().all(|d| live.contains(d)),
        _ => desired == live,
    }
}

/// The zero value of a scalar, which the API server leaves out of its answer.
/// Whether `field` only live has mirrors a field Git declares with the same value: the
/// API server fills in `serviceAccountName` from a manifest's deprecated `serviceAccount`.
fn mirrors_declared_field(field: &str, desired: &Map<String, Value>, live: &Value) -> bool {
    let mirror = match field {
        "serviceAccountName" => "serviceAccount",
        "serviceAccount" => "serviceAccountName",
        _ => return false,
    };
    desired.get(mirror) == Some(live)
}

/// Whether live item `live` is desired item `desired` as the server returns it: every
/// field Git sets has the same value, and every other field is a server default. Strict
/// where the walk is lenient (no ownership, no three-way): it only decides whether items
/// of a resized list pair up, and stops at the first difference.
fn same_item(kind: &str, desired: &Value, live: &Value, key: Option<&str>) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => {
            d.iter().all(|(field, dv)| match l.get(field) {
                Some(lv) => same_item(kind, dv, lv, Some(field)),
                None => is_omitted_zero(field, dv),
            }) && l.iter().all(|(field, lv)| {
                d.contains_key(field) || is_server_default(kind, field, key, lv, l)
            })
        }
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(dv, lv)| same_item(kind, dv, lv, key))
        }
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => false,
        _ => scalars_equal(desired, live),
    }
}

fn is_zero_scalar(value: &Value) -> bool {
    match value {
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

impl Walker<'_, '_> {
    /// The last-applied value at the current path.
    fn applied_here(&self) -> Option<&Value> {
        value_at(self.context.last_applied.get()?, self.path.segments())
    }

    fn record(&mut self, desired: Option<&Value>, live: Option<&Value>, owners: &Owners<'_>) {
        let policy = self.context.policy;
        self.diffs.push(FieldDiff {
            path: self.path.clone(),
            desired: desired.cloned(),
            live: live.cloned(),
            owner: owners.owner(policy).map(str::to_owned),
            hand_editor: owners.hand_editor(policy).map(str::to_owned),
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn value(
        &mut self,
        desired: &Value,
        live: &Value,
        owners: &Owners<'_>,
        key: Option<&str>,
        parent: Option<&str>,
        depth: usize,
    ) {
        match (desired, live) {
            (Value::Object(d), Value::Object(l)) => {
                self.map(d, l, owners, key, parent, depth);
            }
            (Value::Array(d), Value::Array(l)) => self.list(d, l, owners, key, depth),
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

    #[allow(clippy::too_many_arguments)]
    fn map(
        &mut self,
        desired: &Map<String, Value>,
        live: &Map<String, Value>,
        owners: &Owners<'_>,
        key: Option<&str>,
        parent: Option<&str>,
        depth: usize,
    ) {
        let kind = self.context.kind;
        for (field, d) in desired {
            if depth == 0 && field == "apiVersion" {
                // Pairing is by kind and name; the same object may be read at another version.
                continue;
            }
            self.path.push(Segment::Key(field.clone()));
            let child_owners = owners.key(field);
            let finalizers = is_finalizers(field, key);
            match live.get(field) {
                Some(l) if finalizers => {
                    if !contains_all(l, d) {
                        self.record(Some(d), Some(l), &child_owners);
                    }
                }
                Some(l) => self.value(d, l, &child_owners, Some(field), key, depth + 1),
                None if is_omitted_zero(field, d) => {}
                None => self.record(Some(d), None, &child_owners),
            }
            self.path.pop();
        }
        let user_map = key.is_some_and(|k| is_user_map(kind, parent, k, depth));
        for (field, l) in live {
            if desired.contains_key(field) || is_finalizers(field, key) {
                continue;
            }
            if !user_map && mirrors_declared_field(field, desired, l) {
                // The API server writes a deprecated field and its successor alike.
                continue;
            }
            if !user_map && is_server_default(kind, field, key, l, live) {
                // Applying Git would leave it as it is, whoever wrote it.
                continue;
            }
            // A value the server never fills in there was set by somebody, as surely as a
            // key of a user map was.
            let set_by_somebody = user_map
                // (`false` there behaves as if unset: no drift in it.)
                || (never_filled_in(kind, field, key)
                    && *l != Value::Bool(false)
                    && !(field == "resources" && self.context.resources_set_by_admission))
                || differs_from_known_default(kind, field, key, l, live);
            self.path.push(Segment::Key(field.clone()));
            self.live_only(
                l,
                &owners.key(field),
                set_by_somebody,
                Some(field),
                key,
                depth + 1,
            );
            self.path.pop();
        }
    }

    /// A field (at the current path) that live has and Git does not: drift when somebody
    /// put it there (see the module docs), else a default.
    #[allow(clippy::too_many_arguments)]
    fn live_only(
        &mut self,
        live: &Value,
        owners: &Owners<'_>,
        set_by_somebody: bool,
        key: Option<&str>,
        parent: Option<&str>,
        depth: usize,
    ) {
        let policy = self.context.policy;
        if self
            .applied_here()
            .is_some_and(|a| !crate::normalize::is_empty_value(a))
        {
            self.record(None, Some(live), owners);
            return;
        }
        if owners.hand_editor(policy).is_some() {
            // A hand edit somewhere inside a map Git leaves out: report the edited fields,
            // not the defaults around them. A keyed list made by hand is reported item by
            // item, so that each env var or volume gets its own type.
            let partial = !owners.hand_editor_owns_whole(policy);
            let keyed = matches!(live, Value::Array(items) if self.is_keyed_list(items, key));
            if !((partial || keyed) && self.live_only_children(live, owners, key, parent, depth)) {
                self.record(None, Some(live), owners);
            }
            return;
        }
        if owners.server_side_applier(policy).is_some() {
            self.record(None, Some(live), owners);
            return;
        }
        if owners.only_controllers(policy) {
            return;
        }
        if set_by_somebody {
            self.record(None, Some(live), owners);
            return;
        }
        // Look inside: a map Git leaves out may hold a user map or keyed list somebody
        // filled in (a job template's labels, say), and every key of a user map counts.
        let look_inside = match live {
            Value::Object(_) => true,
            Value::Array(items) => self.is_keyed_list(items, key),
            _ => false,
        };
        if look_inside {
            self.live_only_children(live, owners, key, parent, depth);
        }
    }

    /// Whether `items` (a list found at `key`) is a keyed list: every item in it was put
    /// there by somebody.
    fn is_keyed_list(&self, items: &[Value], key: Option<&str>) -> bool {
        match list_kind(self.context.kind, key, items) {
            ListKind::Keyed(fields) => items.iter().all(|i| merge_key(i, fields).is_some()),
            _ => false,
        }
    }

    /// Walks the children of a map or keyed list that only live has, as if Git declared it
    /// empty; returns `false` when `live` has no such children to walk.
    #[allow(clippy::too_many_arguments)]
    fn live_only_children(
        &mut self,
        live: &Value,
        owners: &Owners<'_>,
        key: Option<&str>,
        parent: Option<&str>,
        depth: usize,
    ) -> bool {
        match live {
            Value::Object(map) => {
                self.map(&Map::new(), map, owners, key, parent, depth);
                true
            }
            Value::Array(items) => match list_kind(self.context.kind, key, items) {
                ListKind::Keyed(fields) => {
                    self.keyed_list(&[], &[], items, owners, key, fields, depth);
                    true
                }
                _ => false,
            },
            _ => false,
        }
    }

    fn list(
        &mut self,
        desired: &[Value],
        live: &[Value],
        owners: &Owners<'_>,
        key: Option<&str>,
        depth: usize,
    ) {
        match list_kind(self.context.kind, key, desired) {
            ListKind::Keyed(fields) => {
                if let Some(desired_keys) = desired
                    .iter()
                    .map(|d| merge_key(d, fields))
                    .collect::<Option<Vec<_>>>()
                {
                    self.keyed_list(desired, &desired_keys, live, owners, key, fields, depth);
                    return;
                }
                self.positional_list(desired, live, owners, key, depth);
            }
            ListKind::Set => {
                if !self.same_set(desired, live) {
                    let desired = Value::Array(desired.to_vec());
                    let live = Value::Array(live.to_vec());
                    self.record(Some(&desired), Some(&live), owners);
                }
            }
            ListKind::Positional => self.positional_list(desired, live, owners, key, depth),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn keyed_list(
        &mut self,
        desired: &[Value],
        desired_keys: &[Map<String, Value>],
        live: &[Value],
        owners: &Owners<'_>,
        key: Option<&str>,
        fields: &[(&str, Option<&str>)],
        depth: usize,
    ) {
        let live_keys: Vec<Option<Map<String, Value>>> =
            live.iter().map(|l| merge_key(l, fields)).collect();
        let live_index: std::collections::HashMap<String, usize> = live_keys
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
                    self.value(d, &live[i], &owners.keyed(live_key), key, key, depth + 1);
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
                    owners.index(i)
                }
            };
            // An item the controllers added (an older token controller's Secret in a
            // ServiceAccount) is theirs; any other item Git lacks was added by somebody.
            if !item_owners.only_controllers(self.context.policy) {
                self.record(None, Some(l), &item_owners);
            }
            self.path.pop();
        }
    }

    fn positional_list(
        &mut self,
        desired: &[Value],
        live: &[Value],
        owners: &Owners<'_>,
        key: Option<&str>,
        depth: usize,
    ) {
        if desired.len() != live.len() {
            self.resized_list(desired, live, owners, key);
            return;
        }
        for (i, (d, l)) in desired.iter().zip(live).enumerate() {
            self.path.push(Segment::Index(i));
            self.value(d, l, &owners.index(i), key, key, depth + 1);
            self.path.pop();
        }
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
        key: Option<&str>,
    ) {
        let whole = |this: &mut Self| {
            let d = Value::Array(desired.to_vec());
            let l = Value::Array(live.to_vec());
            this.record(Some(&d), Some(&l), owners);
        };
        if !desired.iter().chain(live).all(Value::is_object) {
            whole(self);
            return;
        }
        let desired_longer = desired.len() > live.len();
        let (longer, shorter) = if desired_longer {
            (desired, live)
        } else {
            (live, desired)
        };
        let kind = self.context.kind;
        let same = |long: &Value, short: &Value| {
            let (d, l) = if desired_longer {
                (long, short)
            } else {
                (short, long)
            };
            same_item(kind, d, l, key)
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
        if next.peek().is_some() {
            whole(self);
            return;
        }
        for i in extra {
            self.path.push(Segment::Index(i));
            if desired_longer {
                // Whoever owns the list removed the item.
                self.record(Some(&longer[i]), None, owners);
            } else {
                self.record(None, Some(&longer[i]), &owners.index(i));
            }
            self.path.pop();
        }
    }

    fn same_set(&self, desired: &[Value], live: &[Value]) -> bool {
        if desired.len() != live.len() {
            return false;
        }
        let mut used = vec![false; live.len()];
        desired.iter().all(|d| {
            let found = live.iter().enumerate().position(|(i, l)| {
                !used[i]
                    && diff_objects(
                        d,
                        l,
                        &Owners::none(),
                        &WalkContext {
                            last_applied: &LastApplied::none(),
                            ..*self.context
                        },
                    )
                    .is_empty()
            });
            found.map(|i| used[i] = true).is_some()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::managed::ManagedFields;
    use serde_json::json;

    fn diffs(kind: &str, desired: Value, live: Value) -> Vec<String> {
        let policy = ManagerPolicy::default();
        let context = WalkContext {
            kind,
            last_applied: &LastApplied::none(),
            policy: &policy,
            resources_set_by_admission: false,
        };
        diff_objects(&desired, &live, &Owners::none(), &context)
            .into_iter()
            .map(|d| d.path.to_string())
            .collect()
    }

    #[test]
    fn fields_only_in_live_are_defaults() {
        assert!(
            diffs(
                "Deployment",
                json!({"spec": {"replicas": 2}}),
                json!({"spec": {"replicas": 2, "revisionHistoryLimit": 10}})
            )
            .is_empty()
        );
    }

    #[test]
    fn keyed_lists_match_by_key_not_position() {
        let desired =
            json!({"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]});
        let live =
            json!({"containers": [{"name": "b", "image": "y"}, {"name": "a", "image": "z"}]});
        assert_eq!(diffs("Pod", desired, live), ["containers[name=a].image"]);
    }

    #[test]
    fn live_only_keyed_items_are_drift() {
        let desired = json!({"env": [{"name": "A", "value": "1"}]});
        let live = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]});
        assert_eq!(diffs("Pod", desired, live), ["env[name=B]"]);
    }

    #[test]
    fn items_with_the_same_key_pair_in_order() {
        let desired = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"},
            {"name": "A", "value": "3"}]});
        let live = desired.clone();
        assert!(diffs("Pod", desired.clone(), live).is_empty());
        let live = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"},
            {"name": "A", "value": "4"}]});
        assert_eq!(diffs("Pod", desired.clone(), live), ["env[name=A].value"]);
        let live = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]});
        assert_eq!(diffs("Pod", desired, live), ["env[name=A]"]);
    }

    #[test]
    fn port_protocol_defaults_to_tcp() {
        let desired = json!({"ports": [{"containerPort": 80}]});
        let live = json!({"ports": [{"containerPort": 80, "protocol": "TCP"}]});
        assert!(diffs("Pod", desired, live).is_empty());
    }

    #[test]
    fn positional_lists_compare_elements_by_the_same_rules() {
        let desired = json!({"items": [{"a": 1}]});
        let live = json!({"items": [{"a": 1, "defaulted": true}]});
        assert!(diffs("X", desired, live).is_empty());
        let desired = json!({"args": ["a", "b"]});
        let live = json!({"args": ["a"]});
        assert_eq!(diffs("X", desired, live), ["args"]);
    }

    #[test]
    fn items_added_to_or_removed_from_positional_lists_are_differences_of_their_own() {
        let secret = json!({"secretRef": {"name": "creds"}});
        let config = json!({"configMapRef": {"name": "settings"}});
        let desired = json!({"envFrom": [secret.clone()]});
        let live = json!({"envFrom": [secret.clone(), config.clone()]});
        assert_eq!(diffs("Pod", desired.clone(), live.clone()), ["envFrom[1]"]);
        assert_eq!(diffs("Pod", live, desired), ["envFrom[1]"]);
        let desired = json!({"envFrom": [secret.clone(), config.clone()]});
        let live = json!({"envFrom": [config.clone()]});
        assert_eq!(diffs("Pod", desired, live), ["envFrom[0]"]);
        // An item that only live has a field in is not the same item.
        let edited = json!({"envFrom": [{"secretRef": {"name": "creds", "optional": true},
            "prefix": "HACKED_"}, config.clone()]});
        assert_eq!(
            diffs("Pod", json!({"envFrom": [secret.clone()]}), edited),
            ["envFrom"]
        );
        // Items changed as well as added: the whole list.
        let desired = json!({"envFrom": [secret]});
        let live = json!({"envFrom": [config, {"prefix": "X_", "configMapRef": {"name": "more"}}]});
        assert_eq!(diffs("Pod", desired, live), ["envFrom"]);
    }

    #[test]
    fn user_map_keys_only_in_live_are_drift() {
        let desired = json!({"metadata": {"labels": {"app": "web"}}});
        let live = json!({"metadata": {"labels": {"app": "web", "hand": "edit"}}});
        assert_eq!(diffs("X", desired, live), ["metadata.labels.hand"]);
    }

    #[test]
    fn three_way_removed_field_is_drift() {
        let policy = ManagerPolicy::default();
        let applied = json!({"spec": {"minReadySeconds": 10}});
        let applied = LastApplied::canonical(&applied);
        let context = WalkContext {
            kind: "Deployment",
            last_applied: &applied,
            policy: &policy,
            resources_set_by_admission: false,
        };
        let found = diff_objects(
            &json!({"spec": {"replicas": 1}}),
            &json!({"spec": {"replicas": 1, "minReadySeconds": 10, "revisionHistoryLimit": 10}}),
            &Owners::none(),
            &context,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path.to_string(), "spec.minReadySeconds");
        assert_eq!(found[0].desired, None);
        assert_eq!(found[0].live, Some(json!(10)));
    }

    #[test]
    fn three_way_follows_keyed_items_with_defaulted_keys() {
        let policy = ManagerPolicy::default();
        let applied = json!({"containers": [{"name": "c", "args": ["--old"],
            "ports": [{"containerPort": 80, "hostPort": 8080}]}]});
        let applied = LastApplied::canonical(&applied);
        let context = WalkContext {
            kind: "Pod",
            last_applied: &applied,
            policy: &policy,
            resources_set_by_admission: false,
        };
        let found = diff_objects(
            &json!({"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}),
            &json!({"containers": [{"name": "c", "args": ["--old"], "imagePullPolicy": "Always",
                "ports": [{"containerPort": 80, "protocol": "TCP", "hostPort": 8080}]}]}),
            &Owners::none(),
            &context,
        );
        let mut found = paths(&found);
        found.sort();
        assert_eq!(
            found,
            [
                "containers[name=c].args",
                "containers[name=c].ports[containerPort=80,protocol=TCP].hostPort"
            ]
        );
    }

    #[test]
    fn unreadable_last_applied_counts_as_none() {
        let options = CanonicalOptions::default();
        assert!(
            LastApplied::from_text("{not json", &options)
                .get()
                .is_none()
        );
        let applied =
            LastApplied::from_text(r#"{"kind":"X","spec":{"a":"0.5","b":null}}"#, &options);
        assert_eq!(
            applied.get(),
            Some(&json!({"kind": "X", "spec": {"a": "0.5"}}))
        );
    }

    #[test]
    fn hand_edited_live_only_field_is_drift_with_manager() {
        let policy = ManagerPolicy::default();
        let fields = json!([
            {"manager": "kubectl-edit", "operation": "Update",
             "fieldsV1": {"f:spec": {"f:paused": {}}}}
        ]);
        let managed = ManagedFields::from_value(&fields);
        let context = WalkContext {
            kind: "Deployment",
            last_applied: &LastApplied::none(),
            policy: &policy,
            resources_set_by_admission: false,
        };
        let found = diff_objects(
            &json!({"spec": {"replicas": 1}}),
            &json!({"spec": {"replicas": 1, "paused": true, "revisionHistoryLimit": 10}}),
            &managed.root(),
            &context,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path.to_string(), "spec.paused");
        assert_eq!(found[0].hand_editor.as_deref(), Some("kubectl-edit"));
    }

    fn walk(kind: &str, desired: Value, live: Value, managed: Value) -> Vec<FieldDiff> {
        let policy = ManagerPolicy::default();
        let managed = ManagedFields::from_value(&managed);
        let context = WalkContext {
            kind,
            last_applied: &LastApplied::none(),
            policy: &policy,
            resources_set_by_admission: false,
        };
        diff_objects(&desired, &live, &managed.root(), &context)
    }

    fn paths(found: &[FieldDiff]) -> Vec<String> {
        found.iter().map(|d| d.path.to_string()).collect()
    }

    #[test]
    fn user_maps_and_keyed_lists_git_lacks_entirely_are_drift() {
        let desired = json!({"metadata": {"name": "a"},
            "spec": {"containers": [{"name": "c", "image": "x"}]}});
        let live = json!({"metadata": {"name": "a", "annotations": {"owner": "alice"}},
            "spec": {"containers": [{"name": "c", "image": "x", "imagePullPolicy": "Always",
                "env": [{"name": "DEBUG", "value": "1"}]}]}});
        assert_eq!(
            paths(&walk("Pod", desired, live, json!(null))),
            [
                "metadata.annotations.owner",
                "spec.containers[name=c].env[name=DEBUG]"
            ]
        );
    }

    #[test]
    fn lists_of_plain_values_under_a_merge_key_name_are_not_keyed() {
        // A custom resource whose schema defaults `volumes` to a list of names.
        let desired = json!({"spec": {"size": 1}});
        let live = json!({"spec": {"size": 1, "volumes": ["data", "logs"]}});
        assert!(walk("Widget", desired, live, json!(null)).is_empty());
    }

    #[test]
    fn what_controllers_alone_own_is_theirs() {
        let desired = json!({"secrets": [{"name": "ci-token"}]});
        let live = json!({"secrets": [{"name": "ci-token"}, {"name": "ci-extra"}]});
        let managed = json!([
            {"manager": "kubectl-client-side-apply", "operation": "Update",
             "fieldsV1": {"f:secrets": {".": {}, "k:{\"name\":\"ci-token\"}": {}}}},
            {"manager": "kube-controller-manager", "operation": "Update",
             "fieldsV1": {"f:secrets": {"k:{\"name\":\"ci-extra\"}": {}}}}
        ]);
        assert!(walk("ServiceAccount", desired.clone(), live.clone(), managed).is_empty());
        // Without ownership information an item Git lacks was put there by somebody.
        assert_eq!(
            paths(&walk("ServiceAccount", desired, live, json!(null))),
            ["secrets[name=ci-extra]"]
        );
    }

    #[test]
    fn server_side_applier_fields_git_dropped_are_drift() {
        let managed = json!([{"manager": "kubectl", "operation": "Apply",
            "fieldsV1": {"f:spec": {"f:replicas": {}, "f:minReadySeconds": {}}}}]);
        let found = walk(
            "Deployment",
            json!({"spec": {"replicas": 2}}),
            json!({"spec": {"replicas": 2, "minReadySeconds": 15, "revisionHistoryLimit": 10}}),
            managed,
        );
        assert_eq!(paths(&found), ["spec.minReadySeconds"]);
        // `kubectl` without Apply is an imperative command, such as `kubectl scale`.
        let scaled = json!([{"manager": "kubectl", "operation": "Update", "subresource": "scale",
            "fieldsV1": {"f:spec": {"f:replicas": {}}}}]);
        let found = walk(
            "Deployment",
            json!({"spec": {"paused": false}}),
            json!({"spec": {"replicas": 4}}),
            scaled,
        );
        assert_eq!(paths(&found), ["spec.replicas"]);
        assert_eq!(found[0].hand_editor.as_deref(), Some("kubectl"));
    }

    #[test]
    fn hand_edits_inside_a_map_git_lacks_name_the_edited_field() {
        let managed = json!([
            {"manager": "kubectl-client-side-apply", "operation": "Update",
             "fieldsV1": {"f:spec": {"f:strategy": {"f:type": {}, "f:rollingUpdate": {
                 ".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}}}}}},
            {"manager": "kubectl-edit", "operation": "Update",
             "fieldsV1": {"f:spec": {"f:strategy": {"f:rollingUpdate": {"f:maxUnavailable": {}}}}}}
        ]);
        let found = walk(
            "Deployment",
            json!({"spec": {"replicas": 2}}),
            json!({"spec": {"replicas": 2, "strategy": {"type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}}}),
            managed,
        );
        assert_eq!(
            paths(&found),
            ["spec.strategy.rollingUpdate.maxUnavailable"]
        );
        assert_eq!(found[0].hand_editor.as_deref(), Some("kubectl-edit"));
    }

    #[test]
    fn defaults_stay_defaults_whoever_owns_them() {
        // An object created by an imperative command owns its defaults from creation.
        let managed = json!([{"manager": "kubectl-expose", "operation": "Update",
            "fieldsV1": {"f:spec": {"f:sessionAffinity": {}, "f:type": {}, "f:selector": {}}}}]);
        let found = walk(
            "Service",
            json!({"spec": {"selector": {"app": "a"}}}),
            json!({"spec": {"selector": {"app": "a"}, "sessionAffinity": "None", "type": "ClusterIP"}}),
            managed.clone(),
        );
        assert!(found.is_empty(), "{found:?}");
        let found = walk(
            "Service",
            json!({"spec": {"selector": {"app": "a"}}}),
            json!({"spec": {"selector": {"app": "a"}, "sessionAffinity": "ClientIP", "type": "ClusterIP"}}),
            managed,
        );
        assert_eq!(paths(&found), ["spec.sessionAffinity"]);
    }

    #[test]
    fn zero_values_the_server_omits_are_not_missing() {
        let found = walk(
            "Deployment",
            json!({"spec": {"paused": false, "minReadySeconds": 0, "replicas": 2}}),
            json!({"spec": {"replicas": 2}}),
            json!(null),
        );
        assert!(found.is_empty(), "{found:?}");
        let found = walk(
            "Deployment",
            json!({"spec": {"paused": true}}),
            json!({"spec": {}}),
            json!(null),
        );
        assert_eq!(paths(&found), ["spec.paused"]);
        // Optional fields come back whenever they are set, `false` and `0` included.
        let found = walk(
            "Deployment",
            json!({"securityContext": {"allowPrivilegeEscalation": false, "runAsUser": 0,
                "readOnlyRootFilesystem": true}}),
            json!({"securityContext": {"readOnlyRootFilesystem": true}}),
            json!(null),
        );
        assert_eq!(
            paths(&found),
            [
                "securityContext.allowPrivilegeEscalation",
                "securityContext.runAsUser"
            ]
        );
    }

    #[test]
    fn finalizers_git_lacks_are_controllers_bookkeeping() {
        let managed = json!([{"manager": "aws-load-balancer-controller", "operation": "Update",
            "fieldsV1": {"f:metadata": {"f:finalizers": {".": {},
                "v:\"ingress.k8s.aws/resources\"": {}}}}}]);
        let desired = json!({"metadata": {"name": "web"}});
        let live = json!({"metadata": {"name": "web",
            "finalizers": ["ingress.k8s.aws/resources"]}});
        assert!(walk("Ingress", desired, live.clone(), managed.clone()).is_empty());
        // Those Git declares must be there, in any order.
        let desired = json!({"metadata": {"name": "web",
            "finalizers": ["example.com/cleanup", "ingress.k8s.aws/resources"]}});
        let reordered = json!({"metadata": {"name": "web",
            "finalizers": ["ingress.k8s.aws/resources", "example.com/cleanup"]}});
        assert!(walk("Ingress", desired.clone(), reordered, json!(null)).is_empty());
        assert_eq!(
            paths(&walk("Ingress", desired, live, managed)),
            ["metadata.finalizers"]
        );
    }

    #[test]
    fn fields_the_server_never_fills_in_are_drift_unless_controllers_own_them() {
        let desired = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1.27"}]}}}});
        let live = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1.27", "command": ["sleep", "1d"],
             "terminationMessagePath": "/dev/termination-log"}]}}}});
        let found = walk("Deployment", desired.clone(), live.clone(), json!([]));
        assert_eq!(
            paths(&found),
            ["spec.template.spec.containers[name=web].command"]
        );
        let by_controller = json!([{"manager": "kube-controller-manager", "operation": "Update",
            "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"web\"}": {"f:command": {}}}}}}}}]);
        assert!(walk("Deployment", desired, live, by_controller).is_empty());

        let desired = json!({"spec": {"ports": [{"port": 80}]}});
        let live =
            json!({"spec": {"ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}});
        assert_eq!(
            paths(&walk("Service", desired, live, json!([]))),
            ["spec.ports[port=80,protocol=TCP].targetPort"]
        );
    }

    #[test]
    fn sets_ignore_order() {
        let desired = json!({"subsets": [{"addresses": [{"ip": "1"}, {"ip": "2"}]}]});
        let live = json!({"subsets": [{"addresses": [{"ip": "2"}, {"ip": "1"}]}]});
        assert!(diffs("Endpoints", desired.clone(), live).is_empty());
        let live = json!({"subsets": [{"addresses": [{"ip": "2"}, {"ip": "3"}]}]});
        assert_eq!(diffs("Endpoints", desired, live), ["subsets[0].addresses"]);
    }

    #[test]
    fn numbers_equal_their_string_form() {
        assert!(scalars_equal(&json!(8080), &json!("8080")));
        assert!(scalars_equal(&json!(1), &json!(1.0)));
        assert!(!scalars_equal(&json!(""), &json!(0)));
        assert!(!scalars_equal(&json!("a"), &json!("b")));
    }
}
