//! One sync of a repository, start to end: lock the cache, clone or fetch, recover from a
//! damaged cache by cloning again, refuse (or follow) a rewritten branch, write the files
//! of the tip out as a checkout, and remember the tip as the last good commit.
//!
//! Every failure is an error for the caller, never a short or empty checkout.

use std::sync::{Mutex, PoisonError};

use std::path::PathBuf;

use git2::{Oid, Repository};

use super::cache::{Cache, LAST_GOOD_REF};
use super::checkout::ExportFailure;
use super::config::{GitAuth, GitSourceConfig};
use super::fetch::{FetchFailure, Operation, fetch_branch};
use super::url::{cache_folder_name, redact_url};
use crate::Error;

/// The files of one commit, written out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checkout {
    /// The commit.
    pub(crate) revision: Oid,
    /// The folder holding its files (the repository root).
    pub(crate) root: PathBuf,
}

/// The blocking half of the Git source.
#[derive(Debug)]
pub(crate) struct Refresher {
    config: GitSourceConfig,
    display_url: String,
    cache: Cache,
    last_good: Mutex<Option<Oid>>,
}

/// Why reading the tip failed.
enum Failure {
    Error(Error),
    Corrupt(String),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::Error(error)
    }
}

impl From<ExportFailure> for Failure {
    fn from(failure: ExportFailure) -> Self {
        match failure {
            ExportFailure::Io(error) => Self::Error(error),
            ExportFailure::Corrupt(reason) => Self::Corrupt(reason),
        }
    }
}

impl Refresher {
    /// Checks `config` and prepares; touches neither the disk nor the network.
    pub(crate) fn new(config: GitSourceConfig) -> Result<Self, Error> {
        config.validate()?;
        if matches!(config.auth, GitAuth::HttpsToken { .. })
            && config.url.to_ascii_lowercase().starts_with("http://")
        {
            tracing::warn!(
                url = %redact_url(&config.url),
                "git.auth sends a token over unencrypted http://; use https://"
            );
        }
        let cache = Cache::new(
            &config.cache_dir,
            cache_folder_name(&config.url, &config.branch),
        );
        Ok(Self {
            display_url: redact_url(&config.url),
            cache,
            last_good: Mutex::new(None),
            config,
        })
    }

    pub(crate) fn config(&self) -> &GitSourceConfig {
        &self.config
    }

    pub(crate) fn display_url(&self) -> &str {
        &self.display_url
    }

    pub(crate) fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The commit of the last successful read, if any.
    pub(crate) fn last_good(&self) -> Option<Oid> {
        *self
            .last_good
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Clones or fetches, then writes out the files of the branch tip.
    pub(crate) fn sync(&self) -> Result<Checkout, Error> {
        let _lock = self.cache.lock()?;
        let (repo, tip, fresh) = match self.cache.open(&self.config.branch)? {
            None => {
                let (repo, tip) = self.clone_repository()?;
                (repo, tip, true)
            }
            Some(repo) => match fetch_branch(&repo, &self.config, Operation::Pull) {
                Ok(tip) => (repo, tip, false),
                Err(FetchFailure::Remote(error)) => return Err(error),
                Err(FetchFailure::Corrupt(reason)) => {
                    drop(repo);
                    let (repo, tip) = self.reclone(&reason)?;
                    (repo, tip, true)
                }
            },
        };
        match self.check_out(&repo, tip) {
            Ok(checkout) => Ok(checkout),
            Err(Failure::Error(error)) => Err(error),
            Err(Failure::Corrupt(reason)) if !fresh => {
                drop(repo);
                let (repo, tip) = self.reclone(&reason)?;
                match self.check_out(&repo, tip) {
                    Ok(checkout) => Ok(checkout),
                    Err(Failure::Error(error)) => Err(error),
                    Err(Failure::Corrupt(reason)) => Err(self.unreadable(reason)),
                }
            }
            Err(Failure::Corrupt(reason)) => Err(self.unreadable(reason)),
        }
    }

    fn unreadable(&self, reason: String) -> Error {
        Error::GitRepository {
            url: self.display_url.clone(),
            message: format!("the repository cannot be read even from a fresh clone: {reason}"),
        }
    }

    fn reclone(&self, reason: &str) -> Result<(Repository, Oid), Error> {
        tracing::warn!(
            url = %self.display_url,
            cache = %self.cache.repository_dir().display(),
            %reason,
            "the Git cache is damaged; cloning again"
        );
        self.cache.remove()?;
        self.clone_repository()
    }

    fn clone_repository(&self) -> Result<(Repository, Oid), Error> {
        let repo = self.cache.start_clone(&self.config.branch)?;
        match fetch_branch(&repo, &self.config, Operation::Clone) {
            Ok(tip) => {
                let repo = self.cache.finish_clone(repo)?;
                tracing::info!(
                    url = %self.display_url,
                    branch = %self.config.branch,
                    revision = %tip,
                    cache = %self.cache.repository_dir().display(),
                    "cloned the Git repository"
                );
                Ok((repo, tip))
            }
            Err(failure) => {
                drop(repo);
                self.cache.abandon_clone();
                Err(match failure {
                    FetchFailure::Remote(error) => error,
                    FetchFailure::Corrupt(reason) => Error::GitCache {
                        path: self.cache.repository_dir(),
                        message: format!("the new clone cannot be written: {reason}"),
                    },
                })
            }
        }
    }

    /// Writes out the files of `tip`, after checking that the branch was not rewritten.
    fn check_out(&self, repo: &Repository, tip: Oid) -> Result<Checkout, Failure> {
        let previous = self
            .last_good()
            .or_else(|| repo.refname_to_id(LAST_GOOD_REF).ok());
        if let Some(previous) = previous.filter(|p| *p != tip) {
            // A last good commit the repository no longer has cannot be an ancestor of
            // the freshly fetched tip (fetching brings every ancestor).
            let descends = repo.graph_descendant_of(tip, previous).unwrap_or(false);
            if !descends {
                if !self.config.allow_force_push {
                    return Err(Error::GitForcePush {
                        url: self.display_url.clone(),
                        branch: self.config.branch.clone(),
                        previous: previous.to_string(),
                        current: tip.to_string(),
                    }
                    .into());
                }
                tracing::warn!(
                    url = %self.display_url,
                    branch = %self.config.branch,
                    previous = %previous,
                    current = %tip,
                    "the branch was force-pushed; following the new tip because git.allow_force_push is set"
                );
            }
        }
        let root = self.cache.checkout(repo, tip, previous)?;
        if let Err(error) = repo.reference(LAST_GOOD_REF, tip, true, "driftguard: read") {
            tracing::warn!(
                cache = %self.cache.repository_dir().display(),
                error = %error.message(),
                "cannot record the last good commit in the cache"
            );
        }
        *self
            .last_good
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(tip);
        tracing::debug!(
            url = %self.display_url,
            branch = %self.config.branch,
            revision = %tip,
            checkout = %root.display(),
            "checked out the branch tip"
        );
        Ok(Checkout {
            revision: tip,
            root,
        })
    }
}
