//! Persistence of DriftGuard's drift records and their event history.
//!
//! This crate will hold the adapters for the `DriftStore` port of `driftguard-core`:
//! an embedded SQLite store (the default, no server to install) and a MongoDB store for
//! production, both checked by one contract test suite. Until then, the in-memory store
//! behind `driftguard-core`'s `testing` feature implements the port.
