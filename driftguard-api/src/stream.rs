//! `GET /api/v1/stream`: Server-Sent Events, so that a page follows the analyses without
//! reloading.
//!
//! The analysis loops publish an `analysis` event after every finished analysis of a
//! cluster this instance leads, then one `drift` event per lifecycle event it stored; a
//! hub, which analyses nothing, publishes an `analysis` event when a cluster's status
//! document reports a newer analysis than at its previous refresh. Each event is
//! serialized once and fanned out to every open stream through a bounded broadcast
//! channel; a stream that falls more than [`CHANNEL_CAPACITY`] events behind gets a
//! `lagged` event saying how many it missed, and goes on.
//!
//! A stream is a request that lasts: its connection counts as busy for as long as it is
//! open, so neither the idle timeout nor the connection cap closes it, and it ends when
//! its connection is asked to close (at shutdown). A client that stops reading is cut
//! off once a chunk has waited longer than the write timeout to be taken.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::{DateTime, Utc};
use driftguard_core::{AnalysisNote, ClusterStatusDocument, DriftEvent};
use futures_util::Stream;
use hyper::body::Bytes;
use opentelemetry::metrics::Gauge;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use warp::Reply;
use warp::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use warp::http::{HeaderName, StatusCode};
use warp::reply::Response;

use crate::Service;
use crate::connection::{Busy, ConnectionHandle};
use crate::http::reply::ApiError;
use crate::metrics::AnalysisMode;

/// Events buffered for the slowest stream before it misses some.
pub(crate) const CHANNEL_CAPACITY: usize = 256;

/// Most streams open at once; more are answered 503.
pub(crate) const MAX_STREAMS: usize = 64;

/// The default time between two keep-alive comments of an otherwise quiet stream.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The keep-alive comment.
const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// One event as published: its name and its JSON data, serialized once for every stream.
#[derive(Debug)]
struct Published {
    name: &'static str,
    data: String,
}

impl Published {
    fn new(name: &'static str, data: &impl Serialize) -> Option<Self> {
        match serde_json::to_string(data) {
            Ok(data) => Some(Self { name, data }),
            Err(error) => {
                tracing::error!(%error, event = name, "❌ cannot serialize a stream event");
                None
            }
        }
    }

    /// The event as the stream sends it, numbered `id`.
    fn frame(&self, id: u64) -> Bytes {
        Bytes::from(format!(
            "id: {id}\nevent: {}\ndata: {}\n\n",
            self.name, self.data
        ))
    }
}

/// `hello`: the stream works.
#[derive(Serialize)]
struct Hello<'a> {
    clusters: Vec<&'a str>,
}

/// `analysis`: an analysis of `cluster` finished.
#[derive(Serialize)]
struct AnalysisData<'a> {
    cluster: &'a str,
    mode: &'static str,
    outcome: &'static str,
    at: DateTime<Utc>,
    /// The lifecycle events it stored; `null` when not known (a hub).
    events: Option<usize>,
}

/// `lagged`: the stream missed events.
#[derive(Serialize)]
struct Lagged {
    missed: u64,
}

/// Where events are published, and the count of open streams.
pub(crate) struct Streams {
    sender: broadcast::Sender<Arc<Published>>,
    open: Arc<AtomicUsize>,
    gauge: Gauge<u64>,
}

