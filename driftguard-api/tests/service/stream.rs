//! `GET /api/v1/stream`: Server-Sent Events as a client reads them: `hello`, `analysis`
//! and `drift` after full and targeted analyses, keep-alive comments that carry a quiet
//! stream past the server's timeouts and its connection cap, the end of streams at
//! shutdown, the cap on open streams, access control, and a hub's events.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use driftguard_api::{AuthConfig, ServerTimeouts, Service, ServiceSettings, serve};
use driftguard_core::testing::InMemoryStore;
use driftguard_core::{AnalysisNote, AnalysisResult, ClusterStatusDocument, DriftStore};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderMap};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::fixtures;
use crate::harness::{Harness, Metrics, test_settings, wait_until_async};

/// Far longer than any event below needs to arrive on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// The most streams a service keeps open at once.
const MAX_STREAMS: usize = 64;

const PATH: &str = "/api/v1/stream";

/// What a stream sent: an event, or a comment line.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Event { id: u64, name: String, data: Value },
    Comment(String),
}

/// An open event stream, read as a browser's `fetch` would.
struct EventStream {
    status: StatusCode,
    headers: HeaderMap,
    body: Incoming,
    buffer: String,
    /// Keeps the connection's sending half alive.
    _sender: hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
}

impl EventStream {
    async fn open(addr: SocketAddr, token: Option<&str>) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("HTTP handshake");
        tokio::spawn(connection);
        let mut request = Request::get(PATH).header(hyper::header::HOST, addr.to_string());
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = sender
            .send_request(request.body(Empty::new()).unwrap())
            .await
            .expect("an answer");
        let status = response.status();
        let headers = response.headers().clone();
        Self {
            status,
            headers,
            body: response.into_body(),
            buffer: String::new(),
            _sender: sender,
        }
    }

    /// Opens a stream and checks that it says hello first; returns the clusters it names.
    async fn hello(addr: SocketAddr, token: Option<&str>) -> (Self, Value) {
        let mut stream = Self::open(addr, token).await;
        if stream.status != StatusCode::OK {
            let status = stream.status;
            panic!("{status}: {}", stream.rest().await);
        }
        let header = |name| stream.headers.get(name).and_then(|v| v.to_str().ok());
        assert_eq!(header(CONTENT_TYPE), Some("text/event-stream"));
        assert_eq!(header(CACHE_CONTROL), Some("no-cache"));
        assert_eq!(
            header(hyper::header::HeaderName::from_static("x-accel-buffering")),
            Some("no")
        );
        let (id, data) = stream.event("hello").await;
        assert_eq!(id, 1);
        (stream, data)
    }

    /// The next item; `None` when the stream ended.
    async fn next_item(&mut self) -> Option<Item> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                return Some(parse(&block));
            }
            let frame = tokio::time::timeout(PATIENCE, self.body.frame())
                .await
                .expect("the stream sends something")?;
            let Ok(frame) = frame else { return None };
            if let Ok(data) = frame.into_data() {
                self.buffer
                    .push_str(std::str::from_utf8(&data).expect("UTF-8"));
            }
        }
    }

    /// The next event, skipping comments; `None` when the stream ended.
    async fn next_event(&mut self) -> Option<(u64, String, Value)> {
        loop {
            match self.next_item().await? {
                Item::Event { id, name, data } => return Some((id, name, data)),
                Item::Comment(_) => {}
            }
        }
    }

    /// The next event, which must be named `name`: its id and data.
    async fn event(&mut self, name: &str) -> (u64, Value) {
        let (id, got, data) = self.next_event().await.expect("the stream goes on");
        assert_eq!(got, name, "{data}");
        (id, data)
    }

    /// Everything left of a finite answer.
    async fn rest(&mut self) -> String {
        let mut text = std::mem::take(&mut self.buffer);
        while let Ok(Some(Ok(frame))) = tokio::time::timeout(PATIENCE, self.body.frame()).await {
            if let Ok(data) = frame.into_data() {
                text.push_str(&String::from_utf8_lossy(&data));
            }
        }
        text
    }
}

