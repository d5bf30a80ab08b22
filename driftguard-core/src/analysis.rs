//! One analysis pass, without I/O: pair desired with live, compare, advance the lifecycle.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::compare::{CompareSettings, Comparison, PreparedObject, compare};
use crate::k8s::kinds::{
    is_cluster_scoped_kind, is_known_cluster_scoped_custom_kind, is_namespaced_kind,
};
use crate::k8s::metadata::HOOK_ANNOTATIONS;
use crate::k8s::schema::SchemaCatalog;
use crate::live_objects::LiveObjects;
use crate::model::{DesiredSnapshot, LiveCoverage, LiveSnapshot, Resource, Unobserved};
use crate::normalize::versions::align_to;
use crate::plausibility::Plausibility;
use crate::record::{
    DEFAULT_APPLICATION, DriftEvent, DriftRecord, REMOVED_EVERYWHERE, Transition, advance, orphan,
    retire,
};
use crate::stored::StoredRecords;
use crate::{Error, ResourceId};

/// Comparison settings plus the scope of an analysis.
#[derive(Debug, Clone)]
pub struct DetectionSettings {
    /// The cluster analysed: every record and event of an analysis carries its name, and
    /// the records it reads and writes are this cluster's only.
    pub cluster: String,
    /// How objects are compared.
    pub compare: CompareSettings,
    /// Only resources in these namespaces are analysed; empty for all.
    /// Cluster-scoped resources belong to no namespace and are left out when this is set.
    pub namespaces: Vec<String>,
    /// When the service holds back a desired state instead of analysing it (an empty one,
    /// or one that lost too many objects at once).
    pub plausibility: Plausibility,
}

impl Default for DetectionSettings {
    fn default() -> Self {
        Self {
            cluster: crate::DEFAULT_CLUSTER.to_owned(),
            compare: CompareSettings::default(),
            namespaces: Vec::new(),
            plausibility: Plausibility::default(),
        }
    }
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

    fn add(&mut self, other: &Summary) {
        self.resources += other.resources;
        self.in_sync += other.in_sync;
        self.drifted += other.drifted;
        self.missing += other.missing;
        self.not_observed += other.not_observed;
    }
}

/// One application's desired state, as its source delivered it for an analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationDesired {
    /// The application's name (records carry it).
    pub name: String,
    /// The destination namespace: namespaced objects declared without a namespace live
    /// there (`default` when `None`, as `kubectl apply` would put them).
    pub namespace: Option<String>,
    /// The declared objects.
    pub snapshot: DesiredSnapshot,
}

impl ApplicationDesired {
    /// The single application of an installation with one desired source.
    pub fn single(snapshot: DesiredSnapshot) -> Self {
        Self {
            name: DEFAULT_APPLICATION.to_owned(),
            namespace: None,
            snapshot,
        }
    }
}

/// What one analysis found for one application.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationResult {
    /// The application's name.
    pub name: String,
    /// The desired revision analysed.
    pub revision: Option<String>,
    /// Counts over the application's desired resources.
    pub summary: Summary,
    /// Why the application's desired state was not analysed (a resource declared twice);
    /// its records were left as they were. `None` when it was analysed.
    pub error: Option<String>,
}

/// What one analysis produced: records to store, events to append, and counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnalysisOutcome {
    /// One record per analysed desired resource (sorted by id), then the records of
    /// resources that left the desired state (sorted by id): Orphaned while they still run
    /// in the cluster, resolved once they are gone from it too.
    pub records: Vec<DriftRecord>,
    /// Lifecycle events, in record order.
    pub events: Vec<DriftEvent>,
    /// Counts over the desired resources.
    pub summary: Summary,
    /// The desired revision analysed (the first application's, when there are several).
    pub revision: Option<String>,
    /// One result per application, in the order they were given.
    pub applications: Vec<ApplicationResult>,
    /// Things the user should know that did not stop the analysis, such as a resource
    /// that two applications declare.
    pub warnings: Vec<String>,
    /// The desired resources the live side could not observe (sorted by id), with why;
    /// counted in [`Summary::not_observed`]. They have no record in this outcome.
    pub not_observed: Vec<NotObserved>,
}

