//! Leader election over a Kubernetes Lease, against kmock 0.8 (a Kubernetes API
//! emulator) over real HTTP on 127.0.0.1: one leader per cluster, takeover after a crash
//! within the lease duration, an immediate handover on a graceful stop, and the
//! `409 Conflict` that makes a stale write lose.
//!
//! Leases last 1–2 s here so the whole file runs in a few seconds. The tests share one
//! emulator, each with leases of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use driftguard_core::Leadership;
use driftguard_sources::lease::{LeaderElectionConfig, LeaseElection, cluster_lease_name};
use driftguard_test_support::kube::{KmockServer, TEST_TOKEN};
use driftguard_test_support::logs::CapturedLogs;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use kube::api::{Api, ObjectMeta, PostParams};
use serde_json::json;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const NAMESPACE: &str = "default";

/// The emulator all tests share.
fn server() -> &'static KmockServer {
    static SERVER: OnceLock<KmockServer> = OnceLock::new();
    SERVER.get_or_init(|| KmockServer::start(&json!({})))
}

fn config(identity: &str, lease_duration: Duration) -> LeaderElectionConfig {
    config_for(server(), identity, lease_duration)
}

fn config_for(
    server: &KmockServer,
    identity: &str,
    lease_duration: Duration,
) -> LeaderElectionConfig {
    LeaderElectionConfig {
        enabled: true,
        lease_duration,
        namespace: Some(NAMESPACE.to_owned()),
        identity: Some(identity.to_owned()),
        kubeconfig: Some(server.kubeconfig().to_owned()),
        ..LeaderElectionConfig::default()
    }
}

async fn election(identity: &str, lease_duration: Duration) -> LeaseElection {
    let election = LeaseElection::connect(&config(identity, lease_duration))
        .await
        .expect("connect to kmock");
    assert_eq!(election.identity(), identity);
    assert_eq!(election.namespace(), NAMESPACE);
    election
}

/// The leases, through a client of our own, as `kubectl` would see them.
fn leases() -> Api<Lease> {
    let config = kube::Config::new(server().url().parse().expect("kmock URL"));
    Api::namespaced(
        kube::Client::try_from(config).expect("a client for kmock"),
        NAMESPACE,
    )
}

async fn lease_spec(cluster: &str) -> LeaseSpec {
    leases()
        .get(&cluster_lease_name(cluster))
        .await
        .expect("the lease exists")
        .spec
        .expect("the lease has a spec")
}

/// Waits until the elector's role satisfies `want`; returns how long that took. A guard
/// against a hang, not a measurement, unless the caller measures with it.
async fn wait_for(
    role: &mut watch::Receiver<Leadership>,
    within: Duration,
    want: impl FnMut(&Leadership) -> bool,
) -> Duration {
    let started = Instant::now();
    let current = role.borrow().clone();
    tokio::time::timeout(within, role.wait_for(want))
        .await
        .unwrap_or_else(|_| panic!("role still {current:?} after {within:?}"))
        .expect("the election is running");
    started.elapsed()
}

fn standby_of(leader: &str) -> Leadership {
    Leadership::Standby {
        leader: Some(leader.to_owned()),
    }
}

/// An elector in a runtime of its own, on its own thread, which [`kill`](Self::kill)
/// drops where it stands: its task ends without releasing the lease, as if the process
/// had been killed.
struct Killable {
    role: watch::Receiver<Leadership>,
    kill: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Killable {
    fn spawn(config: LeaderElectionConfig, cluster: &str) -> Self {
        let cluster = cluster.to_owned();
        let (role_sender, role_receiver) = std::sync::mpsc::channel();
        let (kill, killed) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let election = LeaseElection::connect(&config).await.expect("connect");
                let role = election.spawn(&cluster, CancellationToken::new());
                role_sender.send(role).expect("the test waits for the role");
                let _ = killed.await;
            });
            // Dropping the runtime drops the election task at its current await point.
            drop(runtime);
        });
        let role = role_receiver.recv().expect("the elector started");
        Self { role, kill, thread }
    }

    fn kill(self) {
        let _ = self.kill.send(());
        self.thread.join().expect("the elector's thread ended");
    }
}