impl std::fmt::Debug for Streams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streams")
            .field("open", &self.open.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Streams {
    /// No stream open yet; `gauge` counts them (`driftguard_http_streams`).
    pub(crate) fn new(gauge: Gauge<u64>) -> Self {
        gauge.record(0, &[]);
        Self {
            sender: broadcast::channel(CHANNEL_CAPACITY).0,
            open: Arc::new(AtomicUsize::new(0)),
            gauge,
        }
    }

    fn listened(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    fn publish(&self, event: Option<Published>) {
        if let Some(event) = event {
            // No receiver: nobody is listening, nothing to do.
            let _ = self.sender.send(Arc::new(event));
        }
    }

    /// A successful analysis of `cluster` started at `at` (`analysis`), and the lifecycle
    /// events it stored (one `drift` each).
    pub(crate) fn succeeded(
        &self,
        cluster: &str,
        mode: AnalysisMode,
        at: DateTime<Utc>,
        events: &[DriftEvent],
    ) {
        if !self.listened() {
            return;
        }
        self.analysis(cluster, mode, "success", at, Some(events.len()));
        for event in events {
            self.publish(Published::new("drift", event));
        }
    }

    /// A failed analysis of `cluster` started at `at`: it stored nothing.
    pub(crate) fn failed(&self, cluster: &str, mode: AnalysisMode, at: DateTime<Utc>) {
        if self.listened() {
            self.analysis(cluster, mode, "failure", at, Some(0));
        }
    }

    fn analysis(
        &self,
        cluster: &str,
        mode: AnalysisMode,
        outcome: &'static str,
        at: DateTime<Utc>,
        events: Option<usize>,
    ) {
        let data = AnalysisData {
            cluster,
            mode: mode.as_str(),
            outcome,
            at,
            events,
        };
        self.publish(Published::new("analysis", &data));
    }

    /// Opens a stream for a client of `service` on `connection` (none when the routes run
    /// outside [`crate::serve`]): `200` and the events until the client goes away or the
    /// connection is asked to close; `503` when [`MAX_STREAMS`] are open.
    pub(crate) fn open(
        &self,
        service: &Service,
        connection: Option<ConnectionHandle>,
    ) -> Result<Response, ApiError> {
        let Some(slot) = self.slot() else {
            return Err(ApiError::with_status(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("too many event streams are open (at most {MAX_STREAMS}); retry later"),
            ));
        };
        let subscription = self.sender.subscribe();
        let hello = Hello {
            clusters: service.clusters().iter().map(|c| c.name()).collect(),
        };
        let hello = Published::new("hello", &hello)
            .ok_or_else(|| ApiError::internal("cannot open an event stream"))?;
        let (chunks, body) = mpsc::channel(1);
        let busy = connection.as_ref().map(ConnectionHandle::busy);
        tokio::spawn(feed(
            subscription,
            chunks,
            hello,
            service.settings().stream_keep_alive,
            connection,
        ));
        let body = EventBody {
            chunks: body,
            _slot: slot,
            _busy: busy,
        };
        let mut response = warp::reply::stream(body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(
            HeaderName::from_static("x-accel-buffering"),
            HeaderValue::from_static("no"),
        );
        Ok(response)
    }

    /// A place among the open streams; `None` at the cap.
    fn slot(&self) -> Option<StreamSlot> {
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < MAX_STREAMS).then_some(open + 1)
            })
            .ok()?;
        self.gauge.record(count(taken + 1), &[]);
        Some(StreamSlot {
            open: self.open.clone(),
            gauge: self.gauge.clone(),
        })
    }
}

fn count(open: usize) -> u64 {
    u64::try_from(open).unwrap_or(u64::MAX)
}

/// One open stream's place under [`MAX_STREAMS`], given back when the stream ends.
struct StreamSlot {
    open: Arc<AtomicUsize>,
    gauge: Gauge<u64>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let before = self.open.fetch_sub(1, Ordering::AcqRel);
        self.gauge.record(count(before.saturating_sub(1)), &[]);
    }
}

/// The response body: the chunks [`feed`] hands over, one at a time. Dropped by hyper when
/// the stream ends or the client goes away, which gives back its slot and lets its
/// connection be idle again.
struct EventBody {
    chunks: mpsc::Receiver<Bytes>,
    _slot: StreamSlot,
    _busy: Option<Busy>,
}

impl Stream for EventBody {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut()
            .chunks
            .poll_recv(cx)
            .map(|chunk| chunk.map(Ok))
    }
}

/// Why [`feed`] stops.
enum Handover {
    Sent,
    Stop,
}

