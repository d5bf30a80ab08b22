//! One analysis pass, without I/O: pair desired with live, compare, advance the lifecycle.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::compare::{CompareSettings, PreparedObject, compare};
use crate::model::{
    DesiredSnapshot, LiveSnapshot, Resource, is_cluster_scoped_kind,
    is_known_cluster_scoped_custom_kind, is_namespaced_kind,
};
use crate::normalize::versions::align_to;
use crate::record::{DriftEvent, DriftRecord, advance, retire};
use crate::{Error, ResourceId};

/// Comparison settings plus the scope of an analysis.
#[derive(Debug, Clone, Default)]
pub struct DetectionSettings {
    /// How objects are compared.
    pub compare: CompareSettings,
    /// Only resources in these namespaces are analysed; empty for all.
    /// Cluster-scoped resources belong to no namespace and are left out when this is set.
    pub namespaces: Vec<String>,
}

/// Counts over the desired resources of one analysis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Desired resources analysed.
    pub resources: usize,
    /// Present live and matching.
    pub in_sync: usize,
    /// Present live with drift.
    pub drifted: usize,
    /// Absent from the live state.
    pub missing: usize,
    /// Declared, but of a kind or in a namespace the live source did not read (not
    /// configured, or refused); left out of the other counts and their records untouched.
    pub not_observed: usize,
}

impl Summary {
    /// Whether anything drifted or is missing.
    pub fn has_drift(&self) -> bool {
        self.drifted + self.missing > 0
    }
}

/// What one analysis produced: records to store, events to append, and counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnalysisOutcome {
    /// One record per analysed desired resource (sorted by id), plus records of resources
    /// that left the desired state while drifted.
    pub records: Vec<DriftRecord>,
    /// Lifecycle events, in record order.
    pub events: Vec<DriftEvent>,
    /// Counts over the desired resources.
    pub summary: Summary,
    /// The desired revision analysed.
    pub revision: Option<String>,
}

/// Which kinds are cluster-scoped, as far as the two snapshots tell: the built-in list,
/// then the `scope` of CustomResourceDefinitions on either side, then how live objects of
/// the kind are stored.
#[derive(Debug, Default)]
struct Scopes {
    /// Kind → cluster-scoped, from CustomResourceDefinitions.
    declared: HashMap<String, bool>,
    /// Kind → cluster-scoped, from live objects.
    observed: HashMap<String, bool>,
}

impl Scopes {
    fn learn<'a>(&mut self, resources: impl IntoIterator<Item = &'a Resource>, live: bool) {
        for resource in resources {
            let kind = resource.id.kind();
            if kind == "CustomResourceDefinition" {
                let spec = resource.object.get("spec");
                let crd_kind = spec
                    .and_then(|s| s.get("names"))
                    .and_then(|n| n.get("kind"))
                    .and_then(serde_json::Value::as_str);
                let scope = spec
                    .and_then(|s| s.get("scope"))
                    .and_then(serde_json::Value::as_str);
                if let (Some(crd_kind), Some(scope)) = (crd_kind, scope) {
                    self.declared
                        .insert(crd_kind.to_owned(), scope.eq_ignore_ascii_case("Cluster"));
                }
            }
            if live && !self.observed.contains_key(kind) {
                self.observed
                    .insert(kind.to_owned(), resource.id.namespace().is_none());
            }
        }
    }

    /// `Some(true)` for a cluster-scoped kind, `Some(false)` for a namespaced one, `None`
    /// when nothing says.
    fn cluster_scoped(&self, kind: &str) -> Option<bool> {
        if is_cluster_scoped_kind(kind) {
            return Some(true);
        }
        // A CRD may declare a kind of the same name as a built-in one (Crossplane's
        // cluster-scoped `Role`): its scope wins.
        if let Some(declared) = self.declared.get(kind) {
            return Some(*declared);
        }
        if is_namespaced_kind(kind) {
            return Some(false);
        }
        self.observed.get(kind).copied()
    }
}

