//! Configuration types the core owns: the `detection` section of the configuration file,
//! and the duration format every section shares.
//!
//! Each crate keeps the configuration of what it runs, with its defaults and its checks;
//! the `driftguard` binary embeds these types in its settings rather than mirroring them.

mod detection;
pub mod duration;

pub use detection::{ClassificationRuleConfig, DetectionConfig, IgnoreRuleConfig};
