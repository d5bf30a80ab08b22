//! The server's read, write and idle timeouts, seen from a client.

use std::time::Duration;

use driftguard_api::{ServerTimeouts, ServiceSettings};
use hyper::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::fixtures::{desired, live_in_sync};
use crate::harness::{Harness, test_settings};

/// Far longer than any timeout below needs to fire on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(60);

fn with_timeouts(read: u64, write: u64, idle: u64) -> ServiceSettings {
    ServiceSettings {
        timeouts: ServerTimeouts {
            read: Duration::from_secs(read),
            write: Duration::from_secs(write),
            idle: Duration::from_secs(idle),
        },
        ..test_settings()
    }
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut received))
        .await
        .expect("the server closes the connection")
        .expect("reading from the server");
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn a_request_slower_than_the_write_timeout_gets_a_503() {
    let harness = Harness::start_with(
        desired(),
        live_in_sync(),
        with_timeouts(10, 1, 120),
        |ports| {
            ports.store.list_gate.close();
        },
    )
    .await;
    let answer = harness.get("/api/v1/drift-records").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    let error = answer.json()["error"].as_str().unwrap().to_owned();
    assert!(error.contains("write timeout"), "{error}");
    harness.ports.store.list_gate.open();
    assert_eq!(harness.get("/health").await.status, StatusCode::OK);
    harness.stop().await.unwrap();
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let harness =
        Harness::start_with(desired(), live_in_sync(), with_timeouts(10, 30, 1), |_| {}).await;
    let mut stream = TcpStream::connect(harness.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    // The answer comes, then the connection stays open (keep-alive) until the idle
    // timeout closes it; without the timeout this would wait for PATIENCE and fail.
    let received = read_until_closed(&mut stream).await;
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    assert!(received.contains("healthy"), "{received}");
    harness.stop().await.unwrap();
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let harness =
        Harness::start_with(desired(), live_in_sync(), with_timeouts(1, 30, 120), |_| {}).await;
    let mut stream = TcpStream::connect(harness.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: te")
        .await
        .unwrap();
    let received = read_until_closed(&mut stream).await;
    assert!(!received.contains("healthy"), "{received}");
    // The server still serves everyone else.
    assert_eq!(harness.get("/health").await.status, StatusCode::OK);
    harness.stop().await.unwrap();
}
