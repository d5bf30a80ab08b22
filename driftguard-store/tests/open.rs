//! `open` builds the configured store.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use driftguard_core::ports::RecordFilter;
use driftguard_store::{SqliteStore, StoreConfig, open};

#[tokio::test]
async fn opens_the_sqlite_store_from_its_configuration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drift.db");
    let config: StoreConfig = serde_json::from_value(serde_json::json!({
        "type": "sqlite", "path": path
    }))
    .expect("valid configuration");
    let store = open(&config).await.expect("open");
    store.ping().await.expect("ready");
    assert!(
        store
            .list(&RecordFilter::default())
            .await
            .expect("list")
            .is_empty()
    );
    assert!(path.exists(), "the file is created");

    // The file holds the current schema: opening it again is a no-op migration.
    drop(store);
    SqliteStore::open(&path).expect("reopen");
}

#[tokio::test]
async fn creates_the_folder_of_the_sqlite_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir
        .path()
        .join("driftguard-data")
        .join("nested")
        .join("drift.db");
    let store = open(&StoreConfig::sqlite(&path)).await.expect("open");
    store.ping().await.expect("ready");
    assert!(path.exists(), "the file and its folders are created");

    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, "not a folder").expect("write");
    let error = open(&StoreConfig::sqlite(blocked.join("drift.db")))
        .await
        .err()
        .expect("a file where the folder should be");
    assert!(
        error.to_string().contains("cannot create the folder"),
        "{error}"
    );
    assert!(error.to_string().contains("a-file"), "{error}");
}

#[tokio::test]
async fn refuses_an_invalid_configuration_with_the_key_named() {
    let config = StoreConfig::sqlite("drift.db").with_connect_timeout(Duration::ZERO);
    let error = open(&config).await.err().expect("invalid");
    assert!(
        error.to_string().contains("database.connect_timeout"),
        "{error}"
    );

    let config = StoreConfig::mongodb("mongodb://127.0.0.1:1/", "bad.name");
    let error = open(&config).await.err().expect("invalid");
    assert!(error.to_string().contains("database.name"), "{error}");
}
