//! What RBAC the watched resource types need: each type's API group and plural name from
//! DriftGuard's own table of built-in resources, the verbs its Kubernetes source uses,
//! and the non-resource URLs it requests.

use std::collections::BTreeSet;

use driftguard_core::k8s::kinds::built_in_resource;
use k8s_openapi::api::rbac::v1::PolicyRule;

/// The verbs DriftGuard uses on a type it reads: list (paged) and watch for the watch
/// cache, get for single objects.
pub const READ_VERBS: [&str; 3] = ["get", "list", "watch"];

/// The non-resource URLs the Kubernetes source requests (driftguard-sources/src/kube:
/// discovery.rs reads `/api/VERSION`, `/apis` and `/apis/GROUP/VERSION`; capabilities.rs
/// `/version`, `/api` and `/apis`; openapi.rs the index `/openapi/v3` and the documents
/// it lists under it). A trailing `*` matches any path below, as Kubernetes RBAC reads it.
pub const DISCOVERY_URLS: [&str; 7] = [
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/openapi/v3",
    "/openapi/v3/*",
    "/version",
];

/// `(API group, plural)` of each configured type, e.g. `("apps", "deployments")`.
pub fn needed(types: &[String]) -> BTreeSet<(String, String)> {
    types
        .iter()
        .map(|name| {
            let resource = built_in_resource(name).unwrap_or_else(|| {
                panic!(
                    "`{name}` is not a built-in plural name; name configured types by their \
                     plural (kubectl api-resources) so the rules can be derived"
                )
            });
            (resource.group.to_owned(), resource.plural.to_owned())
        })
        .collect()
}

/// The `(API group, resource)` pairs `rules` grant, checking that each resource rule only
/// reads: exactly [`READ_VERBS`], no wildcards, no subresources, no resource names, no
/// pair granted twice. Non-resource rules are left to [`non_resource_grants`].
pub fn resource_grants(what: &str, rules: &[PolicyRule]) -> BTreeSet<(String, String)> {
    let mut granted = BTreeSet::new();
    for rule in rules.iter().filter(|r| r.non_resource_urls.is_none()) {
        let verbs: BTreeSet<&str> = rule.verbs.iter().map(String::as_str).collect();
        assert_eq!(
            verbs,
            BTreeSet::from(READ_VERBS),
            "{what}: a rule grants {verbs:?}: DriftGuard only reads"
        );
        assert!(rule.resource_names.is_none(), "{what}: {rule:?}");
        let groups = rule.api_groups.as_deref().unwrap_or_default();
        let resources = rule.resources.as_deref().unwrap_or_default();
        assert!(
            !groups.is_empty() && !resources.is_empty(),
            "{what}: {rule:?}"
        );
        for value in groups.iter().chain(resources).chain(&rule.verbs) {
            assert!(!value.contains('*'), "{what}: no wildcards: {rule:?}");
            assert!(!value.contains('/'), "{what}: no subresources: {rule:?}");
        }
        for group in groups {
            for resource in resources {
                assert!(
                    granted.insert((group.clone(), resource.clone())),
                    "{what}: {group}/{resource} is granted twice"
                );
            }
        }
    }
    granted
}

/// The non-resource URLs `rules` grant, checking that they are only read (`get`).
pub fn non_resource_grants(what: &str, rules: &[PolicyRule]) -> BTreeSet<String> {
    let mut granted = BTreeSet::new();
    for rule in rules {
        let Some(urls) = &rule.non_resource_urls else {
            continue;
        };
        assert_eq!(rule.verbs, ["get"], "{what}: {rule:?}");
        assert!(
            rule.api_groups.is_none() && rule.resources.is_none(),
            "{what}: {rule:?}"
        );
        granted.extend(urls.iter().cloned());
    }
    granted
}
