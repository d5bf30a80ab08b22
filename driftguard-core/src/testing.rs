//! In-memory implementations of the ports, for tests of the core and of other crates.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ResourceId;
use crate::model::{DesiredSnapshot, LiveSnapshot};
use crate::ports::{
    DesiredSource, DriftStore, EventFilter, EventPage, LiveSource, PortError, PortErrorKind,
    PruneCounts, RecordFilter, Timeline, TimelineQuery,
};
use crate::record::{DriftEvent, DriftRecord, DriftStatus};
use crate::stats::{DriftStatistics, compute};
use crate::status::ClusterStatusDocument;

fn unavailable(what: &str) -> PortError {
    PortError::new(PortErrorKind::Unavailable, format!("{what} is unavailable"))
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A desired source holding a snapshot in memory; it can be told to fail.
#[derive(Debug, Default)]
pub struct InMemoryDesired {
    state: Mutex<Option<DesiredSnapshot>>,
}

impl InMemoryDesired {
    /// A source serving `snapshot`.
    pub fn new(snapshot: DesiredSnapshot) -> Self {
        Self {
            state: Mutex::new(Some(snapshot)),
        }
    }

    /// Serves `snapshot` from now on.
    pub fn set(&self, snapshot: DesiredSnapshot) {
        *locked(&self.state) = Some(snapshot);
    }

    /// Fails every call from now on, as an unreachable Git remote would.
    pub fn fail(&self) {
        *locked(&self.state) = None;
    }
}

#[async_trait]
impl DesiredSource for InMemoryDesired {
    async fn snapshot(&self) -> Result<DesiredSnapshot, PortError> {
        locked(&self.state)
            .clone()
            .ok_or_else(|| unavailable("the desired source"))
    }
}

/// A live source holding a snapshot in memory; it can be told to fail.
#[derive(Debug, Default)]
pub struct InMemoryLive {
    state: Mutex<Option<LiveSnapshot>>,
}

impl InMemoryLive {
    /// A source serving `snapshot`.
    pub fn new(snapshot: LiveSnapshot) -> Self {
        Self {
            state: Mutex::new(Some(snapshot)),
        }
    }

    /// Serves `snapshot` from now on.
    pub fn set(&self, snapshot: LiveSnapshot) {
        *locked(&self.state) = Some(snapshot);
    }

    /// Fails every call from now on, as an unreachable API server would.
    pub fn fail(&self) {
        *locked(&self.state) = None;
    }
}

#[async_trait]
impl LiveSource for InMemoryLive {
    async fn snapshot(&self) -> Result<LiveSnapshot, PortError> {
        locked(&self.state)
            .clone()
            .ok_or_else(|| unavailable("the live source"))
    }
}

/// A store keeping records and events in memory.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    records: Mutex<BTreeMap<(ResourceId, String), DriftRecord>>,
    events: Mutex<SavedEvents>,
    /// Status documents by cluster.
    statuses: Mutex<BTreeMap<String, ClusterStatusDocument>>,
}

