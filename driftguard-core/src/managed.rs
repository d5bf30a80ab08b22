//! Field ownership from `metadata.managedFields`: who wrote a field that Git does not declare.
//!
//! Appliers (`kubectl apply`, Helm, GitOps tools) put Git's manifests into the cluster;
//! controllers and operators write fields as part of normal operation; hand-edit tools
//! (`kubectl edit`, `kubectl patch`, a dashboard) are how people change objects by hand.
//! A manager no list names counts as an operator (see [`crate::k8s::managers`]).
//!
//! Ownership answers the questions the field walk asks about a field only live has: a
//! hand-edit tool that owns it means a person put it there; a server-side applier
//! (operation `Apply`) owns exactly what it last applied, so a field it owns that Git no
//! longer declares was removed from Git (the three-way rule without a last-applied
//! annotation); and a field no manager owns on an object that records ownership was
//! written by admission (a mutating webhook, a policy), since the API server records
//! ownership before mutating admission runs.

use serde_json::{Map, Value};

use crate::k8s::managers::{DEFAULT_APPLIERS, DEFAULT_CONTROLLERS, DEFAULT_HAND_EDITORS};
use crate::scalar::scalars_equal;

/// What a field manager's writes mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagerRole {
    /// It applies manifests from Git.
    Applier,
    /// It is part of the control plane, or an operator listed as a controller.
    Controller,
    /// It is a tool people edit objects with by hand.
    HandEditor,
    /// Any other manager: an operator doing its job.
    Operator,
}

/// Which field managers are appliers, controllers or hand-edit tools; every other
/// manager is an operator.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagerPolicy {
    appliers: Vec<String>,
    controllers: Vec<String>,
    hand_editors: Vec<String>,
}

fn owned(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

impl Default for ManagerPolicy {
    fn default() -> Self {
        Self {
            appliers: owned(DEFAULT_APPLIERS),
            controllers: owned(DEFAULT_CONTROLLERS),
            hand_editors: owned(DEFAULT_HAND_EDITORS),
        }
    }
}

/// Whether list entry `entry` (`name`, `name/Operation`, or a prefix ending in `*`, either
/// with an operation) matches `manager` writing with `operation`.
fn entry_matches(entry: &str, manager: &str, operation: &str) -> bool {
    let (name, op) = match entry.rsplit_once('/') {
        Some((name, op))
            if op.eq_ignore_ascii_case("Apply") || op.eq_ignore_ascii_case("Update") =>
        {
            (name, Some(op))
        }
        _ => (entry, None),
    };
    let name_matches = match name.strip_suffix('*') {
        Some(prefix) => manager.starts_with(prefix),
        None => name == manager,
    };
    name_matches && op.is_none_or(|op| op.eq_ignore_ascii_case(operation))
}

fn any_matches(entries: &[String], manager: &str, operation: &str) -> bool {
    entries
        .iter()
        .any(|entry| entry_matches(entry, manager, operation))
}

impl ManagerPolicy {
    /// A policy with exactly these lists (each entry `name`, `name/Operation` or
    /// `prefix*`).
    pub fn new(
        appliers: impl IntoIterator<Item = String>,
        controllers: impl IntoIterator<Item = String>,
        hand_editors: impl IntoIterator<Item = String>,
    ) -> Self {
        Self {
            appliers: appliers.into_iter().collect(),
            controllers: controllers.into_iter().collect(),
            hand_editors: hand_editors.into_iter().collect(),
        }
    }

    /// Adds appliers, e.g. a deployment tool of one's own.
    pub fn add_appliers(&mut self, names: impl IntoIterator<Item = String>) {
        self.appliers.extend(names);
    }

    /// Adds controllers, e.g. an operator whose name looks like a hand-edit tool's.
    pub fn add_controllers(&mut self, names: impl IntoIterator<Item = String>) {
        self.controllers.extend(names);
    }

    /// Adds hand-edit tools, e.g. an in-house console.
    pub fn add_hand_editors(&mut self, names: impl IntoIterator<Item = String>) {
        self.hand_editors.extend(names);
    }

    /// What writes by `manager` with `operation` mean: appliers first, then controllers,
    /// then hand-edit tools; any other manager is an operator.
    pub fn role(&self, manager: &str, operation: &str) -> ManagerRole {
        if any_matches(&self.appliers, manager, operation) {
            ManagerRole::Applier
        } else if any_matches(&self.controllers, manager, operation) {
            ManagerRole::Controller
        } else if any_matches(&self.hand_editors, manager, operation) {
            ManagerRole::HandEditor
        } else {
            ManagerRole::Operator
        }
    }

    /// Whether `manager` with `operation` applies manifests.
    pub fn is_applier(&self, manager: &str, operation: &str) -> bool {
        self.role(manager, operation) == ManagerRole::Applier
    }

    /// Whether `manager` with `operation` is a tool people edit objects with by hand.
    pub fn is_hand_editor(&self, manager: &str, operation: &str) -> bool {
        self.role(manager, operation) == ManagerRole::HandEditor
    }
}

/// One `managedFields` entry, borrowed from the live object.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ManagedEntry<'a> {
    /// The field manager name.
    pub manager: &'a str,
    /// `Apply` or `Update`.
    pub operation: &'a str,
    /// The `fieldsV1` tree.
    pub fields: &'a Map<String, Value>,
}

