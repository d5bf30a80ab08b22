//! No token ever appears in the service's log, at any level: not when it is accepted,
//! refused, sent in a URL, rate limited, or pasted into the tokens file by mistake. Tokens
//! are logged by name.
//!
//! A test binary of its own, so that its subscriber can be the global one and sees every
//! line the service logs, whatever thread it runs on.

#![allow(clippy::unwrap_used, missing_docs, dead_code)]

#[path = "service/fakes.rs"]
mod fakes;
#[path = "service/fixtures.rs"]
mod fixtures;
#[path = "service/harness.rs"]
mod harness;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use driftguard_api::{AuthConfig, RateLimitConfig, ServiceSettings};
use http_body_util::{BodyExt, Empty};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;

use crate::harness::{Harness, test_settings, wait_until, wait_until_async};

const READER: &str = "reader-5f0c1e9a7d";
const ADMIN: &str = "admin-8b2d6a4c3e";
const UNKNOWN: &str = "unknown-1a9e7f3b2c";
const PASTED: &str = "pasted-raw-token-0d4b8e6f1a";
const ROTATED: &str = "rotated-7c3a5e9d0b";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn entry(name: &str, token: &str, scopes: &str) -> String {
    let digest: String = Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("- name: {name}\n  token_sha256: {digest}\n  scopes: [{scopes}]\n")
}

fn replace(path: &std::path::Path, text: &str) {
    let aside = path.with_extension("new");
    std::fs::write(&aside, text).unwrap();
    std::fs::rename(&aside, path).unwrap();
}

async fn call(service: &Harness, method: Method, path: &str, token: Option<&str>) -> StatusCode {
    let stream = TcpStream::connect(service.addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, service.addr.to_string());
    if let Some(token) = token {
        request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    response.into_body().collect().await.unwrap();
    status
}

#[tokio::test]
async fn tokens_never_appear_in_the_log() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.yaml");
    replace(
        &tokens,
        &(entry("reader", READER, "read") + &entry("admin", ADMIN, "read, analyze")),
    );
    let settings = ServiceSettings {
        auth: AuthConfig {
            tokens_file: Some(tokens.clone()),
            protect_metrics: false,
        },
        analyze_rate_limit: RateLimitConfig { per_minute: 1 },
        ..test_settings()
    };
    let service = Harness::start_with(
        fixtures::desired(),
        fixtures::live_in_sync(),
        settings,
        |_| {},
    )
    .await;
    service.wait_for_full_analyses(1).await;

    let records = "/api/v1/drift-records";
    assert_eq!(
        call(&service, Method::GET, records, Some(READER)).await,
        StatusCode::OK
    );
    assert_eq!(
        call(&service, Method::GET, records, Some(UNKNOWN)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&service, Method::POST, "/api/v1/analyze", Some(READER)).await,
        StatusCode::FORBIDDEN
    );
    for path in [
        format!("{records}?token={READER}"),
        format!("{records}?access_token={ADMIN}"),
    ] {
        assert_eq!(
            call(&service, Method::GET, &path, None).await,
            StatusCode::UNAUTHORIZED
        );
    }
    // With a valid header, a URL token is an unknown parameter, and still not logged.
    let path = format!("{records}?access_token={ADMIN}");
    assert_eq!(
        call(&service, Method::GET, &path, Some(READER)).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(&service, Method::POST, "/api/v1/analyze", Some(ADMIN)).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        call(&service, Method::POST, "/api/v1/analyze", Some(ADMIN)).await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // A raw token pasted where its digest belongs: refused without being repeated.
    replace(
        &tokens,
        &format!("- name: pasted\n  token_sha256: {PASTED}\n  scopes: [read]\n"),
    );
    wait_until("the invalid tokens file to be logged", || {
        captured.text().contains("entry 1 (`pasted`)")
    })
    .await;
    replace(&tokens, &entry("rotated", ROTATED, "read"));
    wait_until_async("the rotated token to work", || async {
        call(&service, Method::GET, records, Some(ROTATED)).await == StatusCode::OK
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    service.stop().await.unwrap();

    let log = captured.text();
    for token in [READER, ADMIN, UNKNOWN, PASTED, ROTATED] {
        assert!(!log.contains(token), "{token} is in the log:\n{log}");
    }
    // Tokens are known by name.
    assert!(log.contains(r#""token":"reader""#), "{log}");
    assert!(log.contains(r#""token":"rotated""#), "{log}");
    assert!(log.contains("unknown bearer token"), "{log}");
    assert!(log.contains("token in its URL"), "{log}");
    assert!(log.contains("over server.analyze_rate_limit"), "{log}");
}