/// Events in saved order, each with its sequence number: its key in the order of events,
/// which stays the same when older events are pruned.
#[derive(Debug, Default)]
struct SavedEvents {
    events: Vec<(u64, DriftEvent)>,
    next: u64,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl DriftStore for InMemoryStore {
    async fn get(&self, cluster: &str, id: &ResourceId) -> Result<Option<DriftRecord>, PortError> {
        Ok(locked(&self.records)
            .get(&(id.clone(), cluster.to_owned()))
            .cloned())
    }

    async fn lookup(&self, id: &ResourceId) -> Result<Vec<DriftRecord>, PortError> {
        Ok(locked(&self.records)
            .values()
            .filter(|r| &r.resource_id == id)
            .cloned()
            .collect())
    }

    async fn list(&self, filter: &RecordFilter) -> Result<Vec<DriftRecord>, PortError> {
        let records = locked(&self.records);
        let mut matching: Vec<&DriftRecord> =
            records.values().filter(|r| filter.matches(r)).collect();
        matching.sort_by(|a, b| filter.compare(a, b));
        Ok(matching
            .into_iter()
            .skip(filter.offset)
            .take(filter.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect())
    }

    async fn count(&self, filter: &RecordFilter) -> Result<u64, PortError> {
        let records = locked(&self.records);
        Ok(records.values().filter(|r| filter.matches(r)).count() as u64)
    }

    async fn timeline(&self, query: &TimelineQuery) -> Result<Timeline, PortError> {
        let saved = locked(&self.events);
        Ok(Timeline::of_events(
            query,
            saved.events.iter().map(|(_, e)| e),
        ))
    }

    async fn save(&self, records: &[DriftRecord], events: &[DriftEvent]) -> Result<(), PortError> {
        let mut stored = locked(&self.records);
        for record in records {
            stored.insert(
                (record.resource_id.clone(), record.cluster.clone()),
                record.clone(),
            );
        }
        let mut saved = locked(&self.events);
        for event in events {
            // One event per non-empty key: a transition saved again is stored once.
            if !event.key.is_empty() && saved.events.iter().any(|(_, e)| e.key == event.key) {
                continue;
            }
            let seq = saved.next;
            saved.next += 1;
            saved.events.push((seq, event.clone()));
        }
        Ok(())
    }

    /// Events keyed by their sequence number in the saved order (eight bytes, big-endian).
    async fn events(&self, filter: &EventFilter) -> Result<EventPage, PortError> {
        let after = filter
            .after
            .as_ref()
            .map(|position| {
                let index = <[u8; 8]>::try_from(position.key.as_slice()).map_err(|_| {
                    PortError::new(
                        PortErrorKind::InvalidRequest,
                        "not an event position of the in-memory store",
                    )
                })?;
                Ok::<_, PortError>((position.at, u64::from_be_bytes(index)))
            })
            .transpose()?;
        let mut rows: Vec<(DriftEvent, u64)> = locked(&self.events)
            .events
            .iter()
            .filter(|(index, e)| {
                filter.matches(e) && after.is_none_or(|position| (e.at, *index) > position)
            })
            .map(|(index, e)| (e.clone(), *index))
            .collect();
        rows.sort_by_key(|(e, index)| (e.at, *index));
        let keyed = rows
            .into_iter()
            .map(|(e, index)| (e, index.to_be_bytes().to_vec()))
            .collect();
        Ok(EventPage::from_keyed(keyed, filter.limit))
    }

    async fn publish_status(&self, status: &ClusterStatusDocument) -> Result<(), PortError> {
        locked(&self.statuses).insert(status.cluster.clone(), status.clone());
        Ok(())
    }

    async fn cluster_statuses(&self) -> Result<Vec<ClusterStatusDocument>, PortError> {
        Ok(locked(&self.statuses).values().cloned().collect())
    }

    async fn statistics(&self, cluster: Option<&str>) -> Result<DriftStatistics, PortError> {
        let in_cluster = |c: &str| cluster.is_none_or(|cluster| c == cluster);
        let records: Vec<DriftRecord> = locked(&self.records)
            .values()
            .filter(|r| in_cluster(&r.cluster))
            .cloned()
            .collect();
        let events: Vec<DriftEvent> = locked(&self.events)
            .events
            .iter()
            .filter(|(_, e)| in_cluster(&e.cluster))
            .map(|(_, e)| e.clone())
            .collect();
        Ok(compute(&records, &events))
    }

    async fn prune(
        &self,
        before_events: DateTime<Utc>,
        before_resolved: DateTime<Utc>,
    ) -> Result<PruneCounts, PortError> {
        // Records, then events: the order `save` takes the locks in.
        let mut stored = locked(&self.records);
        let records_before = stored.len();
        stored.retain(|_, r| {
            !(r.drift_status == DriftStatus::Resolved
                && r.resolved_at.is_some_and(|at| at < before_resolved))
        });
        let records = (records_before - stored.len()) as u64;
        let mut saved = locked(&self.events);
        let events_before = saved.events.len();
        saved.events.retain(|(_, e)| e.at >= before_events);
        let events = (events_before - saved.events.len()) as u64;
        Ok(PruneCounts { events, records })
    }
}
