//! The election loop of one cluster: client-go's `leaderelection` algorithm over one
//! Lease, every write a `create` or a `replace` that carries the resourceVersion just
//! read, so that of two writers racing on one version exactly one wins (the other gets
//! `409 Conflict`, or `409 AlreadyExists` for a create).
//!
//! Expiry is judged by *observed* time, as in client-go: a standby remembers when the
//! lease's `(holderIdentity, renewTime, resourceVersion)` last changed, by its own
//! monotonic clock, and takes the lease over only once it has seen it unchanged for the
//! lease's `leaseDurationSeconds`. The clocks of the replicas and the API server never
//! need to agree; `renewTime` is written for people and other tools only.
//!
//! Safety margin: a leader counts its renew deadline (two thirds of the lease) from the
//! moment it *sent* its last successful renewal, and every request it makes is cut off at
//! that deadline; a standby counts the lease duration from the moment it *saw* the
//! renewal, which is after it was written. So the leader has stepped down before any
//! standby may take over, whatever the network delays.

use std::time::Duration;

use driftguard_core::Leadership;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Api;
use kube::api::PostParams;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::kube::classify;

/// The timings of one election, from [`LeaderElectionConfig`](super::LeaderElectionConfig).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timings {
    /// `leaseDurationSeconds` written into the lease.
    pub lease_duration_seconds: i32,
    /// Pause between two attempts.
    pub retry_period: Duration,
    /// A leader without a successful renewal for this long steps down.
    pub renew_deadline: Duration,
}

/// Who runs one election, and where.
pub(crate) struct Elector {
    pub api: Api<Lease>,
    pub cluster: String,
    pub lease_name: String,
    pub namespace: String,
    pub identity: String,
    pub timings: Timings,
    /// The API server, for messages (without credentials).
    pub server: Option<String>,
}

/// A lease record as a standby watches it change.
#[derive(Debug, Clone, PartialEq)]
struct RecordKey {
    holder: Option<String>,
    renew_time: Option<MicroTime>,
    resource_version: Option<String>,
}

/// The record last seen held by another instance, and when (by the local monotonic
/// clock) it last changed.
#[derive(Debug)]
struct Observed {
    key: RecordKey,
    since: Instant,
}

/// What one attempt to acquire or renew found.
#[derive(Debug)]
enum Outcome {
    /// This instance holds the lease: it created, took over or renewed it. The lease as
    /// written, and when the attempt started.
    Holding(Box<Lease>, Instant),
    /// Another instance holds the lease (`None`: one won a race, not yet known which).
    HeldBy(Option<String>),
    /// A write lost a race for the version just read; the next attempt reads again.
    Contended(&'static str),
    /// The API server failed or did not answer: the role stays until the renew deadline.
    Failed(String),
}

/// The holder named by a lease, `None` when empty.
fn holder_of(lease: &Lease) -> Option<&str> {
    lease
        .spec
        .as_ref()
        .and_then(|spec| spec.holder_identity.as_deref())
        .filter(|holder| !holder.is_empty())
}

fn now() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

/// Whether a kube error is an HTTP answer with `code`.
fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}

/// The state of the loop.
struct State {
    /// What is published: the role.
    role: Leadership,
    /// The lease as this instance last wrote it, while it leads: the next renewal replaces
    /// it directly, without reading first.
    written: Option<Lease>,
    /// When the last successful acquisition or renewal was sent, while leading.
    renewed_at: Option<Instant>,
    observed: Option<Observed>,
    /// The message of the last failure of the current streak, to warn once per streak.
    failing: Option<String>,
}

impl Elector {
    fn describe(&self, verb: &str) -> String {
        let what = format!("{verb} lease {}/{}", self.namespace, self.lease_name);
        match &self.server {
            Some(server) => format!("{what} ({server})"),
            None => what,
        }
    }

    fn failed(&self, verb: &str, error: kube::Error) -> Outcome {
        Outcome::Failed(classify(error, self.describe(verb)).to_string())
    }

