//! The DriftGuard REST API and Prometheus metrics.
//!
//! This crate will hold the warp routes of DESIGN.md §6 (`/health`, `/ready`, `/metrics`,
//! `/api/v1/drift-records…`, `/api/v1/statistics`, `POST /api/v1/analyze`), their DTOs,
//! the mapping of errors to HTTP statuses, the metrics registry, and the `serve` entry
//! point that the `driftguard` binary and other Rust tools call.
