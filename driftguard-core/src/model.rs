//! Resources and the snapshots that sources hand to the detector.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::k8s::schema::ClusterSchema;
use crate::object_text::ObjectText;
use crate::{Error, ResourceId};

/// Where a resource was read from, for error messages and reports (`file:line`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// A file path, URL or API path (shared by the objects of one file).
    pub location: Arc<str>,
    /// The 1-based line where the object's document starts, when known.
    pub line: Option<u64>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}", self.location, line),
            None => f.write_str(&self.location),
        }
    }
}

/// One Kubernetes object as a source delivered it: its identity and its full JSON form,
/// held as compact text ([`ObjectText`]) until it is compared.
///
/// Secret values in `object` are already keyed fingerprints: adapters call
/// [`crate::secret::fingerprint_secret`] before building a `Resource`.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// `Kind:namespace:name`.
    pub id: ResourceId,
    /// The object's `apiVersion`, e.g. `apps/v1`.
    pub api_version: String,
    /// The whole object as compact JSON text.
    pub object: ObjectText,
    /// Where it came from, when the source knows.
    pub origin: Option<Origin>,
}

impl Resource {
    /// Builds a resource from a JSON object, reading its identity from `kind`,
    /// `apiVersion`, `metadata.namespace` and `metadata.name`.
    pub fn from_object(object: Value, origin: Option<Origin>) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidObject {
            origin: origin.as_ref().map(ToString::to_string),
            reason,
        };
        let Some(map) = object.as_object() else {
            return Err(invalid("the document is not a mapping".to_owned()));
        };
        let kind = match map.get("kind") {
            Some(Value::String(kind)) if !kind.is_empty() => kind.clone(),
            Some(_) => return Err(invalid("`kind` is not a non-empty string".to_owned())),
            None => return Err(invalid("the document has no `kind`".to_owned())),
        };
        let api_version = match map.get("apiVersion") {
            Some(Value::String(v)) if !v.is_empty() => v.clone(),
            _ => return Err(invalid(format!("the {kind} has no `apiVersion`"))),
        };
        let metadata = match map.get("metadata") {
            Some(Value::Object(metadata)) => Some(metadata),
            None | Some(Value::Null) => None,
            Some(_) => {
                return Err(invalid(format!("the {kind}'s `metadata` is not a mapping")));
            }
        };
        let name = match metadata.and_then(|m| m.get("name")) {
            Some(Value::String(name)) if !name.is_empty() => name.clone(),
            None | Some(Value::Null) => {
                return Err(invalid(format!("the {kind} has no `metadata.name`")));
            }
            Some(_) => {
                return Err(invalid(format!(
                    "the {kind}'s `metadata.name` is not a non-empty string"
                )));
            }
        };
        if kind.contains(':') {
            return Err(invalid(format!("the kind `{kind}` holds a colon")));
        }
        let namespace = match metadata.and_then(|m| m.get("namespace")) {
            None | Some(Value::Null) => None,
            // Namespaces are DNS labels; a colon would make the resource id ambiguous.
            Some(Value::String(ns)) if ns.contains(':') => {
                return Err(invalid(format!(
                    "the {kind} {name} has a `metadata.namespace` that is not a namespace name"
                )));
            }
            Some(Value::String(ns)) => Some(ns.clone()),
            Some(_) => {
                return Err(invalid(format!(
                    "the {kind} {name} has a `metadata.namespace` that is not a string"
                )));
            }
        };
        Ok(Self {
            id: ResourceId::new(kind, namespace.as_deref(), name),
            api_version,
            object: ObjectText::new(&object),
            origin,
        })
    }
}

/// Everything the desired side (Git, a folder) declares, at one revision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DesiredSnapshot {
    /// The declared objects.
    pub resources: Vec<Resource>,
    /// The commit the objects were read at; `None` for a plain folder.
    pub revision: Option<String>,
    /// How renderers (Kustomize, Helm) produced the objects; `None` when every object was
    /// read from a manifest file as written.
    pub render: Option<RenderSummary>,
}

/// What the renderers did to produce one desired snapshot, for status pages and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RenderSummary {
    /// Folders rendered by a tool for this snapshot.
    pub rendered: usize,
    /// Folders whose output came from the cache: the same revision, folder and render
    /// settings were rendered before.
    pub cached: usize,
    /// Seconds the renders of this snapshot took; when everything came from the cache,
    /// the seconds of the renders that filled it.
    pub seconds: f64,
}

