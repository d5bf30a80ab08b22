//! Field ownership from `metadata.managedFields`: who wrote a field that Git does not declare.
//!
//! Appliers (`kubectl apply`, Helm, GitOps tools) put Git's manifests into the cluster;
//! controllers (the controller manager, the scheduler) write fields as part of normal
//! operation. Any other manager (`kubectl-edit`, `kubectl-patch`, `kubectl-set`, a
//! dashboard) is a hand edit.
//!
//! Ownership also answers two questions the field walk asks about a field only live has:
//! a server-side applier (operation `Apply`) owns exactly what it last applied, so a field
//! it owns that Git no longer declares was removed from Git (the three-way rule without a
//! last-applied annotation); and a key or list item owned by controllers alone was written
//! by the cluster, not by a person.

use serde_json::{Map, Value};

/// Field managers that apply manifests. `name/Operation` restricts an entry to one
/// operation: `kubectl/Apply` is `kubectl apply --server-side`, while plain `kubectl`
/// updates come from imperative commands such as `kubectl scale`.
pub const DEFAULT_APPLIERS: &[&str] = &[
    "kubectl-client-side-apply",
    "kubectl-create",
    "kubectl-replace",
    "kubectl/Apply",
    "before-first-apply",
    "helm",
    "argocd-controller",
    "argocd-application-controller",
    "kustomize-controller",
    "helm-controller",
    "driftguard",
    // A client that does not name itself. Its writes are not taken for hand edits, but
    // keys and list items it adds still count as somebody's, unlike a controller's.
    "Go-http-client",
];

/// Field managers of the control plane, which write fields as part of normal operation.
pub const DEFAULT_CONTROLLERS: &[&str] = &[
    "kube-controller-manager",
    "kube-scheduler",
    "kube-apiserver",
    "kubelet",
    "cloud-controller-manager",
    "digitalocean-cloud-controller-manager",
    "clusterrole-aggregation-controller",
    // k3s and RKE2 run the controller manager inside their own binary, under its name.
    "k3s",
    "rke2",
    // OpenShift's controllers that label and annotate every namespace.
    "cluster-policy-controller",
    "pod-security-admission-label-synchronization-controller",
];

/// Which field managers are appliers or controllers; every other manager is a hand editor.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagerPolicy {
    appliers: Vec<String>,
    controllers: Vec<String>,
}

impl Default for ManagerPolicy {
    fn default() -> Self {
        Self::new(
            DEFAULT_APPLIERS.iter().map(|s| (*s).to_owned()),
            DEFAULT_CONTROLLERS.iter().map(|s| (*s).to_owned()),
        )
    }
}

fn entry_matches(entry: &str, manager: &str, operation: &str) -> bool {
    match entry.split_once('/') {
        Some((name, op)) => name == manager && op.eq_ignore_ascii_case(operation),
        None => entry == manager,
    }
}

impl ManagerPolicy {
    /// A policy with these appliers and controllers (each `name` or `name/Operation`).
    pub fn new(
        appliers: impl IntoIterator<Item = String>,
        controllers: impl IntoIterator<Item = String>,
    ) -> Self {
        Self {
            appliers: appliers.into_iter().collect(),
            controllers: controllers.into_iter().collect(),
        }
    }

    /// Adds appliers (each `name` or `name/Operation`), e.g. a deployment tool of one's own.
    pub fn add_appliers(&mut self, names: impl IntoIterator<Item = String>) {
        self.appliers.extend(names);
    }

    /// Adds controllers (each `name` or `name/Operation`), e.g. an operator that writes
    /// into the objects it manages.
    pub fn add_controllers(&mut self, names: impl IntoIterator<Item = String>) {
        self.controllers.extend(names);
    }

    /// Whether `manager` with `operation` applies manifests.
    pub fn is_applier(&self, manager: &str, operation: &str) -> bool {
        self.appliers
            .iter()
            .any(|entry| entry_matches(entry, manager, operation))
    }

    /// Whether `manager` with `operation` is part of the control plane.
    pub fn is_controller(&self, manager: &str, operation: &str) -> bool {
        self.controllers
            .iter()
            .any(|entry| entry_matches(entry, manager, operation))
    }

    /// Whether writes by `manager` with `operation` are normal operation, not hand edits.
    pub fn is_known(&self, manager: &str, operation: &str) -> bool {
        self.is_applier(manager, operation) || self.is_controller(manager, operation)
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

    /// The manager owning this position that is not an applier or controller, if any.
    pub fn hand_editor(&self, policy: &ManagerPolicy) -> Option<&'a str> {
        self.nodes
            .iter()
            .find(|(entry, _)| !policy.is_known(entry.manager, entry.operation))
            .map(|(entry, _)| entry.manager)
    }

    /// Some manager owning this position: a hand editor first, else any other.
    pub fn owner(&self, policy: &ManagerPolicy) -> Option<&'a str> {
        self.hand_editor(policy)
            .or_else(|| self.nodes.first().map(|(entry, _)| entry.manager))
    }

    /// Whether no `managedFields` entry reaches this position.
    pub fn is_unknown(&self) -> bool {
        self.nodes.is_empty()
    }

    /// A server-side applier (operation `Apply`) that owns this position: it declared the
    /// field in the manifest it last applied.
    pub fn server_side_applier(&self, policy: &ManagerPolicy) -> Option<&'a str> {
        self.nodes
            .iter()
            .find(|(entry, _)| {
                entry.operation.eq_ignore_ascii_case("Apply")
                    && policy.is_applier(entry.manager, entry.operation)
            })
            .map(|(entry, _)| entry.manager)
    }

    /// Whether this position is owned, and only by controllers: the cluster wrote it.
    pub fn only_controllers(&self, policy: &ManagerPolicy) -> bool {
        !self.nodes.is_empty()
            && self
                .nodes
                .iter()
                .all(|(entry, _)| policy.is_controller(entry.manager, entry.operation))
    }

    /// Whether the hand editor owns this position as a whole (a leaf, or a map or list
    /// item it created), rather than only some fields below it.
    pub fn hand_editor_owns_whole(&self, policy: &ManagerPolicy) -> bool {
        self.nodes.iter().any(|(entry, node)| {
            !policy.is_known(entry.manager, entry.operation)
                && (node.is_empty() || node.contains_key("."))
        })
    }
}

fn keys_equal(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| crate::diff::scalars_equal(v, w)))
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
        assert!(spec.key("replicas").only_controllers(&policy));
        assert!(!spec.key("minReadySeconds").only_controllers(&policy));
        assert!(!spec.key("revisionHistoryLimit").only_controllers(&policy));
        assert!(spec.key("revisionHistoryLimit").is_unknown());
        assert!(spec.key("paused").hand_editor_owns_whole(&policy));
        assert!(!spec.key("strategy").hand_editor_owns_whole(&policy));
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
    fn operation_specific_entries() {
        let policy = ManagerPolicy::default();
        assert!(policy.is_known("kubectl", "Apply"));
        assert!(!policy.is_known("kubectl", "Update"));
        assert!(!policy.is_known("kubectl-edit", "Update"));
    }
}
