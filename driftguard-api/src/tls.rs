//! HTTPS: the `server.tls` settings, and a certificate that follows its files on disk.
//!
//! The certificate and its key are read when the service is built: a missing, unreadable or
//! invalid file stops it from starting. While it runs, both files are read again every
//! `reload_interval`; when their content changed and the new pair is valid (the key matches
//! the certificate), new connections get the new certificate. An invalid pair, such as a
//! renewal caught half-written, is logged and skipped: the last good pair keeps serving
//! until the files hold a valid pair again. A certificate renewed in place (cert-manager
//! updating a mounted Secret) is therefore picked up without a restart.
//!
//! Connections speak HTTP/1.1 (ALPN `http/1.1`), TLS 1.2 or 1.3, with rustls and the *ring*
//! provider.

mod pair;
mod reloading;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use driftguard_core::config::duration;
use opentelemetry::metrics::Counter;
use rustls::crypto::CryptoProvider;
use serde::{Deserialize, Serialize};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::Error;

use self::pair::PemPair;
use self::reloading::{ReloadingCert, Watcher};

/// `server.tls`: serve HTTPS with this certificate and key. Both files or neither.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the server certificate, followed by its intermediate certificates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    /// PEM file with the certificate's private key (PKCS#8, PKCS#1 or SEC1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// How often both files are read again to pick up a renewed certificate.
    #[serde(with = "duration")]
    pub reload_interval: Duration,
}

impl Default for TlsConfig {
    /// Plain HTTP; when files are set, they are checked for a renewal every 5 s.
    fn default() -> Self {
        Self {
            cert_file: None,
            key_file: None,
            reload_interval: Self::DEFAULT_RELOAD_INTERVAL,
        }
    }
}

impl TlsConfig {
    /// The default time between two reads of the certificate and key files.
    pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(5);

    /// HTTPS with the certificate in `cert_file` and the key in `key_file`.
    pub fn files(cert_file: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
        Self {
            cert_file: Some(cert_file.into()),
            key_file: Some(key_file.into()),
            ..Self::default()
        }
    }

    /// Whether HTTPS is configured (both files set).
    pub fn is_enabled(&self) -> bool {
        self.cert_file.is_some() && self.key_file.is_some()
    }

