//! The tokens file while the service runs: read at start, then polled, so that tokens
//! can be added, rotated and revoked without a restart.
//!
//! Every [`POLL_INTERVAL`] the file is read and its content hashed; a new hash means a new
//! file, which replaces the tokens when it is valid. A file that becomes unreadable or
//! invalid changes nothing: the last good tokens stay in force, the problem is logged once
//! (naming the file and the entry, never a token), and `driftguard_auth_tokens_file_valid`
//! reads 0 until a valid file is back. Readiness is left alone: every replica reads the
//! same file, and taking them all out of service would turn a typo into an outage.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use opentelemetry::metrics::Gauge;
use tokio_util::sync::CancellationToken;

use super::tokens::{Digest256, TokenSet, sha256, tokens_error, unreadable};
use crate::Error;

/// How often the tokens file is checked for a change.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// What was last seen in the file, so each change is handled (and each problem logged)
/// once.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// The content of the tokens in force.
    Good(Digest256),
    /// Content that is not a valid tokens file.
    Invalid(Digest256),
    /// The file could not be read, for this reason.
    Unreadable(String),
}

/// The tokens in force and the file they come from.
#[derive(Debug)]
pub(crate) struct TokenFile {
    path: PathBuf,
    tokens: RwLock<Arc<TokenSet>>,
    seen: Mutex<Seen>,
    valid: Gauge<u64>,
}

impl TokenFile {
    /// Reads the file at `path`, which must be valid; `valid` mirrors whether the file in
    /// place is the one in force (1) or a broken one is being ignored (0).
    pub(crate) fn load(path: &Path, valid: Gauge<u64>) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|error| tokens_error(path, unreadable(&error)))?;
        let tokens = TokenSet::parse(path, &bytes)?;
        tracing::info!(
            file = %path.display(),
            tokens = ?tokens.names(),
            "🔑 access control on: {} API tokens loaded",
            tokens.len()
        );
        valid.record(1, &[]);
        Ok(Self {
            path: path.to_owned(),
            tokens: RwLock::new(Arc::new(tokens)),
            seen: Mutex::new(Seen::Good(sha256(&bytes))),
            valid,
        })
    }

    /// The tokens in force.
    pub(crate) fn current(&self) -> Arc<TokenSet> {
        self.tokens
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads the file again and applies what it holds now.
    pub(crate) async fn refresh(&self) {
        let read = tokio::fs::read(&self.path).await;
        self.apply(read);
    }

    /// Applies one read of the file: new valid content replaces the tokens; anything else
    /// keeps them.
    fn apply(&self, read: std::io::Result<Vec<u8>>) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let file = self.path.display();
        let bytes = match read {
            Ok(bytes) => bytes,
            Err(error) => {
                let problem = unreadable(&error);
                let now = Seen::Unreadable(problem.clone());
                if *seen != now {
                    tracing::error!(
                        file = %file,
                        "❌ {}; keeping the {} tokens loaded before",
                        tokens_error(&self.path, problem),
                        self.current().len()
                    );
                    *seen = now;
                    self.valid.record(0, &[]);
                }
                return;
            }
        };
        let digest = sha256(&bytes);
        if matches!(*seen, Seen::Good(d) | Seen::Invalid(d) if d == digest) {
            return;
        }
        match TokenSet::parse(&self.path, &bytes) {
            Ok(tokens) => {
                let was_good = matches!(*seen, Seen::Good(_));
                tracing::info!(
                    file = %file,
                    tokens = ?tokens.names(),
                    "🔑 tokens file {}: {} API tokens in force",
                    if was_good { "changed" } else { "valid again" },
                    tokens.len()
                );
                *self.tokens.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(tokens);
                *seen = Seen::Good(digest);
                self.valid.record(1, &[]);
            }
            Err(error) => {
                tracing::error!(
                    file = %file,
                    "❌ {error}; keeping the {} tokens loaded before",
                    self.current().len()
                );
                *seen = Seen::Invalid(digest);
                self.valid.record(0, &[]);
            }
        }
    }
}

/// Polls `file` until `stop`.
pub(crate) async fn watch(file: Arc<TokenFile>, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(POLL_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => file.refresh().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    fn entry(name: &str, token: &str) -> String {
        let hex: String = sha256(token.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("- name: {name}\n  token_sha256: {hex}\n  scopes: [read]\n")
    }

    #[test]
    fn a_broken_file_keeps_the_last_good_tokens() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("tokens.yaml");
        std::fs::write(&path, entry("old", "old-token")).expect("written");
        let metrics = Metrics::new().expect("metrics");
        let file = TokenFile::load(&path, metrics.tokens_file_valid_gauge()).expect("valid");
        assert!(file.current().find("old-token").is_some());

        file.apply(Ok(b"- name: [broken".to_vec()));
        assert!(file.current().find("old-token").is_some());
        file.apply(Err(std::io::Error::from(std::io::ErrorKind::NotFound)));
        assert!(file.current().find("old-token").is_some());

        file.apply(Ok(entry("new", "new-token").into_bytes()));
        assert!(file.current().find("old-token").is_none());
        assert_eq!(
            file.current()
                .find("new-token")
                .map(|t| t.name().to_owned()),
            Some("new".to_owned())
        );
    }
}