    /// A lease held by this instance from now: created, or taken over from `previous`.
    fn acquired(&self, previous: Option<&Lease>) -> Lease {
        let now = now();
        let (metadata, spec, transitions) = match previous {
            Some(lease) => {
                let spec = lease.spec.clone().unwrap_or_default();
                let old = spec.lease_transitions.unwrap_or(0);
                let transitions = if holder_of(lease) == Some(self.identity.as_str()) {
                    old
                } else {
                    old.saturating_add(1)
                };
                (lease.metadata.clone(), spec, transitions)
            }
            None => (
                ObjectMeta {
                    name: Some(self.lease_name.clone()),
                    namespace: Some(self.namespace.clone()),
                    ..ObjectMeta::default()
                },
                LeaseSpec::default(),
                0,
            ),
        };
        Lease {
            metadata,
            spec: Some(LeaseSpec {
                holder_identity: Some(self.identity.clone()),
                lease_duration_seconds: Some(self.timings.lease_duration_seconds),
                acquire_time: Some(now.clone()),
                renew_time: Some(now),
                lease_transitions: Some(transitions),
                ..spec
            }),
        }
    }

    /// `lease`, held by this instance, renewed now.
    fn renewed(&self, lease: &Lease) -> Lease {
        let mut renewed = lease.clone();
        let spec = renewed.spec.get_or_insert_with(LeaseSpec::default);
        let now = now();
        spec.holder_identity = Some(self.identity.clone());
        spec.lease_duration_seconds = Some(self.timings.lease_duration_seconds);
        spec.acquire_time.get_or_insert_with(|| now.clone());
        spec.lease_transitions.get_or_insert(0);
        spec.renew_time = Some(now);
        renewed
    }

    /// `lease` given up: no holder, and a one-second duration with `renewTime` now, so
    /// that a standby takes it at once (as client-go's `ReleaseOnCancel` writes it).
    fn released(lease: &Lease) -> Lease {
        let mut released = lease.clone();
        let spec = released.spec.get_or_insert_with(LeaseSpec::default);
        let now = now();
        spec.holder_identity = Some(String::new());
        spec.lease_duration_seconds = Some(1);
        spec.acquire_time = Some(now.clone());
        spec.renew_time = Some(now);
        released
    }

    /// Replaces the lease with `lease`, which carries the resourceVersion it was read at.
    async fn replace(&self, lease: &Lease) -> Result<Lease, kube::Error> {
        self.api
            .replace(&self.lease_name, &PostParams::default(), lease)
            .await
    }

    /// One attempt: read the lease (unless renewing one this instance just wrote), then
    /// create, take over or renew it, or leave it to its holder.
    async fn attempt(&self, state: &mut State, started: Instant) -> Outcome {
        if state.role.is_leader()
            && let Some(written) = &state.written
        {
            match self.replace(&self.renewed(written)).await {
                Ok(lease) => return Outcome::Holding(Box::new(lease), started),
                // Someone else wrote the lease: read it to see whether it is still ours.
                Err(error) if is_status(&error, 409) => {}
                Err(error) => return self.failed("renew", error),
            }
        }
        let current = match self.api.get(&self.lease_name).await {
            Ok(lease) => lease,
            Err(error) if is_status(&error, 404) => {
                return match self
                    .api
                    .create(&PostParams::default(), &self.acquired(None))
                    .await
                {
                    Ok(lease) => Outcome::Holding(Box::new(lease), started),
                    Err(error) if is_status(&error, 409) => Outcome::HeldBy(None),
                    Err(error) => self.failed("create", error),
                };
            }
            Err(error) => return self.failed("get", error),
        };
        let holder = holder_of(&current).map(str::to_owned);
        if holder.as_deref() == Some(self.identity.as_str()) {
            state.observed = None;
            return match self.replace(&self.renewed(&current)).await {
                Ok(lease) => Outcome::Holding(Box::new(lease), started),
                Err(error) if is_status(&error, 409) => Outcome::Contended("renew"),
                Err(error) => self.failed("renew", error),
            };
        }
        if holder.is_some() && !self.expired(state, &current, Instant::now()) {
            return Outcome::HeldBy(holder);
        }
        match self.replace(&self.acquired(Some(&current))).await {
            Ok(lease) => Outcome::Holding(Box::new(lease), started),
            Err(error) if is_status(&error, 409) => Outcome::HeldBy(None),
            Err(error) => self.failed("take over", error),
        }
    }