/// One event or comment, as the stream frames it.
fn parse(block: &str) -> Item {
    let block = block.trim_end_matches('\n');
    if let Some(comment) = block.strip_prefix(':') {
        assert!(!comment.contains('\n'), "one comment line: {block:?}");
        return Item::Comment(comment.trim().to_owned());
    }
    let mut id = None;
    let mut name = None;
    let mut data = None;
    for line in block.lines() {
        let (field, value) = line.split_once(": ").expect("`field: value`");
        match field {
            "id" => id = Some(value.parse().expect("a numeric id")),
            "event" => name = Some(value.to_owned()),
            "data" => {
                assert!(data.is_none(), "one data line: {block:?}");
                data = Some(serde_json::from_str(value).expect("JSON data"));
            }
            other => panic!("unexpected field {other:?} in {block:?}"),
        }
    }
    Item::Event {
        id: id.expect("an id"),
        name: name.expect("an event name"),
        data: data.expect("data"),
    }
}

/// An RFC 3339 time.
fn time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("a time string"))
        .unwrap_or_else(|e| panic!("{value} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_stream_says_hello_then_follows_each_full_analysis_and_its_drift() {
    let service = Harness::started(fixtures::desired(), fixtures::live_in_sync()).await;
    let (mut stream, hello) = EventStream::hello(service.addr, None).await;
    assert_eq!(hello, json!({"clusters": ["default"]}));

    let before = Utc::now();
    service.ports.live.inner.set(fixtures::live_drifted());
    service.analyze().await;
    let (id, analysis) = stream.event("analysis").await;
    assert_eq!(id, 2);
    assert_eq!(analysis["cluster"], "default");
    assert_eq!(analysis["mode"], "full");
    assert_eq!(analysis["outcome"], "success");
    assert!(
        time(&analysis["at"]) >= before - TimeDelta::seconds(1),
        "{analysis}"
    );
    assert_eq!(analysis["events"], 2, "{analysis}");
    let keys: Vec<&str> = analysis
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 5, "{analysis}");

    let mut drift = Vec::new();
    for wanted in 3..=4 {
        let (id, event) = stream.event("drift").await;
        assert_eq!(id, wanted);
        drift.push(event);
    }
    drift.sort_by_key(|e| e["resource_id"].as_str().unwrap().to_owned());
    let web = &drift[1];
    assert_eq!(web["resource_id"], "Deployment:shop:web");
    assert_eq!(web["cluster"], "default");
    assert_eq!(web["application"], "default");
    assert_eq!(web["kind"], "drift_detected");
    assert_eq!(web["severity"], "High");
    assert_eq!(web["drift_types"], json!(["Scaling", "VersionChange"]));
    assert_eq!(web["git_revision"], fixtures::REVISION);
    assert!(web["message"].is_string());
    time(&web["at"]);
    // Exactly the events endpoint's shape.
    let stored = service
        .get("/api/v1/drift-records/Deployment:shop:web/events")
        .await
        .json();
    assert_eq!(&stored["events"][0], web);
    assert_eq!(drift[0]["resource_id"], "ConfigMap:billing:settings");
    assert_eq!(drift[0]["kind"], "drift_detected");

    // Nothing changed: an analysis, no drift.
    service.analyze().await;
    let (id, analysis) = stream.event("analysis").await;
    assert_eq!(id, 5);
    assert_eq!(analysis["events"], 0);
    service.stop().await.unwrap();
}

#[tokio::test]
async fn a_live_change_streams_its_targeted_analysis() {
    let service = Harness::started(fixtures::desired(), fixtures::live_in_sync()).await;
    let (mut stream, _) = EventStream::hello(service.addr, None).await;
    service.ports.live.inner.set(fixtures::live_web_scaled());
    service.ports.live.changed(fixtures::web_id());
    let (_, analysis) = stream.event("analysis").await;
    assert_eq!(analysis["mode"], "targeted");
    assert_eq!(analysis["outcome"], "success");
    assert_eq!(analysis["events"], 1);
    let (_, drift) = stream.event("drift").await;
    assert_eq!(drift["resource_id"], "Deployment:shop:web");
    assert_eq!(drift["drift_types"], json!(["Scaling"]));
    assert_eq!(drift["severity"], "Medium");

    service.ports.live.inner.set(fixtures::live_in_sync());
    service.ports.live.changed(fixtures::web_id());
    let (_, analysis) = stream.event("analysis").await;
    assert_eq!(analysis["mode"], "targeted");
    let (_, drift) = stream.event("drift").await;
    assert_eq!(drift["resource_id"], "Deployment:shop:web");
    assert_eq!(drift["kind"], "drift_resolved");
    service.stop().await.unwrap();
}

