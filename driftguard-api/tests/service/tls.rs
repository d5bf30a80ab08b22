//! HTTPS with a certificate made for the test, renewed on disk while the service runs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use driftguard_api::{Error, Service, ServiceSettings, TlsConfig};
use driftguard_core::Detector;
use driftguard_core::analysis::DetectionSettings;
use hyper::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::certs::{CertFiles, ServerCert, TestCa, https_get};
use crate::fakes::{TestDesired, TestLive, TestStore};
use crate::fixtures::{desired, live_in_sync};
use crate::harness::{Harness, Metrics, test_settings, wait_until_async};

/// Checked often, so that a test sees a renewal in a fraction of a second.
const RELOAD: Duration = Duration::from_millis(50);

fn https_settings(files: &CertFiles) -> ServiceSettings {
    ServiceSettings {
        tls: TlsConfig {
            reload_interval: RELOAD,
            ..TlsConfig::files(&files.cert, &files.key)
        },
        ..test_settings()
    }
}

async fn reloads(client: &TlsConnector, addr: SocketAddr, outcome: &str) -> f64 {
    let (answer, _) = https_get(client, addr, "/metrics").await;
    Metrics::parse(&answer.text()).sum(
        "driftguard_tls_certificate_reloads_total",
        &[("outcome", outcome)],
    )
}

/// Waits until a new connection is presented `expected`, and checks that it is served.
async fn wait_for_certificate(client: &TlsConnector, addr: SocketAddr, expected: &ServerCert) {
    wait_until_async("the server to present the expected certificate", || async {
        https_get(client, addr, "/health").await.1 == expected.der
    })
    .await;
    let (answer, presented) = https_get(client, addr, "/health").await;
    assert_eq!(presented, expected.der);
    assert_eq!(answer.status, StatusCode::OK);
}

/// Waits until the service has counted `count` failed reloads; then checks that new
/// connections are still presented `still`.
async fn wait_for_rejection(
    client: &TlsConnector,
    addr: SocketAddr,
    count: f64,
    still: &ServerCert,
) {
    wait_until_async("the renewal to be rejected", || async {
        reloads(client, addr, "failure").await >= count
    })
    .await;
    // Several more checks of the same files: still rejected, still the old certificate.
    tokio::time::sleep(RELOAD * 4).await;
    assert_eq!(reloads(client, addr, "failure").await, count);
    let (answer, presented) = https_get(client, addr, "/health").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        presented == still.der,
        "the last good certificate keeps serving"
    );
}

#[tokio::test]
async fn https_follows_the_certificate_renewed_on_disk_and_keeps_the_last_good_one() {
    let ca = TestCa::new();
    let client = ca.client();
    let dir = tempfile::tempdir().unwrap();
    let files = CertFiles::in_dir(dir.path());
    let first = ca.issue("driftguard first", 1);
    files.write(&first);
    let harness =
        Harness::start_with(desired(), live_in_sync(), https_settings(&files), |_| {}).await;
    let addr = harness.addr;

    let (answer, presented) = https_get(&client, addr, "/health").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.text().contains("healthy"), "{}", answer.text());
    assert!(presented == first.der, "the configured certificate");

    // Renewed: a new key and a certificate with another serial number and name.
    let second = ca.issue("driftguard second", 2);
    files.write(&second);
    wait_for_certificate(&client, addr, &second).await;
    assert_eq!(reloads(&client, addr, "success").await, 1.0);
    // The failure series is served before any failure (at 0 unless the renewal was
    // caught half-written), so that Prometheus sees the first one as an increase.
    let (answer, _) = https_get(&client, addr, "/metrics").await;
    assert!(
        Metrics::parse(&answer.text())
            .value(
                "driftguard_tls_certificate_reloads_total",
                &[("outcome", "failure")]
            )
            .is_some(),
        "{}",
        answer.text()
    );
    let failures = reloads(&client, addr, "failure").await;

    // A certificate file that is not a certificate.
    CertFiles::replace(&files.cert, "this is not a certificate\n");
    wait_for_rejection(&client, addr, failures + 1.0, &second).await;

    // A valid certificate whose key is not the one on disk.
    let third = ca.issue("driftguard third", 3);
    CertFiles::replace(&files.cert, &third.cert_pem);
    wait_for_rejection(&client, addr, failures + 2.0, &second).await;

    // A key file that has gone missing.
    std::fs::remove_file(&files.key).unwrap();
    wait_for_rejection(&client, addr, failures + 3.0, &second).await;

    // Once the files hold a valid pair again, it is used.
    files.write(&third);
    wait_for_certificate(&client, addr, &third).await;
    assert_eq!(reloads(&client, addr, "success").await, 2.0);
    harness.stop().await.unwrap();
}

