//! The SQLite store never loses an acknowledged save: not when the store is dropped in
//! the middle of a run, not when the process is killed. A save that was not acknowledged
//! is there whole or not at all.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Duration, TimeZone, Utc};
use driftguard_core::ports::{DriftStore, EventFilter, RecordFilter};
use driftguard_core::{DriftEvent, DriftRecord, DriftStatus, DriftType, EventKind, ResourceId};
use driftguard_store::SqliteStore;
use driftguard_test_support::process::ChildGuard;

/// Records per analysis in these tests.
const BATCH: usize = 40;

/// Set for the child process of [`acknowledged_saves_survive_killing_the_process`]: the
/// database file it writes to.
const CHILD_DATABASE_ENV: &str = "DRIFTGUARD_STORE_DURABILITY_DATABASE";

/// The records and events of analysis number `batch`: `BATCH` resources of namespace
/// `batch-N`, each with one drift event.
fn analysis(batch: usize) -> (Vec<DriftRecord>, Vec<DriftEvent>) {
    let now = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid time")
        + Duration::seconds(batch as i64);
    let mut records = Vec::with_capacity(BATCH);
    let mut events = Vec::with_capacity(BATCH);
    for i in 0..BATCH {
        let id = ResourceId::namespaced("Deployment", format!("batch-{batch}"), format!("app-{i}"));
        records.push(DriftRecord {
            cluster: "default".to_owned(),
            resource_id: id.clone(),
            api_version: "apps/v1".to_owned(),
            kind: "Deployment".to_owned(),
            namespace: Some(format!("batch-{batch}")),
            name: format!("app-{i}"),
            application: format!("application-{}", i % 3),
            drift_detected: true,
            drift_status: DriftStatus::Active,
            severity: Some(driftguard_core::Severity::Medium),
            drift_types: vec![DriftType::Scaling],
            drifts: vec![driftguard_core::DriftDetail {
                path: "spec.replicas".to_owned(),
                drift_type: DriftType::Scaling,
                severity: driftguard_core::Severity::Medium,
                desired: Some(serde_json::json!(2)),
                live: Some(serde_json::json!(batch)),
                manager: Some("kubectl-scale".to_owned()),
                hand_edit: false,
                unowned: false,
            }],
            desired_hash: format!("{batch:064x}"),
            live_hash: Some(format!("{i:064x}")),
            last_known_good_hash: None,
            git_revision: Some(format!("rev-{batch}")),
            first_detected: Some(now),
            last_detected: Some(now),
            resolved_at: None,
            last_checked: now,
            resolution_message: None,
            detection_count: 1,
        });
        events.push(DriftEvent {
            cluster: "default".to_owned(),
            resource_id: id,
            application: format!("application-{}", i % 3),
            kind: EventKind::DriftDetected,
            at: now,
            drift_types: vec![DriftType::Scaling],
            severity: Some(driftguard_core::Severity::Medium),
            git_revision: Some(format!("rev-{batch}")),
            message: format!("drift detected in batch {batch}"),
            key: String::new(),
        });
    }
    (records, events)
}

/// How many records and events of each batch the file holds.
async fn stored_batches(path: &Path) -> BTreeMap<usize, (usize, usize)> {
    let store = SqliteStore::open(path).expect("reopen the database");
    let mut batches: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    for record in store.list(&RecordFilter::default()).await.expect("list") {
        let batch = batch_of(record.namespace.as_deref().expect("namespaced"));
        batches.entry(batch).or_default().0 += 1;
        assert_eq!(
            record,
            analysis(batch)
                .0
                .into_iter()
                .find(|r| r.resource_id == record.resource_id)
                .expect("known record")
        );
    }
    for event in store
        .events(&EventFilter::default())
        .await
        .expect("events")
        .events
    {
        let batch = batch_of(event.resource_id.namespace().expect("namespaced"));
        batches.entry(batch).or_default().1 += 1;
    }
    batches
}

fn batch_of(namespace: &str) -> usize {
    namespace
        .strip_prefix("batch-")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected namespace {namespace}"))
}

/// Every batch up to `acknowledged` is whole; any later batch is whole or absent.
fn assert_no_acknowledged_loss(batches: &BTreeMap<usize, (usize, usize)>, acknowledged: usize) {
    for batch in 0..=acknowledged {
        assert_eq!(
            batches.get(&batch),
            Some(&(BATCH, BATCH)),
            "acknowledged batch {batch} must be stored whole"
        );
    }
    for (batch, counts) in batches.range(acknowledged + 1..) {
        assert_eq!(
            *counts,
            (BATCH, BATCH),
            "unacknowledged batch {batch} is partial"
        );
    }
}

#[test]
fn acknowledged_saves_survive_dropping_the_store_mid_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drift.db");
    let store = Arc::new(SqliteStore::open(&path).expect("open"));
    let acknowledged = Arc::new(AtomicUsize::new(0));

    // The run: one analysis after another, on its own runtime.
    let run = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    {
        let (store, acknowledged) = (Arc::clone(&store), Arc::clone(&acknowledged));
        run.spawn(async move {
            for batch in 0.. {
                let (records, events) = analysis(batch);
                store.save(&records, &events).await.expect("save");
                acknowledged.store(batch + 1, Ordering::SeqCst);
            }
        });
    }
    while acknowledged.load(Ordering::SeqCst) < 12 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // Stop the run wherever it is: dropping the runtime cancels the analysis loop (and
    // waits for a save already handed to a blocking thread), and with it every handle.
    drop(store);
    drop(run);
    let acknowledged = acknowledged.load(Ordering::SeqCst) - 1;

    let check = tokio::runtime::Runtime::new().expect("runtime");
    let batches = check.block_on(stored_batches(&path));
    assert_no_acknowledged_loss(&batches, acknowledged);
}

/// Run as a child process by `acknowledged_saves_survive_killing_the_process`: saves
/// one analysis after another into the file named by `DRIFTGUARD_STORE_DURABILITY_DATABASE`
/// and prints `acknowledged N` after each save returns, until it is killed.
#[tokio::test]
#[ignore = "the child process of acknowledged_saves_survive_killing_the_process"]
async fn durability_child_writer() {
    let path: PathBuf = std::env::var_os(CHILD_DATABASE_ENV)
        .unwrap_or_else(|| panic!("{CHILD_DATABASE_ENV} must name the database file"))
        .into();
    let store = SqliteStore::open(&path).expect("open");
    for batch in 0..100_000 {
        let (records, events) = analysis(batch);
        store.save(&records, &events).await.expect("save");
        println!("acknowledged {batch}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_saves_survive_killing_the_process() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drift.db");
    let test_binary = std::env::current_exe().expect("the test binary");
    let mut child = Command::new(test_binary)
        .args([
            "--ignored",
            "--exact",
            "durability_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DATABASE_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the writer process");
    let stdout = child.stdout.take().expect("the writer's stdout is piped");
    let mut child = ChildGuard::new("durability writer", child);

    let mut acknowledged = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read the writer's output");
        if let Some(n) = line.strip_prefix("acknowledged ") {
            let n: usize = n.trim().parse().expect("a batch number");
            acknowledged = Some(n);
            if n >= 15 {
                // SIGKILL: no destructor, no checkpoint, no flush.
                child.kill();
                break;
            }
        }
    }
    let acknowledged = acknowledged.expect("the writer acknowledged saves before it was killed");
    assert!(
        acknowledged >= 15,
        "the writer stopped early at {acknowledged}"
    );

    let batches = stored_batches(&path).await;
    assert_no_acknowledged_loss(&batches, acknowledged);
}
