//! Ports for the tests: the in-memory fakes of driftguard-core (or a real store), wrapped
//! so a test can hold a call at a gate, make the store fail, count calls and send live
//! changes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use driftguard_core::ports::{
    EventFilter, EventPage, LiveChangeStream, RecordFilter, Timeline, TimelineQuery,
};
use driftguard_core::stats::DriftStatistics;
use driftguard_core::testing::{InMemoryDesired, InMemoryLive, InMemoryStore};
use driftguard_core::{
    ClusterStatusDocument, DesiredSnapshot, DesiredSource, DriftEvent, DriftRecord, DriftStore,
    LiveChange, LiveChangeKind, LiveSnapshot, LiveSource, PortError, PortErrorKind, Resource,
    ResourceId,
};
use tokio::sync::{mpsc, watch};

/// A gate calls wait at while it is closed; it starts open.
#[derive(Debug)]
pub struct Gate {
    open: watch::Sender<bool>,
    waiting: AtomicUsize,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            open: watch::Sender::new(true),
            waiting: AtomicUsize::new(0),
        }
    }
}

impl Gate {
    /// Holds every call that arrives from now on.
    pub fn close(&self) {
        self.open.send_replace(false);
    }

    /// Lets every held and future call through.
    pub fn open(&self) {
        self.open.send_replace(true);
    }

    /// How many calls are held now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::SeqCst)
    }

    async fn pass(&self) {
        let mut open = self.open.subscribe();
        if *open.borrow_and_update() {
            return;
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        // The sender lives as long as the gate, so this only ends when the gate opens.
        let _ = open.wait_for(|open| *open).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The in-memory desired source, with a gate and a call counter.
#[derive(Debug, Default)]
pub struct TestDesired {
    pub inner: InMemoryDesired,
    pub gate: Gate,
    calls: AtomicUsize,
}

impl TestDesired {
    pub fn new(snapshot: DesiredSnapshot) -> Self {
        Self {
            inner: InMemoryDesired::new(snapshot),
            ..Self::default()
        }
    }

    /// How many snapshots were asked for (one per full analysis).
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl DesiredSource for TestDesired {
    async fn snapshot(&self) -> Result<DesiredSnapshot, PortError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.gate.pass().await;
        self.inner.snapshot().await
    }
}

/// The in-memory live source, with a change channel.
#[derive(Debug)]
pub struct TestLive {
    pub inner: InMemoryLive,
    sender: mpsc::UnboundedSender<LiveChange>,
    receiver: std::sync::Mutex<Option<mpsc::UnboundedReceiver<LiveChange>>>,
}

impl TestLive {
    pub fn new(snapshot: LiveSnapshot) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        Self {
            inner: InMemoryLive::new(snapshot),
            sender,
            receiver: std::sync::Mutex::new(Some(receiver)),
        }
    }

    /// Notifies the service that `id` changed.
    pub fn changed(&self, id: ResourceId) {
        self.sender
            .send(LiveChange {
                id,
                kind: LiveChangeKind::Applied,
            })
            .expect("the service watches the live source");
    }
}

#[async_trait]
impl LiveSource for TestLive {
    async fn snapshot(&self) -> Result<LiveSnapshot, PortError> {
        self.inner.snapshot().await
    }

    async fn object(&self, id: &ResourceId) -> Result<Option<Resource>, PortError> {
        let snapshot = self.inner.snapshot().await?;
        Ok(snapshot.resources.into_iter().find(|r| &r.id == id))
    }

    fn changes(&self) -> Option<LiveChangeStream> {
        let receiver = self
            .receiver
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()?;
        Some(Box::pin(futures_util::stream::unfold(
            receiver,
            |mut receiver| async move { receiver.recv().await.map(|change| (change, receiver)) },
        )))
    }
}

/// A store (in memory unless a test brings a real one), which can be made to fail and
/// can hold record listings at a gate.
pub struct TestStore {
    pub inner: Arc<dyn DriftStore>,
    failing: AtomicBool,
    /// Holds API listings (those with a limit; the analysis loop lists without one).
    pub list_gate: Gate,
    saves: AtomicUsize,
}

impl Default for TestStore {
    fn default() -> Self {
        Self::over(Arc::new(InMemoryStore::new()))
    }
}

impl std::fmt::Debug for TestStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestStore")
            .field("failing", &self.failing)
            .field("saves", &self.saves)
            .finish_non_exhaustive()
    }
}

impl TestStore {
    /// A test store keeping its data in `inner`.
    pub fn over(inner: Arc<dyn DriftStore>) -> Self {
        Self {
            inner,
            failing: AtomicBool::new(false),
            list_gate: Gate::default(),
            saves: AtomicUsize::new(0),
        }
    }

    /// Fails every call from now on (`true`) or serves again (`false`).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// How many batches were saved.
    pub fn saves(&self) -> usize {
        self.saves.load(Ordering::SeqCst)
    }

    fn check(&self) -> Result<(), PortError> {
        if self.failing.load(Ordering::SeqCst) {
            Err(PortError::new(
                PortErrorKind::Unavailable,
                "the test store is down",
            ))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl DriftStore for TestStore {
    async fn get(&self, cluster: &str, id: &ResourceId) -> Result<Option<DriftRecord>, PortError> {
        self.check()?;
        self.inner.get(cluster, id).await
    }

    async fn lookup(&self, id: &ResourceId) -> Result<Vec<DriftRecord>, PortError> {
        self.check()?;
        self.inner.lookup(id).await
    }

    async fn list(&self, filter: &RecordFilter) -> Result<Vec<DriftRecord>, PortError> {
        if filter.limit.is_some() {
            self.list_gate.pass().await;
        }
        self.check()?;
        self.inner.list(filter).await
    }

    async fn count(&self, filter: &RecordFilter) -> Result<u64, PortError> {
        self.check()?;
        self.inner.count(filter).await
    }

    async fn timeline(&self, query: &TimelineQuery) -> Result<Timeline, PortError> {
        self.check()?;
        self.inner.timeline(query).await
    }

    async fn save(&self, records: &[DriftRecord], events: &[DriftEvent]) -> Result<(), PortError> {
        self.check()?;
        self.inner.save(records, events).await?;
        self.saves.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    async fn events(&self, filter: &EventFilter) -> Result<EventPage, PortError> {
        self.check()?;
        self.inner.events(filter).await
    }

    async fn statistics(&self, cluster: Option<&str>) -> Result<DriftStatistics, PortError> {
        self.check()?;
        self.inner.statistics(cluster).await
    }

    async fn publish_status(&self, status: &ClusterStatusDocument) -> Result<(), PortError> {
        self.check()?;
        self.inner.publish_status(status).await
    }

    async fn cluster_statuses(&self) -> Result<Vec<ClusterStatusDocument>, PortError> {
        self.check()?;
        self.inner.cluster_statuses().await
    }

    async fn ping(&self) -> Result<(), PortError> {
        self.check()
    }
}

/// The three ports of one test service.
#[derive(Debug, Clone)]
pub struct Ports {
    pub desired: Arc<TestDesired>,
    pub live: Arc<TestLive>,
    pub store: Arc<TestStore>,
}
