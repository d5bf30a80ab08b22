//! What a live dump covers: the kinds it holds objects of, and the resource types it is
//! declared to hold in full.
//!
//! `kubectl get all -o yaml` holds no ConfigMaps or Secrets; a desired ConfigMap compared
//! with it is not missing, it was not looked for. So a kind with no object in the dump is
//! not observed, unless the dump is declared to cover its type (`--resource-type` with
//! `--live-dir`, `sources.dump_types`): then an absent object is missing.

use std::collections::BTreeSet;

use driftguard_core::k8s::kinds::built_in_resource;
use driftguard_core::{LiveCoverage, Resource};
use serde_json::Value;

use crate::Error;
use crate::kube::resource_type::{GroupHint, ResourceTypeSpec};

/// The coverage of a dump holding `resources`, declared to cover `declared` types
/// (plural names as configuration writes them, `GROUP/VERSION/PLURAL`, or kinds such as
/// `Certificate`).
pub(crate) fn dump_coverage(
    resources: &[Resource],
    declared: &[String],
) -> Result<LiveCoverage, Error> {
    let mut kinds: BTreeSet<String> = resources.iter().map(|r| r.id.kind().to_owned()).collect();
    for text in declared {
        kinds.insert(declared_kind(text, resources)?);
    }
    Ok(LiveCoverage::of_dump(kinds))
}

/// Checks how a declared type is written, before any dump is read: a kind
/// (`Certificate`) or a resource type as configuration writes it.
pub(crate) fn check_declared(text: &str) -> Result<(), Error> {
    let text = text.trim();
    if is_kind(text) {
        return Ok(());
    }
    parse_declared(text).map(drop)
}

/// Whether `text` is written as a kind: `Deployment`, `Certificate`.
fn is_kind(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_uppercase())
        && text.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `text` parsed as a resource type, its error naming the dump's setting.
fn parse_declared(text: &str) -> Result<ResourceTypeSpec, Error> {
    text.parse().map_err(|error: Error| Error::DumpType {
        resource_type: text.to_owned(),
        reason: match error {
            Error::KubeSetting { reason, .. } => format!("is not a resource type: {reason}"),
            other => format!("is not a resource type: {other}"),
        },
    })
}

/// The kind a declared type names.
fn declared_kind(text: &str, resources: &[Resource]) -> Result<String, Error> {
    let text = text.trim();
    // A kind as manifests write it: `Deployment`, `Certificate`.
    if is_kind(text) {
        return Ok(text.to_owned());
    }
    let spec = parse_declared(text)?;
    let group = match spec.group() {
        GroupHint::Known(group) => Some(group.as_str()),
        GroupHint::Search => None,
    };
    if let Some(resource) = built_in_resource(spec.plural())
        && group.is_none_or(|g| g == resource.group)
    {
        return Ok(resource.kind.to_owned());
    }
    if let Some(kind) = resources
        .iter()
        .filter(|r| r.id.kind() == "CustomResourceDefinition")
        .find_map(|crd| crd_kind(&crd.object.to_value(), spec.plural(), group))
    {
        return Ok(kind);
    }
    Err(Error::DumpType {
        resource_type: text.to_owned(),
        reason: "is neither a built-in type nor a custom resource whose CustomResourceDefinition is in the dump; name a custom resource by its kind, e.g. `Certificate`".to_owned(),
    })
}

/// The kind a CustomResourceDefinition defines, when it serves `plural` in `group`.
fn crd_kind(crd: &Value, plural: &str, group: Option<&str>) -> Option<String> {
    let spec = crd.get("spec")?;
    let names = spec.get("names")?;
    let matches_plural = names.get("plural").and_then(Value::as_str) == Some(plural);
    let matches_group = group.is_none_or(|g| spec.get("group").and_then(Value::as_str) == Some(g));
    (matches_plural && matches_group)
        .then(|| names.get("kind").and_then(Value::as_str).map(str::to_owned))
        .flatten()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use driftguard_core::ResourceId;
    use serde_json::json;

    fn resource(object: Value) -> Resource {
        Resource::from_object(object, None).unwrap()
    }

    fn id(kind: &str) -> ResourceId {
        ResourceId::new(kind, Some("shop"), "x")
    }

    #[test]
    fn kinds_with_no_object_are_not_covered_unless_declared() {
        let deployments = [resource(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"}
        }))];
        let coverage = dump_coverage(&deployments, &[]).unwrap();
        assert!(coverage.covers(&id("Deployment")));
        assert!(!coverage.covers(&id("ConfigMap")));
        let coverage = dump_coverage(
            &deployments,
            &[
                "configmaps".to_owned(),
                "v1/secrets".to_owned(),
                "Certificate".to_owned(),
            ],
        )
        .unwrap();
        for kind in ["Deployment", "ConfigMap", "Secret", "Certificate"] {
            assert!(coverage.covers(&id(kind)), "{kind}");
        }
        assert!(!coverage.covers(&id("Service")));
    }

    #[test]
    fn custom_plurals_resolve_through_the_dumped_crd() {
        let crd = resource(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "crontabs.stable.example.com"},
            "spec": {"group": "stable.example.com", "scope": "Namespaced",
                     "names": {"plural": "crontabs", "kind": "CronTab"}}
        }));
        let coverage = dump_coverage(
            std::slice::from_ref(&crd),
            &["stable.example.com/v1/crontabs".to_owned()],
        )
        .unwrap();
        assert!(coverage.covers(&id("CronTab")));
        let error = dump_coverage(&[crd], &["widgets".to_owned()]).unwrap_err();
        assert!(error.to_string().contains("`widgets`"), "{error}");
        assert!(error.to_string().contains("by its kind"), "{error}");
    }
}
