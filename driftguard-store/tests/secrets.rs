//! No Secret value reaches the store: records of Secret drift, built by the real analysis
//! over Secrets fingerprinted as the source adapters do, leave no plaintext (nor its
//! base64) in the SQLite file or its write-ahead log, nor in MongoDB's documents.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{TimeZone, Utc};
use driftguard_core::analysis::DetectionSettings;
use driftguard_core::ports::{DriftStore, EventFilter, RecordFilter};
use driftguard_core::secret::{FingerprintKey, fingerprint_secret};
use driftguard_core::testing::{InMemoryDesired, InMemoryLive};
use driftguard_core::{DesiredSnapshot, Detector, DriftStatus, DriftType, LiveSnapshot, Resource};
use driftguard_store::{MongoStore, SqliteStore};
use driftguard_test_support::mongo::{shared, unique_database_name};
use serde_json::{Value, json};

/// Plaintexts in Git (stringData and data) and in the cluster (data and kubectl's
/// last-applied copy), all different so each one is a drift.
const DESIRED_PASSWORD: &str = "git-password-Zq8#v1";
const DESIRED_TOKEN: &str = "git-token-4f1e9a7b3c";
const LIVE_PASSWORD: &str = "edited-by-hand-Kx2!p9";
const LIVE_TOKEN: &str = "live-token-8d0c2b6e1a";
const APPLIED_PASSWORD: &str = "applied-long-ago-Wm5?r3";

fn plaintexts() -> Vec<String> {
    let mut all = Vec::new();
    for secret in [
        DESIRED_PASSWORD,
        DESIRED_TOKEN,
        LIVE_PASSWORD,
        LIVE_TOKEN,
        APPLIED_PASSWORD,
    ] {
        all.push(secret.to_owned());
        all.push(STANDARD.encode(secret));
    }
    all
}

/// Read as the source adapters read it: Secret values fingerprinted before anything else.
fn read(mut object: Value, key: &FingerprintKey) -> Resource {
    fingerprint_secret(&mut object, key);
    Resource::from_object(object, None).expect("valid object")
}

fn desired_secret() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "db-credentials", "namespace": "payments"},
        "stringData": {"password": DESIRED_PASSWORD},
        "data": {"token": STANDARD.encode(DESIRED_TOKEN)}
    })
}

fn live_secret() -> Value {
    let applied = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db-credentials", "namespace": "payments"},
        "stringData": {"password": APPLIED_PASSWORD}
    });
    json!({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {
            "name": "db-credentials", "namespace": "payments",
            "uid": "2b7e0c4a-5d1f-4e3b-9a8c-6f2d1e0b3a4c", "resourceVersion": "9120",
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": applied.to_string()
            }
        },
        "data": {"password": STANDARD.encode(LIVE_PASSWORD), "token": STANDARD.encode(LIVE_TOKEN)}
    })
}

/// Runs the detector over the Secret in sync, then drifted, into `store`; returns the
/// fingerprint the store must hold instead of the live password.
async fn analyse_secret_drift(store: Arc<dyn DriftStore>) -> String {
    let key = FingerprintKey::derive("secret-test fingerprint key");
    let desired = Arc::new(InMemoryDesired::new(DesiredSnapshot {
        resources: vec![read(desired_secret(), &key)],
        revision: Some("5ec12e7".to_owned()),
        render: None,
    }));
    let live = Arc::new(InMemoryLive::new(LiveSnapshot::complete(vec![read(
        live_secret(),
        &key,
    )])));
    let detector = Detector::new(
        desired,
        live,
        Arc::clone(&store),
        DetectionSettings::default(),
    );
    let now = Utc
        .with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
        .single()
        .expect("valid time");
    detector.run(now).await.expect("analysis");

    let records = store.list(&RecordFilter::default()).await.expect("list");
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.drift_status, DriftStatus::Active);
    assert!(
        record.drift_types.contains(&DriftType::SecretChange),
        "{:?}",
        record.drift_types
    );
    assert!(
        !store
            .events(&EventFilter::default())
            .await
            .expect("events")
            .events
            .is_empty()
    );
    let fingerprint = key.fingerprint(LIVE_PASSWORD.as_bytes());
    let as_text = serde_json::to_string(record).expect("record as JSON");
    assert!(
        as_text.contains(&fingerprint),
        "the drift shows the fingerprint: {as_text}"
    );
    fingerprint
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The bytes of the database file and its WAL and shared-memory files.
fn database_bytes(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        if let Ok(content) = std::fs::read(&name) {
            bytes.extend(content);
        }
    }
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_reaches_the_sqlite_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drift.db");
    let store = SqliteStore::open(&path).expect("open");
    let fingerprint = analyse_secret_drift(Arc::new(store.clone())).await;

    // While the store is open the analysis sits in the WAL; once closed, in the file.
    assert_no_plaintext(&path, &fingerprint, "with the store open");
    drop(store);
    assert_no_plaintext(&path, &fingerprint, "after closing the store");
}

fn assert_no_plaintext(path: &Path, fingerprint: &str, moment: &str) {
    let bytes = database_bytes(path);
    assert!(
        contains(&bytes, fingerprint.as_bytes()),
        "{moment}: the search must see the stored record (its fingerprint)"
    );
    for secret in plaintexts() {
        assert!(
            !contains(&bytes, secret.as_bytes()),
            "{moment}: `{secret}` is in the database files"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_reaches_mongodb_documents() {
    let server = shared();
    let name = unique_database_name("driftguard_secrets");
    let store = MongoStore::connect(server.uri(), &name, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test MongoDB server: {e}"));
    let fingerprint = analyse_secret_drift(Arc::new(store)).await;

    let client = mongodb::Client::with_uri_str(server.uri())
        .await
        .expect("client");
    let database = client.database(&name);
    let mut bytes = Vec::new();
    for collection in ["drift_records", "drift_events"] {
        let mut cursor = database
            .collection::<bson::RawDocumentBuf>(collection)
            .find(bson::doc! {})
            .await
            .expect("find");
        while cursor.advance().await.expect("next document") {
            bytes.extend_from_slice(cursor.current().as_bytes());
        }
    }
    assert!(
        contains(&bytes, fingerprint.as_bytes()),
        "the search must see the stored record"
    );
    for secret in plaintexts() {
        assert!(
            !contains(&bytes, secret.as_bytes()),
            "`{secret}` is in a MongoDB document"
        );
    }
    database.drop().await.expect("drop the test database");
}
