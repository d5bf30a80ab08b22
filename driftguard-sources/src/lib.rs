//! Adapters that feed DriftGuard's detector: where desired and live state come from.
//!
//! - [`manifest`]: reading Kubernetes manifests (multi-document YAML, JSON, `kind: List`)
//!   into resources, with Secret values fingerprinted as they are read;
//! - [`files`]: a desired source over a folder of manifests, and a live source over
//!   `kubectl get … -o yaml|json` dumps;
//! - [`kube`]: a live source over the Kubernetes API (kube-rs), with discovery, paged
//!   lists and a watch cache;
//! - [`git`]: a desired source over a branch of a Git repository (git2), cloned once into
//!   a cache and fetched on every snapshot;
//! - [`render`]: Kustomize and Helm, run sandboxed on a folder or a checkout, their output
//!   cached by revision;
//! - [`lease`]: leader election among the replicas of one cluster's DriftGuard, over a
//!   Kubernetes Lease;
//! - [`application`]: applications as the configuration declares them (a Git folder or a
//!   local folder, render settings, a destination namespace), built into desired sources.

pub mod application;
mod dump_coverage;
mod error;
pub mod files;
pub mod git;
pub mod kube;
pub mod lease;
pub mod manifest;
pub mod render;
mod special_file;

pub use application::{
    ApplicationConfig, ApplicationGitConfig, DesiredKind, LiveKind, SourcesConfig,
    resolve_applications,
};
pub use error::Error;
pub use files::{DumpLiveSource, FolderDesiredSource};
pub use git::{
    GitAuth, GitDesiredSource, GitRepositories, GitRepository, GitSourceConfig, TokenSource,
};
pub use kube::{ClusterTarget, KubeLiveSource, KubeSourceConfig};
pub use lease::{LeaderElectionConfig, LeaseElection, cluster_lease_name};
pub use manifest::{ManifestLimits, ManifestReader};
pub use render::{
    ApplicationRender, Capabilities, CapabilitiesSource, DesiredReader, HelmOptions,
    KustomizeOptions, RenderConfig, RenderMode, Renderer,
};

/// Results with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
