//! Pruning a SQLite store gives the space back: the file has incremental auto-vacuum, a
//! prune returns the freed pages, and the file shrinks. Statistics read summaries that
//! follow every deleted row.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use driftguard_core::ports::{DriftStore, EventFilter, PruneCounts, RecordFilter};
use driftguard_core::stats::compute;
use driftguard_core::{DEFAULT_APPLICATION, DriftEvent, DriftType, EventKind, ResourceId};
use driftguard_store::SqliteStore;
use rusqlite::Connection;

/// More than one chunk of the prune's deletes.
const EVENTS: usize = 25_000;

fn at(second: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("valid time")
        + Duration::seconds(second)
}

/// Events of 100 resources, one a second, alternately detected and resolved, with
/// messages long enough to fill many pages.
fn events() -> Vec<DriftEvent> {
    (0..EVENTS)
        .map(|i| DriftEvent {
            cluster: "default".to_owned(),
            resource_id: ResourceId::namespaced("Deployment", "shop", format!("app-{}", i % 100)),
            application: DEFAULT_APPLICATION.to_owned(),
            kind: if (i / 100) % 2 == 0 {
                EventKind::DriftDetected
            } else {
                EventKind::DriftResolved
            },
            at: at(i as i64),
            drift_types: vec![DriftType::Scaling],
            severity: None,
            git_revision: Some(format!("{i:040x}")),
            message: format!("event {i}: {}", "x".repeat(400)),
            key: String::new(),
        })
        .collect()
}

fn pragma(path: &Path, name: &str) -> i64 {
    Connection::open(path)
        .expect("open")
        .pragma_query_value(None, name, |row| row.get(0))
        .expect(name)
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).expect("database file").len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prune_shrinks_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("drift.db");
    let store = SqliteStore::open(&path).expect("open");
    assert_eq!(pragma(&path, "auto_vacuum"), 2, "incremental auto-vacuum");

    let events = events();
    for chunk in events.chunks(5_000) {
        store.save(&[], chunk).await.expect("save");
    }
    // All written to the main file, so its size says how big the data is.
    Connection::open(&path)
        .expect("open")
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    let pages_before = pragma(&path, "page_count");
    let size_before = file_size(&path);

    // Keep the last 1,000 events.
    let cutoff = at((EVENTS - 1_000) as i64);
    let counts = store.prune(cutoff, cutoff).await.expect("prune");
    assert_eq!(
        counts,
        PruneCounts {
            events: (EVENTS - 1_000) as u64,
            records: 0
        }
    );
    let kept: Vec<DriftEvent> = events.iter().filter(|e| e.at >= cutoff).cloned().collect();
    assert_eq!(
        store
            .events(&EventFilter::default())
            .await
            .expect("events")
            .events,
        kept
    );
    let statistics = store.statistics(None).await.expect("statistics");
    assert_eq!(statistics.total_events, 1_000);
    assert_eq!(statistics.most_drifted, compute(&[], &kept).most_drifted);
    assert_eq!(
        statistics.mean_time_to_resolve_seconds,
        compute(&[], &kept).mean_time_to_resolve_seconds
    );
    drop(store);

    let pages_after = pragma(&path, "page_count");
    assert_eq!(pragma(&path, "freelist_count"), 0, "free pages returned");
    assert!(
        pages_after * 4 < pages_before,
        "pages: {pages_before} before, {pages_after} after"
    );
    Connection::open(&path)
        .expect("open")
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    let size_after = file_size(&path);
    assert!(
        size_after * 4 < size_before,
        "bytes: {size_before} before, {size_after} after"
    );

    // What is left opens, lists and saves as before.
    let store = SqliteStore::open(&path).expect("reopen");
    assert!(
        store
            .list(&RecordFilter::default())
            .await
            .expect("list")
            .is_empty()
    );
    store
        .save(&[], &events[..1])
        .await
        .expect("save after the prune");
    assert_eq!(
        store
            .statistics(None)
            .await
            .expect("statistics")
            .total_events,
        1_001
    );
}
