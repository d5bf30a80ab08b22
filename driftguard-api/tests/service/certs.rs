//! A test certificate authority, its server certificates, and a TLS client that trusts it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper::Method;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SerialNumber};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::harness::{Answer, request_on};

/// A certificate authority made for one test.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
}

/// A server certificate for `localhost` and 127.0.0.1, with its key, as PEM.
pub struct ServerCert {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: CertificateDer<'static>,
}

impl TestCa {
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "DriftGuard test CA");
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            issuer: Issuer::new(params, key),
            der: cert.der().clone(),
        }
    }

    /// A new server certificate with this common name and serial number, and a new key.
    pub fn issue(&self, common_name: &str, serial: u64) -> ServerCert {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.serial_number = Some(SerialNumber::from(serial));
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        ServerCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
        }
    }

    /// A client that trusts only this authority and offers HTTP/1.1. It resumes no
    /// session, so every connection gets the server's current certificate (a resumed
    /// session is not sent a certificate again).
    pub fn client(&self) -> TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config.resumption = rustls::client::Resumption::disabled();
        TlsConnector::from(Arc::new(config))
    }
}

/// Where a test keeps the server's certificate and key files.
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl CertFiles {
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            cert: dir.join("tls.crt"),
            key: dir.join("tls.key"),
        }
    }

    /// Writes both files the way a renewal does: each replaced whole (written aside,
    /// then renamed over the old one), the key first.
    pub fn write(&self, cert: &ServerCert) {
        Self::replace(&self.key, &cert.key_pem);
        Self::replace(&self.cert, &cert.cert_pem);
    }

    /// Replaces one file whole with `content`.
    pub fn replace(path: &Path, content: &str) {
        let aside = path.with_extension("new");
        std::fs::write(&aside, content).unwrap();
        std::fs::rename(&aside, path).unwrap();
    }
}

/// A TLS connection to the service on `addr`, checked against the test CA as `localhost`.
pub async fn connect(client: &TlsConnector, addr: SocketAddr) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    client
        .connect(name, tcp)
        .await
        .expect("a TLS handshake that verifies the server certificate")
}

/// The certificate the server presented on `stream`.
pub fn presented(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    let (_, session) = stream.get_ref();
    session.peer_certificates().expect("a server certificate")[0].clone()
}

/// One HTTPS request on a fresh connection; also returns the certificate presented.
pub async fn https_get(
    client: &TlsConnector,
    addr: SocketAddr,
    path: &str,
) -> (Answer, CertificateDer<'static>) {
    let stream = connect(client, addr).await;
    let (_, session) = stream.get_ref();
    assert_eq!(session.alpn_protocol(), Some(&b"http/1.1"[..]));
    let cert = presented(&stream);
    (
        request_on(
            stream,
            &format!("localhost:{}", addr.port()),
            Method::GET,
            path,
        )
        .await,
        cert,
    )
}
