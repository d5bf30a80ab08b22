//! Resource identity: `Kind:namespace:name`, or `Kind::name` for cluster-scoped objects.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// The identity of one Kubernetes object, independent of its API version.
///
/// Records, events and API paths all key on its string form, so it must
/// round-trip exactly through [`fmt::Display`] and [`FromStr`].
///
/// It is held as that string form with the positions of its parts: one allocation
/// instead of three, since an analysis of a large cluster holds several hundred thousand,
/// and shared by every clone, since each analysis keys several maps by the same ids.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResourceId {
    /// `Kind:namespace:name`, or `Kind::name`.
    text: Arc<str>,
    /// Where the kind ends (the first colon).
    kind_end: u32,
    /// Where the namespace ends (the second colon).
    namespace_end: u32,
    /// Whether the object is namespaced (a namespace may be empty text only when set so).
    namespaced: bool,
}

impl ResourceId {
    fn from_parts(kind: &str, namespace: Option<&str>, name: &str) -> Self {
        let namespace_text = namespace.unwrap_or("");
        let mut text = String::with_capacity(kind.len() + namespace_text.len() + name.len() + 2);
        text.push_str(kind);
        text.push(':');
        text.push_str(namespace_text);
        text.push(':');
        text.push_str(name);
        // Names are at most 253 bytes and kinds and namespaces 63: far below `u32::MAX`.
        let kind_end = u32::try_from(kind.len()).unwrap_or(u32::MAX);
        let namespace_end =
            u32::try_from(kind.len() + 1 + namespace_text.len()).unwrap_or(u32::MAX);
        Self {
            text: Arc::from(text),
            kind_end,
            namespace_end,
            namespaced: namespace.is_some(),
        }
    }

    /// An identity for a namespaced object.
    pub fn namespaced(
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self::from_parts(&kind.into(), Some(&namespace.into()), &name.into())
    }

    /// An identity for a cluster-scoped object (Namespace, ClusterRole, …).
    pub fn cluster_scoped(kind: impl Into<String>, name: impl Into<String>) -> Self {
        Self::from_parts(&kind.into(), None, &name.into())
    }

    /// An identity from parts, where an empty namespace means cluster-scoped.
    pub fn new(kind: impl Into<String>, namespace: Option<&str>, name: impl Into<String>) -> Self {
        Self::from_parts(
            &kind.into(),
            namespace.filter(|ns| !ns.is_empty()),
            &name.into(),
        )
    }

    /// The object's kind, e.g. `Deployment`.
    pub fn kind(&self) -> &str {
        &self.text[..self.kind_end as usize]
    }

    /// The namespace, or `None` for a cluster-scoped object.
    pub fn namespace(&self) -> Option<&str> {
        self.namespaced
            .then(|| &self.text[self.kind_end as usize + 1..self.namespace_end as usize])
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        &self.text[self.namespace_end as usize + 1..]
    }

    /// The same kind and name in another namespace (or cluster-scoped with `None`).
    pub fn with_namespace(&self, namespace: Option<&str>) -> Self {
        Self::from_parts(
            self.kind(),
            namespace.filter(|ns| !ns.is_empty()),
            self.name(),
        )
    }

    /// The parts, in the order identities sort by.
    fn parts(&self) -> (&str, Option<&str>, &str) {
        (self.kind(), self.namespace(), self.name())
    }
}

/// By kind, then namespace (cluster-scoped first), then name.
impl Ord for ResourceId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.parts().cmp(&other.parts())
    }
}

impl PartialOrd for ResourceId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceId")
            .field("kind", &self.kind())
            .field("namespace", &self.namespace())
            .field("name", &self.name())
            .finish()
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for ResourceId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| Error::InvalidResourceId {
            id: s.to_owned(),
            reason: reason.to_owned(),
        };
        // Kinds and namespaces never hold a colon; names may (RBAC objects such as
        // `system:controller:job-controller`), so the name is everything after the second.
        let mut parts = s.splitn(3, ':');
        let (Some(kind), Some(namespace), Some(name)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid(
                "expected Kind:namespace:name, or Kind::name for a cluster-scoped object",
            ));
        };
        if kind.is_empty() {
            return Err(invalid("the kind is empty"));
        }
        if name.is_empty() {
            return Err(invalid("the name is empty"));
        }
        Ok(Self::new(kind, Some(namespace), name))
    }
}

impl Serialize for ResourceId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ResourceId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_namespaced_and_cluster_scoped_ids() {
        let id = ResourceId::namespaced("Deployment", "shop", "web");
        assert_eq!(id.to_string(), "Deployment:shop:web");
        assert_eq!("Deployment:shop:web".parse::<ResourceId>().ok(), Some(id));

        let cluster = ResourceId::cluster_scoped("ClusterRole", "reader");
        assert_eq!(cluster.to_string(), "ClusterRole::reader");
        let parsed: ResourceId = "ClusterRole::reader".parse().expect("valid id");
        assert_eq!(parsed.namespace(), None);
        assert_eq!(parsed, cluster);
    }

    #[test]
    fn names_may_hold_colons() {
        for id in [
            ResourceId::cluster_scoped("ClusterRole", "system:controller:job-controller"),
            ResourceId::namespaced("RoleBinding", "kube-system", "system:controller:bootstrap"),
        ] {
            assert_eq!(id.to_string().parse::<ResourceId>().ok(), Some(id.clone()));
            let json = serde_json::to_string(&id).expect("serialises");
            assert_eq!(serde_json::from_str::<ResourceId>(&json).ok(), Some(id));
        }
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "Deployment",
            "Deployment:web",
            ":shop:web",
            "Deployment:shop:",
        ] {
            assert!(
                bad.parse::<ResourceId>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }
}
