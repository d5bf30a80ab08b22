//! Leader election among the replicas of one cluster's DriftGuard, over a Kubernetes
//! `Lease` (`coordination.k8s.io/v1`): only the leader analyses the cluster and writes
//! its records.
//!
//! - [`LeaderElectionConfig`]: the `leader_election` section of the configuration file;
//! - [`LeaseElection`]: the client, namespace and identity; [`LeaseElection::spawn`] runs
//!   one cluster's election in a task and publishes its [`Leadership`] on a watch channel;
//! - [`cluster_lease_name`]: how a cluster's name becomes a Lease name.
//!
//! The algorithm is client-go's `leaderelection`, with its timings: renew every fifth of
//! the lease duration (retry period), step down after two thirds of it without a
//! successful renewal (renew deadline), take over a lease seen unchanged for its
//! `leaseDurationSeconds` by the local monotonic clock, so the replicas' clocks need not
//! agree. Every write is a `create` (a second one answers `409 AlreadyExists`) or a
//! `replace` carrying the resourceVersion just read (a stale one answers `409 Conflict`):
//! of two replicas racing for the lease exactly one wins. A cancelled leader releases the
//! lease so a standby takes over at once. Unlike client-go, standbys retry without
//! jitter. The service account needs `get`, `create` and `update` on `leases`.
//!
//! It is written on kube directly, in this small module, rather than with a leader
//! election crate, so that these semantics can be stated and tested here:
//! `kube-leader-election` (0.38, on kube 0.98) takes a lease over and renews it with a
//! JSON merge patch that carries no resourceVersion, and decides expiry by comparing
//! `renewTime` with the local wall clock; `kube-lease-manager` (0.12, on kube 4 and
//! k8s-openapi 0.28, where DriftGuard uses kube 5 and 0.29) writes the lease by
//! server-side apply and allows for clock skew with a configured grace period.
//!
//! [`Leadership`]: driftguard_core::Leadership

mod config;
mod election;
mod elector;
mod identity;

pub use config::{
    DEFAULT_LEASE_DURATION, LEASE_NAME_PREFIX, LeaderElectionConfig, MIN_LEASE_DURATION,
    MIN_RETRY_PERIOD, cluster_lease_name,
};
pub use election::LeaseElection;
pub use identity::{PodEnvironment, SERVICE_ACCOUNT_NAMESPACE_FILE};