/// Everything the live side (a cluster, a dump) holds for the watched types.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveSnapshot {
    /// The live objects.
    pub resources: Vec<Resource>,
    /// What the snapshot read in full; `None` when it stands for the whole cluster (a
    /// dump, a test double). A desired object outside it is not observed rather than
    /// missing: a cluster source that does not read Ingresses, or may not read Secrets in
    /// one namespace, must not report those as deleted.
    pub coverage: Option<LiveCoverage>,
    /// The schema the API server publishes for the watched group-versions, when the source
    /// read it; objects are then compared by it (see [`crate::k8s::schema`]).
    pub schema: Option<Arc<ClusterSchema>>,
}

impl LiveSnapshot {
    /// A snapshot standing for everything there is.
    pub fn complete(resources: Vec<Resource>) -> Self {
        Self {
            resources,
            coverage: None,
            schema: None,
        }
    }

    /// Whether the snapshot can say if the object `id` exists.
    pub fn covers(&self, id: &ResourceId) -> bool {
        self.coverage.as_ref().is_none_or(|c| c.covers(id))
    }
}

/// The kinds and namespaces a live snapshot read in full.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveCoverage {
    kinds: BTreeSet<String>,
    /// The kinds are those a dump holds (or declares it holds), not those a source reads.
    from_dump: bool,
    namespaces: Option<BTreeSet<String>>,
    excluded_namespaces: BTreeSet<String>,
    gaps: BTreeSet<(String, String)>,
    /// Kinds whose reading was refused everywhere (RBAC).
    refused_kinds: BTreeSet<String>,
    /// Kind → cluster-scoped, as the API server's discovery says.
    scopes: BTreeMap<String, bool>,
}

