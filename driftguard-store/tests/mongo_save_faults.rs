//! A MongoDB save that fails between any two of its writes loses no event and stores
//! none twice, on both save paths (transactions, outbox). The real detector drives the
//! store over in-memory sources; a save is made to fail at one step, the store is
//! dropped as a crashed process would leave it, and a new store (which delivers what
//! was left pending) runs the next analysis. Then every transition has exactly one
//! event, at the time its record says. Against nx-27017 on 127.0.0.1 (or the server in
//! `DRIFTGUARD_TEST_MONGODB_URI`); nx-27017 describes itself as standalone but runs
//! transactions, so each path is forced.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bson::{Document, doc};
use chrono::{DateTime, TimeZone, Utc};
use driftguard_core::analysis::DetectionSettings;
use driftguard_core::ports::{DriftStore, EventFilter, RecordFilter};
use driftguard_core::testing::{InMemoryDesired, InMemoryLive};
use driftguard_core::{
    DesiredSnapshot, Detector, DriftStatus, EventKind, LiveSnapshot, Resource, ResourceId,
};
use driftguard_store::MongoStore;
use driftguard_store::mongo::{
    EVENTS_COLLECTION, RECORDS_COLLECTION, SaveFault, SavePath, SaveStep,
};
use driftguard_test_support::mongo::{shared, unique_database_name};
use serde_json::{Value, json};

/// Generous: nx-27017 serves every test of the binary from one Python process.
const TIMEOUT: Duration = Duration::from_secs(60);

/// ConfigMaps in each scenario; all drift, then all are reverted.
const CONFIG_MAPS: usize = 5;

fn minute(m: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0)
        .single()
        .expect("valid time")
        + chrono::Duration::minutes(m)
}

fn config_map(i: usize, mode: &str, live: bool) -> Resource {
    let mut object: Value = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": format!("settings-{i}"), "namespace": "shop"},
        "data": {"mode": mode}
    });
    if live {
        object["metadata"]["uid"] = json!(format!("00000000-0000-0000-0000-00000000000{i}"));
        object["metadata"]["resourceVersion"] = json!("1200");
    }
    Resource::from_object(object, None).expect("valid object")
}

fn live_state(mode: &str) -> LiveSnapshot {
    LiveSnapshot::complete(
        (0..CONFIG_MAPS)
            .map(|i| config_map(i, mode, true))
            .collect(),
    )
}

/// Fails a save once at `step`, when armed.
struct Trap {
    step: SaveStep,
    armed: AtomicBool,
}

impl Trap {
    fn new(step: SaveStep) -> Arc<Self> {
        Arc::new(Self {
            step,
            armed: AtomicBool::new(false),
        })
    }

    fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    fn sprung(&self) -> bool {
        !self.armed.load(Ordering::SeqCst)
    }

    fn fault(self: &Arc<Self>) -> SaveFault {
        let trap = Arc::clone(self);
        Arc::new(move |step| step == trap.step && trap.armed.swap(false, Ordering::SeqCst))
    }
}

/// One database of the shared test server, the sources, and a raw client to look at
/// the documents as a crash leaves them.
struct Scenario {
    path: SavePath,
    uri: String,
    name: String,
    desired: Arc<InMemoryDesired>,
    live: Arc<InMemoryLive>,
    raw: mongodb::Database,
}

impl Scenario {
    async fn new(path: SavePath) -> Self {
        let server = shared();
        let name = unique_database_name("driftguard_save_faults");
        let mut options = mongodb::options::ClientOptions::parse(server.uri())
            .await
            .expect("the test server's URI parses");
        options.server_selection_timeout = Some(TIMEOUT);
        let raw = mongodb::Client::with_options(options)
            .expect("client")
            .database(&name);
        let desired = Arc::new(InMemoryDesired::new(DesiredSnapshot {
            resources: (0..CONFIG_MAPS)
                .map(|i| config_map(i, "fast", false))
                .collect(),
            revision: Some("c0ffee".to_owned()),
            render: None,
        }));
        Self {
            path,
            uri: server.uri().to_owned(),
            name,
            desired,
            live: Arc::new(InMemoryLive::new(live_state("fast"))),
            raw,
        }
    }

    /// A store as a freshly started process has it: not yet prepared.
    fn store(&self, fault: Option<SaveFault>) -> MongoStore {
        let store = MongoStore::new(&self.uri, &self.name, TIMEOUT)
            .expect("valid URI")
            .with_save_path(self.path);
        match fault {
            Some(fault) => store.with_save_fault(fault),
            None => store,
        }
    }

    fn detector(&self, store: MongoStore) -> Detector {
        Detector::new(
            self.desired.clone(),
            self.live.clone(),
            Arc::new(store),
            DetectionSettings::default(),
        )
    }