    /// Notes `lease` (held by another instance) and says whether it has gone unchanged for
    /// its `leaseDurationSeconds`, by this instance's clock (`now`).
    fn expired(&self, state: &mut State, lease: &Lease, now: Instant) -> bool {
        let spec = lease.spec.as_ref();
        let key = RecordKey {
            holder: holder_of(lease).map(str::to_owned),
            renew_time: spec.and_then(|s| s.renew_time.clone()),
            resource_version: lease.metadata.resource_version.clone(),
        };
        let since = match &state.observed {
            Some(observed) if observed.key == key => observed.since,
            _ => {
                state.observed = Some(Observed { key, since: now });
                now
            }
        };
        let seconds = spec
            .and_then(|s| s.lease_duration_seconds)
            .filter(|s| *s > 0)
            .unwrap_or(self.timings.lease_duration_seconds);
        let duration = Duration::from_secs(u64::try_from(seconds).unwrap_or(1));
        now.duration_since(since) > duration
    }

    /// Publishes `role` when it differs from the current one.
    fn publish(state: &mut State, sender: &watch::Sender<Leadership>, role: Leadership) {
        if state.role != role {
            state.role = role.clone();
            sender.send_replace(role);
        }
    }

    fn step_down(
        &self,
        state: &mut State,
        sender: &watch::Sender<Leadership>,
        leader: Option<String>,
        reason: &str,
    ) {
        state.written = None;
        state.renewed_at = None;
        if state.role.is_leader() {
            tracing::info!(
                cluster = %self.cluster,
                lease = %format!("{}/{}", self.namespace, self.lease_name),
                identity = %self.identity,
                new_leader = leader.as_deref().unwrap_or(""),
                "lost leadership of cluster {}: {reason}",
                self.cluster
            );
        } else if let Some(holder) = &leader
            && state.role
                != (Leadership::Standby {
                    leader: leader.clone(),
                })
        {
            tracing::debug!(cluster = %self.cluster, leader = %holder, "the lease is held by another instance");
        }
        Self::publish(state, sender, Leadership::Standby { leader });
    }

    fn apply(&self, state: &mut State, sender: &watch::Sender<Leadership>, outcome: Outcome) {
        if !matches!(outcome, Outcome::Failed(_))
            && let Some(last) = state.failing.take()
        {
            tracing::info!(cluster = %self.cluster, previous_error = %last, "leader election reaches the API server again");
        }
        match outcome {
            Outcome::Holding(lease, started) => {
                if !state.role.is_leader() {
                    let transitions = lease.spec.as_ref().and_then(|s| s.lease_transitions);
                    tracing::info!(
                        cluster = %self.cluster,
                        lease = %format!("{}/{}", self.namespace, self.lease_name),
                        identity = %self.identity,
                        lease_transitions = transitions.unwrap_or(0),
                        "became leader of cluster {}",
                        self.cluster
                    );
                }
                state.written = Some(*lease);
                state.renewed_at = Some(started);
                state.observed = None;
                Self::publish(state, sender, Leadership::Leader);
            }
            Outcome::HeldBy(leader) => {
                self.step_down(state, sender, leader, "another instance holds the lease");
            }
            Outcome::Contended(verb) => {
                tracing::debug!(cluster = %self.cluster, "lease {verb}: the lease changed since it was read; reading it again");
            }
            Outcome::Failed(message) => {
                if state.failing.as_deref() != Some(message.as_str()) {
                    tracing::warn!(
                        cluster = %self.cluster,
                        error = %message,
                        "leader election: the API call failed; keeping the current role until the renew deadline"
                    );
                } else {
                    tracing::debug!(cluster = %self.cluster, error = %message, "leader election: the API call failed again");
                }
                state.failing = Some(message);
            }
        }
    }

