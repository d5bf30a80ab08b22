//! Helpers shared by the Git source's integration tests.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use driftguard_core::secret::FingerprintKey;
use driftguard_core::{DesiredSnapshot, DesiredSource, PortError};
use driftguard_sources::{Error, GitDesiredSource, GitSourceConfig};

/// A configuration for `url` with a cache under `cache` and roomy timeouts (the machines
/// running tests are shared and slow; failures are tested with their own short limits).
pub fn config(url: &str, cache: &Path) -> GitSourceConfig {
    let mut config = GitSourceConfig::new(url, cache);
    config.clone_timeout = Duration::from_secs(90);
    config.pull_timeout = Duration::from_secs(90);
    config
}

/// A source over `config`.
pub fn source(config: GitSourceConfig) -> GitDesiredSource {
    GitDesiredSource::new(config, FingerprintKey::derive("git tests")).expect("valid configuration")
}

/// One snapshot through the async port, as the detector takes it.
pub async fn snapshot(source: &GitDesiredSource) -> Result<DesiredSnapshot, PortError> {
    source.snapshot().await
}

/// The resource ids of a snapshot, in order.
pub fn ids(snapshot: &DesiredSnapshot) -> Vec<String> {
    snapshot
        .resources
        .iter()
        .map(|r| r.id.to_string())
        .collect()
}

/// The crate error inside a port error.
pub fn source_error(error: &PortError) -> &Error {
    error
        .cause
        .as_ref()
        .and_then(|s| s.downcast_ref::<Error>())
        .unwrap_or_else(|| panic!("not a driftguard-sources error: {error:?}"))
}

/// A ConfigMap manifest.
pub fn config_map(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: shop\ndata:\n  value: \"{value}\"\n"
    )
}

/// The value of a ConfigMap's `data.value` in a snapshot.
pub fn config_map_value(snapshot: &DesiredSnapshot, name: &str) -> Option<String> {
    snapshot
        .resources
        .iter()
        .find(|r| r.id.to_string() == format!("ConfigMap:shop:{name}"))
        .and_then(|r| {
            r.object
                .to_value()
                .pointer("/data/value")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        })
}
