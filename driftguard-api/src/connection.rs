//! One HTTP/1.1 connection, held to the server's read, write and idle timeouts.
//!
//! - **read**: a request's headers must arrive within `read` of its first byte, so a
//!   client that trickles a request cannot hold a connection;
//! - **write**: a request must be answered within `write`; past it the client gets a 503
//!   JSON error instead of waiting on a stuck store;
//! - **idle**: a keep-alive connection with no request for `idle` is closed.
//!
//! hyper's own header timer also runs while a keep-alive connection sits idle, which would
//! tie the idle timeout to the read timeout; a small watchdog per connection keeps them apart.
//!
//! An event stream (`GET /api/v1/stream`) is a request that lasts: the connection is busy
//! while it streams (neither idle nor evicted at the connection cap), the write timeout
//! applies to each chunk it hands over rather than to the whole answer, and the stream ends
//! when the connection is asked to close.
//!
//! Over HTTPS the TLS handshake comes first and must finish within `read`; the timeouts
//! above then apply to the HTTP exchanged inside TLS. A connection asked to close (to make
//! room under the connection cap, or at shutdown) closes at once when idle and otherwise
//! after answering the request it is handling.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower_service::Service as _;

use crate::auth::filter::ClientAddress;
use crate::capacity::Slot;
use crate::http::reply::ApiError;

/// The server's connection timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerTimeouts {
    /// Longest time from a request's first byte to the end of its headers.
    pub read: Duration,
    /// Longest time to handle a request and produce its answer.
    pub write: Duration,
    /// Longest time a keep-alive connection may wait for its next request.
    pub idle: Duration,
}

impl Default for ServerTimeouts {
    /// 10 s to read, 30 s to answer, 120 s idle.
    fn default() -> Self {
        Self {
            read: Duration::from_secs(10),
            write: Duration::from_secs(30),
            idle: Duration::from_secs(120),
        }
    }
}

const NONE: u64 = u64::MAX;

/// What the watchdog (and the connection cap) needs to know about a connection, updated by
/// its reads and requests.
pub(crate) struct Activity {
    start: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds since `start` of the first byte of a request not yet being handled.
    pending_since: AtomicU64,
    /// Milliseconds since `start` of the last answer (or of the connection's start).
    last_done: AtomicU64,
    /// Set when the connection must close at once, whatever it is doing.
    aborted: AtomicBool,
    changed: Notify,
}

impl Activity {
    /// A connection that has just been accepted: idle since now.
    pub(crate) fn new() -> Self {
        Self {
            start: Instant::now(),
            in_flight: AtomicUsize::new(0),
            pending_since: AtomicU64::new(NONE),
            last_done: AtomicU64::new(0),
            aborted: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn at(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    fn bytes_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0
            && self
                .pending_since
                .compare_exchange(NONE, self.now_ms(), Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.changed.notify_one();
        }
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.pending_since.store(NONE, Ordering::Release);
        self.changed.notify_one();
    }

    fn request_done(&self) {
        self.last_done.store(self.now_ms(), Ordering::Release);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.changed.notify_one();
    }

    /// Closes the connection at once, even while it answers.
    fn abort(&self) {
        self.aborted.store(true, Ordering::Release);
        self.changed.notify_one();
    }

    /// Since when the connection has been idle: no request being handled and none being
    /// received. `None` while it is busy.
    pub(crate) fn idle_since(&self) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0
            || self.pending_since.load(Ordering::Acquire) != NONE
        {
            return None;
        }
        Some(self.at(self.last_done.load(Ordering::Acquire)))
    }

    /// When the connection must be closed if nothing happens before; `None` while a
    /// request is being handled (the write timeout covers that).
    fn deadline(&self, timeouts: &ServerTimeouts) -> Option<Instant> {
        if self.aborted.load(Ordering::Acquire) {
            return Some(self.start);
        }
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        match self.pending_since.load(Ordering::Acquire) {
            NONE => Some(self.at(self.last_done.load(Ordering::Acquire)) + timeouts.idle),
            since => Some(self.at(since) + timeouts.read),
        }
    }
}

/// Keeps a connection busy while an answer outlasts its request handler (an event stream
/// whose body is still being sent); idle again when dropped.
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.request_done();
    }
}

tokio::task_local! {
    /// The connection whose request is being handled, while its handler runs.
    static CONNECTION: ConnectionHandle;
}

/// The connection of the request being handled; `None` outside [`serve_connection`] (the
/// routes embedded in another server).
pub(crate) fn current() -> Option<ConnectionHandle> {
    CONNECTION.try_with(ConnectionHandle::clone).ok()
}

