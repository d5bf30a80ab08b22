//! Which schema describes a kind: the cluster's own, else a CustomResourceDefinition found
//! in the desired or live state, else the bundled schema of the built-in kinds.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use super::builtin::builtin;
use super::cursor::SchemaCursor;
use super::kinds::KindSchemas;

/// The schema an API server publishes at `/openapi/v3`, one document per group-version,
/// each kept with the hash the index gave it so that an unchanged document is never
/// fetched or read again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterSchema {
    group_versions: HashMap<String, (String, Arc<KindSchemas>)>,
}

impl ClusterSchema {
    /// No group-version yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The hash of the document held for `group_version`.
    pub fn hash(&self, group_version: &str) -> Option<&str> {
        self.group_versions
            .get(group_version)
            .map(|(hash, _)| hash.as_str())
    }

    /// Reads `document`, the OpenAPI v3 document of `group_version` with index hash
    /// `hash`, replacing what was held for it.
    pub fn insert(&mut self, group_version: &str, hash: &str, document: &Value) {
        let kinds = KindSchemas::from_openapi(group_version, document);
        self.group_versions
            .insert(group_version.to_owned(), (hash.to_owned(), Arc::new(kinds)));
    }

    /// Keeps `group_version` as it is: its document's hash has not changed.
    pub fn keep(&mut self, group_version: &str, from: &ClusterSchema) {
        if let Some(held) = from.group_versions.get(group_version) {
            self.group_versions
                .insert(group_version.to_owned(), held.clone());
        }
    }

    /// The group-versions held.
    pub fn group_versions(&self) -> impl Iterator<Item = &str> {
        self.group_versions.keys().map(String::as_str)
    }

    /// Whether no group-version is held.
    pub fn is_empty(&self) -> bool {
        self.group_versions.is_empty()
    }

    /// The schema of `kind` at `api_version`.
    pub fn cursor(&self, api_version: &str, kind: &str) -> SchemaCursor<'_> {
        self.group_versions
            .get(api_version)
            .map(|(_, kinds)| kinds.cursor(api_version, kind))
            .unwrap_or(SchemaCursor::UNKNOWN)
    }
}

/// A CustomResourceDefinition, read into a schema the first time one of its kinds is
/// compared, and then kept for as long as the catalog holding it.
#[derive(Debug)]
struct Definition {
    crd: Value,
    read: OnceLock<Option<KindSchemas>>,
    from_live: bool,
}

/// The schemas an analysis compares with, in order of precedence: the cluster's, the
/// CustomResourceDefinitions in the live state, those in the desired state, the bundled
/// built-in kinds.
///
/// Cloning shares what was read, so the detector keeps the catalog of its last full run
/// for the single-resource analyses between runs.
#[derive(Debug, Clone, Default)]
pub struct SchemaCatalog {
    cluster: Option<Arc<ClusterSchema>>,
    /// `(group, kind)` → its definition.
    definitions: HashMap<(String, String), Arc<Definition>>,
}

impl SchemaCatalog {
    /// A catalog over the cluster's schema, when there is one.
    pub fn new(cluster: Option<Arc<ClusterSchema>>) -> Self {
        Self {
            cluster,
            definitions: HashMap::new(),
        }
    }

    /// Uses `cluster` as the cluster's schema from now on.
    pub fn set_cluster(&mut self, cluster: Arc<ClusterSchema>) {
        self.cluster = Some(cluster);
    }

    /// Learns the CustomResourceDefinition `crd`; one from the live state replaces one
    /// from Git, since the API server validates and defaults by the one it holds. An
    /// unchanged definition keeps what was read of it.
    pub fn learn_crd(&mut self, crd: &Value, from_live: bool) {
        let spec = crd.get("spec");
        let field = |name: &str| {
            spec.and_then(|s| s.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let kind = spec
            .and_then(|s| s.get("names"))
            .and_then(|n| n.get("kind"))
            .and_then(Value::as_str);
        let (Some(group), Some(kind)) = (field("group"), kind) else {
            return;
        };
        let key = (group, kind.to_owned());
        if let Some(held) = self.definitions.get(&key) {
            if held.from_live && !from_live {
                return;
            }
            if held.from_live == from_live && held.crd.get("spec") == crd.get("spec") {
                return;
            }
        }
        self.definitions.insert(
            key,
            Arc::new(Definition {
                crd: crd.clone(),
                read: OnceLock::new(),
                from_live,
            }),
        );
    }

    /// How many CustomResourceDefinitions it knows.
    pub fn definitions(&self) -> usize {
        self.definitions.len()
    }

    /// The schema of `kind` at `api_version`: unknown when nothing describes it.
    pub fn cursor(&self, api_version: &str, kind: &str) -> SchemaCursor<'_> {
        if let Some(cluster) = &self.cluster {
            let cursor = cluster.cursor(api_version, kind);
            if cursor.is_known() {
                return cursor;
            }
        }
        let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
        if !group.is_empty()
            && !self.definitions.is_empty()
            && let Some(definition) = self.definitions.get(&(group.to_owned(), kind.to_owned()))
        {
            let read = definition
                .read
                .get_or_init(|| KindSchemas::from_crd(&definition.crd));
            if let Some(kinds) = read {
                let cursor = kinds.cursor(api_version, kind);
                if cursor.is_known() {
                    return cursor;
                }
            }
        }
        builtin().cursor(api_version, kind)
    }
}
