//! What the Kubernetes live source reads, and from which cluster.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::kube::resource_type::{DEFAULT_RESOURCE_TYPES, ResourceTypeSpec};

/// Namespaces left out when reading all namespaces with `exclude_system_namespaces`.
pub const DEFAULT_SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

/// Objects per list page when configuration says nothing (the value kubectl and
/// client-go use).
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// How long one API request may take when configuration says nothing.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of the Kubernetes live source: the `kubernetes` section of the configuration
/// file, with its defaults. Unknown keys are refused, so a typo is an error that names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KubeSourceConfig {
    /// The kubeconfig file to use. `None` follows kubectl's order: the `KUBECONFIG`
    /// variable, then `~/.kube/config`, then the pod's service account.
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use; `None` for its `current-context`.
    pub context: Option<String>,
    /// Use the service account of the pod DriftGuard runs in, whatever `KUBECONFIG` or
    /// `~/.kube/config` say. Cannot be combined with `kubeconfig` or `context`.
    pub in_cluster: bool,
    /// The namespaces to read; empty reads all of them.
    pub namespaces: Vec<String>,
    /// The resource types to read, by plural name (`deployments`), `PLURAL.GROUP`,
    /// `v1/PLURAL` or `GROUP/VERSION/PLURAL`; empty reads
    /// [`DEFAULT_RESOURCE_TYPES`](crate::kube::DEFAULT_RESOURCE_TYPES).
    pub resource_types: Vec<String>,
    /// When reading all namespaces, leave out `system_namespaces`.
    pub exclude_system_namespaces: bool,
    /// The namespaces `exclude_system_namespaces` leaves out.
    pub system_namespaces: Vec<String>,
    /// Objects per list request; lists are paged so that no answer holds a whole namespace.
    pub page_size: u32,
    /// How long one API request (a list page, a get, a discovery call) may take before it
    /// counts as the API server being unavailable.
    #[serde(with = "driftguard_core::config::duration")]
    pub request_timeout: Duration,
}

impl Default for KubeSourceConfig {
    fn default() -> Self {
        Self {
            kubeconfig: None,
            context: None,
            in_cluster: false,
            namespaces: Vec::new(),
            resource_types: DEFAULT_RESOURCE_TYPES
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
            exclude_system_namespaces: true,
            system_namespaces: DEFAULT_SYSTEM_NAMESPACES
                .iter()
                .map(|n| (*n).to_owned())
                .collect(),
            page_size: DEFAULT_PAGE_SIZE,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// One entry of the `clusters` list: a cluster to analyse, and how to reach it. The
/// other settings of the `kubernetes` section (namespaces, resource types, paging,
/// timeouts) apply to every cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterTarget {
    /// The cluster's name, carried by its records, events and metric series.
    pub name: String,
    /// The kubeconfig file that reaches it; `None` follows kubectl's order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context that reaches it; `None` for the current context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Reach it through the service account of the pod DriftGuard runs in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_cluster: bool,
}

impl ClusterTarget {
    /// The `kubernetes` settings of this cluster: `shared`'s, with this entry's
    /// connection.
    pub fn source_config(&self, shared: &KubeSourceConfig) -> KubeSourceConfig {
        KubeSourceConfig {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            in_cluster: self.in_cluster,
            ..shared.clone()
        }
    }
}

/// A namespace name as Kubernetes accepts it: a DNS-1123 label.
fn is_namespace_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

impl KubeSourceConfig {
    /// Checks every setting and parses the resource types, naming the first bad setting.
    pub fn validate(&self) -> Result<Vec<ResourceTypeSpec>, Error> {
        if self.in_cluster && (self.kubeconfig.is_some() || self.context.is_some()) {
            return Err(Error::KubeSetting {
                setting: "in_cluster",
                reason: "cannot be combined with kubeconfig or context: the service account \
                         of the pod is used"
                    .to_owned(),
            });
        }
        if self.page_size == 0 {
            return Err(Error::KubeSetting {
                setting: "page_size",
                reason: "must be at least 1".to_owned(),
            });
        }
        if self.request_timeout.is_zero() {
            return Err(Error::KubeSetting {
                setting: "request_timeout",
                reason: "must be longer than zero".to_owned(),
            });
        }
        if self.context.as_deref().is_some_and(str::is_empty) {
            return Err(Error::KubeSetting {
                setting: "context",
                reason: "is empty; leave it out to use the kubeconfig's current context".to_owned(),
            });
        }
        for (setting, names) in [
            ("namespaces", &self.namespaces),
            ("system_namespaces", &self.system_namespaces),
        ] {
            if let Some(bad) = names.iter().find(|n| !is_namespace_name(n)) {
                return Err(Error::KubeSetting {
                    setting,
                    reason: format!(
                        "`{bad}` is not a namespace name (lowercase letters, digits and `-`, \
                         at most 63 characters)"
                    ),
                });
            }
        }
        ResourceTypeSpec::parse_all(&self.resource_types)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults_are_valid_and_read_the_usual_types() {
        let config = KubeSourceConfig::default();
        let specs = config.validate().unwrap();
        assert_eq!(specs.len(), 4);
        assert!(config.exclude_system_namespaces);
        assert_eq!(config.page_size, 500);
    }

    #[test]
    fn bad_settings_are_named() {
        let cases: Vec<(KubeSourceConfig, &str)> = vec![
            (
                KubeSourceConfig {
                    page_size: 0,
                    ..Default::default()
                },
                "page_size",
            ),
            (
                KubeSourceConfig {
                    request_timeout: Duration::ZERO,
                    ..Default::default()
                },
                "request_timeout",
            ),
            (
                KubeSourceConfig {
                    namespaces: vec!["Shop".to_owned()],
                    ..Default::default()
                },
                "namespaces",
            ),
            (
                KubeSourceConfig {
                    context: Some(String::new()),
                    ..Default::default()
                },
                "context",
            ),
            (
                KubeSourceConfig {
                    resource_types: vec!["apps//deployments".to_owned()],
                    ..Default::default()
                },
                "resource_types",
            ),
        ];
        for (config, setting) in cases {
            let error = config.validate().unwrap_err().to_string();
            assert!(error.contains(setting), "{setting}: {error}");
        }
    }
}
