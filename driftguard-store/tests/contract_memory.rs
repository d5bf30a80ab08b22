//! The store contract against the in-memory store of `driftguard-core`: the reference
//! the real stores are held to.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod contract;

use std::sync::Arc;

use contract::Subject;
use driftguard_core::testing::InMemoryStore;

async fn subject() -> Subject {
    Subject::new(Arc::new(InMemoryStore::new()))
}

contract_tests!(subject);