    /// How long a leader may still go without renewing; `None` for a standby.
    fn remaining(&self, state: &State) -> Option<Duration> {
        let renewed_at = state.renewed_at.filter(|_| state.role.is_leader())?;
        Some((renewed_at + self.timings.renew_deadline).saturating_duration_since(Instant::now()))
    }

    /// Steps down when the renew deadline has passed.
    fn check_deadline(&self, state: &mut State, sender: &watch::Sender<Leadership>) {
        if self.remaining(state) == Some(Duration::ZERO) {
            let reason = format!(
                "no successful renewal for {:?} (the renew deadline)",
                self.timings.renew_deadline
            );
            self.step_down(state, sender, None, &reason);
        }
    }

    /// Runs the election until `cancel`; then, when leading, publishes `Standby` and
    /// releases the lease. The sender is dropped at the end, closing the channel.
    pub(crate) async fn run(self, sender: watch::Sender<Leadership>, cancel: CancellationToken) {
        let mut state = State {
            role: sender.borrow().clone(),
            written: None,
            renewed_at: None,
            observed: None,
            failing: None,
        };
        loop {
            self.check_deadline(&mut state, &sender);
            let started = Instant::now();
            // A leader's requests end at its renew deadline; a standby's after as long.
            let limit = self
                .remaining(&state)
                .unwrap_or(self.timings.renew_deadline);
            let outcome = tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                result = tokio::time::timeout(limit, self.attempt(&mut state, started)) => {
                    result.unwrap_or_else(|_| Outcome::Failed(format!(
                        "{}: no answer from the Kubernetes API server within {limit:?}",
                        self.describe("acquire or renew")
                    )))
                }
            };
            self.apply(&mut state, &sender, outcome);
            self.check_deadline(&mut state, &sender);
            let pause = self
                .remaining(&state)
                .map_or(self.timings.retry_period, |left| {
                    left.min(self.timings.retry_period)
                });
            tokio::select! {
                biased;
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        if state.role.is_leader() {
            // Stop acting as leader first, then let a standby take over.
            let written = state.written.take();
            Self::publish(&mut state, &sender, Leadership::Standby { leader: None });
            let release = self.release(written);
            match tokio::time::timeout(self.timings.renew_deadline, release).await {
                Ok(Ok(())) => tracing::info!(
                    cluster = %self.cluster,
                    lease = %format!("{}/{}", self.namespace, self.lease_name),
                    "released the lease of cluster {}",
                    self.cluster
                ),
                Ok(Err(message)) => tracing::warn!(
                    cluster = %self.cluster,
                    error = %message,
                    "could not release the lease; a standby takes it over when it expires"
                ),
                Err(_) => tracing::warn!(
                    cluster = %self.cluster,
                    "could not release the lease in time; a standby takes it over when it expires"
                ),
            }
        }
    }

    /// Gives up the lease, if this instance still holds it.
    async fn release(&self, written: Option<Lease>) -> Result<(), String> {
        let mut current = written;
        for _ in 0..2 {
            let lease = match current.take() {
                Some(lease) => lease,
                None => match self.api.get(&self.lease_name).await {
                    Ok(lease) => lease,
                    Err(error) if is_status(&error, 404) => return Ok(()),
                    Err(error) => {
                        return Err(classify(error, self.describe("get")).to_string());
                    }
                },
            };
            if holder_of(&lease) != Some(self.identity.as_str()) {
                return Ok(());
            }
            match self.replace(&Self::released(&lease)).await {
                Ok(_) => return Ok(()),
                // Changed since it was written (a renewal cut off by the cancel may have
                // gone through): read it again.
                Err(error) if is_status(&error, 409) => {}
                Err(error) => return Err(classify(error, self.describe("release")).to_string()),
            }
        }
        Err(self.describe("release") + ": the lease kept changing")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn lease(holder: &str, renew: &str, version: &str, seconds: i32) -> Lease {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "l", "namespace": "ns", "resourceVersion": version},
            "spec": {"holderIdentity": holder, "renewTime": renew,
                     "leaseDurationSeconds": seconds, "leaseTransitions": 3}
        }))
        .unwrap()
    }

    /// An elector whose client points at a closed port (these tests send nothing).
    fn elector() -> Elector {
        let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
        let client = kube::Client::try_from(config).unwrap();
        Elector {
            api: Api::namespaced(client, "ns"),
            cluster: "c".to_owned(),
            lease_name: "l".to_owned(),
            namespace: "ns".to_owned(),
            identity: "me".to_owned(),
            timings: Timings {
                lease_duration_seconds: 1,
                retry_period: Duration::from_millis(200),
                renew_deadline: Duration::from_millis(666),
            },
            server: None,
        }
    }

    fn state() -> State {
        State {
            role: Leadership::Standby { leader: None },
            written: None,
            renewed_at: None,
            observed: None,
            failing: None,
        }
    }

    #[tokio::test]
    async fn expiry_counts_from_the_last_observed_change_not_from_renew_time() {
        let elector = elector();
        let mut state = state();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // renewTime is far in the past by any clock: still not expired when first seen.
        let old = lease("other", "2001-01-01T00:00:00.000000Z", "7", 2);
        assert!(!elector.expired(&mut state, &old, at(0)));
        assert!(!elector.expired(&mut state, &old, at(1500)));
        // A renewal (new version) restarts the count.
        let renewed = lease("other", "2001-01-01T00:00:01.000000Z", "8", 2);
        assert!(!elector.expired(&mut state, &renewed, at(1600)));
        assert!(!elector.expired(&mut state, &renewed, at(3600)));
        assert!(elector.expired(&mut state, &renewed, at(3601)));
        // So does a new holder with the same renewTime.
        let moved = lease("third", "2001-01-01T00:00:01.000000Z", "8", 2);
        assert!(!elector.expired(&mut state, &moved, at(3602)));
    }

    #[tokio::test]
    async fn takeover_counts_a_transition_and_release_empties_the_holder() {
        let elector = elector();
        let theirs = lease("other", "2001-01-01T00:00:00.000000Z", "7", 5);
        let taken = elector.acquired(Some(&theirs));
        let spec = taken.spec.as_ref().unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("me"));
        assert_eq!(spec.lease_transitions, Some(4));
        assert_eq!(spec.lease_duration_seconds, Some(1));
        assert_eq!(taken.metadata.resource_version.as_deref(), Some("7"));

        let renewed = elector.renewed(&taken);
        assert_eq!(renewed.spec.as_ref().unwrap().lease_transitions, Some(4));
        assert_eq!(
            renewed.spec.as_ref().unwrap().acquire_time,
            spec.acquire_time
        );

        let released = Elector::released(&renewed);
        let spec = released.spec.as_ref().unwrap();
        assert_eq!(holder_of(&released), None);
        assert_eq!(spec.lease_duration_seconds, Some(1));
        assert_eq!(spec.lease_transitions, Some(4));
        // Taking over a released lease is a transition too.
        let again = elector.acquired(Some(&released));
        assert_eq!(again.spec.unwrap().lease_transitions, Some(5));

        let created = elector.acquired(None);
        assert_eq!(created.metadata.name.as_deref(), Some("l"));
        assert_eq!(created.spec.unwrap().lease_transitions, Some(0));
    }
}
