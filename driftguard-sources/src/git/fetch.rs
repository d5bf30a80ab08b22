//! Fetching the configured branch from the remote into the cached repository, within the
//! operation's time limit and with the configured credentials, and sorting failures into
//! "the remote failed" (an error for the caller) and "the cache is broken" (re-clone).

use std::cell::RefCell;
use std::path::Path;
use std::time::Duration;

use git2::{AutotagOption, ErrorClass, ErrorCode, FetchOptions, Oid, RemoteCallbacks, Repository};

use super::auth::Credentials;
use super::config::GitSourceConfig;
use super::timeouts::{Deadline, NetworkSlot};
use super::url::{redact_url, scrub};
use crate::Error;

/// Which network operation runs, for its time limit and messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// A first clone, or a re-clone of a broken cache.
    Clone,
    /// A fetch into an existing clone.
    Pull,
}

impl Operation {
    /// The name used in messages and in the timeout's configuration key.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Clone => "clone",
            Self::Pull => "pull",
        }
    }

    /// The configured limit.
    pub(crate) fn limit(self, config: &GitSourceConfig) -> Duration {
        match self {
            Self::Clone => config.clone_timeout,
            Self::Pull => config.pull_timeout,
        }
    }
}

/// Why a fetch failed.
#[derive(Debug)]
pub(crate) enum FetchFailure {
    /// The remote, the network or the credentials failed: report it.
    Remote(Error),
    /// The local repository is damaged: clone again.
    Corrupt(String),
}

/// Fetches `branch` from the remote into `refs/heads/<branch>` and returns the remote's
/// tip. A branch the remote does not advertise is an error, never an empty result.
pub(crate) fn fetch_branch(
    repo: &Repository,
    config: &GitSourceConfig,
    operation: Operation,
) -> Result<Oid, FetchFailure> {
    let limit = operation.limit(config);
    let display_url = redact_url(&config.url);
    // libgit2's messages may quote the URL (an unusable one, a redirect): every message
    // loses the URL's secrets before it becomes an error.
    let remote_error = |message: String| {
        FetchFailure::Remote(Error::GitRemote {
            url: display_url.clone(),
            operation: operation.name(),
            message: scrub(&message, &config.url, &[]),
        })
    };
    let credentials = RefCell::new(Credentials::new(&config.auth));
    let deadline = Deadline::after(limit);
    let mut callbacks = RemoteCallbacks::new();
    callbacks
        .credentials(|_url, username, allowed| credentials.borrow_mut().provide(username, allowed));
    callbacks.transfer_progress(|_| deadline.keep_going());
    callbacks.sideband_progress(|_| deadline.keep_going());
    let mut options = FetchOptions::new();
    options
        .remote_callbacks(callbacks)
        .download_tags(AutotagOption::None)
        .update_fetchhead(false);

    if let Some(path) = local_path(&config.url).filter(|p| !p.exists()) {
        return Err(remote_error(format!(
            "no repository at {}: the path does not exist",
            path.display()
        )));
    }
    let refspec = format!("+refs/heads/{0}:refs/heads/{0}", config.branch);
    let mut remote = repo
        .remote_anonymous(&config.url)
        .map_err(|e| remote_error(format!("not a usable remote URL: {}", e.message())))?;
    let fetched = {
        let _slot = NetworkSlot::acquire(limit)
            .map_err(|e| remote_error(format!("cannot set network timeouts: {}", e.message())))?;
        remote.fetch(&[refspec.as_str()], Some(&mut options), None)
    };
    drop(options);
    if let Err(error) = fetched {
        let credentials = credentials.borrow();
        if let Some(reason) = credentials.failure() {
            return Err(FetchFailure::Remote(Error::GitAuth {
                url: display_url,
                reason: reason.to_owned(),
            }));
        }
        if deadline.expired() || is_timeout(&error) {
            return Err(FetchFailure::Remote(Error::GitTimeout {
                url: display_url,
                operation: operation.name(),
                timeout: limit,
            }));
        }
        let message = scrub(error.message(), &config.url, credentials.secrets());
        return Err(if is_local_damage(&error) {
            FetchFailure::Corrupt(message)
        } else {
            remote_error(message)
        });
    }
    let heads = remote.list().map_err(|e| {
        remote_error(format!(
            "cannot list the remote's branches: {}",
            e.message()
        ))
    })?;
    let wanted = format!("refs/heads/{}", config.branch);
    let Some(tip) = heads.iter().find(|h| h.name() == wanted).map(|h| h.oid()) else {
        return Err(FetchFailure::Remote(Error::GitBranchNotFound {
            url: display_url,
            branch: config.branch.clone(),
        }));
    };
    match repo.find_commit(tip) {
        Ok(_) => Ok(tip),
        Err(error) => Err(FetchFailure::Corrupt(format!(
            "the fetched tip {tip} is not in the repository: {}",
            error.message()
        ))),
    }
}

/// Whether libgit2 gave up waiting: a read or write timeout is `GIT_TIMEOUT`, but a
/// connect timeout is a generic network error saying "timed out".
/// SSH reports its own stalls as "Timed out waiting on socket".
fn is_timeout(error: &git2::Error) -> bool {
    error.code() == ErrorCode::Timeout
        || (matches!(
            error.class(),
            ErrorClass::Net | ErrorClass::Ssh | ErrorClass::Http
        ) && error.message().to_ascii_lowercase().contains("timed out"))
}

/// The folder a local URL (`/srv/git/x`, `./x`, `file:///srv/git/x`) names; `None` for
/// network URLs, including scp-like `host:path`.
fn local_path(url: &str) -> Option<&Path> {
    if let Some(path) = url.strip_prefix("file://") {
        return Some(Path::new(path));
    }
    if url.contains("://") {
        return None;
    }
    match (url.find(':'), url.find('/')) {
        (Some(colon), Some(slash)) if colon < slash => None,
        (Some(_), None) => None,
        _ => Some(Path::new(url)),
    }
}

/// Whether a failed fetch points at the local repository rather than the remote.
fn is_local_damage(error: &git2::Error) -> bool {
    matches!(
        error.class(),
        ErrorClass::Odb
            | ErrorClass::Object
            | ErrorClass::Reference
            | ErrorClass::Repository
            | ErrorClass::Index
            | ErrorClass::Tree
            | ErrorClass::Zlib
            | ErrorClass::Filesystem
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_told_from_network_urls() {
        assert_eq!(local_path("/srv/git/app"), Some(Path::new("/srv/git/app")));
        assert_eq!(local_path("./app"), Some(Path::new("./app")));
        assert_eq!(local_path("app"), Some(Path::new("app")));
        assert_eq!(
            local_path("file:///srv/git/app"),
            Some(Path::new("/srv/git/app"))
        );
        assert_eq!(local_path("git@github.com:team/app.git"), None);
        assert_eq!(local_path("host:app"), None);
        assert_eq!(local_path("https://host/app"), None);
        assert_eq!(local_path("ssh://git@host/app"), None);
    }
}
