//! MongoDB documents written before applications existed have no `application` field:
//! they read back in the default application, and the application filter, statistics
//! and counts place them there, next to documents written now. Against nx-27017 on
//! 127.0.0.1 (or the server in `DRIFTGUARD_TEST_MONGODB_URI`).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use bson::{Document, doc};
use chrono::{TimeZone, Utc};
use driftguard_core::ports::{DriftStore, EventFilter, RecordFilter};
use driftguard_core::stats::{StatusCounts, compute, status_counts_by};
use driftguard_core::{
    DEFAULT_APPLICATION, DEFAULT_CLUSTER, DriftEvent, DriftRecord, DriftStatus, DriftType,
    EventKind, ResourceId, Severity,
};
use driftguard_store::MongoStore;
use driftguard_store::mongo::{EVENTS_COLLECTION, RECORDS_COLLECTION};
use driftguard_test_support::mongo::{shared, unique_database_name};

/// Generous: nx-27017 serves every test of the binary from one Python process.
const TIMEOUT: Duration = Duration::from_secs(60);

fn record(id: &str, application: &str, status: DriftStatus, types: &[DriftType]) -> DriftRecord {
    let resource_id: ResourceId = id.parse().expect("valid id");
    let now = Utc
        .with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
        .single()
        .expect("valid time");
    let active = status == DriftStatus::Active;
    DriftRecord {
        cluster: "default".to_owned(),
        api_version: "v1".to_owned(),
        kind: resource_id.kind().to_owned(),
        namespace: resource_id.namespace().map(str::to_owned),
        name: resource_id.name().to_owned(),
        application: application.to_owned(),
        drift_detected: active,
        drift_status: status,
        severity: active.then_some(Severity::High),
        drift_types: types.to_vec(),
        drifts: Vec::new(),
        desired_hash: "d".repeat(64),
        live_hash: None,
        last_known_good_hash: None,
        git_revision: Some("c0ffee".to_owned()),
        first_detected: (status != DriftStatus::None).then_some(now),
        last_detected: active.then_some(now),
        resolved_at: (status == DriftStatus::Resolved).then_some(now),
        last_checked: now,
        resolution_message: None,
        detection_count: u64::from(status != DriftStatus::None),
        resource_id,
    }
}

fn event(record: &DriftRecord) -> DriftEvent {
    DriftEvent {
        cluster: "default".to_owned(),
        resource_id: record.resource_id.clone(),
        application: record.application.clone(),
        kind: EventKind::DriftDetected,
        at: record.last_checked,
        drift_types: record.drift_types.clone(),
        severity: record.severity,
        git_revision: record.git_revision.clone(),
        message: format!("drift on {}", record.resource_id),
        key: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_without_an_application_belong_to_the_default_one() {
    let server = shared();
    let name = unique_database_name("driftguard_before_applications");
    let store = MongoStore::connect(server.uri(), &name, TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test MongoDB server: {e}"));

    let records = vec![
        record(
            "Service:shop:web",
            DEFAULT_APPLICATION,
            DriftStatus::Active,
            &[DriftType::Missing],
        ),
        record(
            "ConfigMap:shop:settings",
            DEFAULT_APPLICATION,
            DriftStatus::None,
            &[],
        ),
        record(
            "Deployment:shop:web",
            "shop-frontend",
            DriftStatus::Active,
            &[DriftType::Scaling],
        ),
    ];
    let events: Vec<DriftEvent> = records
        .iter()
        .filter(|r| r.drift_detected)
        .map(event)
        .collect();
    store.save(&records, &events).await.expect("save");

    // The default application's documents as an older DriftGuard wrote them.
    let mut options = mongodb::options::ClientOptions::parse(server.uri())
        .await
        .expect("the test server's URI parses");
    options.server_selection_timeout = Some(TIMEOUT);
    let client = mongodb::Client::with_options(options).expect("client");
    let database = client.database(&name);
    let older = doc! { "application": DEFAULT_APPLICATION };
    let unset = doc! { "$unset": { "application": "" } };
    for collection in [RECORDS_COLLECTION, EVENTS_COLLECTION] {
        database
            .collection::<Document>(collection)
            .update_many(older.clone(), unset.clone())
            .await
            .unwrap_or_else(|e| panic!("cannot rewrite {collection}: {e}"));
    }
    let without_field = database
        .collection::<Document>(RECORDS_COLLECTION)
        .count_documents(doc! { "application": { "$exists": false } })
        .await
        .expect("count");
    assert_eq!(without_field, 2, "the older documents have no application");

    let id: ResourceId = "Service:shop:web".parse().expect("valid id");
    assert_eq!(
        store.get("default", &id).await.expect("get").as_ref(),
        Some(&records[0])
    );
    let in_application = |application: &str| RecordFilter {
        application: Some(application.to_owned()),
        ..RecordFilter::default()
    };
    let listed = store
        .list(&in_application(DEFAULT_APPLICATION))
        .await
        .expect("list");
    assert_eq!(listed, vec![records[1].clone(), records[0].clone()]);
    let active_default = RecordFilter {
        drift_status: Some(DriftStatus::Active),
        ..in_application(DEFAULT_APPLICATION)
    };
    assert_eq!(
        store.list(&active_default).await.expect("list"),
        vec![records[0].clone()]
    );
    assert_eq!(
        store
            .list(&in_application("shop-frontend"))
            .await
            .expect("list"),
        vec![records[2].clone()]
    );
    assert_eq!(
        store
            .events(&EventFilter::default())
            .await
            .expect("events")
            .events,
        events
    );

    let statistics = store.statistics(None).await.expect("statistics");
    assert_eq!(
        statistics.by_application,
        compute(&records, &events).by_application
    );
    let counts = store.application_counts().await.expect("counts");
    assert_eq!(
        counts,
        status_counts_by(&records, |r| r.application.as_str())
            .into_iter()
            .map(|(application, counts)| ((DEFAULT_CLUSTER.to_owned(), application), counts))
            .collect()
    );
    assert_eq!(
        counts.get(&(DEFAULT_CLUSTER.to_owned(), DEFAULT_APPLICATION.to_owned())),
        Some(&StatusCounts {
            none: 1,
            active: 1,
            resolved: 0,
            missing: 1,
        })
    );
    assert_eq!(counts.len(), 2, "{counts:?}");

    database.drop().await.expect("drop the test database");
}
