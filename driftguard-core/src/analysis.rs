//! One analysis pass, without I/O: pair desired with live, compare, advance the lifecycle.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::compare::{CompareSettings, PreparedObject, compare};
use crate::model::{DesiredSnapshot, LiveSnapshot, Resource, is_cluster_scoped_kind};
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

/// The id a desired object is tracked under: its own, with the `default` namespace filled
/// in for namespaced kinds, unless the live side holds it under another scope.
fn resolve_id(desired: &ResourceId, live: &HashMap<ResourceId, Resource>) -> ResourceId {
    if live.contains_key(desired) {
        return desired.clone();
    }
    let candidates = match desired.namespace() {
        None => [desired.with_namespace(Some("default")), desired.clone()],
        Some(_) => [desired.with_namespace(None), desired.clone()],
    };
    if let Some(found) = candidates.iter().find(|c| live.contains_key(*c)) {
        return found.clone();
    }
    if desired.namespace().is_none() && !is_cluster_scoped_kind(desired.kind()) {
        return desired.with_namespace(Some("default"));
    }
    if desired.namespace().is_some() && is_cluster_scoped_kind(desired.kind()) {
        return desired.with_namespace(None);
    }
    desired.clone()
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
    let mut live_by_id: HashMap<ResourceId, Resource> =
        HashMap::with_capacity(live.resources.len());
    for resource in live.resources {
        live_by_id.insert(resource.id.clone(), resource);
    }

    let mut declared: HashMap<ResourceId, Resource> =
        HashMap::with_capacity(desired.resources.len());
    for resource in desired.resources {
        let id = resolve_id(&resource.id, &live_by_id);
        if !in_scope(&id, &settings.namespaces) {
            continue;
        }
        if let Some(first) = declared.get(&id) {
            return Err(Error::DuplicateResource {
                id: id.to_string(),
                first: first.origin.as_ref().map(ToString::to_string),
                second: resource.origin.as_ref().map(ToString::to_string),
            });
        }
        declared.insert(id, resource);
    }

    let revision = desired.revision;
    let mut ids: Vec<ResourceId> = declared.keys().cloned().collect();
    ids.sort();
    let mut outcome = AnalysisOutcome {
        revision: revision.clone(),
        ..AnalysisOutcome::default()
    };
    let options = &settings.compare.canonical;
    for id in ids {
        let Some(resource) = declared.remove(&id) else {
            continue;
        };
        let prepared_desired = PreparedObject::new(resource.object, options);
        let prepared_live = live_by_id
            .remove(&id)
            .map(|live| PreparedObject::new(live.object, options));
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
            !analysed.contains(&p.resource_id) && in_scope(&p.resource_id, &settings.namespaces)
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