impl LiveCoverage {
    /// Coverage of these kinds, in every namespace.
    pub fn of_kinds(kinds: impl IntoIterator<Item = String>) -> Self {
        Self {
            kinds: kinds.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Coverage of a dump: the kinds it holds objects of, and the kinds it is declared to
    /// hold in full. A kind with no object in the dump was not dumped, so its objects are
    /// not observed rather than missing.
    pub fn of_dump(kinds: impl IntoIterator<Item = String>) -> Self {
        Self {
            from_dump: true,
            ..Self::of_kinds(kinds)
        }
    }

    /// Only these namespaces were read (cluster-scoped objects still are).
    pub fn only_namespaces(mut self, namespaces: impl IntoIterator<Item = String>) -> Self {
        self.namespaces = Some(namespaces.into_iter().collect());
        self
    }

    /// These namespaces were left out (system namespaces, say).
    pub fn excluding_namespaces(mut self, namespaces: impl IntoIterator<Item = String>) -> Self {
        self.excluded_namespaces.extend(namespaces);
        self
    }

    /// The API server serves `kind` cluster-scoped (`true`) or namespaced (`false`), as
    /// its discovery documents say. The analysis uses it to tell which desired objects
    /// without a namespace take the destination namespace.
    pub fn set_scope(&mut self, kind: impl Into<String>, cluster_scoped: bool) {
        self.scopes.insert(kind.into(), cluster_scoped);
    }

    /// Whether discovery says `kind` is cluster-scoped; `None` when it did not say.
    pub fn cluster_scoped(&self, kind: &str) -> Option<bool> {
        self.scopes.get(kind).copied()
    }

    /// Objects of `kind` in `namespace` could not be read (RBAC refused that namespace).
    pub fn add_gap(&mut self, kind: impl Into<String>, namespace: impl Into<String>) {
        self.gaps.insert((kind.into(), namespace.into()));
    }

    /// Reading objects of `kind` was refused in every namespace (RBAC refused the list).
    pub fn add_refused_kind(&mut self, kind: impl Into<String>) {
        let kind = kind.into();
        self.kinds.remove(&kind);
        self.refused_kinds.insert(kind);
    }

    /// Whether the object `id` was in what was read.
    pub fn covers(&self, id: &ResourceId) -> bool {
        self.unobserved(id).is_none()
    }

    /// Why the object `id` was not in what was read; `None` when it was.
    pub fn unobserved(&self, id: &ResourceId) -> Option<Unobserved> {
        if self.refused_kinds.contains(id.kind()) {
            return Some(Unobserved::KindForbidden);
        }
        if !self.kinds.contains(id.kind()) {
            return Some(if self.from_dump {
                Unobserved::KindNotInDump
            } else {
                Unobserved::KindNotRead
            });
        }
        let namespace = id.namespace()?;
        if self
            .namespaces
            .as_ref()
            .is_some_and(|wanted| !wanted.contains(namespace))
        {
            return Some(Unobserved::NamespaceNotRead);
        }
        if self.excluded_namespaces.contains(namespace) {
            return Some(Unobserved::NamespaceExcluded);
        }
        if self
            .gaps
            .contains(&(id.kind().to_owned(), namespace.to_owned()))
        {
            return Some(Unobserved::Forbidden);
        }
        None
    }
}

/// Why a desired object could not be observed: the live side did not read where it
/// would be, so whether it exists is unknown (neither in sync nor missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unobserved {
    /// The live source does not read objects of this kind (not among its resource
    /// types, or the API server does not serve them).
    KindNotRead,
    /// The live dump holds no object of this kind and is not declared to cover it.
    KindNotInDump,
    /// The live source reads other namespaces only.
    NamespaceNotRead,
    /// The namespace is excluded (a system namespace).
    NamespaceExcluded,
    /// Reading this kind in this namespace was refused (RBAC).
    Forbidden,
    /// Reading this kind was refused in every namespace (RBAC refused the cluster-wide
    /// list).
    KindForbidden,
}

impl Unobserved {
    /// Why, in a sentence fragment naming the object's `kind` and `namespace`.
    pub fn explain(self, kind: &str, namespace: Option<&str>) -> String {
        let namespace = namespace.unwrap_or("-");
        match self {
            Self::KindNotRead => format!(
                "{kind} objects are not read from the cluster (not among the resource types read)"
            ),
            Self::KindNotInDump => format!(
                "the live dump holds no {kind} object (declare the types a dump covers with --resource-type to have absent ones reported missing)"
            ),
            Self::NamespaceNotRead => format!("namespace {namespace} is not read"),
            Self::NamespaceExcluded => {
                format!("namespace {namespace} is excluded from the live state")
            }
            Self::Forbidden => {
                format!("reading {kind} objects in namespace {namespace} was refused (RBAC)")
            }
            Self::KindForbidden => format!("reading {kind} objects was refused (RBAC)"),
        }
    }
}

/// Keeps only resources in the given namespaces; an empty list keeps everything.
///
/// Cluster-scoped resources have no namespace and are dropped by a non-empty filter.
pub fn retain_namespaces(resources: &mut Vec<Resource>, namespaces: &[String]) {
    if namespaces.is_empty() {
        return;
    }
    resources.retain(|r| {
        r.id.namespace()
            .is_some_and(|ns| namespaces.iter().any(|wanted| wanted == ns))
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn coverage_says_why_an_object_was_not_observed() {
        let mut coverage = LiveCoverage::of_kinds(["Deployment".to_owned(), "Secret".to_owned()])
            .only_namespaces(["shop".to_owned(), "kube-system".to_owned()])
            .excluding_namespaces(["kube-system".to_owned()]);
        coverage.add_gap("Deployment", "shop");
        coverage.add_refused_kind("Secret");
        let id = |kind: &str, namespace: &str| ResourceId::new(kind, Some(namespace), "x");
        assert_eq!(
            coverage.unobserved(&id("ConfigMap", "shop")),
            Some(Unobserved::KindNotRead)
        );
        assert_eq!(
            coverage.unobserved(&id("Secret", "shop")),
            Some(Unobserved::KindForbidden)
        );
        assert_eq!(
            coverage.unobserved(&id("Deployment", "shop")),
            Some(Unobserved::Forbidden)
        );
        assert_eq!(
            coverage.unobserved(&id("Deployment", "billing")),
            Some(Unobserved::NamespaceNotRead)
        );
        assert_eq!(
            coverage.unobserved(&id("Deployment", "kube-system")),
            Some(Unobserved::NamespaceExcluded)
        );
        let dump = LiveCoverage::of_dump(["Deployment".to_owned()]);
        assert_eq!(
            dump.unobserved(&id("ConfigMap", "shop")),
            Some(Unobserved::KindNotInDump)
        );
        assert_eq!(dump.unobserved(&id("Deployment", "shop")), None);
        assert_eq!(
            Unobserved::KindForbidden.explain("Secret", Some("shop")),
            "reading Secret objects was refused (RBAC)"
        );
    }

    #[test]
    fn colons_in_a_kind_or_namespace_are_refused() {
        for object in [
            json!({"apiVersion": "v1", "kind": "Config:Map", "metadata": {"name": "a"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a", "namespace": "shop:eu"}}),
        ] {
            assert!(Resource::from_object(object, None).is_err());
        }
        let rbac = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:aggregate-to-view"}});
        let resource = Resource::from_object(rbac, None).expect("names may hold colons");
        assert_eq!(
            resource.id.to_string().parse::<ResourceId>().ok(),
            Some(resource.id)
        );
    }
}