    async fn count(&self, collection: &str, filter: Document) -> u64 {
        self.raw
            .collection::<Document>(collection)
            .count_documents(filter)
            .await
            .expect("count")
    }

    async fn stored_events(&self) -> u64 {
        self.count(EVENTS_COLLECTION, Document::new()).await
    }

    async fn pending_outboxes(&self) -> u64 {
        self.count(
            RECORDS_COLLECTION,
            doc! { "outbox_token": { "$exists": true } },
        )
        .await
    }

    async fn active_records(&self) -> u64 {
        self.count(RECORDS_COLLECTION, doc! { "drift_status": "active" })
            .await
    }
}

/// What a failure at `step` leaves in the database, before any recovery.
async fn assert_left_behind(scenario: &Scenario, step: SaveStep, drifted: bool) {
    let (events, pending, written) = match step {
        SaveStep::TransactionRecordsWritten | SaveStep::TransactionEventsWritten => (0, 0, false),
        SaveStep::OutboxRecordsWritten => (0, CONFIG_MAPS, true),
        SaveStep::OutboxEventsDelivered => (CONFIG_MAPS, CONFIG_MAPS, true),
    };
    // Events of the drift already stored before this save: one per ConfigMap.
    let before = if drifted { 0 } else { CONFIG_MAPS as u64 };
    assert_eq!(
        scenario.stored_events().await,
        before + events as u64,
        "{step:?}: events"
    );
    assert_eq!(
        scenario.pending_outboxes().await,
        pending as u64,
        "{step:?}: pending outboxes"
    );
    let active_after_save = if drifted { CONFIG_MAPS as u64 } else { 0 };
    let active_before_save = CONFIG_MAPS as u64 - active_after_save;
    let expected_active = if written {
        active_after_save
    } else {
        active_before_save
    };
    assert_eq!(
        scenario.active_records().await,
        expected_active,
        "{step:?}: records"
    );
}

/// Every record has exactly one event of each transition it went through, at the time
/// the record gives it, and nothing is left pending.
async fn assert_consistent(store: &dyn DriftStore, resolved: bool) {
    let records = store.list(&RecordFilter::default()).await.expect("list");
    assert_eq!(records.len(), CONFIG_MAPS);
    let events = store
        .events(&EventFilter::default())
        .await
        .expect("events")
        .events;
    for record in &records {
        let of = |kind: EventKind| -> Vec<DateTime<Utc>> {
            events
                .iter()
                .filter(|e| e.resource_id == record.resource_id && e.kind == kind)
                .map(|e| e.at)
                .collect()
        };
        let id = &record.resource_id;
        assert_eq!(
            of(EventKind::DriftDetected),
            vec![record.first_detected.expect("drift was detected")],
            "{id}: one detection, when the record says"
        );
        if resolved {
            assert_eq!(record.drift_status, DriftStatus::Resolved, "{id}");
            assert_eq!(
                of(EventKind::DriftResolved),
                vec![record.resolved_at.expect("resolved")],
                "{id}: one resolution, when the record says"
            );
        } else {
            assert_eq!(record.drift_status, DriftStatus::Active, "{id}");
            assert!(of(EventKind::DriftResolved).is_empty(), "{id}");
        }
    }
    let expected = CONFIG_MAPS * if resolved { 2 } else { 1 };
    assert_eq!(events.len(), expected, "{events:#?}");
}

