//! Adapters that feed DriftGuard's detector: where desired and live state come from.
//!
//! - [`manifest`]: reading Kubernetes manifests (multi-document YAML, JSON, `kind: List`)
//!   into resources, with Secret values fingerprinted as they are read;
//! - [`files`]: a desired source over a folder of manifests, and a live source over
//!   `kubectl get … -o yaml|json` dumps.
//!
//! The Git desired source and the Kubernetes API live source live here too, as their
//! own modules, once built.

mod error;
pub mod files;
pub mod manifest;

pub use error::Error;
pub use files::{DumpLiveSource, FolderDesiredSource};
pub use manifest::{ManifestLimits, ManifestReader};

/// Results with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
