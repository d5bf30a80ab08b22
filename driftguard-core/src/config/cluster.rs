//! The `cluster` section: the name of the cluster this instance analyses.
//!
//! Records and events are keyed by cluster, so several clusters can share one store and
//! the API can tell them apart. The name is part of each record's key: renaming a cluster
//! later starts new records under the new name, and the old ones stay under the old name
//! (they remain readable with `?cluster=OLD` until retention removes them).

use serde::{Deserialize, Serialize};

use crate::{DEFAULT_CLUSTER, Error};

/// The longest cluster name accepted (a Kubernetes label value's limit, so the name can
/// also name a Lease or label a metric series).
pub const MAX_CLUSTER_NAME_LEN: usize = 63;

/// `cluster`: which cluster this instance analyses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// The cluster's name, carried by every record, event and drift metric series:
    /// letters, digits, `-`, `_` and `.`, at most 63 characters. Default `default`.
    pub name: String,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            name: DEFAULT_CLUSTER.to_owned(),
        }
    }
}

impl ClusterConfig {
    /// Checks the name; the error names the key `cluster.name`.
    pub fn validate(&self) -> Result<(), Error> {
        let name = &self.name;
        let valid_chars = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if name.is_empty() || name.len() > MAX_CLUSTER_NAME_LEN || !valid_chars {
            return Err(Error::InvalidConfig(format!(
                "cluster.name: `{name}` is not a cluster name (1 to {MAX_CLUSTER_NAME_LEN} letters, digits, `-`, `_` or `.`)"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_valid_and_odd_names_are_refused() {
        assert_eq!(ClusterConfig::default().name, "default");
        assert!(ClusterConfig::default().validate().is_ok());
        for name in ["prod-eu.1", "a_b"] {
            let config = ClusterConfig {
                name: name.to_owned(),
            };
            assert!(config.validate().is_ok(), "{name}");
        }
        for name in ["", "a/b", "a b", &"x".repeat(64)] {
            let config = ClusterConfig {
                name: name.to_owned(),
            };
            let error = config.validate().expect_err(name);
            assert!(error.to_string().contains("cluster.name"), "{error}");
        }
    }
}
