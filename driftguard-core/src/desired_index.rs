//! The desired state of the last full analysis, kept between analyses for targeted ones.
//!
//! A live change is analysed against the desired state that the last full analysis read,
//! without asking Git again. Kept parsed, that state would cost several times its JSON
//! text per resource for as long as the service runs; kept as compact JSON text, indexed
//! by resource id, it costs about its own size, and the one object a change concerns is
//! parsed again in microseconds.

use std::collections::HashMap;

use serde_json::Value;

use crate::model::{DesiredSnapshot, Origin, Resource};
use crate::{Error, ResourceId};

/// One desired object as compact JSON text.
#[derive(Debug)]
struct KeptResource {
    id: ResourceId,
    api_version: Box<str>,
    object: Box<str>,
    origin: Option<Origin>,
}

impl KeptResource {
    fn keep(resource: &Resource) -> Self {
        Self {
            id: resource.id.clone(),
            api_version: resource.api_version.as_str().into(),
            // A `Value` always serialises: its map keys are strings.
            object: serde_json::to_string(&resource.object)
                .unwrap_or_default()
                .into_boxed_str(),
            origin: resource.origin.clone(),
        }
    }

    fn restore(&self) -> Result<Resource, Error> {
        let object: Value =
            serde_json::from_str(&self.object).map_err(|e| Error::InvalidObject {
                origin: self.origin.as_ref().map(ToString::to_string),
                reason: format!("the kept desired object no longer parses: {e}"),
            })?;
        Ok(Resource {
            id: self.id.clone(),
            api_version: self.api_version.to_string(),
            object,
            origin: self.origin.clone(),
        })
    }
}

/// A desired snapshot as compact JSON text, indexed by resource id.
#[derive(Debug, Default)]
pub struct DesiredIndex {
    revision: Option<String>,
    by_id: HashMap<ResourceId, Vec<KeptResource>>,
}

impl DesiredIndex {
    /// Keeps `snapshot` compactly.
    pub fn keep(snapshot: &DesiredSnapshot) -> Self {
        let mut by_id: HashMap<ResourceId, Vec<KeptResource>> =
            HashMap::with_capacity(snapshot.resources.len());
        for resource in &snapshot.resources {
            by_id
                .entry(resource.id.clone())
                .or_default()
                .push(KeptResource::keep(resource));
        }
        Self {
            revision: snapshot.revision.clone(),
            by_id,
        }
    }

    /// How many desired objects are kept.
    pub fn len(&self) -> usize {
        self.by_id.values().map(Vec::len).sum()
    }

    /// Whether no desired object is kept.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The desired objects that can pair with the live object `id`, as a snapshot at the
    /// kept revision: those declared with `id` itself and, for a namespaced `id`, those
    /// declared without a namespace (whose namespace the analysis defaults).
    pub fn candidates(&self, id: &ResourceId) -> Result<DesiredSnapshot, Error> {
        let without_namespace = id.namespace().is_some().then(|| id.with_namespace(None));
        let resources = [Some(id), without_namespace.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|key| self.by_id.get(key))
            .flatten()
            .map(KeptResource::restore)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DesiredSnapshot {
            resources,
            revision: self.revision.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn resource(object: Value) -> Resource {
        Resource::from_object(
            object,
            Some(Origin {
                location: "apps/web.yaml".to_owned(),
                line: Some(3),
            }),
        )
        .expect("a valid object")
    }

    fn snapshot() -> DesiredSnapshot {
        DesiredSnapshot {
            resources: vec![
                resource(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "web", "namespace": "shop"},
                    "spec": {"replicas": 3, "template": {"spec": {"containers": [
                        {"name": "web", "image": "nginx:1.27", "resources": {"limits": {"cpu": 0.5}}}]}}}})),
                resource(json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "settings"}, "data": {"mode": "fast"}})),
                resource(json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "settings", "namespace": "shop"}, "data": {"mode": "slow"}})),
            ],
            revision: Some("0123abcd".to_owned()),
        }
    }

    #[test]
    fn a_kept_object_comes_back_equal() {
        let snapshot = snapshot();
        let index = DesiredIndex::keep(&snapshot);
        assert_eq!(index.len(), 3);
        let id: ResourceId = "Deployment:shop:web".parse().expect("an id");
        let found = index.candidates(&id).expect("parses");
        assert_eq!(found.revision.as_deref(), Some("0123abcd"));
        assert_eq!(found.resources, vec![snapshot.resources[0].clone()]);
    }

    #[test]
    fn objects_without_a_namespace_are_candidates_for_every_namespace() {
        let snapshot = snapshot();
        let index = DesiredIndex::keep(&snapshot);
        let in_shop: ResourceId = "ConfigMap:shop:settings".parse().expect("an id");
        let found = index.candidates(&in_shop).expect("parses");
        assert_eq!(
            found.resources,
            vec![snapshot.resources[2].clone(), snapshot.resources[1].clone()]
        );
        let elsewhere: ResourceId = "ConfigMap:billing:settings".parse().expect("an id");
        let found = index.candidates(&elsewhere).expect("parses");
        assert_eq!(found.resources, vec![snapshot.resources[1].clone()]);
    }

    #[test]
    fn an_undeclared_resource_has_no_candidates() {
        let index = DesiredIndex::keep(&snapshot());
        for id in [
            "Deployment:shop:api",
            "Deployment:billing:web",
            "Service:shop:web",
        ] {
            let id: ResourceId = id.parse().expect("an id");
            assert!(index.candidates(&id).expect("parses").resources.is_empty());
        }
        assert!(DesiredIndex::default().is_empty());
    }
}
