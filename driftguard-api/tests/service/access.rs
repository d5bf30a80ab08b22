//! Access control as a client sees it: bearer tokens and scopes on every route, public
//! paths, tokens in URLs refused, the tokens file rotated while serving, `/ready` without
//! details, `/metrics` protected on request, and the analysis rate limit.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use driftguard_api::{AuthConfig, RateLimitConfig, Service, ServiceSettings, serve};
use driftguard_core::Detector;
use driftguard_core::analysis::DetectionSettings;
use driftguard_core::ports::{EventFilter, EventPage, RecordFilter};
use driftguard_core::stats::{DriftStatistics, StatusCounts};
use driftguard_core::testing::{InMemoryDesired, InMemoryLive, InMemoryStore};
use driftguard_core::{
    ClusterStatusDocument, DriftEvent, DriftRecord, DriftStore, PortError, PortErrorKind,
    ResourceId,
};
use http_body_util::Empty;
use hyper::header::{AUTHORIZATION, HeaderMap, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::fixtures;
use crate::harness::{Harness, Metrics, test_settings, wait_until_async};

const READER: &str = "reader-token-5b1d7c";
const ANALYZER: &str = "analyzer-token-93e0aa";
const ADMIN: &str = "admin-token-c4f2e8";
const UNKNOWN: &str = "not-a-configured-token";

/// The usual tokens: one per combination of scopes.
const TOKENS: [(&str, &str, &[&str]); 3] = [
    ("reader", READER, &["read"]),
    ("analyzer", ANALYZER, &["analyze"]),
    ("admin", ADMIN, &["read", "analyze"]),
];

/// A tokens file in a temporary folder.
struct TokensFile {
    dir: TempDir,
    path: PathBuf,
}

impl TokensFile {
    fn new(entries: &[(&str, &str, &[&str])]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.yaml");
        let file = Self { dir, path };
        file.replace(entries);
        file
    }

    /// Replaces the file at once (written aside, then renamed), as a Secret mount or a
    /// careful operator does.
    fn replace(&self, entries: &[(&str, &str, &[&str])]) {
        let text: String = entries
            .iter()
            .map(|(name, token, scopes)| {
                format!(
                    "- name: {name}\n  token_sha256: {}\n  scopes: [{}]\n",
                    sha256_hex(token),
                    scopes.join(", ")
                )
            })
            .collect();
        self.replace_text(&text);
    }

    fn replace_text(&self, text: &str) {
        let aside = self.dir.path().join("tokens.yaml.new");
        std::fs::write(&aside, text).unwrap();
        std::fs::rename(&aside, &self.path).unwrap();
    }
}

/// What `printf %s "$TOKEN" | sha256sum` prints.
fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn settings(
    tokens: Option<&TokensFile>,
    protect_metrics: bool,
    per_minute: u32,
) -> ServiceSettings {
    ServiceSettings {
        auth: AuthConfig {
            tokens_file: tokens.map(|t| t.path.clone()),
            protect_metrics,
        },
        analyze_rate_limit: RateLimitConfig { per_minute },
        ..test_settings()
    }
}

/// An answer with its headers.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: hyper::header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One request on a fresh connection, with `authorization` as the header when given.
async fn send(addr: SocketAddr, method: Method, path: &str, authorization: Option<&str>) -> Reply {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, addr.to_string());
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = crate::harness::body_of(response).await;
    Reply {
        status,
        headers,
        body,
    }
}

/// One request with `token` as a bearer token when given.
async fn call(addr: SocketAddr, method: Method, path: &str, token: Option<&str>) -> Reply {
    let header = token.map(|t| format!("Bearer {t}"));
    send(addr, method, path, header.as_deref()).await
}

