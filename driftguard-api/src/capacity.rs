//! The connection cap (`server.max_connections`): which connections are open, and which
//! one makes room for a new one.
//!
//! Below the cap every connection is admitted. At the cap, the connection that has been
//! idle the longest (no request being handled or received) is asked to close and the new
//! one takes its place; an idle connection closes at once, so the count exceeds the cap
//! only for that instant.
//! When every connection is busy, the new one is refused: accepted and closed at once,
//! without an answer, so the client fails fast and may retry. A request being handled is
//! never cut off to make room.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::connection::Activity;
use crate::metrics::ConnectionMetrics;

/// Refusals are counted each time but logged at most this often.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The open connections of one server, held to a cap.
pub(crate) struct Capacity {
    max: usize,
    state: Mutex<State>,
    metrics: ConnectionMetrics,
}

#[derive(Default)]
struct State {
    next_id: u64,
    open: HashMap<u64, Entry>,
    /// How many of `open` have been asked to close to make room and have not closed yet.
    closing: usize,
    /// Refusals since the last warning, and when it was logged.
    unlogged_refusals: u64,
    last_refusal_log: Option<Instant>,
}

struct Entry {
    activity: Arc<Activity>,
    close: CancellationToken,
    closing: bool,
}

impl Capacity {
    /// A cap of `max` connections (at least one).
    pub(crate) fn new(max: usize, metrics: ConnectionMetrics) -> Arc<Self> {
        metrics.init();
        Arc::new(Self {
            max: max.max(1),
            state: Mutex::new(State::default()),
            metrics,
        })
    }

    /// Admits a just-accepted connection, asking the longest idle one to close when the
    /// cap is reached; `None` when every open connection is busy. The returned slot's
    /// close token is a child of `stop`, so shutdown closes the connection too.
    pub(crate) fn admit(self: &Arc<Self>, stop: &CancellationToken) -> Option<Slot> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.open.len() - state.closing >= self.max && !self.make_room(&mut state) {
            self.refused(&mut state);
            return None;
        }
        let id = state.next_id;
        state.next_id += 1;
        let activity = Arc::new(Activity::new());
        let close = stop.child_token();
        state.open.insert(
            id,
            Entry {
                activity: activity.clone(),
                close: close.clone(),
                closing: false,
            },
        );
        self.metrics.open(state.open.len());
        Some(Slot {
            id,
            capacity: self.clone(),
            activity,
            close,
        })
    }

    /// Asks the connection idle the longest to close; false when none is idle.
    fn make_room(&self, state: &mut State) -> bool {
        let oldest = state
            .open
            .iter_mut()
            .filter(|(_, entry)| !entry.closing)
            .filter_map(|(_, entry)| entry.activity.idle_since().map(|since| (since, entry)))
            .min_by_key(|(since, _)| *since);
        let Some((_, entry)) = oldest else {
            return false;
        };
        entry.closing = true;
        entry.close.cancel();
        state.closing += 1;
        self.metrics.evicted();
        tracing::debug!("closing the longest idle connection to make room for a new one");
        true
    }

    fn refused(&self, state: &mut State) {
        self.metrics.refused();
        state.unlogged_refusals += 1;
        let now = Instant::now();
        if state
            .last_refusal_log
            .is_none_or(|at| now.duration_since(at) >= REFUSAL_LOG_INTERVAL)
        {
            tracing::warn!(
                max_connections = self.max,
                refused = state.unlogged_refusals,
                "connections refused: all {} open connections are handling requests \
                 (server.max_connections)",
                self.max
            );
            state.unlogged_refusals = 0;
            state.last_refusal_log = Some(now);
        }
    }

    fn release(&self, id: u64) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = state.open.remove(&id)
            && entry.closing
        {
            state.closing -= 1;
        }
        self.metrics.open(state.open.len());
    }
}

/// One admitted connection's place under the cap, given back when dropped.
pub(crate) struct Slot {
    id: u64,
    capacity: Arc<Capacity>,
    activity: Arc<Activity>,
    close: CancellationToken,
}

impl Slot {
    /// What the connection reports of its reads and requests, so the cap knows when it is
    /// idle.
    pub(crate) fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }

    /// Cancelled when the connection should close gracefully: to make room, or at shutdown.
    pub(crate) fn close_requested(&self) -> &CancellationToken {
        &self.close
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.capacity.release(self.id);
    }
}
