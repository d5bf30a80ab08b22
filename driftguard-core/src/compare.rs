//! Comparing one desired object with its live counterpart: canonicalise, hash, walk, classify.

use serde_json::Value;

use crate::ResourceId;
use crate::classify::Classifier;
use crate::diff::{LastApplied, WalkContext, diff_objects};
use crate::drift::{DriftDetail, DriftType};
use crate::hash::{ContentHash, content_hash};
use crate::ignore::IgnoreRules;
use crate::k8s::metadata::{AUTOPILOT_RESOURCE_ADJUSTMENT, LAST_APPLIED_ANNOTATION};
use crate::k8s::schema::SchemaCursor;
use crate::managed::{ManagedFields, ManagerPolicy};
use crate::normalize::{CanonicalOptions, canonicalize_with_schema};

/// Everything that decides what counts as drift and how it is classified.
#[derive(Debug, Clone, Default)]
pub struct CompareSettings {
    /// What canonicalisation drops.
    pub canonical: CanonicalOptions,
    /// Which field managers are appliers, controllers or hand-edit tools.
    pub managers: ManagerPolicy,
    /// The classification matrix.
    pub classifier: Classifier,
    /// Accepted differences.
    pub ignore: IgnoreRules,
}

/// An object ready for comparison: canonical form, its hash, and what the three-way and
/// ownership rules need, kept raw until a field walk actually needs it.
#[derive(Debug, Clone)]
pub struct PreparedObject {
    /// The canonical object.
    pub canonical: Value,
    /// Its hash.
    pub hash: ContentHash,
    last_applied: Option<String>,
    managed_fields: Option<Value>,
    resources_set_by_admission: bool,
}

impl PreparedObject {
    /// Takes `object` apart and canonicalises it by its `schema`, without copying.
    pub fn new(mut object: Value, options: &CanonicalOptions, schema: SchemaCursor<'_>) -> Self {
        let resources_set_by_admission = object
            .get("metadata")
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(AUTOPILOT_RESOURCE_ADJUSTMENT))
            .is_some();
        let (last_applied, managed_fields) = match object.get_mut("metadata") {
            Some(Value::Object(metadata)) => {
                let last_applied = match metadata
                    .get_mut("annotations")
                    .and_then(Value::as_object_mut)
                    .and_then(|a| a.remove(LAST_APPLIED_ANNOTATION))
                {
                    Some(Value::String(text)) => Some(text),
                    _ => None,
                };
                (last_applied, metadata.remove("managedFields"))
            }
            _ => (None, None),
        };
        canonicalize_with_schema(&mut object, options, schema);
        let hash = content_hash(&object);
        Self {
            canonical: object,
            hash,
            last_applied,
            managed_fields,
            resources_set_by_admission,
        }
    }

    fn last_applied<'a>(
        &'a self,
        options: &'a CanonicalOptions,
        schema: SchemaCursor<'a>,
    ) -> LastApplied<'a> {
        match self.last_applied.as_deref() {
            Some(text) => LastApplied::from_text(text, options, schema),
            None => LastApplied::none(),
        }
    }

    /// Whether the object records field ownership (`metadata.managedFields`).
    fn records_ownership(&self) -> bool {
        self.managed_fields
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|entries| !entries.is_empty())
    }
}

/// The result of comparing one desired resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The resource (its namespace resolved against the live side).
    pub resource_id: ResourceId,
    /// The desired object's `apiVersion`.
    pub api_version: String,
    /// Hash of the canonical desired object.
    pub desired_hash: ContentHash,
    /// Hash of the canonical live object; `None` when it is missing.
    pub live_hash: Option<ContentHash>,
    /// Classified differences; empty when in sync.
    pub drifts: Vec<DriftDetail>,
}

impl Comparison {
    /// Whether the object exists live and matches.
    pub fn in_sync(&self) -> bool {
        self.live_hash.is_some() && self.drifts.is_empty()
    }

    /// Whether the object is absent from the live state.
    pub fn is_missing(&self) -> bool {
        self.live_hash.is_none()
    }
}

/// Compares a prepared desired object with its live counterpart (or its absence);
/// `schema` describes the object, as both were prepared with.
pub fn compare(
    resource_id: ResourceId,
    api_version: String,
    desired: &PreparedObject,
    live: Option<&PreparedObject>,
    settings: &CompareSettings,
    schema: SchemaCursor<'_>,
) -> Comparison {
    let drifts = match live {
        None => vec![DriftDetail {
            path: String::new(),
            drift_type: DriftType::Missing,
            severity: settings.classifier.missing_severity,
            desired: None,
            live: None,
            manager: None,
            hand_edit: false,
            unowned: false,
        }],
        Some(live) if live.hash == desired.hash => Vec::new(),
        Some(live) => field_drifts(resource_id.kind(), desired, live, settings, schema),
    };
    Comparison {
        resource_id,
        api_version,
        desired_hash: desired.hash,
        live_hash: live.map(|l| l.hash),
        drifts,
    }
}

fn field_drifts(
    kind: &str,
    desired: &PreparedObject,
    live: &PreparedObject,
    settings: &CompareSettings,
    schema: SchemaCursor<'_>,
) -> Vec<DriftDetail> {
    let last_applied = live.last_applied(&settings.canonical, schema);
    let managed = live
        .managed_fields
        .as_ref()
        .map(ManagedFields::from_value)
        .unwrap_or_default();
    let context = WalkContext {
        kind,
        api_version: live
            .canonical
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        last_applied: &last_applied,
        policy: &settings.managers,
        resources_set_by_admission: live.resources_set_by_admission,
        schema,
        ownership_recorded: live.records_ownership(),
    };
    diff_objects(
        &desired.canonical,
        &live.canonical,
        &managed.root(),
        &context,
    )
    .into_iter()
    .filter(|diff| !settings.ignore.ignores(kind, diff))
    .map(|diff| {
        let (drift_type, severity) = settings.classifier.classify(
            kind,
            &diff.path,
            diff.desired.as_ref(),
            diff.live.as_ref(),
        );
        DriftDetail {
            path: diff.path.to_string(),
            drift_type,
            severity,
            desired: diff.desired,
            live: diff.live,
            hand_edit: diff.hand_editor.is_some(),
            manager: diff.hand_editor.or(diff.owner),
            unowned: diff.unowned,
        }
    })
    .collect()
}
