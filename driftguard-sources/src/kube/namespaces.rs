//! Which namespaces are read, and how that turns into list and watch requests.
//!
//! A configured list reads each namespace on its own. "All namespaces minus the system
//! ones" reads each type cluster-wide once, with a `metadata.namespace!=…` field selector,
//! so DriftGuard needs no permission on Namespace objects and makes one request per type
//! instead of one per type and namespace. Every object is also checked on arrival, so a
//! server that ignores the selector cannot bring a system namespace in.

use driftguard_core::LiveCoverage;

use crate::kube::config::KubeSourceConfig;

/// The namespaces one source reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NamespaceScope {
    /// Exactly these namespaces.
    Only(Vec<String>),
    /// Every namespace except these (none excluded: every namespace).
    AllExcept(Vec<String>),
}

/// One list or watch request: a namespace (or the whole cluster) and a field selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ListTarget {
    /// The namespace to read; `None` reads across the cluster.
    pub namespace: Option<String>,
    /// The `fieldSelector` to send, if any.
    pub field_selector: Option<String>,
}

impl NamespaceScope {
    /// The scope the configuration asks for. An explicit namespace list is read as given;
    /// `exclude_system_namespaces` applies only when reading all namespaces.
    pub fn from_config(config: &KubeSourceConfig) -> Self {
        if config.namespaces.is_empty() {
            let excluded = if config.exclude_system_namespaces {
                config.system_namespaces.clone()
            } else {
                Vec::new()
            };
            Self::AllExcept(excluded)
        } else {
            let mut namespaces = config.namespaces.clone();
            namespaces.sort();
            namespaces.dedup();
            Self::Only(namespaces)
        }
    }

    /// The requests that read one type: one per namespace, or one cluster-wide.
    /// Cluster-scoped types are always read cluster-wide, without a selector.
    pub fn targets(&self, namespaced: bool) -> Vec<ListTarget> {
        if !namespaced {
            return vec![ListTarget {
                namespace: None,
                field_selector: None,
            }];
        }
        match self {
            Self::Only(namespaces) => namespaces
                .iter()
                .map(|ns| ListTarget {
                    namespace: Some(ns.clone()),
                    field_selector: None,
                })
                .collect(),
            Self::AllExcept(excluded) => vec![ListTarget {
                namespace: None,
                field_selector: (!excluded.is_empty()).then(|| {
                    excluded
                        .iter()
                        .map(|ns| format!("metadata.namespace!={ns}"))
                        .collect::<Vec<_>>()
                        .join(",")
                }),
            }],
        }
    }

    /// What reading `kinds` in this scope covers, for the core to tell objects that are
    /// gone from objects that were not read.
    pub fn coverage(&self, kinds: impl IntoIterator<Item = String>) -> LiveCoverage {
        let coverage = LiveCoverage::of_kinds(kinds);
        match self {
            Self::Only(namespaces) => coverage.only_namespaces(namespaces.iter().cloned()),
            Self::AllExcept(excluded) => coverage.excluding_namespaces(excluded.iter().cloned()),
        }
    }

    /// Whether an object in `namespace` (`None`: cluster-scoped) belongs to the live state.
    pub fn admits(&self, namespace: Option<&str>) -> bool {
        let Some(namespace) = namespace else {
            return true;
        };
        match self {
            Self::Only(namespaces) => namespaces.iter().any(|ns| ns == namespace),
            Self::AllExcept(excluded) => !excluded.iter().any(|ns| ns == namespace),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(namespaces: &[&str], exclude: bool) -> KubeSourceConfig {
        KubeSourceConfig {
            namespaces: namespaces.iter().map(|n| (*n).to_owned()).collect(),
            exclude_system_namespaces: exclude,
            ..KubeSourceConfig::default()
        }
    }

    #[test]
    fn all_namespaces_minus_system_ones_is_one_selector_request() {
        let scope = NamespaceScope::from_config(&config(&[], true));
        let targets = scope.targets(true);
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].namespace, None);
        assert_eq!(
            targets[0].field_selector.as_deref(),
            Some(
                "metadata.namespace!=kube-system,metadata.namespace!=kube-public,\
                 metadata.namespace!=kube-node-lease"
            )
        );
        assert!(scope.admits(Some("shop")));
        assert!(!scope.admits(Some("kube-system")));
        assert!(scope.admits(None));
    }

    #[test]
    fn all_namespaces_without_exclusion_sends_no_selector() {
        let scope = NamespaceScope::from_config(&config(&[], false));
        assert_eq!(scope.targets(true)[0].field_selector, None);
        assert!(scope.admits(Some("kube-system")));
    }

    #[test]
    fn explicit_namespaces_are_read_one_by_one_and_as_given() {
        let scope = NamespaceScope::from_config(&config(&["shop", "kube-system", "shop"], true));
        let namespaces: Vec<_> = scope
            .targets(true)
            .into_iter()
            .map(|t| t.namespace.unwrap_or_default())
            .collect();
        assert_eq!(namespaces, ["kube-system", "shop"]);
        assert!(scope.admits(Some("kube-system")));
        assert!(!scope.admits(Some("billing")));
    }

    #[test]
    fn cluster_scoped_types_are_read_once_without_selector() {
        let scope = NamespaceScope::from_config(&config(&["shop"], true));
        assert_eq!(
            scope.targets(false),
            vec![ListTarget {
                namespace: None,
                field_selector: None
            }]
        );
    }
}
