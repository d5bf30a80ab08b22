//! Reading a certificate and key pair from PEM files, and checking that it can serve.
//!
//! Error messages name the configuration key and the file, never any of their content:
//! the key file's bytes stay out of logs and errors.

use std::path::Path;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use super::TlsFiles;
use crate::Error;

const CERT_KEY: &str = "server.tls.cert_file";
const KEY_KEY: &str = "server.tls.key_file";

/// The raw content of both files, as read at one time: kept to tell a changed pair from
/// the one already tried.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct PemPair {
    cert: Vec<u8>,
    key: Vec<u8>,
}

impl PemPair {
    /// Reads both files, blocking: for the start of the service.
    pub(super) fn read_now(files: &TlsFiles) -> Result<Self, Error> {
        let cert =
            std::fs::read(files.cert()).map_err(|e| unreadable(CERT_KEY, files.cert(), &e))?;
        let key = std::fs::read(files.key()).map_err(|e| unreadable(KEY_KEY, files.key(), &e))?;
        Ok(Self { cert, key })
    }

    /// Reads both files without blocking the runtime: for the reload checks.
    pub(super) async fn read(files: &TlsFiles) -> Result<Self, Error> {
        let cert = tokio::fs::read(files.cert())
            .await
            .map_err(|e| unreadable(CERT_KEY, files.cert(), &e))?;
        let key = tokio::fs::read(files.key())
            .await
            .map_err(|e| unreadable(KEY_KEY, files.key(), &e))?;
        Ok(Self { cert, key })
    }

    /// Parses the pair and checks that the key belongs to the first certificate.
    pub(super) fn certified_key(
        &self,
        files: &TlsFiles,
        provider: &CryptoProvider,
    ) -> Result<CertifiedKey, Error> {
        let chain = CertificateDer::pem_slice_iter(&self.cert)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| not_pem(CERT_KEY, files.cert(), "certificates", &e))?;
        if chain.is_empty() {
            return Err(Error::Tls(format!(
                "{CERT_KEY} `{}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                files.cert().display()
            )));
        }
        let key = PrivateKeyDer::from_pem_slice(&self.key)
            .map_err(|e| not_pem(KEY_KEY, files.key(), "a private key", &e))?;
        CertifiedKey::from_der(chain, key, provider).map_err(|e| {
            Error::Tls(format!(
                "the private key in {KEY_KEY} `{}` cannot serve the certificate in {CERT_KEY} `{}`: {e}",
                files.key().display(),
                files.cert().display()
            ))
        })
    }
}

fn unreadable(key: &str, path: &Path, error: &std::io::Error) -> Error {
    Error::Tls(format!(
        "{key} `{}`: cannot read it: {error}",
        path.display()
    ))
}

/// Describes a PEM problem without quoting the file: a quoted line of a key file could be
/// part of the key.
fn not_pem(key: &str, path: &Path, wanted: &str, error: &pem::Error) -> Error {
    let problem = match error {
        pem::Error::NoItemsFound => format!("holds no PEM-encoded {wanted}"),
        pem::Error::MissingSectionEnd { .. } => {
            "is not valid PEM: a section has no END line".to_owned()
        }
        pem::Error::IllegalSectionStart { .. } => {
            "is not valid PEM: a BEGIN line is malformed".to_owned()
        }
        pem::Error::Base64Decode(_) => "is not valid PEM: a section is not valid base64".to_owned(),
        pem::Error::SectionTooLarge => "is not valid PEM: a section is too large".to_owned(),
        pem::Error::Io(e) => format!("cannot be read: {e}"),
        _ => "is not valid PEM".to_owned(),
    };
    Error::Tls(format!("{key} `{}` {problem}", path.display()))
}