/// The id a desired object is tracked under: its own, with the `default` namespace filled
/// in for namespaced kinds (as `kubectl apply` does) and a namespace dropped for
/// cluster-scoped ones (as the API server does). When the scope of a kind is unknown, the
/// live side decides.
fn resolve_id(
    desired: &ResourceId,
    live: &HashMap<ResourceId, Resource>,
    scopes: &Scopes,
) -> ResourceId {
    if live.contains_key(desired) {
        return desired.clone();
    }
    let scope = scopes.cluster_scoped(desired.kind());
    let scoped = match (scope, desired.namespace()) {
        (Some(true), Some(_)) => desired.with_namespace(None),
        (Some(false) | None, None) => desired.with_namespace(Some("default")),
        _ => desired.clone(),
    };
    if scope.is_some() || live.contains_key(&scoped) {
        return scoped;
    }
    let other = match desired.namespace() {
        Some(_) => desired.with_namespace(None),
        None => desired.clone(),
    };
    if live.contains_key(&other) {
        return other;
    }
    // Nothing in the snapshots tells: a well-known extension kind may.
    if is_known_cluster_scoped_custom_kind(desired.kind()) {
        return desired.with_namespace(None);
    }
    scoped
}

/// Annotations that make an object a deploy tool's hook (a Helm pre-install Job, a chart
/// test Pod, an Argo CD sync hook): run at deploy time and deleted by the tool, not state
/// the cluster is meant to keep. `helm template` renders them with the rest of a chart.
const HOOK_ANNOTATIONS: &[&str] = &["helm.sh/hook", "argocd.argoproj.io/hook"];

fn is_deploy_hook(resource: &Resource) -> bool {
    resource
        .object
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(serde_json::Value::as_object)
        .is_some_and(|annotations| {
            HOOK_ANNOTATIONS
                .iter()
                .any(|a| annotations.contains_key(*a))
        })
}

fn in_scope(id: &ResourceId, namespaces: &[String]) -> bool {
    namespaces.is_empty()
        || id
            .namespace()
            .is_some_and(|ns| namespaces.iter().any(|n| n == ns))
}

