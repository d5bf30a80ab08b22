//! `max_connections`: idle connections make room for new ones, requests in progress are
//! never dropped, and only when every connection is busy is a new one refused.

use std::time::Duration;

use driftguard_api::ServiceSettings;
use hyper::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::fixtures::{desired, live_in_sync};
use crate::harness::{Harness, Metrics, request, test_settings, wait_until};

/// A new client must be answered within this, even with the server at its cap: far less
/// than any timeout that could close a connection for it (the idle timeout is 2 minutes).
const QUICKLY: Duration = Duration::from_secs(5);

fn capped(max_connections: usize) -> ServiceSettings {
    ServiceSettings {
        max_connections,
        ..test_settings()
    }
}

async fn open_idle(harness: &Harness, count: usize) -> Vec<TcpStream> {
    let mut sockets = Vec::with_capacity(count);
    for _ in 0..count {
        sockets.push(TcpStream::connect(harness.addr).await.unwrap());
    }
    sockets
}

/// Whether the server has closed `socket` (end of stream or reset) within `wait`.
async fn closed_within(socket: &mut TcpStream, wait: Duration) -> bool {
    let mut buffer = [0_u8; 64];
    match tokio::time::timeout(wait, socket.read(&mut buffer)).await {
        Ok(Ok(0) | Err(_)) => true,
        Ok(Ok(n)) => panic!(
            "the server sent {n} bytes to a client that sent nothing: {:?}",
            String::from_utf8_lossy(&buffer[..n])
        ),
        Err(_) => false,
    }
}

async fn scrape(harness: &Harness) -> Metrics {
    Metrics::parse(&harness.get("/metrics").await.text())
}

async fn timed_health(harness: &Harness) {
    let started = Instant::now();
    let answer = tokio::time::timeout(QUICKLY, harness.get("/health"))
        .await
        .expect("an answer while the server is at its connection cap");
    assert_eq!(answer.status, StatusCode::OK);
    assert!(started.elapsed() < QUICKLY);
}

#[tokio::test]
async fn at_the_cap_the_longest_idle_connection_makes_room() {
    let harness = Harness::start_with(desired(), live_in_sync(), capped(100), |_| {}).await;
    let mut idle = open_idle(&harness, 500).await;

    // The listener accepts in order, so by the time this client is served every idle
    // socket has been accepted, and 400 of them closed to make room.
    timed_health(&harness).await;
    let metrics = scrape(&harness).await;
    let open = metrics
        .value("driftguard_http_connections", &[])
        .expect("the open connections gauge");
    // At most the cap, and for an instant the idle connection closing for this scrape.
    assert!(open <= 101.0, "{open} open connections");
    let evicted = metrics
        .value("driftguard_http_connections_evicted_total", &[])
        .unwrap();
    assert!(evicted >= 401.0, "{evicted} evicted");
    assert_eq!(
        metrics.value("driftguard_http_connections_refused_total", &[]),
        Some(0.0)
    );

    // The longest idle went first; the newest are still open.
    assert!(closed_within(&mut idle[0], QUICKLY).await);
    assert!(closed_within(&mut idle[399], QUICKLY).await);
    assert!(!closed_within(&mut idle[499], Duration::from_millis(200)).await);

    // An idle socket that then sends a request is served as usual.
    let last = idle.last_mut().unwrap();
    last.write_all(b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(QUICKLY, last.read_to_end(&mut received))
        .await
        .expect("an answer")
        .unwrap();
    let received = String::from_utf8_lossy(&received);
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    drop(idle);
    harness.stop().await.unwrap();
}

#[tokio::test]
async fn a_request_in_progress_is_not_dropped_when_the_cap_is_reached() {
    let harness = Harness::start_with(desired(), live_in_sync(), capped(100), |ports| {
        ports.store.list_gate.close();
    })
    .await;
    let addr = harness.addr;
    let slow = tokio::spawn(request(addr, Method::GET, "/api/v1/drift-records"));
    wait_until("the slow request to be in progress", || {
        harness.ports.store.list_gate.waiting() == 1
    })
    .await;

    // Five times the cap of idle connections: every one of them but the slow request's
    // is a candidate to make room.
    let idle = open_idle(&harness, 500).await;
    timed_health(&harness).await;

    harness.ports.store.list_gate.open();
    let answer = tokio::time::timeout(QUICKLY, slow)
        .await
        .expect("the slow request is answered")
        .unwrap();
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert!(answer.json()["count"].is_number(), "{}", answer.text());
    drop(idle);
    harness.stop().await.unwrap();
}

#[tokio::test]
async fn with_every_connection_busy_a_new_one_is_refused_at_once() {
    let harness = Harness::start_with(desired(), live_in_sync(), capped(2), |ports| {
        ports.store.list_gate.close();
    })
    .await;
    let addr = harness.addr;
    let slow: Vec<_> = (0..2)
        .map(|_| tokio::spawn(request(addr, Method::GET, "/api/v1/drift-records")))
        .collect();
    wait_until("both slow requests to be in progress", || {
        harness.ports.store.list_gate.waiting() == 2
    })
    .await;

    // Closed at once, without an answer; no waiting for a slot.
    let started = Instant::now();
    let mut refused = TcpStream::connect(addr).await.unwrap();
    let _ = refused
        .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        .await;
    assert!(closed_within(&mut refused, QUICKLY).await, "refused");
    assert!(started.elapsed() < QUICKLY);

    // The busy connections finish their requests.
    harness.ports.store.list_gate.open();
    for request in slow {
        let answer = tokio::time::timeout(QUICKLY, request)
            .await
            .expect("the slow request is answered")
            .unwrap();
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    }
    // Their clients have closed them, so there is room again.
    let metrics = scrape(&harness).await;
    assert_eq!(
        metrics.value("driftguard_http_connections_refused_total", &[]),
        Some(1.0)
    );
    harness.stop().await.unwrap();
}
