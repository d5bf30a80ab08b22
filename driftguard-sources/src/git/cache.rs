//! The local clone cache: one bare repository per remote and branch under
//! `git.cache_dir`, locked while in use, checked before use, and replaced when broken.
//!
//! A clone is written into `<name>.partial` and renamed into place only once it is
//! complete, so a crash mid-clone never leaves a half-written repository where the
//! next run looks. A repository that fails the health check (truncated `HEAD`, a branch
//! or commit whose objects are gone) is removed, and the caller clones again.

use std::fs::File;
use std::path::{Path, PathBuf};

use git2::{ErrorCode, Repository, RepositoryInitOptions};

use super::checkout::{ExportFailure, export};
use crate::Error;

/// The reference that remembers the last commit read successfully, so force pushes are
/// recognised across restarts.
pub(crate) const LAST_GOOD_REF: &str = "refs/driftguard/last-good";

/// One remote's folder in the cache.
#[derive(Debug, Clone)]
pub(crate) struct Cache {
    root: PathBuf,
    name: String,
}

/// Exclusive use of a cache folder, for this process and any other; released on drop.
#[derive(Debug)]
pub(crate) struct CacheLock {
    _file: File,
}

impl Cache {
    /// The folder `name` under `root`.
    pub(crate) fn new(root: &Path, name: String) -> Self {
        Self {
            root: root.to_owned(),
            name,
        }
    }

    /// Where the bare repository lives.
    pub(crate) fn repository_dir(&self) -> PathBuf {
        self.root.join(&self.name)
    }

    fn partial_dir(&self) -> PathBuf {
        self.root.join(format!("{}.partial", self.name))
    }

    fn error(&self, path: &Path, message: impl Into<String>) -> Error {
        Error::GitCache {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    /// Creates the cache folder if needed and takes its lock, waiting for other users.
    pub(crate) fn lock(&self) -> Result<CacheLock, Error> {
        std::fs::create_dir_all(&self.root)
            .map_err(|e| self.error(&self.root, format!("cannot create the folder: {e}")))?;
        let path = self.root.join(format!("{}.lock", self.name));
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| self.error(&path, format!("cannot open the lock file: {e}")))?;
        file.lock()
            .map_err(|e| self.error(&path, format!("cannot lock: {e}")))?;
        Ok(CacheLock { _file: file })
    }

    /// The cached repository when it exists and is healthy; `Ok(None)` when there is
    /// none, or when it was broken and has been removed (the reason is logged).
    pub(crate) fn open(&self, branch: &str) -> Result<Option<Repository>, Error> {
        let dir = self.repository_dir();
        if !dir.exists() {
            return Ok(None);
        }
        match Repository::open_bare(&dir)
            .and_then(|repo| health_check(&repo, branch).map(|()| repo))
        {
            Ok(repo) => Ok(Some(repo)),
            Err(error) => {
                tracing::warn!(
                    cache = %dir.display(),
                    reason = %error.message(),
                    "the Git cache is damaged; cloning again"
                );
                self.remove()?;
                Ok(None)
            }
        }
    }

    /// Removes the cached repository.
    pub(crate) fn remove(&self) -> Result<(), Error> {
        remove_dir(&self.repository_dir())
            .map_err(|e| self.error(&self.repository_dir(), format!("cannot remove: {e}")))
    }

    /// A new, empty bare repository in the partial folder (any earlier partial clone is
    /// removed first), with `HEAD` on `branch`.
    pub(crate) fn start_clone(&self, branch: &str) -> Result<Repository, Error> {
        let partial = self.partial_dir();
        remove_dir(&partial)
            .map_err(|e| self.error(&partial, format!("cannot remove a partial clone: {e}")))?;
        let mut options = RepositoryInitOptions::new();
        options
            .bare(true)
            .initial_head(branch)
            .no_reinit(true)
            .mkpath(true);
        Repository::init_opts(&partial, &options).map_err(|e| {
            self.error(
                &partial,
                format!("cannot create a repository: {}", e.message()),
            )
        })
    }

    /// Moves a completed clone into place, replacing whatever is there.
    pub(crate) fn finish_clone(&self, repo: Repository) -> Result<Repository, Error> {
        drop(repo);
        let target = self.repository_dir();
        self.remove()?;
        std::fs::rename(self.partial_dir(), &target).map_err(|e| {
            self.error(
                &target,
                format!("cannot move the new clone into place: {e}"),
            )
        })?;
        Repository::open_bare(&target).map_err(|e| {
            self.error(
                &target,
                format!("cannot open the new clone: {}", e.message()),
            )
        })
    }

    /// Where the files of `revision` are written out for reading and rendering.
    pub(crate) fn checkout_dir(&self, revision: git2::Oid) -> PathBuf {
        self.checkouts_dir().join(revision.to_string())
    }

    fn checkouts_dir(&self) -> PathBuf {
        self.root.join(format!("{}.checkouts", self.name))
    }

    /// Writes the files of `revision` out once (a completed checkout is reused) and
    /// returns their folder. Checkouts of other revisions than `revision` and `keep` are
    /// removed.
    pub(crate) fn checkout(
        &self,
        repo: &Repository,
        revision: git2::Oid,
        keep: Option<git2::Oid>,
    ) -> Result<PathBuf, ExportFailure> {
        let target = self.checkout_dir(revision);
        if !target.is_dir() {
            let partial = self.checkouts_dir().join(format!("{revision}.partial"));
            remove_dir(&partial).map_err(|e| {
                ExportFailure::Io(
                    self.error(&partial, format!("cannot remove a partial checkout: {e}")),
                )
            })?;
            export(repo, revision, &partial)?;
            std::fs::rename(&partial, &target).map_err(|e| {
                ExportFailure::Io(
                    self.error(&target, format!("cannot move the checkout into place: {e}")),
                )
            })?;
        }
        let wanted: Vec<String> = [Some(revision), keep]
            .into_iter()
            .flatten()
            .map(|oid| oid.to_string())
            .collect();
        if let Ok(entries) = std::fs::read_dir(self.checkouts_dir()) {
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !wanted.contains(&name)
                    && let Err(error) = remove_dir(&entry.path())
                {
                    tracing::warn!(path = %entry.path().display(), %error, "cannot remove an old checkout");
                }
            }
        }
        Ok(target)
    }

    /// Removes the partial folder of a clone that failed.
    pub(crate) fn abandon_clone(&self) {
        if let Err(error) = remove_dir(&self.partial_dir()) {
            tracing::warn!(
                cache = %self.partial_dir().display(),
                %error,
                "cannot remove a failed partial clone"
            );
        }
    }
}

/// Whether the repository can be used: `HEAD` parses, and the branch and last-good
/// references (when present) lead to commits whose trees are in the object store.
fn health_check(repo: &Repository, branch: &str) -> Result<(), git2::Error> {
    if !repo.is_bare() {
        return Err(git2::Error::from_str("not a bare repository"));
    }
    match repo.head() {
        Ok(_) => {}
        Err(error) if error.code() == ErrorCode::UnbornBranch => {}
        Err(error) => return Err(error),
    }
    for name in [format!("refs/heads/{branch}"), LAST_GOOD_REF.to_owned()] {
        match repo.find_reference(&name) {
            Ok(reference) => {
                reference.peel_to_commit()?.tree()?;
            }
            Err(error) if error.code() == ErrorCode::NotFound => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

fn remove_dir(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
