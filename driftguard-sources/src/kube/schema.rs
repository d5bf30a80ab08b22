//! The cluster's schema for the watched group-versions, read from its OpenAPI v3 documents
//! and kept between snapshots: a group-version is read into the schema again only when its
//! document's hash changes (a CRD was added, changed or removed).

use std::sync::{Arc, Mutex, PoisonError};

use driftguard_core::k8s::schema::ClusterSchema;

use crate::kube::openapi::OpenApiDocument;

/// The last schema built, shared by the snapshots that use it.
#[derive(Debug, Default)]
pub(crate) struct ClusterSchemaCache {
    current: Mutex<Option<Arc<ClusterSchema>>>,
}

impl ClusterSchemaCache {
    /// The schema for `documents`, the current documents of the watched group-versions:
    /// the one held when no hash changed, else a new one that reads only the changed
    /// documents and shares the others.
    pub(crate) fn update(&self, documents: &[OpenApiDocument]) -> Arc<ClusterSchema> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let unchanged = current.as_ref().is_some_and(|held| {
            held.group_versions().count() == documents.len()
                && documents.iter().all(|document| {
                    document.hash.is_some()
                        && held.hash(&document.group_version) == document.hash.as_deref()
                })
        });
        if let (true, Some(held)) = (unchanged, current.as_ref()) {
            return held.clone();
        }
        let mut next = ClusterSchema::new();
        for document in documents {
            let held = current.as_ref().filter(|held| {
                document.hash.is_some()
                    && held.hash(&document.group_version) == document.hash.as_deref()
            });
            match held {
                Some(held) => next.keep(&document.group_version, held),
                None => next.insert(
                    &document.group_version,
                    document.hash.as_deref().unwrap_or_default(),
                    &document.document,
                ),
            }
        }
        let next = Arc::new(next);
        *current = Some(next.clone());
        next
    }

    /// The schema held, if any: what a snapshot uses when the documents cannot be read.
    pub(crate) fn last(&self) -> Option<Arc<ClusterSchema>> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn document(group_version: &str, hash: &str, default: &str) -> OpenApiDocument {
        OpenApiDocument {
            group_version: group_version.to_owned(),
            hash: Some(hash.to_owned()),
            document: Arc::new(json!({"components": {"schemas": {"io.example.Widget": {
                "x-kubernetes-group-version-kind": [{"group": "example.io", "version": "v1", "kind": "Widget"}],
                "properties": {"spec": {"properties": {"mode": {"type": "string", "default": default}}}}
            }}}})),
        }
    }

    fn mode(schema: &ClusterSchema) -> Option<serde_json::Value> {
        schema
            .cursor("example.io/v1", "Widget")
            .field("spec")
            .field("mode")
            .default_value()
            .cloned()
    }

    #[test]
    fn unchanged_hashes_keep_the_schema_and_a_new_hash_reads_the_document_again() {
        let cache = ClusterSchemaCache::default();
        let first = cache.update(&[document("example.io/v1", "A", "Fast")]);
        assert_eq!(mode(&first), Some(json!("Fast")));
        let again = cache.update(&[document("example.io/v1", "A", "ignored")]);
        assert!(Arc::ptr_eq(&first, &again));
        let changed = cache.update(&[document("example.io/v1", "B", "Slow")]);
        assert_eq!(mode(&changed), Some(json!("Slow")));
        assert!(Arc::ptr_eq(&cache.last().expect("held"), &changed));
        let dropped = cache.update(&[]);
        assert!(dropped.is_empty());
    }
}
