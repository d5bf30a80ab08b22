//! The DriftGuard service: the analysis loop, the REST API on warp, and Prometheus metrics.
//!
//! Build a [`Detector`](driftguard_core::Detector) over a desired source, a live source
//! and a store, wrap it in a [`Service`] with [`ServiceSettings`], and hand it to
//! [`serve`] with a bound listener and a shutdown future. `serve` runs:
//!
//! - the analysis loop: a full analysis at start, every `interval` when `periodic` is on,
//!   and on `POST /api/v1/analyze` (requests made while an analysis runs are merged into
//!   one more analysis); a targeted analysis of one resource per live change notification
//!   when `watch` is on. A failed source or store leaves the records as they are, logs the
//!   error, makes `/ready` answer 503 and is retried at the next analysis;
//! - the API: `/health`, `/ready`, `/metrics`, `/api/v1/drift-records…`,
//!   `/api/v1/statistics`, `POST /api/v1/analyze`, and `/api/v1/stream`, Server-Sent
//!   Events after each analysis (see `docs/api.md`);
//! - access control, when [`ServiceSettings::auth`] names a tokens file: bearer tokens with
//!   the `read` and `analyze` scopes, re-read when the file changes, and a per-client limit
//!   on analysis requests ([`ServiceSettings::analyze_rate_limit`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use driftguard_api::{Service, ServiceSettings, serve};
//! use driftguard_core::{Detector, analysis::DetectionSettings};
//! # async fn run(
//! #     desired: Arc<dyn driftguard_core::DesiredSource>,
//! #     live: Arc<dyn driftguard_core::LiveSource>,
//! #     store: Arc<dyn driftguard_core::DriftStore>,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! let detector = Detector::new(desired, live, store, DetectionSettings::default());
//! let service = Service::new(detector, ServiceSettings::default())?;
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! serve(listener, service, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await?;
//! # Ok(())
//! # }
//! ```

mod accounting;
mod active;
mod analysis_loop;
mod auth;
mod capacity;
mod cluster;
mod config;
mod connection;
mod error;
mod http;
mod hub;
mod last_analysis;
mod metrics;
mod readiness;
mod report;
mod server;
mod service;
mod settings;
mod stream;
mod tls;
mod trigger;
mod ui;

pub use auth::{AuthConfig, RateLimitConfig};
pub use cluster::ClusterAnalysis;
pub use config::ServerConfig;
pub use connection::ServerTimeouts;
pub use error::{Error, Result};
pub use http::routes;
pub use server::serve;
pub use service::Service;
pub use settings::ServiceSettings;
pub use tls::TlsConfig;
