//! Store benchmarks: a bulk upsert of 10,000 records (one analysis of a large cluster)
//! and a filtered listing over 100,000 records, for SQLite and MongoDB.
//!
//! MongoDB runs against nx-27017 started on 127.0.0.1 (from the test environment that
//! `scripts/test.sh` creates), or against the server in `DRIFTGUARD_TEST_MONGODB_URI`.
//! Run one side with a filter:
//!
//! ```text
//! cargo bench -p driftguard-store --bench store -- sqlite
//! cargo bench -p driftguard-store --bench store -- mongodb
//! ```
//! Results and the machine they were taken on: docs/performance.md.

use std::cell::{OnceCell, RefCell};
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use driftguard_core::ports::{DriftStore, RecordFilter};
use driftguard_core::{
    DriftDetail, DriftEvent, DriftRecord, DriftStatus, DriftType, EventKind, ResourceId, Severity,
};
use driftguard_store::{BulkWriteMode, MongoStore, SqliteStore};
use driftguard_test_support::mongo::{MongoServer, unique_database_name};
use serde_json::json;
use tokio::runtime::Runtime;

/// Records in one analysis of the upsert benchmark.
const UPSERT_RECORDS: usize = 10_000;
/// Records stored for the listing benchmark.
const LIST_RECORDS: usize = 100_000;
/// Namespaces the records spread over; the listing asks for one of them.
const NAMESPACES: usize = 100;
/// Applications the records spread over (across namespaces).
const APPLICATIONS: usize = 7;
/// Records saved per call while filling the listing benchmark's store.
const FILL_BATCH: usize = 10_000;

/// One drifted or clean Deployment record, about the size the detector writes
/// (two drift details when drifted).
fn record(i: usize, revision: u32) -> DriftRecord {
    let namespace = format!("team-{:03}", i % NAMESPACES);
    let name = format!("app-{i:06}");
    let status = [
        DriftStatus::None,
        DriftStatus::Active,
        DriftStatus::Resolved,
    ][i % 3];
    let drifted = status == DriftStatus::Active;
    let now = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid time")
        + chrono::Duration::seconds(i64::from(revision));
    let drifts = if drifted {
        vec![
            DriftDetail {
                path: "spec.replicas".to_owned(),
                drift_type: DriftType::Scaling,
                severity: Severity::Medium,
                desired: Some(json!(3)),
                live: Some(json!(5 + revision)),
                manager: Some("kubectl-scale".to_owned()),
                hand_edit: false,
                unowned: false,
            },
            DriftDetail {
                path: format!("spec.template.spec.containers[name={name}].image"),
                drift_type: DriftType::VersionChange,
                severity: Severity::High,
                desired: Some(json!("registry.example.com/shop/web:1.25.3")),
                live: Some(json!(format!(
                    "registry.example.com/shop/web:1.27.{revision}"
                ))),
                manager: Some("kubectl-edit".to_owned()),
                hand_edit: false,
                unowned: false,
            },
        ]
    } else {
        Vec::new()
    };
    DriftRecord {
        cluster: "default".to_owned(),
        resource_id: ResourceId::namespaced("Deployment", &namespace, &name),
        api_version: "apps/v1".to_owned(),
        kind: "Deployment".to_owned(),
        namespace: Some(namespace),
        name,
        application: format!("application-{:02}", i % APPLICATIONS),
        drift_detected: drifted,
        drift_status: status,
        severity: drifted.then_some(Severity::High),
        drift_types: if drifted {
            vec![DriftType::Scaling, DriftType::VersionChange]
        } else {
            Vec::new()
        },
        drifts,
        desired_hash: format!("{:064x}", i * 7919),
        live_hash: Some(format!("{:064x}", i * 104_729 + revision as usize)),
        last_known_good_hash: Some(format!("{:064x}", i * 7919)),
        git_revision: Some(format!("{:040x}", 0xc0ffee + revision)),
        first_detected: (status != DriftStatus::None).then_some(now),
        last_detected: drifted.then_some(now),
        resolved_at: (status == DriftStatus::Resolved).then_some(now),
        last_checked: now,
        resolution_message: (status == DriftStatus::Resolved)
            .then(|| "the live state was reverted to match Git".to_owned()),
        detection_count: u64::from(drifted),
    }
}

/// The records of one analysis at `revision`, and a drift event for one in a hundred.
fn analysis(count: usize, offset: usize, revision: u32) -> (Vec<DriftRecord>, Vec<DriftEvent>) {
    let records: Vec<DriftRecord> = (offset..offset + count)
        .map(|i| record(i, revision))
        .collect();
    let events = records
        .iter()
        .step_by(100)
        .map(|r| DriftEvent {
            cluster: "default".to_owned(),
            resource_id: r.resource_id.clone(),
            application: r.application.clone(),
            kind: EventKind::DriftDetected,
            at: r.last_checked,
            drift_types: r.drift_types.clone(),
            severity: r.severity,
            git_revision: r.git_revision.clone(),
            message: format!("drift detected on {}", r.resource_id),
            key: String::new(),
        })
        .collect();
    (records, events)
}

