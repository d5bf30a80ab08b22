//! [`GitDesiredSource`]: one application's desired state at the tip of a Git branch, as a
//! [`DesiredSource`] for the detector.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use driftguard_core::secret::FingerprintKey;
use driftguard_core::{DesiredSnapshot, DesiredSource, PortError, PortErrorKind};

use super::config::GitSourceConfig;
use super::refresh::Checkout;
use super::repository::GitRepository;
use crate::Error;
use crate::render::kustomization::inside;
use crate::render::{ApplicationRender, Capabilities, DesiredReader, RenderConfig, Renderer};

/// Desired state from a Git repository: what the folder at a sub-path of a branch tip
/// declares, rendered as its render settings say, with the commit SHA as the snapshot's
/// revision.
///
/// The repository is cloned once into the cache folder and fetched on every snapshot;
/// sources that share a [`GitRepository`] share the clone and the fetch. Every failure
/// (remote down or too slow, credentials refused, branch deleted or force-pushed, a
/// render failing, broken manifests) is an error, never an empty or partial snapshot, so
/// the detector keeps its records as they are. A damaged cache is cloned again.
///
/// Cloning handles are cheap; clones share the cache and the last good commit.
#[derive(Debug, Clone)]
pub struct GitDesiredSource {
    repository: Arc<GitRepository>,
    sub_path: Vec<String>,
    reader: Arc<DesiredReader>,
}

impl GitDesiredSource {
    /// A source for `config` with a repository of its own, its folder rendered by what it
    /// holds, fingerprinting Secret values with `key`.
    ///
    /// Checks the configuration; touches neither the network nor the disk, so a remote
    /// that is down at start-up is reported by the first snapshot, not here.
    pub fn new(config: GitSourceConfig, key: FingerprintKey) -> Result<Self, Error> {
        let renderer = Arc::new(Renderer::new(RenderConfig::default())?);
        let reader = DesiredReader::new(renderer, ApplicationRender::default(), key);
        let sub_path = config.path.clone();
        Self::for_application(Arc::new(GitRepository::new(config)?), sub_path, reader)
    }

    /// The source of one application: the folder `path` (the whole repository when
    /// `None`) of a repository that other applications may share, read by `reader`.
    pub fn for_application(
        repository: Arc<GitRepository>,
        path: Option<PathBuf>,
        reader: DesiredReader,
    ) -> Result<Self, Error> {
        let mut with_path = repository.config().clone();
        with_path.path = path;
        with_path.validate()?;
        Ok(Self {
            sub_path: with_path.sub_path()?,
            repository,
            reader: Arc::new(reader),
        })
    }

    /// The repository's configuration (without the folder).
    pub fn config(&self) -> &GitSourceConfig {
        self.repository.config()
    }

    /// The repository this source reads.
    pub fn repository(&self) -> &Arc<GitRepository> {
        &self.repository
    }

    /// The repository URL without credentials, as it appears in logs and errors.
    pub fn display_url(&self) -> &str {
        self.repository.display_url()
    }

    /// The folder of the cached clone (a bare repository) for this URL and branch.
    pub fn cache_path(&self) -> PathBuf {
        self.repository.cache_path()
    }

    /// The commit SHA of the last snapshot read successfully by this source, if any.
    pub fn last_revision(&self) -> Option<String> {
        self.repository.last_revision()
    }

    /// Clones or fetches and reads the branch tip now, blocking the calling thread.
    ///
    /// The configured timeouts apply to the network operations. Async callers use
    /// [`DesiredSource::snapshot`], which runs this on the blocking pool and gives Helm
    /// the cluster's capabilities.
    pub fn read(&self) -> Result<DesiredSnapshot, Error> {
        let checkout = self.repository.sync()?;
        self.read_checkout(&checkout, None)
    }

    fn read_checkout(
        &self,
        checkout: &Checkout,
        capabilities: Option<&Capabilities>,
    ) -> Result<DesiredSnapshot, Error> {
        let folder: PathBuf = self
            .sub_path
            .iter()
            .fold(checkout.root.clone(), |path, part| path.join(part));
        let revision = checkout.revision.to_string();
        if std::fs::symlink_metadata(&folder).is_err() {
            return Err(Error::GitPathNotFound {
                url: self.display_url().to_owned(),
                path: self.sub_path.iter().collect(),
                revision,
            });
        }
        if !inside(&folder, &checkout.root) {
            return Err(Error::RenderRefused {
                path: self.sub_path.iter().collect(),
                reason: format!(
                    "leads outside the repository through a symbolic link (commit {revision})"
                ),
            });
        }
        let (resources, render) = self.reader.read(
            &checkout.root,
            &folder,
            Some(&checkout.root),
            Some(&revision),
            capabilities,
        )?;
        tracing::debug!(
            url = %self.display_url(),
            revision = %revision,
            resources = resources.len(),
            "read the desired state from Git"
        );
        Ok(DesiredSnapshot {
            resources,
            revision: Some(revision),
            render,
        })
    }
}

#[async_trait]
impl DesiredSource for GitDesiredSource {
    async fn snapshot(&self) -> Result<DesiredSnapshot, PortError> {
        let capabilities = self.reader.renderer().capabilities().await;
        let checkout = self.repository.sync_async().await?;
        let source = self.clone();
        tokio::task::spawn_blocking(move || {
            source
                .read_checkout(&checkout, capabilities.as_ref())
                .map_err(PortError::from)
        })
        .await
        .map_err(|join_error| {
            PortError::new(
                PortErrorKind::Other,
                format!(
                    "git {}: reading the checkout failed unexpectedly: {join_error}",
                    self.display_url()
                ),
            )
        })?
    }
}