/// Runs one analysis over complete snapshots.
///
/// `previous` holds the stored records by id. Fails only when the desired side declares
/// the same resource twice.
pub fn analyze(
    desired: DesiredSnapshot,
    live: LiveSnapshot,
    previous: &HashMap<ResourceId, DriftRecord>,
    settings: &DetectionSettings,
    now: DateTime<Utc>,
) -> Result<AnalysisOutcome, Error> {
    let mut scopes = Scopes::default();
    scopes.learn(&desired.resources, false);
    scopes.learn(&live.resources, true);
    let coverage = live.coverage;
    let mut live_by_id: HashMap<ResourceId, Resource> =
        HashMap::with_capacity(live.resources.len());
    for mut resource in live.resources {
        if resource.id.namespace().is_none()
            && is_namespaced_kind(resource.id.kind())
            && !scopes.declared.contains_key(resource.id.kind())
        {
            // A hand-written dump that leaves the namespace out means `default`, as for
            // a manifest.
            resource.id = resource.id.with_namespace(Some("default"));
        }
        live_by_id.insert(resource.id.clone(), resource);
    }

    let mut declared: HashMap<ResourceId, Resource> =
        HashMap::with_capacity(desired.resources.len());
    let mut unobserved: HashMap<ResourceId, Resource> = HashMap::new();
    for resource in desired.resources {
        if is_deploy_hook(&resource) {
            continue;
        }
        let id = resolve_id(&resource.id, &live_by_id, &scopes);
        if !in_scope(&id, &settings.namespaces) {
            continue;
        }
        if let Some(first) = declared.get(&id).or_else(|| unobserved.get(&id)) {
            return Err(Error::DuplicateResource {
                id: id.to_string(),
                first: first.origin.as_ref().map(ToString::to_string),
                second: resource.origin.as_ref().map(ToString::to_string),
            });
        }
        if coverage.as_ref().is_none_or(|c| c.covers(&id)) {
            declared.insert(id, resource);
        } else {
            unobserved.insert(id, resource);
        }
    }

    let revision = desired.revision;
    let mut ids: Vec<ResourceId> = declared.keys().cloned().collect();
    ids.sort();
    let mut outcome = AnalysisOutcome {
        revision: revision.clone(),
        ..AnalysisOutcome::default()
    };
    outcome.summary.not_observed = unobserved.len();
    let options = &settings.compare.canonical;
    for id in ids {
        let Some(resource) = declared.remove(&id) else {
            continue;
        };
        let live = live_by_id.remove(&id);
        let mut desired_object = resource.object;
        if let Some(live) = &live {
            align_to(&mut desired_object, &live.api_version);
        }
        let prepared_desired = PreparedObject::new(desired_object, options);
        let prepared_live = live.map(|live| PreparedObject::new(live.object, options));
        let comparison = compare(
            id.clone(),
            resource.api_version,
            &prepared_desired,
            prepared_live.as_ref(),
            &settings.compare,
        );
        let summary = &mut outcome.summary;
        summary.resources += 1;
        if comparison.is_missing() {
            summary.missing += 1;
        } else if comparison.in_sync() {
            summary.in_sync += 1;
        } else {
            summary.drifted += 1;
        }
        let transition = advance(previous.get(&id), &comparison, revision.as_deref(), now);
        outcome.records.push(transition.record);
        outcome.events.extend(transition.events);
    }

    let analysed: std::collections::HashSet<&ResourceId> =
        outcome.records.iter().map(|r| &r.resource_id).collect();
    let mut retired: Vec<_> = previous
        .values()
        .filter(|p| {
            !analysed.contains(&p.resource_id)
                && !unobserved.contains_key(&p.resource_id)
                && in_scope(&p.resource_id, &settings.namespaces)
        })
        .filter_map(|p| retire(p, revision.as_deref(), now))
        .collect();
    retired.sort_by(|a, b| a.record.resource_id.cmp(&b.record.resource_id));
    for transition in retired {
        outcome.records.push(transition.record);
        outcome.events.extend(transition.events);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource(object: serde_json::Value) -> Resource {
        Resource::from_object(object, None).expect("valid object")
    }

    fn ids(desired: Vec<serde_json::Value>, live: Vec<serde_json::Value>) -> Vec<String> {
        let outcome = analyze(
            DesiredSnapshot {
                resources: desired.into_iter().map(resource).collect(),
                revision: None,
            },
            LiveSnapshot::complete(live.into_iter().map(resource).collect()),
            &HashMap::new(),
            &DetectionSettings::default(),
            chrono::Utc::now(),
        )
        .expect("analysis runs");
        outcome
            .records
            .iter()
            .map(|r| r.resource_id.to_string())
            .collect()
    }

    #[test]
    fn a_built_in_namespaced_kind_stays_namespaced_whatever_a_dump_says() {
        let cm = |name: &str, namespace: Option<&str>| {
            let mut object = json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name}, "data": {"k": "v"}});
            if let Some(namespace) = namespace {
                object["metadata"]["namespace"] = json!(namespace);
            }
            object
        };
        // A live object without a namespace is in `default`; it does not make ConfigMaps
        // cluster-scoped, so two desired ones in two namespaces stay two.
        assert_eq!(
            ids(
                vec![cm("cfg", Some("a")), cm("cfg", Some("b")), cm("cfg", None)],
                vec![cm("cfg", None)]
            ),
            [
                "ConfigMap:a:cfg",
                "ConfigMap:b:cfg",
                "ConfigMap:default:cfg"
            ]
        );
    }

    #[test]
    fn deploy_hooks_are_not_tracked() {
        let hook = json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "shop",
                "annotations": {"helm.sh/hook": "pre-install",
                    "helm.sh/hook-delete-policy": "hook-succeeded"}},
            "spec": {"template": {"spec": {"containers": [{"name": "m", "image": "m:1"}]}}}});
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "shop"}});
        assert_eq!(ids(vec![hook, cm], vec![]), ["ConfigMap:shop:settings"]);
    }

    #[test]
    fn a_crd_scope_wins_over_a_built_in_kind_of_the_same_name() {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "roles.iam.example.com"},
            "spec": {"group": "iam.example.com", "scope": "Cluster",
                "names": {"kind": "Role", "plural": "roles"}}});
        let role = json!({"apiVersion": "iam.example.com/v1", "kind": "Role",
            "metadata": {"name": "app-role"}, "spec": {"policy": "read"}});
        assert_eq!(
            ids(vec![crd.clone(), role.clone()], vec![crd, role]),
            [
                "CustomResourceDefinition::roles.iam.example.com",
                "Role::app-role"
            ]
        );
    }

    #[test]
    fn missing_objects_get_the_id_their_scope_gives_them() {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "clusterpolicies.policy.example.com"},
            "spec": {"scope": "Cluster", "names": {"kind": "ClusterPolicy"}}});
        let desired = vec![
            crd.clone(),
            json!({"apiVersion": "policy.example.com/v1", "kind": "ClusterPolicy",
                "metadata": {"name": "require-labels", "namespace": "ignored"}}),
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}),
            json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
            // Nothing declares these kinds: the cert-manager kind is known to be
            // cluster-scoped, the other is taken as namespaced.
            json!({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer",
                "metadata": {"name": "letsencrypt"}}),
            json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                "metadata": {"name": "tls"}}),
        ];
        // The live side stores Gadgets without a namespace: the kind is cluster-scoped.
        let live = vec![
            crd,
            json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "other"}}),
        ];
        assert_eq!(
            ids(desired, live),
            [
                "Certificate:default:tls",
                "ClusterIssuer::letsencrypt",
                "ClusterPolicy::require-labels",
                "CustomResourceDefinition::clusterpolicies.policy.example.com",
                "Gadget::g",
                "Namespace::shop",
                "Widget:default:w",
            ]
        );
    }

    #[test]
    fn a_definition_outranks_the_known_scope_of_a_kind() {
        // Somebody's own ClusterIssuer kind, declared namespaced.
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "clusterissuers.example.com"},
            "spec": {"scope": "Namespaced", "names": {"kind": "ClusterIssuer"}}});
        let desired = vec![
            crd.clone(),
            json!({"apiVersion": "example.com/v1", "kind": "ClusterIssuer",
                "metadata": {"name": "own"}}),
        ];
        assert_eq!(
            ids(desired, vec![crd]),
            [
                "ClusterIssuer:default:own",
                "CustomResourceDefinition::clusterissuers.example.com"
            ]
        );
    }

    #[test]
    fn an_unknown_kind_pairs_with_whatever_scope_live_holds() {
        let desired = vec![json!({"apiVersion": "example.com/v1", "kind": "Thing",
            "metadata": {"name": "t", "namespace": "shop"}})];
        let live = vec![json!({"apiVersion": "example.com/v1", "kind": "Thing",
            "metadata": {"name": "t"}})];
        assert_eq!(ids(desired, live), ["Thing::t"]);
    }

    #[test]
    fn objects_the_live_source_did_not_read_are_not_missing() {
        use crate::model::LiveCoverage;
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"}, "spec": {"replicas": 2}});
        let ingress = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web", "namespace": "shop"}});
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "namespace": "billing"}});
        let mut coverage = LiveCoverage::of_kinds(["Deployment".to_owned(), "Secret".to_owned()]);
        coverage.add_gap("Secret", "billing");
        let ingress_id: ResourceId = "Ingress:shop:web".parse().expect("valid id");
        let mut previous = HashMap::new();
        let stored = |id: &ResourceId| {
            let comparison = compare(
                id.clone(),
                "v1".to_owned(),
                &PreparedObject::new(json!({"kind": "Ingress"}), &Default::default()),
                None,
                &Default::default(),
            );
            advance(None, &comparison, None, chrono::Utc::now()).record
        };
        previous.insert(ingress_id.clone(), stored(&ingress_id));
        let outcome = analyze(
            DesiredSnapshot {
                resources: vec![
                    resource(deployment.clone()),
                    resource(ingress),
                    resource(secret),
                ],
                revision: None,
            },
            LiveSnapshot {
                resources: vec![resource(deployment)],
                coverage: Some(coverage),
            },
            &previous,
            &DetectionSettings::default(),
            chrono::Utc::now(),
        )
        .expect("analysis runs");
        let ids: Vec<String> = outcome
            .records
            .iter()
            .map(|r| r.resource_id.to_string())
            .collect();
        // The Ingress is not read and the billing Secrets may not be: neither is missing,
        // and the stored Ingress record is neither resolved nor rewritten.
        assert_eq!(ids, ["Deployment:shop:web"]);
        assert_eq!(outcome.summary.not_observed, 2);
        assert_eq!(outcome.summary.missing, 0);
        assert!(outcome.events.is_empty());
    }
}