#[tokio::test]
async fn plain_http_on_the_https_port_gets_no_answer() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let files = CertFiles::in_dir(dir.path());
    files.write(&ca.issue("driftguard", 1));
    let harness =
        Harness::start_with(desired(), live_in_sync(), https_settings(&files), |_| {}).await;
    let mut stream = TcpStream::connect(harness.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut received))
        .await
        .expect("the server closes the connection");
    let received = String::from_utf8_lossy(&received);
    assert!(!received.contains("healthy"), "{received}");
    // HTTPS still works.
    let (answer, _) = https_get(&ca.client(), harness.addr, "/health").await;
    assert_eq!(answer.status, StatusCode::OK);
    harness.stop().await.unwrap();
}

fn service_with(tls: TlsConfig) -> Result<Service, Error> {
    let detector = Detector::new(
        Arc::new(TestDesired::new(desired())),
        Arc::new(TestLive::new(live_in_sync())),
        Arc::new(TestStore::default()),
        DetectionSettings::default(),
    );
    Service::new(
        detector,
        ServiceSettings {
            tls,
            ..test_settings()
        },
    )
}

fn start_error(tls: TlsConfig) -> String {
    service_with(tls)
        .expect_err("the service does not start")
        .to_string()
}

#[test]
fn a_certificate_or_key_that_cannot_serve_stops_the_service_from_starting() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let files = CertFiles::in_dir(dir.path());
    let good = ca.issue("driftguard", 1);
    files.write(&good);
    assert!(service_with(TlsConfig::files(&files.cert, &files.key)).is_ok());

    // Missing files.
    let missing = dir.path().join("absent.crt");
    let error = start_error(TlsConfig::files(&missing, &files.key));
    assert!(error.contains("server.tls.cert_file"), "{error}");
    assert!(error.contains("absent.crt"), "{error}");
    let error = start_error(TlsConfig::files(&files.cert, dir.path().join("absent.key")));
    assert!(error.contains("server.tls.key_file"), "{error}");

    // Files that are not PEM of the right kind.
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "hello\n").unwrap();
    let error = start_error(TlsConfig::files(&garbage, &files.key));
    assert!(error.contains("server.tls.cert_file"), "{error}");
    assert!(error.contains("no PEM certificate"), "{error}");
    let error = start_error(TlsConfig::files(&files.cert, &files.cert));
    assert!(error.contains("server.tls.key_file"), "{error}");
    assert!(error.contains("private key"), "{error}");

    // A key that is not the certificate's; the message never quotes the key.
    let other = ca.issue("driftguard", 2);
    let other_key = dir.path().join("other.key");
    std::fs::write(&other_key, &other.key_pem).unwrap();
    let error = start_error(TlsConfig::files(&files.cert, &other_key));
    assert!(error.contains("cannot serve the certificate"), "{error}");
    let key_body = other.key_pem.lines().nth(1).unwrap();
    assert!(!error.contains(key_body), "{error}");

    // One file without the other.
    let error = start_error(TlsConfig {
        key_file: None,
        ..TlsConfig::files(&files.cert, &files.key)
    });
    assert!(
        error.contains("server.tls.cert_file is set but server.tls.key_file is not"),
        "{error}"
    );
    let error = start_error(TlsConfig {
        cert_file: None,
        ..TlsConfig::files(&files.cert, &files.key)
    });
    assert!(
        error.contains("server.tls.key_file is set but server.tls.cert_file is not"),
        "{error}"
    );
}