/// Hands `hello`, then every published event (or `lagged`), and a keep-alive comment after
/// `keep_alive` of quiet, to the body through `chunks`; numbers the events from 1. Stops
/// when the body is dropped, when the connection is asked to close, or when a chunk has
/// waited longer than the write timeout to be taken (the client stopped reading: its
/// connection is closed).
async fn feed(
    mut subscription: broadcast::Receiver<Arc<Published>>,
    chunks: mpsc::Sender<Bytes>,
    hello: Published,
    keep_alive: Duration,
    connection: Option<ConnectionHandle>,
) {
    let close = connection
        .as_ref()
        .map_or_else(CancellationToken::new, |c| c.close_requested().clone());
    let mut id = 1;
    if let Handover::Stop = hand_over(&chunks, hello.frame(id), &close, connection.as_ref()).await {
        return;
    }
    loop {
        let chunk = tokio::select! {
            biased;
            () = close.cancelled() => return,
            () = chunks.closed() => return,
            received = subscription.recv() => match received {
                Ok(event) => {
                    id += 1;
                    event.frame(id)
                }
                Err(RecvError::Lagged(missed)) => {
                    let Some(lagged) = Published::new("lagged", &Lagged { missed }) else {
                        continue;
                    };
                    id += 1;
                    lagged.frame(id)
                }
                Err(RecvError::Closed) => return,
            },
            () = tokio::time::sleep(keep_alive) => Bytes::from_static(KEEP_ALIVE),
        };
        if let Handover::Stop = hand_over(&chunks, chunk, &close, connection.as_ref()).await {
            return;
        }
    }
}

/// Hands `chunk` to the body, within the connection's write timeout.
async fn hand_over(
    chunks: &mpsc::Sender<Bytes>,
    chunk: Bytes,
    close: &CancellationToken,
    connection: Option<&ConnectionHandle>,
) -> Handover {
    let Some(connection) = connection else {
        return match chunks.send(chunk).await {
            Ok(()) => Handover::Sent,
            Err(_) => Handover::Stop,
        };
    };
    tokio::select! {
        biased;
        () = close.cancelled() => Handover::Stop,
        sent = tokio::time::timeout(connection.write_timeout(), chunks.send(chunk)) => match sent {
            Ok(Ok(())) => Handover::Sent,
            Ok(Err(_)) => Handover::Stop,
            Err(_) => {
                tracing::debug!("closing an event stream whose client stopped reading");
                connection.abort();
                Handover::Stop
            }
        },
    }
}

/// What a hub last saw of each cluster's analyses, to publish an `analysis` event when a
/// status document reports a newer one.
#[derive(Debug, Default)]
pub(crate) struct FollowedAnalyses {
    /// `None` before the first refresh, which only takes note.
    seen: Option<BTreeMap<String, AnalysisNote>>,
}