#[tokio::test]
async fn a_lone_elector_leads_renews_and_releases_on_cancel() {
    let logs = CapturedLogs::default();
    let _guard = logs.capture(tracing::Level::DEBUG);
    let duration = Duration::from_secs(1);
    let solo = election("solo-1", duration).await;
    let cancel = CancellationToken::new();
    let mut role = solo.spawn("solo", cancel.clone());
    wait_for(&mut role, Duration::from_secs(10), Leadership::is_leader).await;

    let spec = lease_spec("solo").await;
    assert_eq!(spec.holder_identity.as_deref(), Some("solo-1"));
    assert_eq!(spec.lease_duration_seconds, Some(1));
    assert_eq!(spec.lease_transitions, Some(0));
    assert!(spec.acquire_time.is_some());
    let first_renewal = spec.renew_time.expect("renewTime is set");

    // It renews every retry period (200 ms) and stays leader.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(role.borrow().is_leader());
    let later = lease_spec("solo").await;
    assert!(later.renew_time.expect("renewTime") > first_renewal);
    assert_eq!(later.acquire_time, spec.acquire_time);

    // Cancelled: it publishes Standby, releases the lease, and closes the channel.
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), async {
        while role.changed().await.is_ok() {}
    })
    .await
    .expect("the election ends after a cancel");
    assert_eq!(*role.borrow(), Leadership::Standby { leader: None });
    let released = lease_spec("solo").await;
    assert_eq!(released.holder_identity.as_deref(), Some(""));
    assert_eq!(released.lease_duration_seconds, Some(1));

    let text = logs.text();
    assert!(text.contains("became leader of cluster solo"), "{text}");
    assert!(
        text.contains("released the lease of cluster solo"),
        "{text}"
    );
    assert!(
        !text.contains(TEST_TOKEN),
        "a credential reached the logs: {text}"
    );
}

