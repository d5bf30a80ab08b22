//! Access control: bearer tokens with scopes (`server.auth`), the analysis rate limit
//! (`server.analyze_rate_limit`), and the warning about an API open to the network.
//!
//! - [`config`]: the configuration keys and their checks;
//! - [`tokens`]: the tokens file and the constant-time token lookup;
//! - [`reload`]: the tokens file re-read while the service runs;
//! - [`rate_limit`]: the per-client limit of analysis requests;
//! - [`filter`]: the decision for one request (public paths, token, scope, limit).

mod config;
pub(crate) mod filter;
mod rate_limit;
mod reload;
mod tokens;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

pub use self::config::{AuthConfig, RateLimitConfig};
use self::rate_limit::RateLimiter;
use self::reload::TokenFile;
use crate::Error;
use crate::metrics::Metrics;

/// The access control of one service: its tokens (when configured), whether `/metrics` is
/// protected, and the analysis rate limit.
#[derive(Debug)]
pub(crate) struct Access {
    tokens: Option<Arc<TokenFile>>,
    protect_metrics: bool,
    analyze_limit: Option<RateLimiter>,
}

impl Access {
    /// Reads the tokens file of `auth`, when set (it must be valid), and sets up the
    /// limit of `analyze`.
    pub(crate) fn new(
        auth: &AuthConfig,
        analyze: RateLimitConfig,
        metrics: &Metrics,
    ) -> Result<Self, Error> {
        auth.validate()?;
        let tokens = match &auth.tokens_file {
            Some(path) => Some(Arc::new(TokenFile::load(
                path,
                metrics.tokens_file_valid_gauge(),
            )?)),
            None => None,
        };
        Ok(Self {
            tokens,
            protect_metrics: auth.protect_metrics,
            analyze_limit: RateLimiter::per_minute(analyze.per_minute),
        })
    }

    /// Whether requests must present tokens.
    pub(crate) fn enabled(&self) -> bool {
        self.tokens.is_some()
    }

    fn tokens(&self) -> Option<&TokenFile> {
        self.tokens.as_deref()
    }

    fn protect_metrics(&self) -> bool {
        self.protect_metrics
    }

    fn analyze_limit(&self) -> Option<&RateLimiter> {
        self.analyze_limit.as_ref()
    }

    /// Keeps the tokens in step with their file until `stop`; returns at once without
    /// tokens.
    pub(crate) async fn watch_tokens(&self, stop: CancellationToken) {
        if let Some(file) = &self.tokens {
            reload::watch(file.clone(), stop).await;
        }
    }

    /// Warns when the API listens on `address`, reachable from other machines, with no
    /// tokens: anyone who can reach it may read every record and trigger analyses.
    pub(crate) fn warn_if_exposed(&self, address: SocketAddr) {
        if !self.enabled() && !address.ip().is_loopback() {
            tracing::warn!(
                %address,
                "the API listens on a non-loopback address without access control: anyone \
                 who can reach it may read every drift record and trigger analyses; set \
                 server.auth.tokens_file, or server.host: 127.0.0.1"
            );
        }
    }
}