/// The listing the API serves most: one namespace's active drift.
fn filtered() -> RecordFilter {
    RecordFilter {
        namespace: Some("team-042".to_owned()),
        drift_status: Some(DriftStatus::Active),
        ..RecordFilter::default()
    }
}

/// A store set up on first use, so benchmarks left out by a filter cost nothing.
type Lazy<'a> = Box<dyn FnMut() -> Arc<dyn DriftStore> + 'a>;

/// Saves the same 10,000 resources again and again, alternating two revisions so that
/// every save rewrites every record (and appends one event per hundred records).
fn bench_upsert(c: &mut Criterion, name: &str, runtime: &Runtime, mut open_store: Lazy<'_>) {
    let batches = [
        analysis(UPSERT_RECORDS, 0, 1),
        analysis(UPSERT_RECORDS, 0, 2),
    ];
    let mut store: Option<Arc<dyn DriftStore>> = None;
    let mut turn = 0;
    c.bench_function(name, |b| {
        let store = store.get_or_insert_with(|| {
            let store = open_store();
            runtime
                .block_on(store.save(&batches[0].0, &[]))
                .expect("first save");
            store
        });
        b.iter(|| {
            turn += 1;
            let (records, events) = &batches[turn % 2];
            runtime.block_on(store.save(records, events)).expect("save");
        })
    });
}

/// Lists one namespace's active records out of 100,000.
fn bench_list(c: &mut Criterion, name: &str, runtime: &Runtime, mut open_store: Lazy<'_>) {
    let expected = (0..LIST_RECORDS)
        .filter(|i| i % NAMESPACES == 42 && i % 3 == 1)
        .count();
    let mut store: Option<Arc<dyn DriftStore>> = None;
    c.bench_function(name, |b| {
        let store = store.get_or_insert_with(|| {
            let store = open_store();
            for offset in (0..LIST_RECORDS).step_by(FILL_BATCH) {
                let (records, events) = analysis(FILL_BATCH, offset, 1);
                runtime
                    .block_on(store.save(&records, &events))
                    .expect("fill");
            }
            store
        });
        b.iter(|| {
            let listed = runtime.block_on(store.list(&filtered())).expect("list");
            assert_eq!(listed.len(), expected);
            listed
        })
    });
}

fn sqlite(c: &mut Criterion) {
    let runtime = Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let open = |file: &'static str| -> Lazy<'_> {
        let path = dir.path().join(file);
        Box::new(move || Arc::new(SqliteStore::open(&path).expect("open")) as Arc<dyn DriftStore>)
    };
    bench_upsert(c, "sqlite/upsert_10k_records", &runtime, open("upsert.db"));
    bench_list(
        c,
        "sqlite/list_namespace_active_of_100k_records",
        &runtime,
        open("list.db"),
    );
}

fn mongodb(c: &mut Criterion) {
    let runtime = Runtime::new().expect("runtime");
    let server: OnceCell<MongoServer> = OnceCell::new();
    let databases: RefCell<Vec<String>> = RefCell::new(Vec::new());
    let connect = |mode: BulkWriteMode| -> Lazy<'_> {
        let (runtime, server, databases) = (&runtime, &server, &databases);
        Box::new(move || {
            let server = server.get_or_init(MongoServer::from_env_or_start);
            let name = unique_database_name("driftguard_bench");
            let store = runtime
                .block_on(MongoStore::connect(
                    server.uri(),
                    &name,
                    Duration::from_secs(300),
                ))
                .unwrap_or_else(|e| panic!("cannot reach MongoDB: {e}"))
                .with_bulk_write_mode(mode);
            databases.borrow_mut().push(name);
            Arc::new(store) as Arc<dyn DriftStore>
        })
    };
    bench_upsert(
        c,
        "mongodb/upsert_10k_records/client_bulk_write",
        &runtime,
        connect(BulkWriteMode::ClientBulkWrite),
    );
    bench_upsert(
        c,
        "mongodb/upsert_10k_records/collection_commands",
        &runtime,
        connect(BulkWriteMode::CollectionCommands),
    );
    bench_list(
        c,
        "mongodb/list_namespace_active_of_100k_records",
        &runtime,
        connect(BulkWriteMode::Auto),
    );
    if let Some(server) = server.get() {
        let databases = databases.take();
        runtime.block_on(async {
            let client = mongodb::Client::with_uri_str(server.uri())
                .await
                .expect("client");
            for database in &databases {
                client
                    .database(database)
                    .drop()
                    .await
                    .expect("drop the benchmark database");
            }
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = sqlite, mongodb
}
criterion_main!(benches);
