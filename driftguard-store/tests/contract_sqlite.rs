//! The store contract against the SQLite store, each case on a new file in a temporary
//! folder.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod contract;

use std::sync::Arc;

use contract::Subject;
use driftguard_store::SqliteStore;

async fn subject() -> Subject {
    let dir = tempfile::tempdir().expect("temporary folder");
    let store = SqliteStore::open(dir.path().join("drift.db")).expect("open the SQLite store");
    Subject {
        store: Arc::new(store),
        keep: Box::new(dir),
        finish: None,
    }
}

contract_tests!(subject);
