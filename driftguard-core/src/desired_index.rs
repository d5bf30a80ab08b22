//! The desired state of the last full analysis, kept between analyses for targeted ones.
//!
//! A live change is analysed against the desired state that the last full analysis read,
//! without asking Git again. Its objects are compact JSON text ([`crate::ObjectText`]),
//! shared with the snapshot they came from and sorted by resource id: about their own
//! size, and the one object a change concerns is found by binary search and parsed again
//! in microseconds.

use crate::ResourceId;
use crate::analysis::ApplicationDesired;
use crate::model::{DesiredSnapshot, Resource};

/// One desired object (its JSON text shared with the snapshot it came from).
#[derive(Debug)]
struct KeptResource {
    resource: Resource,
    /// Index of its application in [`DesiredIndex::applications`].
    application: usize,
}

/// What is kept of an application besides its objects.
#[derive(Debug)]
struct KeptApplication {
    name: String,
    namespace: Option<String>,
    revision: Option<String>,
}

/// The desired state of several applications as compact JSON text, indexed by resource id.
///
/// One sorted vector rather than a map of vectors: a map entry and a vector per id cost
/// several times the object itself on a cluster of 100,000 (a vector's first allocation
/// holds four elements).
#[derive(Debug, Default)]
pub struct DesiredIndex {
    applications: Vec<KeptApplication>,
    /// Every kept object, by id and, within one id, in application order.
    resources: Vec<KeptResource>,
}

impl DesiredIndex {
    /// Keeps the desired state of `applications` compactly, in their order.
    pub fn keep<'a>(applications: impl IntoIterator<Item = &'a ApplicationDesired>) -> Self {
        let mut index = Self::default();
        for application in applications {
            let position = index.applications.len();
            index.applications.push(KeptApplication {
                name: application.name.clone(),
                namespace: application.namespace.clone(),
                revision: application.snapshot.revision.clone(),
            });
            index
                .resources
                .extend(
                    application
                        .snapshot
                        .resources
                        .iter()
                        .map(|resource| KeptResource {
                            resource: resource.clone(),
                            application: position,
                        }),
                );
        }
        // Stable: the objects of one id stay in application order.
        index
            .resources
            .sort_by(|a, b| a.resource.id.cmp(&b.resource.id));
        index
    }

    /// The kept objects declared with `id`, in application order.
    fn declared_as(&self, id: &ResourceId) -> &[KeptResource] {
        let start = self
            .resources
            .partition_point(|kept| kept.resource.id < *id);
        let end = start + self.resources[start..].partition_point(|kept| kept.resource.id == *id);
        &self.resources[start..end]
    }

    /// The application `name` as kept, without its objects: the revision and destination
    /// to judge a resource it no longer declares by.
    pub fn application(&self, name: &str) -> Option<ApplicationDesired> {
        self.applications
            .iter()
            .find(|a| a.name == name)
            .map(|a| ApplicationDesired {
                name: a.name.clone(),
                namespace: a.namespace.clone(),
                snapshot: DesiredSnapshot {
                    resources: Vec::new(),
                    revision: a.revision.clone(),
                    render: None,
                },
            })
    }

    /// How many desired objects are kept.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether no desired object is kept.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// The desired objects that can pair with the live object `id`, per application (in
    /// the kept order, applications without a candidate left out): those declared with
    /// `id` itself and, for a namespaced `id`, those declared without a namespace (whose
    /// namespace the analysis fills in).
    pub fn candidates(&self, id: &ResourceId) -> Vec<ApplicationDesired> {
        let without_namespace = id.namespace().is_some().then(|| id.with_namespace(None));
        let mut found: Vec<Vec<Resource>> = self.applications.iter().map(|_| Vec::new()).collect();
        for kept in [Some(id), without_namespace.as_ref()]
            .into_iter()
            .flatten()
            .flat_map(|key| self.declared_as(key))
        {
            found[kept.application].push(kept.resource.clone());
        }
        self.applications
            .iter()
            .zip(found)
            .filter(|(_, resources)| !resources.is_empty())
            .map(|(application, resources)| ApplicationDesired {
                name: application.name.clone(),
                namespace: application.namespace.clone(),
                snapshot: DesiredSnapshot {
                    resources,
                    revision: application.revision.clone(),
                    render: None,
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::Origin;

    fn resource(object: Value) -> Resource {
        Resource::from_object(
            object,
            Some(Origin {
                location: "apps/web.yaml".into(),
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
            render: None,
        }
    }

    fn resources_of(found: Vec<ApplicationDesired>) -> (Option<String>, Vec<Resource>) {
        let revision = found.first().and_then(|a| a.snapshot.revision.clone());
        let resources = found
            .into_iter()
            .flat_map(|a| a.snapshot.resources)
            .collect();
        (revision, resources)
    }

    #[test]
    fn a_kept_object_comes_back_equal() {
        let snapshot = snapshot();
        let index = DesiredIndex::keep(&[ApplicationDesired::single(snapshot.clone())]);
        assert_eq!(index.len(), 3);
        let id: ResourceId = "Deployment:shop:web".parse().expect("an id");
        let (revision, resources) = resources_of(index.candidates(&id));
        assert_eq!(revision.as_deref(), Some("0123abcd"));
        assert_eq!(resources, vec![snapshot.resources[0].clone()]);
    }

    #[test]
    fn objects_without_a_namespace_are_candidates_for_every_namespace() {
        let snapshot = snapshot();
        let index = DesiredIndex::keep(&[ApplicationDesired::single(snapshot.clone())]);
        let in_shop: ResourceId = "ConfigMap:shop:settings".parse().expect("an id");
        let (_, resources) = resources_of(index.candidates(&in_shop));
        assert_eq!(
            resources,
            vec![snapshot.resources[2].clone(), snapshot.resources[1].clone()]
        );
        let elsewhere: ResourceId = "ConfigMap:billing:settings".parse().expect("an id");
        let (_, resources) = resources_of(index.candidates(&elsewhere));
        assert_eq!(resources, vec![snapshot.resources[1].clone()]);
    }

    #[test]
    fn an_undeclared_resource_has_no_candidates() {
        let index = DesiredIndex::keep(&[ApplicationDesired::single(snapshot())]);
        for id in [
            "Deployment:shop:api",
            "Deployment:billing:web",
            "Service:shop:web",
        ] {
            let id: ResourceId = id.parse().expect("an id");
            assert!(index.candidates(&id).is_empty());
        }
        assert!(DesiredIndex::default().is_empty());
    }
}
