//! The certificate new connections get, and the poll that swaps in a renewed one.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::TlsFiles;
use super::pair::PemPair;
use crate::Error;

/// Hands every handshake the current certificate and key; [`Watcher`] replaces them.
pub(super) struct ReloadingCert {
    current: RwLock<Arc<CertifiedKey>>,
}

impl std::fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReloadingCert").finish_non_exhaustive()
    }
}

impl ReloadingCert {
    pub(super) fn new(initial: CertifiedKey) -> Self {
        Self {
            current: RwLock::new(Arc::new(initial)),
        }
    }

    fn replace(&self, next: CertifiedKey) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

/// Reads the files on a timer and installs each changed, valid pair.
pub(super) struct Watcher {
    files: TlsFiles,
    /// The content last tried, valid or not: an unchanged pair is not parsed (or logged)
    /// again.
    tried: PemPair,
    certificate: Arc<ReloadingCert>,
    provider: Arc<CryptoProvider>,
    reloads: Counter<u64>,
    /// Whether the last read failed, so a lasting failure is logged once.
    unreadable: bool,
}

impl Watcher {
    pub(super) fn new(
        files: TlsFiles,
        loaded: PemPair,
        certificate: Arc<ReloadingCert>,
        provider: Arc<CryptoProvider>,
        reloads: Counter<u64>,
    ) -> Self {
        // Both outcomes are served from the start, at 0: the first failure of the process
        // is then an increase that `increase()`, and the alert on it, sees.
        for outcome in ["success", "failure"] {
            reloads.add(0, &[KeyValue::new("outcome", outcome)]);
        }
        Self {
            files,
            tried: loaded,
            certificate,
            provider,
            reloads,
            unreadable: false,
        }
    }

    /// Checks the files every `interval` until `stop`.
    pub(super) async fn run(mut self, interval: Duration, stop: CancellationToken) {
        tracing::info!(
            cert_file = %self.files.cert().display(),
            key_file = %self.files.key().display(),
            "serving HTTPS; the certificate files are checked for a renewal every {}s",
            interval.as_secs_f64()
        );
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The first tick is immediate, and the files were read just now.
        ticks.tick().await;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => self.check().await,
            }
        }
    }

    async fn check(&mut self) {
        let pair = match PemPair::read(&self.files).await {
            Ok(pair) => pair,
            Err(error) => {
                if !self.unreadable {
                    tracing::error!(
                        "❌ the TLS certificate files cannot be read: {}; the certificate \
                         loaded before keeps serving",
                        problem(&error)
                    );
                    self.count("failure");
                }
                self.unreadable = true;
                return;
            }
        };
        self.unreadable = false;
        if pair == self.tried {
            return;
        }
        match pair.certified_key(&self.files, &self.provider) {
            Ok(certified) => {
                self.certificate.replace(certified);
                tracing::info!(
                    cert_file = %self.files.cert().display(),
                    key_file = %self.files.key().display(),
                    "TLS certificate reloaded; new connections use it"
                );
                self.count("success");
            }
            Err(error) => {
                tracing::error!(
                    "❌ the renewed TLS certificate is not used: {}; the one loaded before \
                     keeps serving",
                    problem(&error)
                );
                self.count("failure");
            }
        }
        self.tried = pair;
    }

    fn count(&self, outcome: &'static str) {
        self.reloads.add(1, &[KeyValue::new("outcome", outcome)]);
    }
}

/// The problem an error describes, without the "cannot serve HTTPS" of a start failure.
fn problem(error: &Error) -> String {
    match error {
        Error::Tls(problem) => problem.clone(),
        other => other.to_string(),
    }
}
