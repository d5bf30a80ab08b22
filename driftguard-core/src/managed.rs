//! Field ownership from `metadata.managedFields`: who wrote a field that Git does not declare.
//!
//! Appliers (`kubectl apply`, Helm, GitOps controllers) and controllers (the
//! controller manager, the scheduler) write fields as part of normal operation. Any other
//! manager (`kubectl-edit`, `kubectl-patch`, `kubectl-set`, a dashboard) is a hand edit.

use serde_json::{Map, Value};

/// Field managers whose writes are not hand edits. `name/Operation` restricts an entry
/// to one operation: `kubectl/Apply` is `kubectl apply --server-side`, while plain
/// `kubectl` updates come from imperative commands.
pub const DEFAULT_KNOWN_MANAGERS: &[&str] = &[
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
    "kube-controller-manager",
    "kube-scheduler",
    "kube-apiserver",
    "kubelet",
    "cloud-controller-manager",
    "Go-http-client",
];

/// Which field managers are appliers or controllers.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagerPolicy {
    known: Vec<String>,
}

impl Default for ManagerPolicy {
    fn default() -> Self {
        Self::new(DEFAULT_KNOWN_MANAGERS.iter().map(|s| (*s).to_owned()))
    }
}

impl ManagerPolicy {
    /// A policy with these known managers (`name` or `name/Operation`).
    pub fn new(known: impl IntoIterator<Item = String>) -> Self {
        Self {
            known: known.into_iter().collect(),
        }
    }

    /// Whether writes by `manager` with `operation` are normal operation, not hand edits.
    pub fn is_known(&self, manager: &str, operation: &str) -> bool {
        self.known.iter().any(|entry| match entry.split_once('/') {
            Some((name, op)) => name == manager && op.eq_ignore_ascii_case(operation),
            None => entry == manager,
        })
    }
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedEntry {
    /// The field manager name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// The `fieldsV1` tree.
    pub fields: Value,
}

/// The parsed `metadata.managedFields` of a live object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManagedFields {
    entries: Vec<ManagedEntry>,
}

impl ManagedFields {
    /// Reads the `managedFields` array; entries for the `status` subresource are left out.
    pub fn from_value(value: &Value) -> Self {
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
                            manager: item.get("manager")?.as_str()?.to_owned(),
                            operation: item
                                .get("operation")
                                .and_then(Value::as_str)
                                .unwrap_or("Update")
                                .to_owned(),
                            fields: item.get("fieldsV1")?.clone(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self { entries }
    }

    /// The entries.
    pub fn entries(&self) -> &[ManagedEntry] {
        &self.entries
    }

    /// A cursor at the object's root.
    pub fn root(&self) -> Owners<'_> {
        Owners {
            nodes: self
                .entries
                .iter()
                .filter_map(|e| Some((e, e.fields.as_object()?)))
                .collect(),
        }
    }
}

/// The managers that own one position in the object, with their subtrees there.
#[derive(Debug, Clone, Default)]
pub struct Owners<'a> {
    nodes: Vec<(&'a ManagedEntry, &'a Map<String, Value>)>,
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
        let field = format!("f:{key}");
        self.step(|node| node.get(&field))
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
    pub fn keyed(&self, key_fields: &Map<String, Value>) -> Self {
        self.step(|node| {
            node.iter().find_map(|(name, child)| {
                let json = name.strip_prefix("k:")?;
                let parsed: Map<String, Value> = serde_json::from_str(json).ok()?;
                keys_equal(&parsed, key_fields).then_some(child)
            })
        })
    }

    fn step(&self, find: impl Fn(&'a Map<String, Value>) -> Option<&'a Value>) -> Self {
        Self {
            nodes: self
                .nodes
                .iter()
                .filter_map(|(entry, node)| Some((*entry, find(node)?.as_object()?)))
                .collect(),
        }
    }

    /// The manager owning this position that is not an applier or controller, if any.
    pub fn hand_editor(&self, policy: &ManagerPolicy) -> Option<&'a str> {
        self.nodes
            .iter()
            .find(|(entry, _)| !policy.is_known(&entry.manager, &entry.operation))
            .map(|(entry, _)| entry.manager.as_str())
    }

    /// Some manager owning this position: a hand editor first, else any other.
    pub fn owner(&self, policy: &ManagerPolicy) -> Option<&'a str> {
        self.hand_editor(policy)
            .or_else(|| self.nodes.first().map(|(entry, _)| entry.manager.as_str()))
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

    fn managed() -> ManagedFields {
        ManagedFields::from_value(&json!([
            {"manager": "kubectl-client-side-apply", "operation": "Update",
             "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                 "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}},
            {"manager": "kubectl-edit", "operation": "Update",
             "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                 "k:{\"name\":\"web\"}": {"f:securityContext": {"f:runAsNonRoot": {}}}}}}}}},
            {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
             "fieldsV1": {"f:status": {"f:replicas": {}}}}
        ]))
    }

    fn container<'a>(m: &'a ManagedFields) -> Owners<'a> {
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
        let m = managed();
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
    fn operation_specific_entries() {
        let policy = ManagerPolicy::default();
        assert!(policy.is_known("kubectl", "Apply"));
        assert!(!policy.is_known("kubectl", "Update"));
        assert!(!policy.is_known("kubectl-edit", "Update"));
    }
}
