//! A service on 127.0.0.1 over the test ports, an HTTP client, and waiting helpers.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use driftguard_api::{Service, ServiceSettings, serve};
use driftguard_core::analysis::DetectionSettings;
use driftguard_core::{DesiredSnapshot, Detector, DriftStore, LiveSnapshot};
use http_body_util::{BodyExt, Empty};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::fakes::{Ports, TestDesired, TestLive, TestStore};

/// The longest any condition is waited for; far beyond what a loaded machine needs.
const PATIENCE: Duration = Duration::from_secs(60);

/// Settings for tests: no periodic analyses (only the one at start and requested ones),
/// watch on, generous shutdown grace, no limit on analysis requests.
pub fn test_settings() -> ServiceSettings {
    ServiceSettings {
        analyze_rate_limit: driftguard_api::RateLimitConfig { per_minute: 0 },
        interval: Duration::from_secs(3600),
        periodic: false,
        watch: true,
        shutdown_grace: Duration::from_secs(60),
        ..ServiceSettings::default()
    }
}

/// One running service.
pub struct Harness {
    pub addr: SocketAddr,
    pub ports: Ports,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<driftguard_api::Result<()>>,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "answer is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).expect("a UTF-8 body")
    }
}

impl Harness {
    pub async fn start(desired: DesiredSnapshot, live: LiveSnapshot) -> Self {
        Self::start_with(desired, live, test_settings(), |_| {}).await
    }

    /// Starts a service; `prepare` runs on the ports before the service starts.
    pub async fn start_with(
        desired: DesiredSnapshot,
        live: LiveSnapshot,
        settings: ServiceSettings,
        prepare: impl FnOnce(&Ports),
    ) -> Self {
        Self::start_on(desired, live, settings, TestStore::default(), prepare).await
    }

    /// Starts a service over `store` (a real one) and waits for its first full analysis.
    pub async fn started_over(
        store: Arc<dyn DriftStore>,
        desired: DesiredSnapshot,
        live: LiveSnapshot,
    ) -> Self {
        let harness = Self::start_on(
            desired,
            live,
            test_settings(),
            TestStore::over(store),
            |_| {},
        )
        .await;
        harness.wait_for_full_analyses(1).await;
        harness
    }

    /// Starts a service with `settings` over `store`; `prepare` runs on the ports first.
    pub async fn start_on(
        desired: DesiredSnapshot,
        live: LiveSnapshot,
        settings: ServiceSettings,
        store: TestStore,
        prepare: impl FnOnce(&Ports),
    ) -> Self {
        let ports = Ports {
            desired: Arc::new(TestDesired::new(desired)),
            live: Arc::new(TestLive::new(live)),
            store: Arc::new(store),
        };
        prepare(&ports);
        let detector = Detector::new(
            ports.desired.clone(),
            ports.live.clone(),
            ports.store.clone(),
            DetectionSettings::default(),
        );
        let service = Service::new(detector, settings).expect("valid settings");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, service, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            ports,
            stop: Some(stop),
            task,
        }
    }

    /// Starts a service and waits for its first full analysis to finish.
    pub async fn started(desired: DesiredSnapshot, live: LiveSnapshot) -> Self {
        let harness = Self::start(desired, live).await;
        harness.wait_for_full_analyses(1).await;
        harness
    }

    pub async fn request(&self, method: Method, path: &str) -> Answer {
        request(self.addr, method, path).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.request(Method::GET, path).await
    }

    pub async fn post(&self, path: &str) -> Answer {
        self.request(Method::POST, path).await
    }

    /// Full analyses finished so far (successful or not), as `/metrics` counts them.
    pub async fn full_analyses(&self) -> f64 {
        let metrics = Metrics::parse(&self.get("/metrics").await.text());
        metrics.sum("driftguard_analyses_total", &[("mode", "full")])
    }

    pub async fn wait_for_full_analyses(&self, count: usize) {
        let wanted = count as f64;
        wait_until_async(&format!("{count} full analyses"), || async {
            self.full_analyses().await >= wanted
        })
        .await;
    }

    /// Requests a full analysis and waits until it (or one after it) has finished.
    pub async fn analyze(&self) {
        let before = self.full_analyses().await;
        let answer = self.post("/api/v1/analyze").await;
        assert_eq!(answer.status, StatusCode::ACCEPTED);
        wait_until_async("the requested analysis", || async {
            self.full_analyses().await > before
        })
        .await;
    }

    /// Asks the service to stop and returns what `serve` returned.
    pub async fn stop(mut self) -> driftguard_api::Result<()> {
        self.begin_stop();
        self.finish().await
    }

    /// Fires the shutdown future without waiting.
    pub fn begin_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits for `serve` to return.
    pub async fn finish(self) -> driftguard_api::Result<()> {
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("serve returns after shutdown")
            .expect("serve does not panic")
    }
}