#[tokio::test]
async fn a_failed_analysis_streams_its_failure() {
    let service = Harness::started(fixtures::desired(), fixtures::live_in_sync()).await;
    let (mut stream, _) = EventStream::hello(service.addr, None).await;
    service.ports.store.set_failing(true);
    service.analyze().await;
    let (_, analysis) = stream.event("analysis").await;
    assert_eq!(analysis["mode"], "full");
    assert_eq!(analysis["outcome"], "failure");
    assert_eq!(analysis["events"], 0);
    service.ports.store.set_failing(false);
    service.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_ends_open_streams_promptly() {
    let mut service = Harness::started(fixtures::desired(), fixtures::live_in_sync()).await;
    let (mut first, _) = EventStream::hello(service.addr, None).await;
    let (mut second, _) = EventStream::hello(service.addr, None).await;
    let started = tokio::time::Instant::now();
    service.begin_stop();
    assert_eq!(first.next_event().await, None);
    assert_eq!(second.next_event().await, None);
    service.finish().await.expect("a clean stop");
    // The grace period is a minute: nothing waited for it.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_quiet_stream_outlives_the_server_timeouts_with_keep_alive_comments() {
    let settings = ServiceSettings {
        timeouts: ServerTimeouts {
            read: Duration::from_secs(1),
            write: Duration::from_secs(1),
            idle: Duration::from_secs(1),
        },
        stream_keep_alive: Duration::from_millis(200),
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
    let (mut stream, _) = EventStream::hello(service.addr, None).await;
    let started = tokio::time::Instant::now();
    let mut comments = 0;
    // Three times each timeout.
    while started.elapsed() < Duration::from_secs(3) {
        match stream.next_item().await.expect("the stream stays open") {
            Item::Comment(text) => {
                assert_eq!(text, "keep-alive");
                comments += 1;
            }
            Item::Event { name, .. } => panic!("unexpected event {name}"),
        }
    }
    assert!(comments >= 10, "{comments} keep-alive comments in 3 s");
    // Still a working stream.
    service.ports.live.inner.set(fixtures::live_web_scaled());
    service.ports.live.changed(fixtures::web_id());
    let (_, analysis) = stream.event("analysis").await;
    assert_eq!(analysis["mode"], "targeted");
    service.stop().await.unwrap();
}

#[tokio::test]
async fn a_stream_is_busy_for_the_connection_cap() {
    let settings = ServiceSettings {
        max_connections: 1,
        stream_keep_alive: Duration::from_millis(100),
        ..test_settings()
    };
    let service = Harness::start_with(
        fixtures::desired(),
        fixtures::live_in_sync(),
        settings,
        |_| {},
    )
    .await;
    let (mut stream, _) = EventStream::hello(service.addr, None).await;
    // The only connection streams: a new one is refused (closed without an answer)
    // rather than the stream evicted.
    let mut other = TcpStream::connect(service.addr).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(PATIENCE, other.read_to_end(&mut received))
        .await
        .expect("the refused connection is closed")
        .ok();
    assert!(
        received.is_empty(),
        "{}",
        String::from_utf8_lossy(&received)
    );
    for _ in 0..3 {
        assert_eq!(
            stream.next_item().await,
            Some(Item::Comment("keep-alive".to_owned()))
        );
    }
    service.stop().await.unwrap();
}

fn streams_gauge(text: &str) -> Option<f64> {
    Metrics::parse(text).value("driftguard_http_streams", &[])
}

#[tokio::test]
async fn streams_beyond_the_cap_are_refused_with_a_503() {
    let service = Harness::started(fixtures::desired(), fixtures::live_in_sync()).await;
    assert_eq!(
        streams_gauge(&service.get("/metrics").await.text()),
        Some(0.0)
    );
    let mut streams = Vec::new();
    for _ in 0..MAX_STREAMS {
        streams.push(EventStream::hello(service.addr, None).await.0);
    }
    assert_eq!(
        streams_gauge(&service.get("/metrics").await.text()),
        Some(MAX_STREAMS as f64)
    );
    let mut refused = EventStream::open(service.addr, None).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = serde_json::from_str(&refused.rest().await).expect("a JSON error");
    let error = body["error"].as_str().unwrap();
    assert!(error.contains("event streams"), "{error}");

    // A client that goes away gives its place back.
    streams.pop();
    wait_until_async("a stream to close", || async {
        streams_gauge(&service.get("/metrics").await.text()) == Some((MAX_STREAMS - 1) as f64)
    })
    .await;
    let (_, hello) = EventStream::hello(service.addr, None).await;
    assert_eq!(hello["clusters"], json!(["default"]));
    service.stop().await.unwrap();
}

#[tokio::test]
async fn head_answers_the_headers_and_holds_no_stream_open() {
    let service = Harness::started(fixtures::desired(), fixtures::live_in_sync()).await;
    let answer = service.request(hyper::Method::HEAD, PATH).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type, "text/event-stream");
    assert!(answer.body.is_empty());
    wait_until_async("no stream to be open", || async {
        streams_gauge(&service.get("/metrics").await.text()) == Some(0.0)
    })
    .await;
    service.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_parameters_are_refused() {
    let service = Harness::started(fixtures::desired(), fixtures::live_in_sync()).await;
    let answer = service.get("/api/v1/stream?cluster=default").await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    service.stop().await.unwrap();
}

#[tokio::test]
async fn with_tokens_a_stream_needs_a_read_token() {
    const READER: &str = "stream-reader-2f9c41";
    const ANALYZER: &str = "stream-analyzer-8d03e7";
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.yaml");
    let hash = |token: &str| -> String {
        Sha256::digest(token.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    std::fs::write(
        &tokens,
        format!(
            "- name: reader\n  token_sha256: {}\n  scopes: [read]\n\
             - name: analyzer\n  token_sha256: {}\n  scopes: [analyze]\n",
            hash(READER),
            hash(ANALYZER)
        ),
    )
    .unwrap();
    let settings = ServiceSettings {
        auth: AuthConfig {
            tokens_file: Some(tokens),
            protect_metrics: false,
        },
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

    let mut anonymous = EventStream::open(service.addr, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert!(anonymous.rest().await.contains("error"));
    let mut analyzer = EventStream::open(service.addr, Some(ANALYZER)).await;
    assert_eq!(analyzer.status, StatusCode::FORBIDDEN);
    analyzer.rest().await;
    let (_, hello) = EventStream::hello(service.addr, Some(READER)).await;
    assert_eq!(hello, json!({"clusters": ["default"]}));
    service.stop().await.unwrap();
}

fn status_document(cluster: &str, at: DateTime<Utc>) -> ClusterStatusDocument {
    ClusterStatusDocument {
        cluster: cluster.to_owned(),
        leader: "agent-0".to_owned(),
        last_analysis: Some(AnalysisNote {
            at,
            outcome: AnalysisResult::Success,
        }),
        failing: Vec::new(),
        resources: 3,
        updated_at: at,
        expires_at: at + TimeDelta::hours(1),
        applications: Vec::new(),
    }
}

#[tokio::test]
async fn a_hub_streams_the_analyses_its_status_documents_report() {
    let store = Arc::new(InMemoryStore::new());
    let first = DateTime::parse_from_rfc3339("2025-03-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    store
        .publish_status(&status_document("east", first))
        .await
        .unwrap();
    let settings = ServiceSettings {
        interval: Duration::from_millis(100),
        ..test_settings()
    };
    let service = Service::with_clusters(store.clone(), Vec::new(), settings).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, service, async move {
        let _ = stopped.await;
    }));
    let (mut stream, hello) = EventStream::hello(addr, None).await;
    assert_eq!(hello, json!({"clusters": []}));
    // The hub has refreshed once: it knows the cluster.
    wait_until_async("the hub's first refresh", || async {
        let text = crate::harness::request(addr, hyper::Method::GET, "/metrics")
            .await
            .text();
        Metrics::parse(&text)
            .value("driftguard_cluster_ready", &[("cluster", "east")])
            .is_some()
    })
    .await;

    let second = first + TimeDelta::seconds(30);
    store
        .publish_status(&status_document("east", second))
        .await
        .unwrap();
    let (_, analysis) = stream.event("analysis").await;
    assert_eq!(
        analysis,
        json!({"cluster": "east", "mode": "full", "outcome": "success",
               "at": "2025-03-01T10:00:30Z", "events": null})
    );
    let _ = stop.send(());
    assert_eq!(stream.next_event().await, None);
    tokio::time::timeout(PATIENCE, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