/// What an answer that lasts needs of its connection: see [`current`].
#[derive(Clone)]
pub(crate) struct ConnectionHandle {
    activity: Arc<Activity>,
    close: CancellationToken,
    write_timeout: Duration,
}

impl ConnectionHandle {
    /// Marks the connection busy until the guard is dropped.
    pub(crate) fn busy(&self) -> Busy {
        self.activity.request_started();
        Busy(self.activity.clone())
    }

    /// Cancelled when the connection should close: at shutdown, or to make room.
    pub(crate) fn close_requested(&self) -> &CancellationToken {
        &self.close
    }

    /// The longest a chunk of an answer may wait to be sent.
    pub(crate) fn write_timeout(&self) -> Duration {
        self.write_timeout
    }

    /// Closes the connection at once: its client stopped reading.
    pub(crate) fn abort(&self) {
        self.activity.abort();
    }
}

#[cfg(test)]
impl ConnectionHandle {
    /// A handle on no real connection, for tests.
    pub(crate) fn detached(write_timeout: Duration) -> Self {
        Self {
            activity: Arc::new(Activity::new()),
            close: CancellationToken::new(),
            write_timeout,
        }
    }

    /// Whether the connection was asked to close at once.
    pub(crate) fn aborted(&self) -> bool {
        self.activity.aborted.load(Ordering::Acquire)
    }
}

/// A stream (TCP, or TLS over TCP) that reports reads to the connection's [`Activity`].
struct TrackedStream<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for TrackedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TrackedStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn write_timeout_reply(timeout: Duration) -> warp::reply::Response {
    ApiError::too_slow(format!(
        "the request was not answered within the server's write timeout ({}s)",
        timeout.as_secs_f64()
    ))
    .into_response()
}

/// Serves one connection, over TLS when `tls` is given, until the client closes it, a
/// timeout closes it, or its slot is asked to close (the request in flight, if any, is
/// answered first). The slot is given back when the connection is closed.
pub(crate) async fn serve_connection<F>(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    routes: F,
    timeouts: ServerTimeouts,
    slot: Slot,
) where
    F: warp::Filter + Clone + Send + Sync + 'static,
    F::Extract: warp::Reply,
{
    let activity = slot.activity().clone();
    let close = slot.close_requested().clone();
    let client = stream.peer_addr().ok().map(|peer| ClientAddress(peer.ip()));
    let Some(acceptor) = tls else {
        serve_http(stream, client, routes, timeouts, activity, close).await;
        return;
    };
    let handshake = tokio::time::timeout(timeouts.read, acceptor.accept(stream));
    let stream = tokio::select! {
        () = close.cancelled() => return,
        finished = handshake => match finished {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                tracing::debug!(%error, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!("closing a connection whose TLS handshake did not finish within the read timeout");
                return;
            }
        },
    };
    serve_http(stream, client, routes, timeouts, activity, close).await;
}

/// Serves HTTP/1.1 on `stream` until the client closes it, a timeout closes it, or `stop`
/// asks for a graceful close. Each request carries the `client` address in its extensions.
async fn serve_http<S, F>(
    stream: S,
    client: Option<ClientAddress>,
    routes: F,
    timeouts: ServerTimeouts,
    activity: Arc<Activity>,
    stop: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    F: warp::Filter + Clone + Send + Sync + 'static,
    F::Extract: warp::Reply,
{
    let io = TokioIo::new(TrackedStream {
        inner: stream,
        activity: activity.clone(),
    });
    let filtered = warp::service(routes);
    let service_activity = activity.clone();
    let handle = ConnectionHandle {
        activity: activity.clone(),
        close: stop.clone(),
        write_timeout: timeouts.write,
    };
    let service = service_fn(move |mut request: hyper::Request<Incoming>| {
        if let Some(client) = client {
            request.extensions_mut().insert(client);
        }
        let mut filtered = filtered.clone();
        let activity = service_activity.clone();
        let handle = handle.clone();
        async move {
            activity.request_started();
            let handling = CONNECTION.scope(handle, filtered.call(request));
            let answer = tokio::time::timeout(timeouts.write, handling).await;
            activity.request_done();
            Ok::<_, Infallible>(match answer {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => write_timeout_reply(timeouts.write),
            })
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(true);
    let connection = builder.serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let mut closing = false;
    loop {
        let deadline = activity.deadline(&timeouts);
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            () = stop.cancelled(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = activity.changed.notified() => {}
            () = sleep => {
                if activity.deadline(&timeouts).is_some_and(|at| at <= Instant::now()) {
                    tracing::debug!("closing a connection that was idle or too slow to send its request");
                    return;
                }
            }
        }
    }
}
