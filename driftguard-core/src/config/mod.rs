//! Configuration types the core owns: the `cluster` and `detection` sections of the configuration file,
//! and the duration format every section shares.
//!
//! Each crate keeps the configuration of what it runs, with its defaults and its checks;
//! the `driftguard` binary embeds these types in its settings rather than mirroring them.

mod cluster;
mod detection;
pub mod duration;

pub use cluster::{ClusterConfig, MAX_CLUSTER_NAME_LEN};
pub use detection::{ClassificationRuleConfig, DetectionConfig, IgnoreRuleConfig};