/// The parsed `metadata.managedFields` of a live object, borrowed from it: a walk reads
/// ownership without copying the trees.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManagedFields<'a> {
    entries: Vec<ManagedEntry<'a>>,
}

impl<'a> ManagedFields<'a> {
    /// Reads the `managedFields` array; entries for the `status` subresource are left out.
    pub fn from_value(value: &'a Value) -> Self {
        let entries = value
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|item| {
                        item.get("subresource").and_then(Value::as_str) != Some("status")
                    })
                    .filter_map(|item| {
                        Some(ManagedEntry {
                            manager: item.get("manager")?.as_str()?,
                            operation: item
                                .get("operation")
                                .and_then(Value::as_str)
                                .unwrap_or("Update"),
                            // An entry that owns nothing (`fieldsV1: {}`) says nothing.
                            fields: item
                                .get("fieldsV1")?
                                .as_object()
                                .filter(|fields| !fields.is_empty())?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self { entries }
    }

    /// The entries.
    pub fn entries(&self) -> &[ManagedEntry<'a>] {
        &self.entries
    }

    /// A cursor at the object's root.
    pub fn root(&self) -> Owners<'a> {
        Owners {
            nodes: self.entries.iter().map(|e| (*e, e.fields)).collect(),
        }
    }
}

/// Calls `f` with `prefix` and `key` joined, without a heap allocation for the short
/// names that `managedFields` holds.
fn with_prefix<R>(prefix: &str, key: &str, f: impl FnOnce(&str) -> R) -> R {
    let mut buffer = [0u8; 128];
    let len = prefix.len() + key.len();
    if len <= buffer.len() {
        buffer[..prefix.len()].copy_from_slice(prefix.as_bytes());
        buffer[prefix.len()..len].copy_from_slice(key.as_bytes());
        // Both parts are whole UTF-8 strings, so their concatenation is one too.
        if let Ok(joined) = std::str::from_utf8(&buffer[..len]) {
            return f(joined);
        }
    }
    f(&format!("{prefix}{key}"))
}

/// The managers that own one position in the object, with their subtrees there.
#[derive(Debug, Clone, Default)]
pub struct Owners<'a> {
    nodes: Vec<(ManagedEntry<'a>, &'a Map<String, Value>)>,
}

impl<'a> Owners<'a> {
    /// No ownership information.
    pub fn none() -> Self {
        Self { nodes: Vec::new() }
    }

    /// The owners of map key `key` below this position.
    pub fn key(&self, key: &str) -> Self {
        if self.nodes.is_empty() {
            return Self::none();
        }
        with_prefix("f:", key, |field| self.step(|node| node.get(field)))
    }

    /// The owners of the list item at `index`.
    pub fn index(&self, index: usize) -> Self {
        if self.nodes.is_empty() {
            return Self::none();
        }
        let field = format!("i:{index}");
        self.step(|node| node.get(&field))
    }

    /// The owners of the item at `index` of a list paired by position: its `i:` entry, or
    /// the `k:` entry whose key fields all hold the item's values (the API server keys a
    /// list's items by the schema's map keys where DriftGuard knows none).
    pub fn item(&self, index: usize, item: &Value) -> Self {
        if self.nodes.is_empty() {
            return Self::none();
        }
        let field = format!("i:{index}");
        self.step(|node| {
            node.get(&field).or_else(|| {
                let item = item.as_object()?;
                node.iter().find_map(|(name, child)| {
                    let json = name.strip_prefix("k:")?;
                    let key: Map<String, Value> = serde_json::from_str(json).ok()?;
                    key.iter()
                        .all(|(k, v)| item.get(k).is_some_and(|w| scalars_equal(v, w)))
                        .then_some(child)
                })
            })
        })
    }

    /// The owners of the list item whose merge key fields have these values.
    ///
    /// The API server writes the key as compact JSON with sorted field names, so the
    /// spelling of `key_fields` usually matches it exactly; only when it does not (a port
    /// number written as a string) are the keys parsed and compared by value.
    pub fn keyed(&self, key_fields: &Map<String, Value>) -> Self {
        if self.nodes.is_empty() {
            return Self::none();
        }
        let spelled = format!("k:{}", Value::Object(key_fields.clone()));
        self.step(|node| {
            node.get(&spelled).or_else(|| {
                node.iter().find_map(|(name, child)| {
                    let json = name.strip_prefix("k:")?;
                    let parsed: Map<String, Value> = serde_json::from_str(json).ok()?;
                    keys_equal(&parsed, key_fields).then_some(child)
                })
            })
        })
    }

