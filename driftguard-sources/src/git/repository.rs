//! [`GitRepository`]: one remote branch, cloned once, fetched once per analysis however
//! many applications read it, and written out as a checkout per revision.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use driftguard_core::{PortError, PortErrorKind};

use super::config::GitSourceConfig;
use super::refresh::{Checkout, Refresher};
use crate::Error;

/// Extra time the async guard allows beyond the configured limits, for the lock waits and
/// local work around the network operations.
const GUARD_GRACE: Duration = Duration::from_secs(10);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A fetch that is running or has just ended.
#[derive(Debug, Default)]
struct SyncState {
    running: bool,
    /// Incremented when a fetch ends.
    generation: u64,
    /// What the last fetch gave.
    last: Option<Result<Checkout, (PortErrorKind, String)>>,
}

/// One branch of one remote, shared by every application that reads it.
///
/// Reads that arrive while a fetch runs wait for it and share its result, so several
/// applications of one repository cost one fetch per analysis, and one checkout.
#[derive(Debug)]
pub struct GitRepository {
    refresher: Refresher,
    state: Mutex<SyncState>,
    ended: Condvar,
    /// Clones and fetches run (reads that joined a running one not counted).
    syncs: AtomicU64,
}

impl GitRepository {
    /// A repository for `config` (its `path` is ignored: that is each application's).
    ///
    /// Checks the configuration; touches neither the network nor the disk.
    pub fn new(mut config: GitSourceConfig) -> Result<Self, Error> {
        config.path = None;
        Ok(Self {
            refresher: Refresher::new(config)?,
            state: Mutex::new(SyncState::default()),
            ended: Condvar::new(),
            syncs: AtomicU64::new(0),
        })
    }

    /// The configuration, without a path.
    pub fn config(&self) -> &GitSourceConfig {
        self.refresher.config()
    }

    /// The repository URL without credentials, as it appears in logs and errors.
    pub fn display_url(&self) -> &str {
        self.refresher.display_url()
    }

    /// The folder of the cached clone (a bare repository).
    pub fn cache_path(&self) -> PathBuf {
        self.refresher.cache().repository_dir()
    }

    /// The commit SHA of the last successful sync, if any.
    pub fn last_revision(&self) -> Option<String> {
        self.refresher.last_good().map(|oid| oid.to_string())
    }

    /// How many clones and fetches this repository ran; reads that joined a running one
    /// are not counted.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Clones or fetches and writes out the tip, blocking; joins a sync already running.
    pub(crate) fn sync(&self) -> Result<Checkout, Error> {
        let mut state = lock(&self.state);
        if state.running {
            let generation = state.generation;
            while state.generation == generation {
                state = self
                    .ended
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            return match &state.last {
                Some(Ok(checkout)) => Ok(checkout.clone()),
                Some(Err((kind, message))) => Err(Error::GitShared {
                    kind: *kind,
                    message: message.clone(),
                }),
                None => Err(Error::GitShared {
                    kind: PortErrorKind::Other,
                    message: format!(
                        "git remote {}: the shared fetch gave no result",
                        self.display_url()
                    ),
                }),
            };
        }
        state.running = true;
        drop(state);
        self.syncs.fetch_add(1, Ordering::Relaxed);
        let mut ending = SyncEnding {
            repository: self,
            last: None,
        };
        let result = self.refresher.sync();
        ending.last = Some(match &result {
            Ok(checkout) => Ok(checkout.clone()),
            Err(error) => Err((error.kind(), driftguard_core::error_chain(error))),
        });
        drop(ending);
        result
    }

    /// [`sync`](Self::sync) on the blocking pool, bounded in time even when libgit2 is
    /// not (name resolution has no timeout of its own).
    pub(crate) async fn sync_async(self: &Arc<Self>) -> Result<Checkout, PortError> {
        let repository = Arc::clone(self);
        let work = tokio::task::spawn_blocking(move || repository.sync());
        let config = self.config();
        let limit = config.clone_timeout + config.pull_timeout + GUARD_GRACE;
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
                // The blocking work goes on in the background and releases the cache
                // when it ends.
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

/// Ends a running sync when dropped, also when the sync unwinds, so that reads waiting
/// for it are never left waiting.
struct SyncEnding<'a> {
    repository: &'a GitRepository,
    last: Option<Result<Checkout, (PortErrorKind, String)>>,
}

impl Drop for SyncEnding<'_> {
    fn drop(&mut self) {
        let last = self.last.take().unwrap_or_else(|| {
            Err((
                PortErrorKind::Other,
                format!(
                    "git remote {}: reading the repository failed unexpectedly",
                    self.repository.display_url()
                ),
            ))
        });
        let mut state = lock(&self.repository.state);
        state.running = false;
        state.generation = state.generation.wrapping_add(1);
        state.last = Some(last);
        drop(state);
        self.repository.ended.notify_all();
    }
}

/// The repositories of a set of applications: applications that name the same remote,
/// branch and cache share one [`GitRepository`], hence one clone, one fetch per analysis
/// and one checkout per revision.
#[derive(Debug, Default)]
pub struct GitRepositories {
    open: Mutex<HashMap<(String, String, PathBuf), Arc<GitRepository>>>,
}

impl GitRepositories {
    /// The shared repository for `config` (its `path` aside), opened on first use.
    ///
    /// Fails when the repository is already open with other credentials, force-push
    /// policy or timeouts: one clone is fetched one way.
    pub fn get(&self, config: &GitSourceConfig) -> Result<Arc<GitRepository>, Error> {
        let mut wanted = config.clone();
        wanted.path = None;
        let key = (
            wanted.url.clone(),
            wanted.branch.clone(),
            wanted.cache_dir.clone(),
        );
        let mut open = lock(&self.open);
        if let Some(repository) = open.get(&key) {
            if *repository.config() != wanted {
                return Err(Error::GitConfig {
                    reason: format!(
                        "{} (branch {}) is read with different settings (auth, allow_force_push or timeouts) by two applications; they share one clone and one fetch, so give them the same",
                        repository.display_url(),
                        wanted.branch
                    ),
                });
            }
            return Ok(Arc::clone(repository));
        }
        let repository = Arc::new(GitRepository::new(wanted)?);
        open.insert(key, Arc::clone(&repository));
        Ok(repository)
    }

    /// How many distinct repositories are open.
    pub fn len(&self) -> usize {
        lock(&self.open).len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        lock(&self.open).is_empty()
    }
}
