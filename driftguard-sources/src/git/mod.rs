//! Desired state from a Git repository.
//!
//! [`GitDesiredSource`] follows one branch of one remote (`https://`, `ssh://`, scp-like
//! `user@host:path`, `git://`, `file://` or a local path). It clones once into a cache
//! folder and fetches on every snapshot; it reads the manifests under an optional
//! sub-path of the branch tip with the same [`ManifestReader`](crate::ManifestReader)
//! as the folder source, and reports the commit SHA as the snapshot's revision.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use driftguard_core::DesiredSource;
//! use driftguard_core::secret::FingerprintKey;
//! use driftguard_sources::git::{GitAuth, GitDesiredSource, GitSourceConfig, TokenSource};
//!
//! let mut config = GitSourceConfig::new(
//!     "https://git.example.com/platform/manifests.git",
//!     "/var/lib/driftguard/git",
//! );
//! config.branch = "production".into();
//! config.path = Some("clusters/eu-1".into());
//! config.pull_timeout = Duration::from_secs(20);
//! config.auth = GitAuth::HttpsToken {
//!     username: None,
//!     token: TokenSource::Env("DRIFTGUARD_GIT_TOKEN".into()),
//! };
//! let source = GitDesiredSource::new(config, FingerprintKey::derive("example"))?;
//! let snapshot = source.snapshot().await?;
//! println!("{} resources at {:?}", snapshot.resources.len(), snapshot.revision);
//! # Ok(()) }
//! ```
//!
//! What it guarantees:
//!
//! - **no silent emptiness**: a failed clone or fetch, a deleted branch, a rewritten
//!   (force-pushed) branch or a broken manifest is an error, so the detector never marks
//!   resources missing because Git was unavailable;
//! - **bounded time**: clones and fetches end within `clone_timeout` / `pull_timeout`,
//!   also against remotes that accept a connection and never answer, or never accept;
//! - **self-repair**: a cache left damaged (by a crash, a full disk, a hand edit) is
//!   removed and cloned again;
//! - **no leaked secrets**: tokens are read from the environment or a file when the
//!   remote asks, and URLs are shown without user information.

mod auth;
mod cache;
mod checkout;
mod config;
mod fetch;
mod refresh;
mod repository;
mod source;
mod timeouts;
mod url;

pub use config::{GitAuth, GitAuthFields, GitAuthKind, GitSourceConfig, TokenSource};
pub use repository::{GitRepositories, GitRepository};
pub use source::GitDesiredSource;
pub use url::redact_url;
