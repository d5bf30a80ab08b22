//! Live state from a Kubernetes API server, on kube-rs.
//!
//! [`KubeLiveSource`] implements DriftGuard's live port over the API:
//!
//! - **cluster**: a kubeconfig (explicit path, then `KUBECONFIG`, then `~/.kube/config`)
//!   with an optional context, or the pod's service account ([`ClusterConfigOrigin`]);
//! - **types**: plural names (`deployments`), `PLURAL.GROUP`, `v1/PLURAL` or
//!   `GROUP/VERSION/PLURAL`, resolved through API discovery ([`ResolvedType`]); a type the
//!   server does not serve or RBAC forbids is a [`TypeWarning`], not a failure;
//! - **namespaces**: a list, or all of them minus the system ones;
//! - **lists** are paged (`limit`/`continue`), and an expired continue token starts the
//!   list over;
//! - **Secrets** are fingerprinted before an object leaves this module;
//! - **watch mode** keeps the objects in memory with kube's `watcher` and announces each
//!   change, surviving watch restarts and `410 Gone` by listing again.
//!
//! An API server that is down, times out or fails answers with an error, never with an
//! empty or partial snapshot: that would read as "everything was deleted".
//!
//! ```no_run
//! # async fn example() -> Result<(), driftguard_sources::Error> {
//! use driftguard_core::secret::FingerprintKey;
//! use driftguard_sources::kube::{KubeLiveSource, KubeSourceConfig};
//!
//! let config = KubeSourceConfig {
//!     namespaces: vec!["shop".to_owned()],
//!     ..KubeSourceConfig::default()
//! };
//! let source = KubeLiveSource::connect(config, FingerprintKey::derive("key")).await?;
//! let snapshot = source.read().await?;
//! for warning in source.warnings() {
//!     eprintln!("{warning}");
//! }
//! # let _ = snapshot;
//! # Ok(())
//! # }
//! ```

mod capabilities;
mod config;
mod connection;
mod convert;
mod discovery;
mod listing;
mod namespaces;
mod openapi;
mod request;
pub(crate) mod resource_type;
mod schema;
mod source;
mod warnings;
mod watch;

pub use config::{
    ClusterTarget, DEFAULT_PAGE_SIZE, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SYSTEM_NAMESPACES,
    KubeSourceConfig,
};
pub(crate) use connection::load_config;
pub use connection::{ClusterConfigOrigin, ConfigEnvironment};
pub use discovery::ResolvedType;
pub use openapi::OpenApiDocument;
pub(crate) use request::classify;
pub use resource_type::{DEFAULT_RESOURCE_TYPES, ResourceTypeSpec};
pub use source::KubeLiveSource;
pub use warnings::{TypeWarning, TypeWarningReason};