/// The lifecycle with a failure at `step` in the save of each transition.
async fn fail_at(path: SavePath, step: SaveStep) {
    let scenario = Scenario::new(path).await;
    let trap = Trap::new(step);

    // In sync: records without drift.
    let detector = scenario.detector(scenario.store(Some(trap.fault())));
    detector.run(minute(0)).await.expect("first analysis");

    // Every ConfigMap drifts; the save fails at `step`; the process dies.
    scenario.live.set(live_state("slow"));
    trap.arm();
    let error = detector
        .run(minute(1))
        .await
        .expect_err("the save fails at the step");
    assert!(trap.sprung(), "{step:?} was reached");
    let text = driftguard_core::error_chain(&error);
    assert!(text.contains("injected failure"), "{text}");
    drop(detector);
    assert_left_behind(&scenario, step, true).await;

    // A new process: delivers what was pending, analyses again.
    let store = scenario.store(None);
    store.prepare().await.expect("the restarted store prepares");
    let detector = scenario.detector(store);
    detector
        .run(minute(2))
        .await
        .expect("analysis after recovery");
    assert_consistent(detector.store().as_ref(), false).await;

    // Reverted by hand: the resolution's save fails at the same step.
    let detector = scenario.detector(scenario.store(Some(trap.fault())));
    scenario.live.set(live_state("fast"));
    trap.arm();
    detector
        .run(minute(3))
        .await
        .expect_err("the save fails at the step");
    assert!(trap.sprung(), "{step:?} was reached");
    drop(detector);
    assert_left_behind(&scenario, step, false).await;

    let store = scenario.store(None);
    store.prepare().await.expect("the restarted store prepares");
    let detector = scenario.detector(store);
    detector
        .run(minute(4))
        .await
        .expect("analysis after recovery");
    assert_consistent(detector.store().as_ref(), true).await;
    assert_eq!(scenario.pending_outboxes().await, 0);

    scenario.raw.drop().await.expect("drop the test database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_failing_after_its_records_commits_nothing() {
    fail_at(SavePath::Transaction, SaveStep::TransactionRecordsWritten).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_failing_before_its_commit_commits_nothing() {
    fail_at(SavePath::Transaction, SaveStep::TransactionEventsWritten).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_written_with_their_outbox_get_their_events_delivered_later() {
    fail_at(SavePath::Outbox, SaveStep::OutboxRecordsWritten).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_delivered_but_not_cleared_are_not_stored_twice() {
    fail_at(SavePath::Outbox, SaveStep::OutboxEventsDelivered).await;
}

/// The delivery of a restarted store fails too, after inserting the events: the next
/// start delivers them again, and each is still stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_fails_half_way_is_repeated_without_duplicates() {
    let scenario = Scenario::new(SavePath::Outbox).await;
    let trap = Trap::new(SaveStep::OutboxRecordsWritten);
    let detector = scenario.detector(scenario.store(Some(trap.fault())));
    detector.run(minute(0)).await.expect("first analysis");
    scenario.live.set(live_state("slow"));
    trap.arm();
    detector.run(minute(1)).await.expect_err("fails");
    drop(detector);

    let delivery = Trap::new(SaveStep::OutboxEventsDelivered);
    delivery.arm();
    let store = scenario.store(Some(delivery.fault()));
    store
        .prepare()
        .await
        .expect_err("the delivery at start fails after inserting");
    assert!(delivery.sprung());
    drop(store);
    assert_eq!(scenario.stored_events().await, CONFIG_MAPS as u64);
    assert_eq!(scenario.pending_outboxes().await, CONFIG_MAPS as u64);

    // Reads deliver too: no restart needed for the events to show.
    let store = scenario.store(None);
    let events = store
        .events(&EventFilter::default())
        .await
        .expect("events")
        .events;
    assert_eq!(events.len(), CONFIG_MAPS);
    assert_eq!(scenario.pending_outboxes().await, 0);
    let detector = scenario.detector(store);
    detector.run(minute(2)).await.expect("analysis");
    assert_consistent(detector.store().as_ref(), false).await;
    let statistics = detector.store().statistics(None).await.expect("statistics");
    assert_eq!(statistics.total_events, CONFIG_MAPS as u64);

    scenario.raw.drop().await.expect("drop the test database");
}

/// A save that finds a record still holding an undelivered outbox delivers it first and
/// then writes the record: nothing is overwritten, whichever path runs the save.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_save_on_either_path_delivers_an_outbox_it_finds_first() {
    for path in [SavePath::Transaction, SavePath::Outbox] {
        let scenario = Scenario::new(SavePath::Outbox).await;
        let trap = Trap::new(SaveStep::OutboxRecordsWritten);
        let detector = scenario.detector(scenario.store(Some(trap.fault())));
        detector.run(minute(0)).await.expect("first analysis");
        scenario.live.set(live_state("slow"));
        trap.arm();
        detector.run(minute(1)).await.expect_err("fails");
        drop(detector);

        let store = MongoStore::new(&scenario.uri, &scenario.name, TIMEOUT)
            .expect("valid URI")
            .with_save_path(path);
        let id: ResourceId = "ConfigMap:shop:settings-0".parse().expect("valid id");
        // The record as the analysis at minute 2 would write it; `save` delivers first.
        let mut record = store
            .get("default", &id)
            .await
            .expect("get")
            .expect("written");
        record.last_checked = minute(2);
        record.detection_count += 1;
        store
            .save(std::slice::from_ref(&record), &[])
            .await
            .expect("save");
        assert_eq!(scenario.pending_outboxes().await, 0, "{path:?}");
        assert_eq!(
            scenario.stored_events().await,
            CONFIG_MAPS as u64,
            "{path:?}"
        );
        assert_eq!(store.get("default", &id).await.expect("get"), Some(record));

        scenario.raw.drop().await.expect("drop the test database");
    }
}
