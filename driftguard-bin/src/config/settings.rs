//! The configuration file's sections, each the configuration type of the crate that uses
//! it, embedded as it is: a new setting is one edit in the crate that reads it (plus
//! docs/configuration.md, which documents every key).
//!
//! Every section rejects unknown keys, so a typo (`intervall: 10s`) is a startup error that
//! names the key instead of a silently ignored setting.

use driftguard_api::ServerConfig;
use driftguard_core::config::{ClusterConfig, DetectionConfig};
use driftguard_sources::{
    ApplicationConfig, ClusterTarget, GitSourceConfig, KubeSourceConfig, LeaderElectionConfig,
    RenderConfig, SourcesConfig,
};
use driftguard_store::{RetentionConfig, StoreConfig};
use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The cluster this instance analyses, in the single-cluster form: the name every
    /// record, event and drift metric series carries (driftguard-core).
    pub cluster: ClusterConfig,
    /// The clusters this instance analyses, in the list form: each with its name and
    /// connection; the rest of `kubernetes` applies to all (driftguard-sources). Cannot be
    /// combined with `cluster.name` or `kubernetes`' connection keys.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<ClusterTarget>,
    /// Electing, among replicas, the one that analyses each cluster, with a Kubernetes
    /// Lease (driftguard-sources).
    pub leader_election: LeaderElectionConfig,
    /// The HTTP server (driftguard-api).
    pub server: ServerConfig,
    /// Log level and format (this binary).
    pub logging: LoggingSettings,
    /// Where records and events are stored (driftguard-store).
    pub database: StoreConfig,
    /// How long events and resolved records are kept (driftguard-store).
    pub retention: RetentionConfig,
    /// Which adapters provide the live state, and the desired state of the single-source
    /// form (driftguard-sources).
    pub sources: SourcesConfig,
    /// The Kubernetes API (driftguard-sources).
    pub kubernetes: KubeSourceConfig,
    /// The Git repository of the single-source form, and what applications' Git settings
    /// fall back to (driftguard-sources).
    pub git: GitSourceConfig,
    /// The renderers: tools and limits (driftguard-sources).
    pub render: RenderConfig,
    /// The applications; empty: the single-source form (driftguard-sources).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<ApplicationConfig>,
    /// How and when drift is detected (driftguard-core).
    pub detection: DetectionConfig,
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line (for log collectors).
    #[default]
    Json,
    /// Human-readable lines.
    Text,
}

/// `logging`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingSettings {
    /// `error`, `warn`, `info`, `debug`, `trace`, `off`, or a tracing filter such as
    /// `info,driftguard_sources=debug`; a bare word must be a level (see
    /// [`validate`](super::validate)). `RUST_LOG` overrides it.
    pub level: String,
    /// `json` or `text`.
    pub format: LogFormat,
}

impl Default for LoggingSettings {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
            format: LogFormat::Json,
        }
    }
}
