//! The field walk (DESIGN.md §4, rules 3 and 4): every field Git sets must match live, and
//! a field only in live is drift when somebody put it there.
//!
//! Both objects must already be canonical (see [`crate::normalize`]).

use serde_json::{Map, Value};

use crate::managed::{ManagerPolicy, Owners};
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

/// What the walk knows besides the two objects.
#[derive(Debug, Clone, Copy)]
pub struct WalkContext<'a> {
    /// The object's kind; some rules depend on it.
    pub kind: &'a str,
    /// The canonical last-applied configuration, for the three-way rule.
    pub last_applied: Option<&'a Value>,
    /// Who is an applier or controller.
    pub policy: &'a ManagerPolicy,
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
    walker.value(desired, live, context.last_applied, owners, None, None, 0);
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

fn list_kind(kind: &str, key: Option<&str>, desired: &[Value]) -> ListKind {
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
        "ports"
            if desired
                .iter()
                .all(|item| item.get("containerPort").is_some()) =>
        {
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

impl Walker<'_, '_> {
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
        applied: Option<&Value>,
        owners: &Owners<'_>,
        key: Option<&str>,
        parent: Option<&str>,
        depth: usize,
    ) {
        match (desired, live) {
            (Value::Object(d), Value::Object(l)) => {
                self.map(d, l, applied, owners, key, parent, depth);
            }
            (Value::Array(d), Value::Array(l)) => self.list(d, l, applied, owners, key, depth),
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
        applied: Option<&Value>,
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
            match live.get(field) {
                Some(l) => self.value(
                    d,
                    l,
                    applied.and_then(|a| a.get(field)),
                    &child_owners,
                    Some(field),
                    key,
                    depth + 1,
                ),
                None => self.record(Some(d), None, &child_owners),
            }
            self.path.pop();
        }
        let user_map = key.is_some_and(|k| is_user_map(kind, parent, k, depth));
        for (field, l) in live {
            if desired.contains_key(field) {
                continue;
            }
            let child_owners = owners.key(field);
            let removed_from_git = applied
                .and_then(|a| a.get(field))
                .is_some_and(|a| !crate::normalize::is_empty_value(a));
            if user_map
                || removed_from_git
                || child_owners.hand_editor(self.context.policy).is_some()
            {
                self.path.push(Segment::Key(field.clone()));
                self.record(None, Some(l), &child_owners);
                self.path.pop();
            }
        }
    }

    fn list(
        &mut self,
        desired: &[Value],
        live: &[Value],
        applied: Option<&Value>,
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
                    self.keyed_list(
                        desired,
                        &desired_keys,
                        live,
                        applied,
                        owners,
                        key,
                        fields,
                        depth,
                    );
                    return;
                }
                self.positional_list(desired, live, applied, owners, key, depth);
            }
            ListKind::Set => {
                if !self.same_set(desired, live) {
                    let desired = Value::Array(desired.to_vec());
                    let live = Value::Array(live.to_vec());
                    self.record(Some(&desired), Some(&live), owners);
                }
            }
            ListKind::Positional => {
                self.positional_list(desired, live, applied, owners, key, depth)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn keyed_list(
        &mut self,
        desired: &[Value],
        desired_keys: &[Map<String, Value>],
        live: &[Value],
        applied: Option<&Value>,
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
        let applied_items = applied.and_then(Value::as_array);
        let mut matched = vec![false; live.len()];
        for (d, d_key) in desired.iter().zip(desired_keys) {
            self.path.push(keyed_segment(fields, d_key));
            let text = key_text(d_key);
            match live_index.get(&text) {
                Some(&i) => {
                    matched[i] = true;
                    let live_key = live_keys[i].as_ref().unwrap_or(d_key);
                    let applied_item = applied_items.and_then(|items| {
                        items
                            .iter()
                            .find(|a| merge_key(a, fields).is_some_and(|k| key_text(&k) == text))
                    });
                    self.value(
                        d,
                        &live[i],
                        applied_item,
                        &owners.keyed(live_key),
                        key,
                        key,
                        depth + 1,
                    );
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
            self.record(None, Some(l), &item_owners);
            self.path.pop();
        }
    }

    fn positional_list(
        &mut self,
        desired: &[Value],
        live: &[Value],
        applied: Option<&Value>,
        owners: &Owners<'_>,
        key: Option<&str>,
        depth: usize,
    ) {
        if desired.len() != live.len() {
            let d = Value::Array(desired.to_vec());
            let l = Value::Array(live.to_vec());
            self.record(Some(&d), Some(&l), owners);
            return;
        }
        let applied_items = applied.and_then(Value::as_array);
        for (i, (d, l)) in desired.iter().zip(live).enumerate() {
            self.path.push(Segment::Index(i));
            self.value(
                d,
                l,
                applied_items.and_then(|a| a.get(i)),
                &owners.index(i),
                key,
                key,
                depth + 1,
            );
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
                            last_applied: None,
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
            last_applied: None,
            policy: &policy,
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
    fn user_map_keys_only_in_live_are_drift() {
        let desired = json!({"metadata": {"labels": {"app": "web"}}});
        let live = json!({"metadata": {"labels": {"app": "web", "hand": "edit"}}});
        assert_eq!(diffs("X", desired, live), ["metadata.labels.hand"]);
    }

    #[test]
    fn three_way_removed_field_is_drift() {
        let policy = ManagerPolicy::default();
        let applied = json!({"spec": {"minReadySeconds": 10}});
        let context = WalkContext {
            kind: "Deployment",
            last_applied: Some(&applied),
            policy: &policy,
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
    fn hand_edited_live_only_field_is_drift_with_manager() {
        let policy = ManagerPolicy::default();
        let managed = ManagedFields::from_value(&json!([
            {"manager": "kubectl-edit", "operation": "Update",
             "fieldsV1": {"f:spec": {"f:paused": {}}}}
        ]));
        let context = WalkContext {
            kind: "Deployment",
            last_applied: None,
            policy: &policy,
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
