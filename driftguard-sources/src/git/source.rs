//! [`GitDesiredSource`]: the desired state at the tip of a Git branch, as a
//! [`DesiredSource`] for the detector.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use driftguard_core::secret::FingerprintKey;
use driftguard_core::{DesiredSnapshot, DesiredSource, PortError, PortErrorKind};

use super::config::GitSourceConfig;
use super::refresh::Refresher;
use crate::Error;

/// Extra time the async guard allows beyond the configured limits, for the lock waits and
/// local work around the network operations.
const GUARD_GRACE: Duration = Duration::from_secs(10);

/// Desired state from a Git repository: the manifests under a sub-path at the tip of a
/// branch, with the commit SHA as the snapshot's revision.
///
/// The repository is cloned once into the cache folder and fetched on every snapshot.
/// Every failure (remote down or too slow, credentials refused, branch deleted or
/// force-pushed, broken manifests) is an error, never an empty or partial snapshot, so
/// the detector keeps its records as they are. A damaged cache is cloned again.
///
/// Cloning handles are cheap; clones share the cache and the last good commit.
#[derive(Debug, Clone)]
pub struct GitDesiredSource {
    inner: Arc<Refresher>,
}

impl GitDesiredSource {
    /// A source for `config`, fingerprinting Secret values with `key`.
    ///
    /// Checks the configuration; touches neither the network nor the disk, so a remote
    /// that is down at start-up is reported by the first snapshot, not here.
    pub fn new(config: GitSourceConfig, key: FingerprintKey) -> Result<Self, Error> {
        Ok(Self {
            inner: Arc::new(Refresher::new(config, key)?),
        })
    }

    /// The configuration the source was built with.
    pub fn config(&self) -> &GitSourceConfig {
        self.inner.config()
    }

    /// The repository URL without credentials, as it appears in logs and errors.
    pub fn display_url(&self) -> &str {
        self.inner.display_url()
    }

    /// The folder of the cached clone (a bare repository) for this URL and branch.
    pub fn cache_path(&self) -> PathBuf {
        self.inner.cache().repository_dir()
    }

    /// The commit SHA of the last snapshot read successfully by this source, if any.
    pub fn last_revision(&self) -> Option<String> {
        self.inner.last_good().map(|oid| oid.to_string())
    }

    /// Clones or fetches and reads the branch tip now, blocking the calling thread.
    ///
    /// The configured timeouts apply to the network operations. Async callers use
    /// [`DesiredSource::snapshot`], which runs this on the blocking pool.
    pub fn read(&self) -> Result<DesiredSnapshot, Error> {
        self.inner.read()
    }

    /// The longest a snapshot call waits for the blocking work: a fetch that finds the
    /// cache damaged may clone again, so both limits, plus a margin.
    fn guard_limit(&self) -> Duration {
        let config = self.inner.config();
        config.clone_timeout + config.pull_timeout + GUARD_GRACE
    }
}

#[async_trait]
impl DesiredSource for GitDesiredSource {
    async fn snapshot(&self) -> Result<DesiredSnapshot, PortError> {
        let inner = Arc::clone(&self.inner);
        let work = tokio::task::spawn_blocking(move || inner.read());
        let limit = self.guard_limit();
        match tokio::time::timeout(limit, work).await {
            Ok(Ok(result)) => Ok(result?),
            Ok(Err(join_error)) => Err(PortError::new(
                PortErrorKind::Other,
                format!(
                    "git {}: reading the repository failed unexpectedly: {join_error}",
                    self.display_url()
                ),
            )),
            Err(_) => {
                // libgit2 ignored its own limits (name resolution has none); the blocking
                // work goes on in the background and releases the cache when it ends.
                let operation = if self.cache_path().exists() {
                    "pull"
                } else {
                    "clone"
                };
                Err(Error::GitTimeout {
                    url: self.display_url().to_owned(),
                    operation,
                    timeout: limit,
                }
                .into())
            }
        }
    }
}