#[tokio::test]
async fn two_electors_of_one_cluster_have_exactly_one_leader_at_any_time() {
    let duration = Duration::from_secs(1);
    let cancel = CancellationToken::new();
    let mut alpha = election("pair-alpha", duration)
        .await
        .spawn("pair", cancel.clone());
    let mut beta = election("pair-beta", duration)
        .await
        .spawn("pair", cancel.clone());

    let started = Instant::now();
    while !alpha.borrow().is_leader() && !beta.borrow().is_leader() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nobody leads after 10 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (leader, standby, leader_id) = if alpha.borrow().is_leader() {
        (&mut alpha, &mut beta, "pair-alpha")
    } else {
        (&mut beta, &mut alpha, "pair-beta")
    };
    wait_for(standby, Duration::from_secs(5), |role| {
        *role == standby_of(leader_id)
    })
    .await;

    // Three lease durations, sampled every 10 ms: one leader, the same one, named by the
    // standby.
    let sampling = Instant::now();
    let mut samples = 0;
    while sampling.elapsed() < duration * 3 {
        let (l, s) = (leader.borrow().clone(), standby.borrow().clone());
        assert_eq!(
            (&l, &s),
            (&Leadership::Leader, &standby_of(leader_id)),
            "sample {samples}"
        );
        samples += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(samples > 100, "only {samples} samples");
    let spec = lease_spec("pair").await;
    assert_eq!(spec.holder_identity.as_deref(), Some(leader_id));
    assert_eq!(spec.lease_transitions, Some(0));
    cancel.cancel();
}

#[tokio::test]
async fn a_killed_leader_is_replaced_once_its_lease_runs_out() {
    let duration = Duration::from_secs(1);
    let retry = duration / 5;
    let mut doomed = Killable::spawn(config("crash-doomed", duration), "crash");
    wait_for(
        &mut doomed.role,
        Duration::from_secs(10),
        Leadership::is_leader,
    )
    .await;
    let cancel = CancellationToken::new();
    let mut heir = election("crash-heir", duration)
        .await
        .spawn("crash", cancel.clone());
    wait_for(&mut heir, Duration::from_secs(5), |role| {
        *role == standby_of("crash-doomed")
    })
    .await;
    // The heir watches a lease that keeps being renewed, and does not take it.
    tokio::time::sleep(duration * 2).await;
    assert_eq!(*heir.borrow(), standby_of("crash-doomed"));
    let before = lease_spec("crash").await.lease_transitions.expect("set");

    let killed_at = Instant::now();
    doomed.kill();
    wait_for(&mut heir, Duration::from_secs(10), Leadership::is_leader).await;
    let took = killed_at.elapsed();
    eprintln!("killed leader: the standby took over {took:?} after the kill (lease {duration:?})");
    // The last renewal was at most one retry period before the kill, and the heir sees
    // it at most one retry period later; it takes over at its first attempt after it has
    // seen the lease unchanged for the lease duration: between D - retry and D + 2 retry
    // after the kill, plus request time.
    assert!(
        took >= duration - retry - Duration::from_millis(100),
        "took over {took:?} after the kill: before the lease ran out"
    );
    assert!(
        took <= duration + retry * 2 + Duration::from_millis(400),
        "took over {took:?} after the kill"
    );
    let spec = lease_spec("crash").await;
    assert_eq!(spec.holder_identity.as_deref(), Some("crash-heir"));
    assert_eq!(spec.lease_transitions, Some(before + 1));
    cancel.cancel();
}

#[tokio::test]
async fn a_cancelled_leader_hands_over_at_once() {
    let duration = Duration::from_secs(2);
    let leaving = CancellationToken::new();
    let mut first = election("handover-first", duration)
        .await
        .spawn("handover", leaving.clone());
    wait_for(&mut first, Duration::from_secs(10), Leadership::is_leader).await;
    let staying = CancellationToken::new();
    let mut second = election("handover-second", duration)
        .await
        .spawn("handover", staying.clone());
    wait_for(&mut second, Duration::from_secs(5), |role| {
        *role == standby_of("handover-first")
    })
    .await;
    let before = lease_spec("handover").await.lease_transitions.expect("set");

    let cancelled_at = Instant::now();
    leaving.cancel();
    wait_for(&mut second, Duration::from_secs(10), Leadership::is_leader).await;
    let took = cancelled_at.elapsed();
    eprintln!(
        "cancelled leader: the standby took over {took:?} after the cancel (lease {duration:?})"
    );
    // A released lease has no holder: the standby takes it at its next attempt, one
    // retry period (400 ms) at most, not after the 2 s lease.
    assert!(took < duration / 2, "took over {took:?} after the cancel");
    assert_eq!(*first.borrow(), Leadership::Standby { leader: None });
    let spec = lease_spec("handover").await;
    assert_eq!(spec.holder_identity.as_deref(), Some("handover-second"));
    assert_eq!(spec.lease_duration_seconds, Some(2));
    assert_eq!(spec.lease_transitions, Some(before + 1));
    staying.cancel();
}

#[tokio::test]
async fn kmock_refuses_a_stale_resource_version_and_a_second_create() {
    let leases = leases();
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some("direct-conflict".to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("first".to_owned()),
            lease_duration_seconds: Some(15),
            ..LeaseSpec::default()
        }),
    };
    let created = leases
        .create(&PostParams::default(), &lease)
        .await
        .expect("created");
    match leases.create(&PostParams::default(), &lease).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(
                (status.code, status.reason.as_str()),
                (409, "AlreadyExists")
            );
        }
        other => panic!("a second create must answer 409 AlreadyExists: {other:?}"),
    }

    let read = leases.get("direct-conflict").await.expect("read");
    assert!(read.metadata.resource_version.is_some());
    let mut second = read.clone();
    second.spec.as_mut().unwrap().holder_identity = Some("second".to_owned());
    let replaced = leases
        .replace("direct-conflict", &PostParams::default(), &second)
        .await
        .expect("a replace at the current version succeeds");
    assert_ne!(
        replaced.metadata.resource_version,
        read.metadata.resource_version
    );
    assert_eq!(replaced.metadata.uid, created.metadata.uid);

    // The same version again is stale now.
    let mut third = read;
    third.spec.as_mut().unwrap().holder_identity = Some("third".to_owned());
    match leases
        .replace("direct-conflict", &PostParams::default(), &third)
        .await
    {
        Err(kube::Error::Api(status)) => {
            assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
        }
        other => panic!("a stale replace must answer 409 Conflict: {other:?}"),
    }
    let spec = leases.get("direct-conflict").await.unwrap().spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("second"));
}

