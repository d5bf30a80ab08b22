//! The service over real HTTP on 127.0.0.1, with in-memory ports (and the real stores
//! where paging depends on how they order events).

#![allow(clippy::unwrap_used, missing_docs)]

mod certs;
mod fakes;
mod fixtures;
mod harness;

mod access;
mod analysis;
mod clusters;
mod connection_cap;
mod errors;
mod event_pages;
mod list_filters;
mod metrics;
mod openapi;
mod readiness;
mod routes;
mod shutdown;
mod stream;
mod timeouts;
mod tls;
mod ui;