/// Every route the service serves, as `(method, path)`: the operations of
/// docs/openapi.yaml, which a unit test holds equal to the router's endpoints.
fn routes() -> Vec<(Method, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.yaml");
    let document: Value = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut routes = Vec::new();
    for (template, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            routes.push((
                method.to_uppercase().parse().unwrap(),
                template.replace("{resource_id}", "Deployment:shop:web"),
            ));
        }
    }
    routes
}

fn assert_unauthorized(reply: &Reply, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{what}: {}",
        reply.text()
    );
    let challenge = reply.header(WWW_AUTHENTICATE).unwrap_or_default();
    assert!(challenge.starts_with("Bearer"), "{what}: {challenge:?}");
    assert!(reply.json()["error"].is_string(), "{what}");
}

fn assert_forbidden(reply: &Reply, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::FORBIDDEN,
        "{what}: {}",
        reply.text()
    );
    let message = reply.json()["error"].as_str().unwrap().to_owned();
    assert!(message.contains("scope"), "{what}: {message}");
}

async fn started_with_tokens(
    tokens: &TokensFile,
    protect_metrics: bool,
    per_minute: u32,
) -> Harness {
    let harness = Harness::start_with(
        fixtures::desired(),
        fixtures::live_drifted(),
        settings(Some(tokens), protect_metrics, per_minute),
        |_| {},
    )
    .await;
    // `/ready` is open whatever the settings: ready means the first analysis is done.
    wait_until_async("the first analysis", || async {
        harness.get("/ready").await.status == StatusCode::OK
    })
    .await;
    harness
}