/// One request on a fresh connection.
pub async fn request(addr: SocketAddr, method: Method, path: &str) -> Answer {
    let stream = TcpStream::connect(addr)
        .await
        .expect("connect to the service");
    request_on(stream, &addr.to_string(), method, path).await
}

/// One request on `stream`, a fresh connection (plain TCP, or TLS over it) to `host`.
pub async fn request_on<S>(stream: S, host: &str, method: Method, path: &str) -> Answer
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
    tokio::spawn(connection);
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, host)
        .body(Empty::<Bytes>::new())
        .expect("a valid request");
    let response = sender.send_request(request).await.expect("an answer");
    let status = response.status();
    let content_type = response
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = body_of(response).await;
    Answer {
        status,
        content_type,
        body,
    }
}

/// The whole body of `response`; of an event stream, which does not end, what it sent up
/// to the end of its first event.
pub async fn body_of(response: hyper::Response<hyper::body::Incoming>) -> Bytes {
    let event_stream = response
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let mut body = response.into_body();
    if !event_stream {
        return body.collect().await.expect("the whole body").to_bytes();
    }
    let mut received = Vec::new();
    while !received.windows(2).any(|w| w == b"\n\n") {
        let frame = tokio::time::timeout(PATIENCE, body.frame())
            .await
            .expect("the stream's first event");
        match frame {
            Some(frame) => {
                if let Ok(data) = frame.expect("a body frame").into_data() {
                    received.extend_from_slice(&data);
                }
            }
            None => break,
        }
    }
    Bytes::from(received)
}

/// Polls `condition` until it holds; fails after a very generous bound.
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    wait_until_async(what, || std::future::ready(condition())).await;
}

/// Polls an async `condition` until it holds; fails after a very generous bound.
pub async fn wait_until_async<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if condition().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Samples of a Prometheus text exposition.
#[derive(Debug)]
pub struct Metrics {
    pub samples: Vec<(String, BTreeMap<String, String>, f64)>,
    pub text: String,
}

impl Metrics {
    pub fn parse(text: &str) -> Self {
        let mut samples = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            let value: f64 = value.parse().expect("a sample value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let labels = rest.strip_suffix('}').expect("closed labels");
                    let labels = labels
                        .split("\",")
                        .filter(|l| !l.is_empty())
                        .map(|pair| {
                            let (k, v) = pair.split_once("=\"").expect("a label");
                            (k.to_owned(), v.trim_end_matches('"').to_owned())
                        })
                        .collect();
                    (name.to_owned(), labels)
                }
                None => (series.to_owned(), BTreeMap::new()),
            };
            samples.push((name, labels, value));
        }
        Self {
            samples,
            text: text.to_owned(),
        }
    }

    /// The value of the one sample with exactly these labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|(n, l, _)| n == name && *l == wanted)
            .map(|(_, _, v)| *v)
    }

    /// The sum of the samples whose labels include these.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }

    /// The names of every family, from the `# TYPE` lines, with their types.
    pub fn types(&self) -> BTreeMap<String, String> {
        self.text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_once(' '))
            .map(|(n, t)| (n.to_owned(), t.to_owned()))
            .collect()
    }
}
