//! MongoDB that is down at start-up or goes away mid-run: clear errors of kind
//! `Unavailable`, no credentials in any message, and recovery without a restart when the
//! server comes back. Each test runs its own nx-27017, so it can stop and restart it.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use driftguard_core::ports::{DriftStore, RecordFilter};
use driftguard_core::{DEFAULT_APPLICATION, DriftRecord, DriftStatus, PortErrorKind, ResourceId};
use driftguard_store::{DatabaseKind, MongoStore, StoreConfig, open};
use driftguard_test_support::mongo::{MongoServer, unique_database_name};
use driftguard_test_support::process::free_port;
use futures_util::TryStreamExt;

/// Short, so calls against a stopped server fail fast.
const DOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a recovering store may take to see the server again on a slow machine.
/// Reaching it earlier ends the wait; it is not a measurement.
const RECOVERY_DEADLINE: Duration = Duration::from_secs(120);

fn record(name: &str) -> DriftRecord {
    let resource_id = ResourceId::namespaced("ConfigMap", "shop", name);
    DriftRecord {
        api_version: "v1".to_owned(),
        kind: "ConfigMap".to_owned(),
        namespace: Some("shop".to_owned()),
        name: name.to_owned(),
        cluster: "default".to_owned(),
        application: DEFAULT_APPLICATION.to_owned(),
        resource_id,
        drift_detected: false,
        drift_status: DriftStatus::None,
        severity: None,
        drift_types: Vec::new(),
        drifts: Vec::new(),
        desired_hash: "d".repeat(64),
        live_hash: Some("d".repeat(64)),
        last_known_good_hash: Some("d".repeat(64)),
        git_revision: Some("abc123".to_owned()),
        first_detected: None,
        last_detected: None,
        resolved_at: None,
        last_checked: Utc
            .with_ymd_and_hms(2026, 2, 1, 8, 0, 0)
            .single()
            .expect("valid time"),
        resolution_message: None,
        detection_count: 0,
    }
}

/// Pings until the store answers; panics with the last error after the deadline.
async fn wait_until_ready(store: &dyn DriftStore) {
    let deadline = Instant::now() + RECOVERY_DEADLINE;
    loop {
        match store.ping().await {
            Ok(()) => return,
            Err(error) if Instant::now() > deadline => {
                panic!("the store did not recover within {RECOVERY_DEADLINE:?}: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_starts_with_the_database_down_and_recovers_when_it_comes_up() {
    let port = free_port();
    let data = tempfile::tempdir().expect("temp dir");
    let uri = format!("mongodb://127.0.0.1:{port}/?directConnection=true");
    let name = unique_database_name("driftguard_down_at_start");
    let config = StoreConfig {
        kind: DatabaseKind::Mongodb {
            uri: uri.clone(),
            name: name.clone(),
        },
        connect_timeout: DOWN_TIMEOUT,
    };

    // Nothing listens yet: `open` still gives a store, which says it is unavailable.
    let store = open(&config)
        .await
        .expect("the store opens with the server down");
    let error = store.ping().await.expect_err("no server yet");
    assert_eq!(error.kind, PortErrorKind::Unavailable, "{error}");
    assert!(
        error.message.contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
    let error = store
        .save(&[record("settings")], &[])
        .await
        .expect_err("no server yet");
    assert_eq!(error.kind, PortErrorKind::Unavailable, "{error}");

    // The database comes up: the same store becomes ready, creates its indexes and works.
    let _server = MongoServer::start_at(port, data.path());
    wait_until_ready(store.as_ref()).await;
    store.save(&[record("settings")], &[]).await.expect("save");
    assert_eq!(
        store
            .list(&RecordFilter::default())
            .await
            .expect("list")
            .len(),
        1
    );

    let client = mongodb::Client::with_uri_str(&uri).await.expect("client");
    let indexes: Vec<_> = client
        .database(&name)
        .collection::<bson::Document>("drift_records")
        .list_indexes()
        .await
        .expect("list indexes")
        .try_collect()
        .await
        .expect("indexes");
    let unique = indexes
        .iter()
        .find(|index| index.keys == bson::doc! { "cluster": 1, "resource_id": 1 })
        .expect("an index on (cluster, resource_id)");
    assert_eq!(unique.options.as_ref().and_then(|o| o.unique), Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_goes_away_gives_clear_errors_and_the_store_reconnects() {
    let port = free_port();
    let data = tempfile::tempdir().expect("temp dir");
    let mut server = MongoServer::start_at(port, data.path());
    let name = unique_database_name("driftguard_goes_away");
    let store = MongoStore::connect(server.uri(), &name, DOWN_TIMEOUT)
        .await
        .expect("connect");
    store.save(&[record("before")], &[]).await.expect("save");

    server.kill();
    let error = store.ping().await.expect_err("the server is gone");
    assert_eq!(error.kind, PortErrorKind::Unavailable, "{error}");
    let error = store
        .get(
            "default",
            &ResourceId::namespaced("ConfigMap", "shop", "before"),
        )
        .await
        .expect_err("the server is gone");
    assert_eq!(error.kind, PortErrorKind::Unavailable, "{error}");
    assert!(error.message.contains("reading a record"), "{error}");

    // Back on the same port with the same data: the store reconnects by itself.
    let _server = MongoServer::start_at(port, data.path());
    wait_until_ready(&store).await;
    store
        .save(&[record("after")], &[])
        .await
        .expect("save after recovery");
    let names: Vec<String> = store
        .list(&RecordFilter::default())
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["after", "before"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_appear_in_errors_or_debug_output() {
    let password = "Tr0ub4dor-and-3";
    let closed_port = free_port();
    let uri = format!("mongodb://driftguard:{password}@127.0.0.1:{closed_port}/?authSource=admin");

    let error = MongoStore::connect(&uri, "driftguard", Duration::from_millis(500))
        .await
        .expect_err("nothing listens there");
    let text = format!("{error} {error:?}");
    assert!(!text.contains(password), "{text}");
    assert!(!text.contains("driftguard:"), "{text}");
    assert!(
        text.contains("***@127.0.0.1"),
        "the message names the server: {text}"
    );

    let store = MongoStore::new(&uri, "driftguard", Duration::from_millis(500)).expect("valid URI");
    assert!(!format!("{store:?}").contains(password));
    let error = store.ping().await.expect_err("nothing listens there");
    assert!(!error.to_string().contains(password), "{error}");

    for bad in [
        format!("mongodb://driftguard:{password}@127.0.0.1:notaport/"),
        format!("mongodb://driftguard:{password}@/"),
        format!("mongodb://driftguard:{password}@127.0.0.1/?authMechanism=NOT-A-MECHANISM"),
    ] {
        let error = MongoStore::new(&bad, "driftguard", DOWN_TIMEOUT).expect_err("invalid URI");
        let text = format!("{error} {error:?}");
        assert!(!text.contains(password), "{text}");
        assert!(text.contains("invalid MongoDB URI"), "{text}");
    }

    let config =
        StoreConfig::mongodb(uri, "driftguard").with_connect_timeout(Duration::from_millis(500));
    assert!(!format!("{config:?}").contains(password));
    let store = open(&config).await.expect("opens with the server down");
    let error = store
        .statistics(None)
        .await
        .expect_err("nothing listens there");
    assert!(!error.to_string().contains(password), "{error}");
}