impl FollowedAnalyses {
    /// Takes note of the last analysis of each cluster in `documents`, publishing those
    /// that changed since the previous call (all but at the first call).
    pub(crate) fn observe(&mut self, documents: &[ClusterStatusDocument], streams: &Streams) {
        let first = self.seen.is_none();
        let seen = self.seen.get_or_insert_with(BTreeMap::new);
        for document in documents {
            let Some(note) = document.last_analysis else {
                continue;
            };
            if seen.get(&document.cluster) == Some(&note) {
                continue;
            }
            seen.insert(document.cluster.clone(), note);
            if !first && streams.listened() {
                streams.analysis(
                    &document.cluster,
                    AnalysisMode::Full,
                    note.outcome.as_str(),
                    note.at,
                    None,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use driftguard_core::AnalysisResult;

    use super::*;

    fn gauge() -> Gauge<u64> {
        crate::metrics::Metrics::new()
            .expect("metrics")
            .streams_gauge()
    }

    fn document(
        cluster: &str,
        at: DateTime<Utc>,
        outcome: AnalysisResult,
    ) -> ClusterStatusDocument {
        ClusterStatusDocument {
            cluster: cluster.to_owned(),
            leader: "a".to_owned(),
            last_analysis: Some(AnalysisNote { at, outcome }),
            failing: Vec::new(),
            resources: 1,
            updated_at: at,
            expires_at: at,
            applications: Vec::new(),
        }
    }

    fn received(subscription: &mut broadcast::Receiver<Arc<Published>>) -> Vec<String> {
        let mut events = Vec::new();
        while let Ok(event) = subscription.try_recv() {
            events.push(format!("{} {}", event.name, event.data));
        }
        events
    }

    #[test]
    fn events_are_framed_with_their_id_name_and_one_data_line() {
        let event = Published::new("lagged", &Lagged { missed: 3 }).expect("JSON");
        assert_eq!(
            event.frame(7),
            Bytes::from_static(b"id: 7\nevent: lagged\ndata: {\"missed\":3}\n\n")
        );
    }

    #[test]
    fn a_hub_publishes_analyses_that_changed_since_its_previous_refresh() {
        let streams = Streams::new(gauge());
        let mut subscription = streams.sender.subscribe();
        let mut followed = FollowedAnalyses::default();
        let at = DateTime::parse_from_rfc3339("2025-03-01T10:00:00Z")
            .expect("a time")
            .with_timezone(&Utc);
        let later = at + TimeDelta::seconds(30);
        followed.observe(&[document("east", at, AnalysisResult::Success)], &streams);
        assert!(
            received(&mut subscription).is_empty(),
            "the first refresh only notes"
        );
        followed.observe(&[document("east", at, AnalysisResult::Success)], &streams);
        assert!(received(&mut subscription).is_empty());
        followed.observe(
            &[
                document("east", later, AnalysisResult::Failure),
                document("west", at, AnalysisResult::Success),
            ],
            &streams,
        );
        assert_eq!(
            received(&mut subscription),
            [
                r#"analysis {"cluster":"east","mode":"full","outcome":"failure","at":"2025-03-01T10:00:30Z","events":null}"#,
                r#"analysis {"cluster":"west","mode":"full","outcome":"success","at":"2025-03-01T10:00:00Z","events":null}"#,
            ]
        );
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_is_disconnected() {
        let connection = ConnectionHandle::detached(Duration::from_millis(50));
        // Nobody takes the chunks: the first one fills the channel, the next one waits.
        let (chunks, _unread) = mpsc::channel(1);
        let (sender, _) = broadcast::channel(4);
        let hello = Published::new("hello", &Hello { clusters: vec![] }).expect("JSON");
        let fed = feed(
            sender.subscribe(),
            chunks,
            hello,
            Duration::from_millis(10),
            Some(connection.clone()),
        );
        tokio::time::timeout(Duration::from_secs(30), fed)
            .await
            .expect("the stream gives up");
        assert!(connection.aborted());
    }

    #[tokio::test]
    async fn a_stream_ends_when_its_connection_is_asked_to_close() {
        let connection = ConnectionHandle::detached(Duration::from_secs(30));
        let (chunks, mut body) = mpsc::channel(1);
        let (sender, _) = broadcast::channel(4);
        let hello = Published::new("hello", &Hello { clusters: vec![] }).expect("JSON");
        let fed = tokio::spawn(feed(
            sender.subscribe(),
            chunks,
            hello,
            Duration::from_secs(15),
            Some(connection.clone()),
        ));
        assert!(body.recv().await.is_some(), "hello");
        connection.close_requested().cancel();
        assert!(body.recv().await.is_none(), "the body ends");
        fed.await.expect("feed returns");
        assert!(!connection.aborted());
    }

    #[tokio::test]
    async fn a_stream_that_falls_behind_says_how_many_events_it_missed() {
        let (chunks, mut body) = mpsc::channel(1);
        let (sender, _) = broadcast::channel(4);
        let hello = Published::new("hello", &Hello { clusters: vec![] }).expect("JSON");
        let subscription = sender.subscribe();
        for n in 1..=10 {
            let event = Published::new("drift", &n).expect("JSON");
            sender.send(Arc::new(event)).expect("a receiver");
        }
        // The feed runs only once this test awaits: all ten were published before.
        tokio::spawn(feed(
            subscription,
            chunks,
            hello,
            Duration::from_secs(15),
            None,
        ));
        let mut received = Vec::new();
        for _ in 0..6 {
            let chunk = body.recv().await.expect("a chunk");
            received.push(String::from_utf8(chunk.to_vec()).expect("UTF-8"));
        }
        assert_eq!(
            received,
            [
                "id: 1\nevent: hello\ndata: {\"clusters\":[]}\n\n",
                "id: 2\nevent: lagged\ndata: {\"missed\":6}\n\n",
                "id: 3\nevent: drift\ndata: 7\n\n",
                "id: 4\nevent: drift\ndata: 8\n\n",
                "id: 5\nevent: drift\ndata: 9\n\n",
                "id: 6\nevent: drift\ndata: 10\n\n",
            ]
        );
    }

    #[test]
    fn streams_are_held_to_the_cap() {
        let streams = Streams::new(gauge());
        let slots: Vec<StreamSlot> = (0..MAX_STREAMS)
            .map(|_| streams.slot().expect("a slot"))
            .collect();
        assert!(streams.slot().is_none());
        drop(slots);
        assert_eq!(streams.open.load(Ordering::SeqCst), 0);
        assert!(streams.slot().is_some());
    }
}