#[tokio::test]
async fn electors_of_different_clusters_each_lead_their_own() {
    let duration = Duration::from_secs(1);
    let cancel = CancellationToken::new();
    // Cluster names that a Lease name cannot hold as they are.
    let mut east = election("multi-east", duration)
        .await
        .spawn("East_1", cancel.clone());
    let mut west = election("multi-west", duration)
        .await
        .spawn("west.EU", cancel.clone());
    wait_for(&mut east, Duration::from_secs(10), Leadership::is_leader).await;
    wait_for(&mut west, Duration::from_secs(10), Leadership::is_leader).await;
    assert_eq!(cluster_lease_name("East_1"), "driftguard-east-1");
    assert_eq!(cluster_lease_name("west.EU"), "driftguard-west.eu");
    for (cluster, holder) in [("East_1", "multi-east"), ("west.EU", "multi-west")] {
        let spec = lease_spec(cluster).await;
        assert_eq!(spec.holder_identity.as_deref(), Some(holder), "{cluster}");
    }
    // Both keep leading.
    tokio::time::sleep(duration * 2).await;
    assert!(east.borrow().is_leader() && west.borrow().is_leader());
    cancel.cancel();
}

#[tokio::test]
async fn a_leader_that_cannot_renew_steps_down_before_its_lease_runs_out() {
    let logs = CapturedLogs::default();
    let _guard = logs.capture(tracing::Level::DEBUG);
    // An emulator of its own, stopped under the leader.
    let private = KmockServer::start(&json!({}));
    let duration = Duration::from_secs(1);
    let election = LeaseElection::connect(&config_for(&private, "cut-off", duration))
        .await
        .expect("connect");
    let cancel = CancellationToken::new();
    let mut role = election.spawn("cut-off", cancel.clone());
    wait_for(&mut role, Duration::from_secs(10), Leadership::is_leader).await;
    tokio::time::sleep(duration).await;

    let stopped_at = Instant::now();
    drop(private);
    wait_for(&mut role, Duration::from_secs(5), |role| !role.is_leader()).await;
    let took = stopped_at.elapsed();
    eprintln!("unreachable API server: the leader stepped down {took:?} after it went away");
    assert_eq!(*role.borrow(), Leadership::Standby { leader: None });
    // The renew deadline (2/3 of the lease) runs from the last renewal sent, at most one
    // retry period before the server went away: the leader is gone before any standby
    // could see the lease unchanged for its whole duration.
    assert!(
        took < duration,
        "stepped down {took:?} after the server went away"
    );
    let text = logs.text();
    assert!(
        text.contains("lost leadership of cluster cut-off"),
        "{text}"
    );
    assert!(text.contains("keeping the current role"), "{text}");
    assert!(
        !text.contains(TEST_TOKEN),
        "a credential reached the logs: {text}"
    );
    cancel.cancel();
}