/// A desired resource whose live counterpart could not be looked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotObserved {
    /// The id it is tracked under.
    pub resource_id: ResourceId,
    /// The API version Git declares.
    pub api_version: String,
    /// The application that declares it.
    pub application: String,
    /// Why it was not observed.
    pub reason: Unobserved,
}

impl NotObserved {
    /// Why, as a sentence fragment naming the kind and namespace.
    pub fn explanation(&self) -> String {
        self.reason
            .explain(self.resource_id.kind(), self.resource_id.namespace())
    }
}

/// Which kinds are cluster-scoped, as far as the two snapshots tell: the built-in list,
/// then the `scope` of CustomResourceDefinitions on either side, then the API server's
/// discovery, then how live objects of the kind are stored.
#[derive(Debug, Default)]
struct Scopes {
    /// Kind → cluster-scoped, from CustomResourceDefinitions.
    declared: HashMap<String, bool>,
    /// Kind → cluster-scoped, from live objects.
    observed: HashMap<String, bool>,
}

impl Scopes {
    /// Learns the scopes `resources` reveal; the CustomResourceDefinitions among them also
    /// go to `schemas`, whose schemas describe the custom resources compared.
    fn learn<'a>(
        &mut self,
        resources: impl IntoIterator<Item = &'a Resource>,
        live: bool,
        schemas: &mut SchemaCatalog,
    ) {
        for resource in resources {
            let kind = resource.id.kind();
            if kind == "CustomResourceDefinition" {
                let object = resource.object.to_value();
                schemas.learn_crd(&object, live);
                let spec = object.get("spec");
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
    fn cluster_scoped(&self, kind: &str, coverage: Option<&LiveCoverage>) -> Option<bool> {
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
        coverage
            .and_then(|c| c.cluster_scoped(kind))
            .or_else(|| self.observed.get(kind).copied())
    }
}

/// The id a desired object is tracked under: its own, with the destination namespace
/// filled in for namespaced kinds (as `kubectl apply -n` does) and a namespace dropped for
/// cluster-scoped ones (as the API server does). When the scope of a kind is unknown, the
/// live side decides.
fn resolve_id(
    desired: &ResourceId,
    live: &LiveObjects,
    scopes: &Scopes,
    coverage: Option<&LiveCoverage>,
    destination: &str,
) -> ResourceId {
    if live.contains(desired) {
        return desired.clone();
    }
    let scope = scopes.cluster_scoped(desired.kind(), coverage);
    let scoped = match (scope, desired.namespace()) {
        (Some(true), Some(_)) => desired.with_namespace(None),
        (Some(false) | None, None) => desired.with_namespace(Some(destination)),
        _ => desired.clone(),
    };
    if scope.is_some() || live.contains(&scoped) {
        return scoped;
    }
    let other = match desired.namespace() {
        Some(_) => desired.with_namespace(None),
        None => desired.clone(),
    };
    if live.contains(&other) {
        return other;
    }
    // Nothing in the snapshots tells: a well-known extension kind may.
    if is_known_cluster_scoped_custom_kind(desired.kind()) {
        return desired.with_namespace(None);
    }
    scoped
}

/// Pairs compared on every core at once; the rest wait, compact.
const COMPARED_AT_ONCE: usize = 8192;

/// A declared object, its live counterpart and its stored record, to compare.
struct Pair {
    id: ResourceId,
    index: usize,
    resource: Resource,
    live: Option<Resource>,
    stored: Option<DriftRecord>,
}

/// How one comparison came out, for the summaries.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    Missing,
    InSync,
    Drifted,
}

impl Outcome {
    fn of(comparison: &Comparison) -> Self {
        if comparison.is_missing() {
            Self::Missing
        } else if comparison.in_sync() {
            Self::InSync
        } else {
            Self::Drifted
        }
    }
}

/// Parses a declared object and its live counterpart again, and compares them.
fn compare_pair(
    id: ResourceId,
    resource: Resource,
    live: Option<Resource>,
    schemas: &SchemaCatalog,
    settings: &DetectionSettings,
) -> Comparison {
    let options = &settings.compare.canonical;
    let mut desired_object = resource.object.to_value();
    drop(resource.object);
    if let Some(live) = &live {
        align_to(&mut desired_object, &live.api_version);
    }
    let api_version = live.as_ref().map_or(resource.api_version.as_str(), |live| {
        live.api_version.as_str()
    });
    let schema = schemas.cursor(api_version, id.kind());
    let prepared_desired = PreparedObject::new(desired_object, options, schema);
    let prepared_live = live
        .as_ref()
        .map(|live| PreparedObject::new(live.object.to_value(), options, schema));
    compare(
        id,
        resource.api_version,
        &prepared_desired,
        prepared_live.as_ref(),
        &settings.compare,
        schema,
    )
}

/// Whether `resource` is a deploy tool's hook, which DriftGuard does not track.
pub fn is_deploy_hook(resource: &Resource) -> bool {
    if !HOOK_ANNOTATIONS.iter().any(|a| resource.object.mentions(a)) {
        return false;
    }
    resource
        .object
        .to_value()
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

/// Runs one analysis over complete snapshots of a single desired source.
///
/// `previous` holds the stored records by id (taken, so that each is dropped once its
/// successor is made). Fails only when the desired side declares the same resource twice.
pub fn analyze(
    desired: DesiredSnapshot,
    live: LiveSnapshot,
    previous: StoredRecords,
    settings: &DetectionSettings,
    now: DateTime<Utc>,
) -> Result<AnalysisOutcome, Error> {
    let mut run = run_analysis(
        vec![ApplicationDesired::single(desired)],
        &[],
        live,
        previous,
        settings,
        now,
        None,
    );
    match run.failures.pop() {
        Some((_, error)) => Err(error),
        None => Ok(run.outcome),
    }
}

/// Runs one analysis of several applications against one live snapshot.
///
/// Each application's objects are tracked under its name. An application that declares
/// one resource twice is not analysed: its result carries the error and its records stay
/// as they are, as do the records of the applications named in `held` (those whose
/// desired state could not be read). A resource that two applications declare is
/// analysed under the first, with a warning.
///
/// A stored resource that no application declares any more is judged against the live
/// state: still there, it is active drift of type Orphaned; gone, its active record is
/// resolved ("removed from Git and from the cluster"). One the live side did not read
/// (its kind or namespace) stays as it is. `previous` holds the stored records by id.
pub fn analyze_applications(
    applications: Vec<ApplicationDesired>,
    held: &[String],
    live: LiveSnapshot,
    previous: StoredRecords,
    settings: &DetectionSettings,
    now: DateTime<Utc>,
) -> AnalysisOutcome {
    run_analysis(applications, held, live, previous, settings, now, None).outcome
}

/// The objects of one application, by the id they are tracked under.
struct Declared {
    /// Objects the live side covers.
    observed: HashMap<ResourceId, Resource>,
    /// Objects of kinds or namespaces the live side did not read, with why.
    unobserved: HashMap<ResourceId, (Resource, Unobserved)>,
}

/// Resolves the ids of one application's objects; fails when one id is declared twice.
fn declare(
    application: &ApplicationDesired,
    resources: Vec<Resource>,
    live: &LiveObjects,
    scopes: &Scopes,
    coverage: Option<&LiveCoverage>,
    settings: &DetectionSettings,
) -> Result<Declared, Error> {
    let destination = application.namespace.as_deref().unwrap_or("default");
    let mut declared = Declared {
        observed: HashMap::with_capacity(resources.len()),
        unobserved: HashMap::new(),
    };
    for resource in resources {
        if is_deploy_hook(&resource) {
            continue;
        }
        let id = resolve_id(&resource.id, live, scopes, coverage, destination);
        if !in_scope(&id, &settings.namespaces) {
            continue;
        }
        if let Some(first) = declared
            .observed
            .get(&id)
            .or_else(|| declared.unobserved.get(&id).map(|(r, _)| r))
        {
            return Err(Error::DuplicateResource {
                id: id.to_string(),
                first: first.origin.as_ref().map(ToString::to_string),
                second: resource.origin.as_ref().map(ToString::to_string),
            });
        }
        match coverage.and_then(|c| c.unobserved(&id)) {
            None => {
                declared.observed.insert(id, resource);
            }
            Some(reason) => {
                declared.unobserved.insert(id, (resource, reason));
            }
        }
    }
    Ok(declared)
}

/// One analysis: its outcome, the applications that failed it and why, and the schemas
/// it compared with.
pub(crate) struct AnalysisRun {
    /// What was found.
    pub outcome: AnalysisOutcome,
    /// The applications that failed, with why.
    pub failures: Vec<(String, Error)>,
    /// The schemas compared with: `kept_schemas` with the cluster's schema and the CRDs
    /// of this analysis learnt.
    pub schemas: SchemaCatalog,
}

/// The analysis. `kept_schemas` are the schemas of an earlier analysis, for one that sees
/// only part of the state (a single resource after a live change).
pub(crate) fn run_analysis(
    applications: Vec<ApplicationDesired>,
    held: &[String],
    live: LiveSnapshot,
    mut previous: StoredRecords,
    settings: &DetectionSettings,
    now: DateTime<Utc>,
    kept_schemas: Option<&SchemaCatalog>,
) -> AnalysisRun {
    let mut scopes = Scopes::default();
    let mut schemas = kept_schemas.cloned().unwrap_or_default();
    if let Some(cluster) = &live.schema {
        schemas.set_cluster(cluster.clone());
    }
    for application in &applications {
        scopes.learn(&application.snapshot.resources, false, &mut schemas);
    }
    scopes.learn(&live.resources, true, &mut schemas);
    let coverage = live.coverage;
    let mut live_resources = live.resources;
    for resource in &mut live_resources {
        if resource.id.namespace().is_none()
            && is_namespaced_kind(resource.id.kind())
            && !scopes.declared.contains_key(resource.id.kind())
        {
            // A hand-written dump that leaves the namespace out means `default`, as for
            // a manifest.
            resource.id = resource.id.with_namespace(Some("default"));
        }
    }
    let mut live_by_id = LiveObjects::new(live_resources);

    let mut outcome = AnalysisOutcome {
        revision: applications
            .first()
            .and_then(|a| a.snapshot.revision.clone()),
        ..AnalysisOutcome::default()
    };
    let mut failures: Vec<(String, Error)> = Vec::new();
    let mut held: HashSet<String> = held.iter().cloned().collect();
    // Every declared id with the index of the application that claims it.
    let mut claimed: HashMap<ResourceId, usize> = HashMap::new();
    // The objects to compare, with the index of their application: a vector, sorted once
    // all are in, since a map of 100,000 objects costs a fifth of them again.
    let mut declared: Vec<(ResourceId, usize, Resource)> = Vec::with_capacity(
        applications
            .iter()
            .map(|a| a.snapshot.resources.len())
            .sum(),
    );
    let mut unobserved: HashSet<ResourceId> = HashSet::new();
    let mut revisions: Vec<Option<String>> = Vec::with_capacity(applications.len());
    for (index, mut application) in applications.into_iter().enumerate() {
        let resources = std::mem::take(&mut application.snapshot.resources);
        revisions.push(application.snapshot.revision.clone());
        let mut result = ApplicationResult {
            name: application.name.clone(),
            revision: application.snapshot.revision.clone(),
            summary: Summary::default(),
            error: None,
        };
        match declare(
            &application,
            resources,
            &live_by_id,
            &scopes,
            coverage.as_ref(),
            settings,
        ) {
            Err(error) => {
                result.error = Some(crate::error_chain(&error));
                held.insert(application.name.clone());
                failures.push((application.name.clone(), error));
            }
            Ok(own) => {
                let mut claim = |id: ResourceId| -> bool {
                    // A resource whose record belongs to an application held this time
                    // stays with it, exactly as it was.
                    if let Some(record) = previous.get(&id)
                        && record.application != application.name
                        && held.contains(&record.application)
                    {
                        return false;
                    }
                    match claimed.get(&id) {
                        Some(&first) => {
                            let first = &outcome.applications[first].name;
                            outcome.warnings.push(format!(
                                "{id} is declared by the applications {first} and {}; it is tracked under {first}",
                                application.name
                            ));
                            false
                        }
                        None => {
                            claimed.insert(id, index);
                            true
                        }
                    }
                };
                for (id, resource) in own.observed {
                    if claim(id.clone()) {
                        declared.push((id, index, resource));
                    }
                }
                for (id, (resource, reason)) in own.unobserved {
                    if claim(id.clone()) {
                        result.summary.not_observed += 1;
                        outcome.not_observed.push(NotObserved {
                            resource_id: id.clone(),
                            api_version: resource.api_version,
                            application: application.name.clone(),
                            reason,
                        });
                        unobserved.insert(id);
                    }
                }
            }
        }
        outcome.applications.push(result);
    }

    outcome
        .not_observed
        .sort_by(|a, b| a.resource_id.cmp(&b.resource_id));
    // The declared objects in id order, compared on every core a chunk at a time: each
    // pair is parsed, compared and dropped, and so is the record it replaces, so that the
    // two sides and the old records are never all parsed or all held twice at once.
    // Each id is claimed once, so an unstable sort orders them all the same.
    declared.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&str> = outcome
        .applications
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    // The stored records no application claims any more, judged after the comparisons.
    // Records of an application no longer configured (renamed, removed, or `default`
    // before applications were listed) are retired only when every configured one was
    // analysed: while one is held, they may be its resources under their old name.
    let departed: Vec<ResourceId> = {
        let known: HashSet<&str> = outcome
            .applications
            .iter()
            .map(|a| a.name.as_str())
            .chain(held.iter().map(String::as_str))
            .collect();
        let mut departed: Vec<ResourceId> = previous
            .remaining()
            .filter(|p| {
                !unobserved.contains(&p.resource_id)
                    && !claimed.contains_key(&p.resource_id)
                    && !held.contains(&p.application)
                    && (held.is_empty() || known.contains(p.application.as_str()))
                    && in_scope(&p.resource_id, &settings.namespaces)
            })
            .map(|p| p.resource_id.clone())
            .collect();
        departed.sort_unstable();
        departed
    };
    // Room for the records of every declared object and every departed one. A vector this
    // large is a fresh mapping whose pages only count once written.
    let mut records: Vec<DriftRecord> = Vec::with_capacity(declared.len() + departed.len());
    let mut events: Vec<DriftEvent> = Vec::new();
    let mut summaries = vec![Summary::default(); names.len()];
    let mut to_compare = declared.into_iter().peekable();
    while to_compare.peek().is_some() {
        let pairs: Vec<Pair> = to_compare
            .by_ref()
            .take(COMPARED_AT_ONCE)
            .map(|(id, index, resource)| Pair {
                index,
                live: live_by_id.take(&id),
                stored: previous.take(&id),
                resource,
                id,
            })
            .collect();
        let compared: Vec<(usize, Outcome, Transition)> = pairs
            .into_par_iter()
            .map(|pair| {
                let comparison =
                    compare_pair(pair.id, pair.resource, pair.live, &schemas, settings);
                let transition = advance(
                    pair.stored.as_ref(),
                    &comparison,
                    &settings.cluster,
                    names[pair.index],
                    revisions[pair.index].as_deref(),
                    now,
                );
                (pair.index, Outcome::of(&comparison), transition)
            })
            .collect();
        for (index, kind, transition) in compared {
            let summary = &mut summaries[index];
            summary.resources += 1;
            match kind {
                Outcome::Missing => summary.missing += 1,
                Outcome::InSync => summary.in_sync += 1,
                Outcome::Drifted => summary.drifted += 1,
            }
            records.push(transition.record);
            events.extend(transition.events);
        }
    }
    drop(names);
    for (application, summary) in outcome.applications.iter_mut().zip(summaries) {
        application.summary.add(&summary);
    }
    outcome.records = records;
    outcome.events = events;
    let mut summary = Summary::default();
    for application in &outcome.applications {
        summary.add(&application.summary);
    }
    outcome.summary = summary;

    let revisions: HashMap<&str, Option<&str>> = outcome
        .applications
        .iter()
        .map(|a| (a.name.as_str(), a.revision.as_deref()))
        .collect();
    let configured: HashSet<&str> = outcome
        .applications
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    for id in &departed {
        // Not claimed, so not taken by the comparisons.
        let Some(p) = previous.get(id) else { continue };
        // The revision of the record's own application; a record of an application
        // no longer configured keeps the revision it had.
        let revision = revisions
            .get(p.application.as_str())
            .copied()
            .unwrap_or(p.git_revision.as_deref());
        let transition = if !configured.contains(p.application.as_str()) {
            // Nothing DriftGuard watches declares it any more: it is no longer judged.
            let message = format!("its application {} is no longer configured", p.application);
            retire(p, &message, revision, now)
        } else if coverage.as_ref().is_some_and(|c| !c.covers(&p.resource_id)) {
            // Whether it still runs is unknown: the live side did not read where it is.
            None
        } else {
            match live_by_id.take(&p.resource_id) {
                Some(live) => {
                    let schema = schemas.cursor(&live.api_version, p.resource_id.kind());
                    let live_hash = PreparedObject::new(
                        live.object.to_value(),
                        &settings.compare.canonical,
                        schema,
                    )
                    .hash
                    .to_hex();
                    Some(orphan(
                        p,
                        settings.compare.classifier.orphaned_severity,
                        Some(live_hash),
                        revision,
                        now,
                    ))
                }
                None => retire(p, REMOVED_EVERYWHERE, revision, now),
            }
        };
        if let Some(transition) = transition {
            outcome.records.push(transition.record);
            outcome.events.extend(transition.events);
        }
    }
    for record in &mut outcome.records {
        if record.cluster != settings.cluster {
            record.cluster.clone_from(&settings.cluster);
        }
    }
    for event in &mut outcome.events {
        if event.cluster != settings.cluster {
            event.cluster.clone_from(&settings.cluster);
        }
    }
    AnalysisRun {
        outcome,
        failures,
        schemas,
    }
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
                render: None,
            },
            LiveSnapshot::complete(live.into_iter().map(resource).collect()),
            StoredRecords::new(),
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
        let stored = |id: &ResourceId| {
            let comparison = compare(
                id.clone(),
                "v1".to_owned(),
                &PreparedObject::new(
                    json!({"kind": "Ingress"}),
                    &Default::default(),
                    crate::k8s::schema::SchemaCursor::UNKNOWN,
                ),
                None,
                &Default::default(),
                crate::k8s::schema::SchemaCursor::UNKNOWN,
            );
            advance(
                None,
                &comparison,
                "default",
                "default",
                None,
                chrono::Utc::now(),
            )
            .record
        };
        let previous: StoredRecords = [stored(&ingress_id)].into_iter().collect();
        let outcome = analyze(
            DesiredSnapshot {
                resources: vec![
                    resource(deployment.clone()),
                    resource(ingress),
                    resource(secret),
                ],
                revision: None,
                render: None,
            },
            LiveSnapshot {
                resources: vec![resource(deployment)],
                coverage: Some(coverage),
                schema: None,
            },
            previous,
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