#[tokio::test]
async fn every_route_answers_each_kind_of_caller_as_its_scopes_allow() {
    let tokens = TokensFile::new(&TOKENS);
    let service = started_with_tokens(&tokens, false, 0).await;
    let callers: [(&str, Option<&str>); 5] = [
        ("no token", None),
        ("an unknown token", Some(UNKNOWN)),
        ("a read token", Some(READER)),
        ("an analyze token", Some(ANALYZER)),
        ("a read and analyze token", Some(ADMIN)),
    ];
    let routes = routes();
    assert_eq!(routes.len(), 14, "{routes:?}");
    for (method, path) in routes {
        let public = ["/health", "/ready", "/metrics"].contains(&path.as_str());
        for (caller, token) in callers {
            let what = format!("{method} {path} with {caller}");
            let reply = call(service.addr, method.clone(), &path, token).await;
            let wanted = if public {
                Some(StatusCode::OK)
            } else if method == Method::POST {
                match token {
                    Some(ANALYZER | ADMIN) => Some(StatusCode::ACCEPTED),
                    Some(READER) => None,
                    _ => Some(StatusCode::UNAUTHORIZED),
                }
            } else {
                match token {
                    Some(READER | ADMIN) => Some(StatusCode::OK),
                    Some(ANALYZER) => None,
                    _ => Some(StatusCode::UNAUTHORIZED),
                }
            };
            match wanted {
                Some(StatusCode::UNAUTHORIZED) => assert_unauthorized(&reply, &what),
                Some(status) => assert_eq!(reply.status, status, "{what}: {}", reply.text()),
                None => assert_forbidden(&reply, &what),
            }
        }
    }

    // HEAD reads like GET; other schemes and empty bearer tokens are not tokens.
    let reply = call(
        service.addr,
        Method::HEAD,
        "/api/v1/statistics",
        Some(READER),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = call(
        service.addr,
        Method::HEAD,
        "/api/v1/statistics",
        Some(ANALYZER),
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    for header in [
        format!("Basic {READER}"),
        "Bearer ".to_owned(),
        READER.to_owned(),
    ] {
        let reply = send(
            service.addr,
            Method::GET,
            "/api/v1/statistics",
            Some(&header),
        )
        .await;
        assert_unauthorized(&reply, &header);
    }
    // A path nobody made public needs a token before it can be found missing.
    assert_unauthorized(
        &call(service.addr, Method::GET, "/nope", None).await,
        "/nope",
    );
    assert_unauthorized(
        &call(service.addr, Method::GET, "/api/v1/nope", None).await,
        "/api/v1/nope",
    );
    let reply = call(service.addr, Method::GET, "/api/v1/nope", Some(READER)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    service.stop().await.unwrap();
}

#[tokio::test]
async fn dashboard_files_under_ui_need_no_token() {
    let tokens = TokensFile::new(&TOKENS);
    let service = started_with_tokens(&tokens, false, 0).await;
    for path in ["/ui/x", "/ui/", "/ui/assets/app.js", "/ui"] {
        let reply = call(service.addr, Method::GET, path, None).await;
        assert_ne!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_ne!(reply.status, StatusCode::FORBIDDEN, "{path}");
    }
    // Only what is under /ui/: a look-alike prefix is not public.
    assert_unauthorized(&call(service.addr, Method::GET, "/uix", None).await, "/uix");
    service.stop().await.unwrap();
}

#[tokio::test]
async fn a_token_in_the_url_never_authenticates() {
    let tokens = TokensFile::new(&TOKENS);
    let service = started_with_tokens(&tokens, false, 0).await;
    for (method, path) in [
        (Method::GET, format!("/api/v1/drift-records?token={READER}")),
        (
            Method::GET,
            format!("/api/v1/drift-records?access_token={READER}"),
        ),
        (
            Method::GET,
            format!("/api/v1/statistics?access_token={ADMIN}"),
        ),
        (Method::POST, format!("/api/v1/analyze?token={ADMIN}")),
        (
            Method::POST,
            format!("/api/v1/analyze?access_token={ADMIN}"),
        ),
    ] {
        let reply = call(service.addr, method.clone(), &path, None).await;
        assert_unauthorized(&reply, &path);
        let message = reply.json()["error"].as_str().unwrap().to_owned();
        assert!(message.contains("Authorization header"), "{message}");
        assert!(!reply.text().contains(READER) && !reply.text().contains(ADMIN));
    }
    service.stop().await.unwrap();
}

#[tokio::test]
async fn a_rotated_tokens_file_takes_effect_while_serving() {
    let tokens = TokensFile::new(&[("ci", "old-ci-token", &["read"])]);
    let service = started_with_tokens(&tokens, false, 0).await;
    let records = "/api/v1/drift-records";
    assert_eq!(
        call(service.addr, Method::GET, records, Some("old-ci-token"))
            .await
            .status,
        StatusCode::OK
    );

    tokens.replace(&[("ci", "new-ci-token", &["read"])]);
    let rotated = tokio::time::Instant::now();
    wait_until_async("the new token to be accepted", || async {
        call(service.addr, Method::GET, records, Some("new-ci-token"))
            .await
            .status
            == StatusCode::OK
    })
    .await;
    assert!(
        rotated.elapsed() < Duration::from_secs(10),
        "took {:?}",
        rotated.elapsed()
    );
    assert_unauthorized(
        &call(service.addr, Method::GET, records, Some("old-ci-token")).await,
        "the old token",
    );

    // A broken file keeps the tokens in force, and says so in /metrics.
    let valid = || async {
        let text = call(service.addr, Method::GET, "/metrics", None)
            .await
            .text();
        Metrics::parse(&text).value("driftguard_auth_tokens_file_valid", &[])
    };
    assert_eq!(valid().await, Some(1.0));
    tokens.replace_text("- name: ci\n  token_sha256: not-hex\n  scopes: [read]\n");
    wait_until_async("the broken file to be noticed", || async {
        valid().await == Some(0.0)
    })
    .await;
    assert_eq!(
        call(service.addr, Method::GET, records, Some("new-ci-token"))
            .await
            .status,
        StatusCode::OK
    );
    tokens.replace(&[("ci", "third-ci-token", &["read"])]);
    wait_until_async("the repaired file to be read", || async {
        valid().await == Some(1.0)
    })
    .await;
    assert_eq!(
        call(service.addr, Method::GET, records, Some("third-ci-token"))
            .await
            .status,
        StatusCode::OK
    );
    assert_unauthorized(
        &call(service.addr, Method::GET, records, Some("new-ci-token")).await,
        "the revoked token",
    );
    service.stop().await.unwrap();
}

/// A store that fails every call with an error naming its server's URL and a path.
struct UnreachableStore;

const STORE_URL: &str = "mongodb://db.internal.example:27017/driftguard";
const STORE_PATH: &str = "/var/lib/driftguard/drift.db";

fn unreachable() -> PortError {
    PortError::new(
        PortErrorKind::Unavailable,
        format!("cannot reach {STORE_URL} (cache {STORE_PATH}): connection refused"),
    )
}

#[async_trait]
impl DriftStore for UnreachableStore {
    async fn get(&self, _: &str, _: &ResourceId) -> Result<Option<DriftRecord>, PortError> {
        Err(unreachable())
    }

    async fn lookup(&self, _: &ResourceId) -> Result<Vec<DriftRecord>, PortError> {
        Err(unreachable())
    }

    async fn list(&self, _: &RecordFilter) -> Result<Vec<DriftRecord>, PortError> {
        Err(unreachable())
    }

    async fn save(&self, _: &[DriftRecord], _: &[DriftEvent]) -> Result<(), PortError> {
        Err(unreachable())
    }

    async fn events(&self, _: &EventFilter) -> Result<EventPage, PortError> {
        Err(unreachable())
    }

    async fn statistics(&self, _: Option<&str>) -> Result<DriftStatistics, PortError> {
        Err(unreachable())
    }

    async fn application_counts(
        &self,
    ) -> Result<BTreeMap<(String, String), StatusCounts>, PortError> {
        Err(unreachable())
    }

    async fn publish_status(&self, _: &ClusterStatusDocument) -> Result<(), PortError> {
        Err(unreachable())
    }

    async fn cluster_statuses(&self) -> Result<Vec<ClusterStatusDocument>, PortError> {
        Err(unreachable())
    }

    async fn cluster_counts(&self) -> Result<BTreeMap<String, StatusCounts>, PortError> {
        Err(unreachable())
    }

    async fn ping(&self) -> Result<(), PortError> {
        Err(unreachable())
    }
}

/// A detector over the in-memory sources of the fixtures and `store`.
fn detector(store: Arc<dyn DriftStore>) -> Detector {
    Detector::new(
        Arc::new(InMemoryDesired::new(fixtures::desired())),
        Arc::new(InMemoryLive::new(fixtures::live_in_sync())),
        store,
        DetectionSettings::default(),
    )
}

async fn ready_with_an_unreachable_store(tokens: Option<&TokensFile>) -> Value {
    let service = Service::new(
        detector(Arc::new(UnreachableStore)),
        settings(tokens, false, 0),
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(serve(listener, service, async move {
        let _ = stopped.await;
    }));
    wait_until_async("the first analysis to fail", || async {
        let text = call(addr, Method::GET, "/metrics", None).await.text();
        Metrics::parse(&text).sum("driftguard_analyses_total", &[("mode", "full")]) >= 1.0
    })
    .await;
    let reply = call(addr, Method::GET, "/ready", None).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.text()
    );
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
    reply.json()
}

#[tokio::test]
async fn ready_names_components_only_when_access_control_is_on() {
    // Without tokens, the reason says what failed, URL included.
    let open = ready_with_an_unreachable_store(None).await;
    assert!(open.to_string().contains(STORE_URL), "{open}");

    let tokens = TokensFile::new(&TOKENS);
    let closed = ready_with_an_unreachable_store(Some(&tokens)).await;
    let text = closed.to_string();
    for secret in [
        STORE_URL,
        "db.internal.example",
        STORE_PATH,
        "connection refused",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert_eq!(closed["status"], "not_ready");
    let components: Vec<&str> = closed["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["component"].as_str().unwrap())
        .collect();
    assert!(components.contains(&"store"), "{closed}");
    assert!(closed["message"].as_str().unwrap().contains("store"));
}

#[tokio::test]
async fn metrics_need_a_read_token_when_protected() {
    let tokens = TokensFile::new(&TOKENS);
    let service = started_with_tokens(&tokens, true, 0).await;
    assert_unauthorized(
        &call(service.addr, Method::GET, "/metrics", None).await,
        "none",
    );
    assert_unauthorized(
        &call(service.addr, Method::GET, "/metrics", Some(UNKNOWN)).await,
        "unknown",
    );
    assert_forbidden(
        &call(service.addr, Method::GET, "/metrics", Some(ANALYZER)).await,
        "analyze only",
    );
    let reply = call(service.addr, Method::GET, "/metrics", Some(READER)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.text().contains("driftguard_analyses_total"));
    // The probes stay open.
    assert_eq!(
        call(service.addr, Method::GET, "/health", None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        call(service.addr, Method::GET, "/ready", None).await.status,
        StatusCode::OK
    );
    service.stop().await.unwrap();
}

fn assert_too_many(reply: &Reply, limit_seconds: u64) {
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.text()
    );
    let retry: u64 = reply
        .header(RETRY_AFTER)
        .expect("a Retry-After header")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=limit_seconds).contains(&retry), "Retry-After {retry}");
    assert!(reply.json()["error"].as_str().unwrap().contains("too many"));
}

#[tokio::test]
async fn analysis_requests_are_limited_per_token() {
    let tokens = TokensFile::new(&TOKENS);
    let service = started_with_tokens(&tokens, false, 2).await;
    let analyze = "/api/v1/analyze";
    for _ in 0..2 {
        let reply = call(service.addr, Method::POST, analyze, Some(ADMIN)).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
    }
    assert_too_many(
        &call(service.addr, Method::POST, analyze, Some(ADMIN)).await,
        30,
    );
    // Another token has a limit of its own; reads are not limited.
    let reply = call(service.addr, Method::POST, analyze, Some(ANALYZER)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let reply = call(service.addr, Method::GET, "/api/v1/statistics", Some(ADMIN)).await;
    assert_eq!(reply.status, StatusCode::OK);
    // Access is checked before the limit: a wrong scope is still a 403.
    assert_forbidden(
        &call(service.addr, Method::POST, analyze, Some(READER)).await,
        "read",
    );
    service.stop().await.unwrap();
}

#[tokio::test]
async fn without_tokens_analysis_requests_are_limited_per_client_address() {
    let service = Harness::start_with(
        fixtures::desired(),
        fixtures::live_in_sync(),
        settings(None, false, 1),
        |_| {},
    )
    .await;
    let analyze = "/api/v1/analyze";
    assert_eq!(
        call(service.addr, Method::POST, analyze, None).await.status,
        StatusCode::ACCEPTED
    );
    assert_too_many(&call(service.addr, Method::POST, analyze, None).await, 60);
    // Without tokens a bearer header changes nothing: the address is the client.
    assert_too_many(
        &call(service.addr, Method::POST, analyze, Some(ADMIN)).await,
        60,
    );
    service.stop().await.unwrap();
}

#[tokio::test]
async fn an_invalid_tokens_file_stops_the_service_from_starting() {
    let tokens = TokensFile::new(&TOKENS);
    tokens.replace_text("- name: ci\n  token_sha256: abc\n  scopes: [read]\n");
    let error = Service::new(
        detector(Arc::new(InMemoryStore::new())),
        settings(Some(&tokens), false, 0),
    )
    .expect_err("an invalid tokens file")
    .to_string();
    assert!(error.contains("tokens.yaml"), "{error}");
    assert!(error.contains("entry 1 (`ci`)"), "{error}");
}