    /// The owners of the item of a set list with this value (`v:<json>`).
    pub fn set_item(&self, value: &Value) -> Self {
        if self.nodes.is_empty() {
            return Self::none();
        }
        let spelled = format!("v:{value}");
        self.step(|node| {
            node.get(&spelled).or_else(|| {
                node.iter().find_map(|(name, child)| {
                    let json = name.strip_prefix("v:")?;
                    let parsed: Value = serde_json::from_str(json).ok()?;
                    scalars_equal(&parsed, value).then_some(child)
                })
            })
        })
    }

    /// The owners one step down. A leaf (`{}`) owns its whole value, so a manager that
    /// owns an atomic list or map (`f:tolerations: {}`) owns every item and field in it.
    fn step(&self, find: impl Fn(&'a Map<String, Value>) -> Option<&'a Value>) -> Self {
        Self {
            nodes: self
                .nodes
                .iter()
                .filter_map(|(entry, node)| {
                    if node.is_empty() {
                        return Some((*entry, *node));
                    }
                    Some((*entry, find(node)?.as_object()?))
                })
                .collect(),
        }
    }

    /// The hand-edit tool owning this position (or something below it), if any.
    pub fn hand_editor(&self, policy: &ManagerPolicy) -> Option<&'a str> {
        self.nodes
            .iter()
            .find(|(entry, _)| policy.is_hand_editor(entry.manager, entry.operation))
            .map(|(entry, _)| entry.manager)
    }

    /// The manager that wrote this position: a hand-edit tool first, else any owner.
    pub fn owner(&self, policy: &ManagerPolicy) -> Option<&'a str> {
        self.hand_editor(policy)
            .or_else(|| self.nodes.first().map(|(entry, _)| entry.manager))
    }

    /// Whether no `managedFields` entry reaches this position.
    pub fn is_unknown(&self) -> bool {
        self.nodes.is_empty()
    }

    /// A server-side applier (operation `Apply`) that owns this position or something
    /// below it: it declared that in the manifest it last applied.
    pub fn server_side_applier(&self, policy: &ManagerPolicy) -> Option<&'a str> {
        self.nodes
            .iter()
            .find(|(entry, _)| Self::is_server_side_applier(entry, policy))
            .map(|(entry, _)| entry.manager)
    }

    fn is_server_side_applier(entry: &ManagedEntry<'_>, policy: &ManagerPolicy) -> bool {
        entry.operation.eq_ignore_ascii_case("Apply")
            && policy.is_applier(entry.manager, entry.operation)
    }

    /// Whether a hand-edit tool or a server-side applier owns this position as a whole (a
    /// leaf, or a map or list item it created), rather than only some fields below it.
    pub fn declared_whole(&self, policy: &ManagerPolicy) -> bool {
        self.nodes.iter().any(|(entry, node)| {
            (policy.is_hand_editor(entry.manager, entry.operation)
                || Self::is_server_side_applier(entry, policy))
                && (node.is_empty() || node.contains_key("."))
        })
    }
}

