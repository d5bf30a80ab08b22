//! The keys of access control: `server.auth` and `server.analyze_rate_limit`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::tokens::TokenSet;
use crate::Error;

/// `server.auth`: who may use the API.
///
/// Without `tokens_file` the API is open to anyone who can reach it (bind `127.0.0.1`
/// then). With it, `/api/*` needs a bearer token listed in the file, with the scope the
/// request needs; `/health`, `/ready` and paths under `/ui/` (reserved for the dashboard's
/// static files) stay open.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// A YAML list of `{name, token_sha256, scopes}`; re-read while the service runs when
    /// its content changes. `None` (the default) turns access control off.
    pub tokens_file: Option<PathBuf>,
    /// Whether `/metrics` needs a token with the `read` scope too (it is open otherwise,
    /// for scrapers that cannot send a token).
    pub protect_metrics: bool,
}

impl AuthConfig {
    /// Whether requests must present a token.
    pub fn enabled(&self) -> bool {
        self.tokens_file.is_some()
    }

    /// Checks the keys, reading the tokens file: a file that cannot be read or holds an
    /// invalid entry is an error naming the file and the entry.
    pub fn validate(&self) -> Result<(), Error> {
        match &self.tokens_file {
            None if self.protect_metrics => Err(Error::Settings(
                "server.auth.protect_metrics needs server.auth.tokens_file: without tokens \
                 there is nothing to protect /metrics with"
                    .to_owned(),
            )),
            None => Ok(()),
            Some(path) if path.as_os_str().is_empty() => Err(Error::Settings(
                "server.auth.tokens_file is empty; name the tokens file or leave the key out"
                    .to_owned(),
            )),
            Some(path) => TokenSet::read(path).map(drop),
        }
    }
}

/// `server.analyze_rate_limit`: how often one client may ask for an analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// `POST /api/v1/analyze` requests allowed per minute for each token name (or each
    /// client address when no tokens are configured), as a burst or spread out; past it
    /// the answer is 429 with `Retry-After`. 0 turns the limit off.
    pub per_minute: u32,
}

impl RateLimitConfig {
    /// The default limit: six analyses a minute, one every ten seconds on average.
    pub const DEFAULT_PER_MINUTE: u32 = 6;

    /// Whether the limit applies at all.
    pub fn enabled(&self) -> bool {
        self.per_minute > 0
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_minute: Self::DEFAULT_PER_MINUTE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protecting_metrics_needs_tokens() {
        let config = AuthConfig {
            tokens_file: None,
            protect_metrics: true,
        };
        let error = config.validate().expect_err("no tokens");
        assert!(error.to_string().contains("server.auth.protect_metrics"));
        assert!(AuthConfig::default().validate().is_ok());
    }

    #[test]
    fn a_missing_tokens_file_is_named() {
        let config = AuthConfig {
            tokens_file: Some(PathBuf::from("/nonexistent/tokens.yaml")),
            protect_metrics: false,
        };
        let error = config.validate().expect_err("no such file").to_string();
        assert!(error.contains("/nonexistent/tokens.yaml"), "{error}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let error = serde_saphyr::from_str::<AuthConfig>("token_file: x\n")
            .expect_err("a typo")
            .to_string();
        assert!(error.contains("token_file"), "{error}");
        let error = serde_saphyr::from_str::<RateLimitConfig>("per_second: 1\n")
            .expect_err("a typo")
            .to_string();
        assert!(error.contains("per_second"), "{error}");
        assert_eq!(RateLimitConfig::default().per_minute, 6);
    }
}
