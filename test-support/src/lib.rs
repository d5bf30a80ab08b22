//! Real servers for DriftGuard's integration tests, started on 127.0.0.1 and stopped
//! when dropped.
//!
//! - [`browser`]: headless Chromium over chromedriver (Debian's packages), for the
//!   dashboard's tests;
//! - [`git`]: `git daemon` (git://) and `git http-backend` (smart HTTP) over a repository
//!   built by the test;
//! - [`helm`]: a `helm` command (`helm template` on Helm v4's engine, from PyPI's
//!   helm-python-sdk) for tests that render charts;
//! - [`kube`]: kmock, a Kubernetes API emulator (PyPI), behind DriftGuard's wrapper;
//! - [`mongo`]: nx-27017, a MongoDB wire-protocol server (PyPI), or the server named by
//!   `DRIFTGUARD_TEST_MONGODB_URI`.
//!
//! [`service`] runs `driftguard serve` as a process; [`check`] reads what a
//! `driftguard check` run printed; [`files`] copies fixture folders; [`http`] is a small blocking HTTP client to drive servers (DriftGuard's API, kmock) as curl
//! would.
//!
//! The Python servers come from the virtual environment that `scripts/test.sh` creates;
//! a test that needs one and cannot find it fails with a message saying how to get it.

pub mod browser;
pub mod check;
pub mod files;
pub mod fixtures;
pub mod git;
pub mod helm;
pub mod http;
pub mod kube;
pub mod logs;
pub mod mongo;
pub mod process;
pub mod python;
pub mod service;
pub mod tokens;