    /// Whether nothing differs from the default (plain HTTP, default interval).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Checks the keys without reading the files; the first problem names its key.
    pub fn validate(&self) -> Result<(), Error> {
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) => {
                return Err(Error::Settings(
                    "server.tls.cert_file is set but server.tls.key_file is not: set both to \
                     serve HTTPS, or neither to serve plain HTTP"
                        .to_owned(),
                ));
            }
            (None, Some(_)) => {
                return Err(Error::Settings(
                    "server.tls.key_file is set but server.tls.cert_file is not: set both to \
                     serve HTTPS, or neither to serve plain HTTP"
                        .to_owned(),
                ));
            }
            _ => {}
        }
        for (key, path) in [
            ("server.tls.cert_file", &self.cert_file),
            ("server.tls.key_file", &self.key_file),
        ] {
            if path.as_deref().is_some_and(|p| p.as_os_str().is_empty()) {
                return Err(Error::Settings(format!(
                    "{key} is empty: give the path of a PEM file"
                )));
            }
        }
        if self.reload_interval.is_zero() {
            return Err(Error::Settings(
                "server.tls.reload_interval must be longer than zero".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Where the certificate and the key are read from.
#[derive(Debug, Clone)]
struct TlsFiles {
    cert: PathBuf,
    key: PathBuf,
}

impl TlsFiles {
    fn cert(&self) -> &Path {
        &self.cert
    }

    fn key(&self) -> &Path {
        &self.key
    }
}

/// The server side of HTTPS: the acceptor new connections go through, and the certificate
/// it presents, which follows the files on disk while [`Tls::watch`] runs.
pub(crate) struct Tls {
    acceptor: TlsAcceptor,
    certificate: Arc<ReloadingCert>,
    provider: Arc<CryptoProvider>,
    files: TlsFiles,
    loaded: PemPair,
    interval: Duration,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("files", &self.files)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Reads and checks the configured pair; `None` when `config` serves plain HTTP.
    ///
    /// Fails, naming the key and the file, when a file cannot be read, holds no
    /// certificate or key, or when the key does not belong to the certificate.
    pub(crate) fn load(config: &TlsConfig) -> Result<Option<Self>, Error> {
        config.validate()?;
        let (Some(cert), Some(key)) = (&config.cert_file, &config.key_file) else {
            return Ok(None);
        };
        let files = TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let loaded = PemPair::read_now(&files)?;
        let certified = loaded.certified_key(&files, &provider)?;
        let certificate = Arc::new(ReloadingCert::new(certified));
        let mut server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(format!("cannot set up TLS: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(certificate.clone());
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Some(Self {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            certificate,
            provider,
            files,
            loaded,
            interval: config.reload_interval,
        }))
    }

    /// The acceptor that runs the TLS handshake of a new connection.
    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// Reads the files every reload interval and swaps in each new valid pair, until
    /// `stop`. `reloads` counts the outcome of each changed pair (`success`, `failure`).
    pub(crate) async fn watch(&self, reloads: Counter<u64>, stop: CancellationToken) {
        let watcher = Watcher::new(
            self.files.clone(),
            self.loaded.clone(),
            self.certificate.clone(),
            self.provider.clone(),
            reloads,
        );
        watcher.run(self.interval, stop).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServerConfig;

    fn server(yaml: &str) -> ServerConfig {
        serde_saphyr::from_str(yaml).expect("a valid server section")
    }

    #[test]
    fn the_defaults_serve_plain_http_with_a_cap_of_1024() {
        let config = server("port: 8443\n");
        assert!(!config.tls.is_enabled());
        assert_eq!(config.max_connections, 1024);
        assert!(config.validate().is_ok());
        let shown = serde_saphyr::to_string(&config).expect("serialisable");
        assert!(!shown.contains("tls"), "{shown}");
        assert!(shown.contains("max_connections: 1024"), "{shown}");
    }

    #[test]
    fn both_files_and_the_interval_are_read() {
        let config = server(
            "max_connections: 50\ntls:\n  cert_file: /tls/tls.crt\n  key_file: /tls/tls.key\n  reload_interval: 1s\n",
        );
        assert_eq!(config.max_connections, 50);
        assert_eq!(
            config.tls,
            TlsConfig {
                reload_interval: Duration::from_secs(1),
                ..TlsConfig::files("/tls/tls.crt", "/tls/tls.key")
            }
        );
        assert!(config.validate().is_ok());
        let shown = serde_saphyr::to_string(&config).expect("serialisable");
        assert_eq!(server(&shown), config, "{shown}");
    }

    #[test]
    fn one_file_without_the_other_is_refused_naming_both_keys() {
        for (yaml, set, missing) in [
            ("tls:\n  cert_file: a.crt\n", "cert_file", "key_file"),
            ("tls:\n  key_file: a.key\n", "key_file", "cert_file"),
        ] {
            let error = server(yaml).validate().expect_err(yaml).to_string();
            assert!(
                error.contains(&format!(
                    "server.tls.{set} is set but server.tls.{missing} is not"
                )),
                "{error}"
            );
        }
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        for (yaml, key) in [
            ("max_connections: 0\n", "server.max_connections"),
            (
                "tls:\n  cert_file: a\n  key_file: b\n  reload_interval: 0s\n",
                "server.tls.reload_interval",
            ),
            (
                "tls:\n  cert_file: ''\n  key_file: b\n",
                "server.tls.cert_file",
            ),
        ] {
            let error = server(yaml).validate().expect_err(yaml).to_string();
            assert!(error.contains(key), "{yaml}: {error}");
        }
        let error = serde_saphyr::from_str::<ServerConfig>("tls:\n  certfile: a\n")
            .expect_err("a typo")
            .to_string();
        assert!(error.contains("certfile"), "{error}");
    }
}