fn keys_equal(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| scalars_equal(v, w)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn managed_json() -> Value {
        json!([
            {"manager": "kubectl-client-side-apply", "operation": "Update",
             "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                 "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}},
            {"manager": "kubectl-edit", "operation": "Update",
             "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                 "k:{\"name\":\"web\"}": {"f:securityContext": {"f:runAsNonRoot": {}}}}}}}}},
            {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
             "fieldsV1": {"f:status": {"f:replicas": {}}}}
        ])
    }

    fn container<'a>(m: &ManagedFields<'a>) -> Owners<'a> {
        let mut key = Map::new();
        key.insert("name".into(), json!("web"));
        m.root()
            .key("spec")
            .key("template")
            .key("spec")
            .key("containers")
            .keyed(&key)
    }

    #[test]
    fn finds_the_hand_editor_of_a_field() {
        let fields = managed_json();
        let m = ManagedFields::from_value(&fields);
        let policy = ManagerPolicy::default();
        assert_eq!(
            container(&m).key("securityContext").hand_editor(&policy),
            Some("kubectl-edit")
        );
        assert_eq!(container(&m).key("image").hand_editor(&policy), None);
        assert_eq!(
            container(&m).key("image").owner(&policy),
            Some("kubectl-client-side-apply")
        );
        assert_eq!(
            container(&m).key("terminationMessagePath").owner(&policy),
            None
        );
    }

    #[test]
    fn applier_controller_and_ownership_questions() {
        let policy = ManagerPolicy::default();
        let fields = json!([
            {"manager": "kubectl", "operation": "Apply",
             "fieldsV1": {"f:spec": {"f:minReadySeconds": {}}}},
            {"manager": "kube-controller-manager", "operation": "Update",
             "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "kubectl-edit", "operation": "Update",
             "fieldsV1": {"f:spec": {"f:strategy": {"f:rollingUpdate": {"f:maxSurge": {}}},
                 "f:paused": {}}}}
        ]);
        let m = ManagedFields::from_value(&fields);
        let spec = m.root().key("spec");
        assert_eq!(
            spec.key("minReadySeconds").server_side_applier(&policy),
            Some("kubectl")
        );
        assert_eq!(spec.key("replicas").hand_editor(&policy), None);
        assert_eq!(
            spec.key("replicas").owner(&policy),
            Some("kube-controller-manager")
        );
        assert!(spec.key("revisionHistoryLimit").is_unknown());
        assert!(spec.key("paused").declared_whole(&policy));
        assert!(spec.key("minReadySeconds").declared_whole(&policy));
        assert!(!spec.key("strategy").declared_whole(&policy));
        assert_eq!(
            spec.key("strategy").hand_editor(&policy),
            Some("kubectl-edit")
        );
    }

    #[test]
    fn an_atomic_leaf_owns_everything_inside_and_an_empty_entry_nothing() {
        let policy = ManagerPolicy::default();
        let fields = json!([
            {"manager": "kubectl-edit", "operation": "Update",
             "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:tolerations": {}}}}}},
            {"manager": "some-dashboard", "operation": "Update", "fieldsV1": {}}
        ]);
        let m = ManagedFields::from_value(&fields);
        let pod = m.root().key("spec").key("template").key("spec");
        assert_eq!(
            pod.key("tolerations")
                .index(1)
                .key("key")
                .hand_editor(&policy),
            Some("kubectl-edit")
        );
        assert_eq!(
            m.root().key("metadata").key("labels").hand_editor(&policy),
            None
        );
        assert_eq!(m.entries().len(), 1);
    }

    #[test]
    fn keyed_items_match_by_value_whatever_the_spelling() {
        let fields = json!([{"manager": "kubectl-patch", "operation": "Update",
            "fieldsV1": {"f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                ".": {}, "f:containerPort": {}}}}}]);
        let m = ManagedFields::from_value(&fields);
        let policy = ManagerPolicy::default();
        for port in [json!(80), json!("80")] {
            let mut key = Map::new();
            key.insert("containerPort".into(), port);
            key.insert("protocol".into(), json!("TCP"));
            assert_eq!(
                m.root().key("ports").keyed(&key).hand_editor(&policy),
                Some("kubectl-patch")
            );
        }
        let mut other = Map::new();
        other.insert("containerPort".into(), json!(81));
        other.insert("protocol".into(), json!("TCP"));
        assert!(m.root().key("ports").keyed(&other).is_unknown());
    }

    #[test]
    fn roles_by_precedence_and_operation() {
        let policy = ManagerPolicy::default();
        let role = |manager: &str, operation: &str| policy.role(manager, operation);
        assert_eq!(role("kubectl", "Apply"), ManagerRole::Applier);
        assert_eq!(role("kubectl", "Update"), ManagerRole::HandEditor);
        // Every kubectl verb is a hand edit but the appliers'.
        for verb in [
            "edit", "patch", "set", "label", "annotate", "rollout", "scale", "replace",
        ] {
            assert_eq!(
                role(&format!("kubectl-{verb}"), "Update"),
                ManagerRole::HandEditor,
                "{verb}"
            );
        }
        assert_eq!(
            role("kubectl-client-side-apply", "Update"),
            ManagerRole::Applier
        );
        assert_eq!(role("kubectl-create", "Update"), ManagerRole::Applier);
        for tool in [
            "k9s",
            "Lens",
            "Headlamp",
            "kubernetes-dashboard",
            "Mozilla",
            "Go-http-client",
        ] {
            assert_eq!(role(tool, "Update"), ManagerRole::HandEditor, "{tool}");
        }
        assert_eq!(
            role("kube-controller-manager", "Update"),
            ManagerRole::Controller
        );
        // A manager nobody listed is an operator doing its job.
        assert_eq!(
            role("cert-manager-cainjector", "Update"),
            ManagerRole::Operator
        );

        let mut configured = ManagerPolicy::default();
        configured.add_hand_editors(["ops-console".to_owned()]);
        configured.add_controllers(["kubectl-operator".to_owned()]);
        assert_eq!(
            configured.role("ops-console", "Update"),
            ManagerRole::HandEditor
        );
        assert_eq!(
            configured.role("kubectl-operator", "Update"),
            ManagerRole::Controller
        );
    }
}
