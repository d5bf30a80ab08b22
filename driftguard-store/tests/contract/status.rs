//! Contract cases for status documents: what the instance analysing a cluster
//! publishes about it (`publish_status`) reads back as published (`cluster_statuses`),
//! replaces that cluster's documents only, and is listed by cluster; and the record
//! counts per `(cluster, application)`.

use std::collections::BTreeMap;
use std::sync::Arc;

use driftguard_core::ports::DriftStore;
use driftguard_core::stats::StatusCounts;
use driftguard_core::{
    AnalysisNote, AnalysisResult, ApplicationStatusDocument, ClusterStatusDocument, DriftStatus,
    DriftType, FailingComponent, ReadStatus,
};

use super::data::{record, time};
use super::{application_counts, expected_counts, save};

/// An application of `cluster` whose last read went as `status`.
fn application(cluster: &str, name: &str, status: ReadStatus) -> ApplicationStatusDocument {
    let read = status != ReadStatus::Pending;
    ApplicationStatusDocument {
        cluster: cluster.to_owned(),
        name: name.to_owned(),
        source: format!("https://git.example.com/{name}.git (main, deploy/)"),
        namespace: (name != "platform").then(|| name.to_owned()),
        revision: read.then(|| format!("{:040x}", name.len() * 0xabc)),
        status,
        error: matches!(status, ReadStatus::Failed | ReadStatus::HeldBack)
            .then(|| format!("reading {name} failed: the render timed out")),
        render_seconds: (status == ReadStatus::Ok).then_some(1.25),
        checked_at: read.then(|| time(30_000)),
    }
}

/// The status document of `cluster`, written by `leader` at `time(at)`, with
/// `applications`.
fn cluster_status(
    cluster: &str,
    leader: &str,
    at: i64,
    applications: Vec<ApplicationStatusDocument>,
) -> ClusterStatusDocument {
    ClusterStatusDocument {
        cluster: cluster.to_owned(),
        leader: leader.to_owned(),
        last_analysis: Some(AnalysisNote {
            at: time(at - 2_500),
            outcome: AnalysisResult::Success,
        }),
        failing: Vec::new(),
        resources: 1_234,
        updated_at: time(at),
        expires_at: time(at + 90_000),
        applications,
    }
}

async fn publish(store: &Arc<dyn DriftStore>, status: &ClusterStatusDocument) {
    store
        .publish_status(status)
        .await
        .unwrap_or_else(|e| panic!("publish_status({}) failed: {e}", status.cluster));
}

async fn statuses(store: &Arc<dyn DriftStore>) -> Vec<ClusterStatusDocument> {
    store
        .cluster_statuses()
        .await
        .unwrap_or_else(|e| panic!("cluster_statuses() failed: {e}"))
}

/// A published document reads back equal: every field, with and without optional
/// values, applications in the order published (not by name).
pub async fn a_published_status_reads_back_as_published(store: &Arc<dyn DriftStore>) {
    assert!(statuses(store).await.is_empty(), "nothing published yet");
    let mut east = cluster_status(
        "east",
        "driftguard-6d4f9-abcde",
        60_000,
        vec![
            application("east", "shop-frontend", ReadStatus::Ok),
            application("east", "platform", ReadStatus::Failed),
            application("east", "payments", ReadStatus::HeldBack),
            application("east", "billing", ReadStatus::Pending),
        ],
    );
    east.failing = vec![
        FailingComponent {
            component: "desired_source".to_owned(),
            reason: "cannot reach https://git.example.com/platform.git".to_owned(),
            since: time(1_000),
        },
        FailingComponent {
            component: "live_source".to_owned(),
            reason: "the API server answered 503".to_owned(),
            since: time(2_000),
        },
    ];
    east.last_analysis = Some(AnalysisNote {
        at: time(57_000),
        outcome: AnalysisResult::Failure,
    });
    publish(store, &east).await;
    assert_eq!(statuses(store).await, vec![east.clone()]);

    // Nothing optional, no application.
    let bare = ClusterStatusDocument {
        last_analysis: None,
        resources: 0,
        applications: Vec::new(),
        ..cluster_status("west", "driftguard-west-0", 61_000, Vec::new())
    };
    publish(store, &bare).await;
    assert_eq!(statuses(store).await, vec![east, bare]);
}

/// Publishing again replaces the cluster's document and its applications' documents:
/// changed ones change, new ones appear, and those no longer listed are gone.
pub async fn republishing_replaces_and_drops_unlisted_applications(store: &Arc<dyn DriftStore>) {
    let first = cluster_status(
        "east",
        "replica-a",
        60_000,
        vec![
            application("east", "shop-frontend", ReadStatus::Ok),
            application("east", "platform", ReadStatus::Ok),
            application("east", "payments", ReadStatus::Ok),
        ],
    );
    publish(store, &first).await;
    assert_eq!(statuses(store).await, vec![first]);

    // Failover: another replica leads, `payments` left the configuration, `billing`
    // joined, `platform` fails now, and the order changed.
    let mut second = cluster_status(
        "east",
        "replica-b",
        120_000,
        vec![
            application("east", "billing", ReadStatus::Pending),
            application("east", "platform", ReadStatus::Failed),
            application("east", "shop-frontend", ReadStatus::Ok),
        ],
    );
    second.resources = 7;
    publish(store, &second).await;
    assert_eq!(statuses(store).await, vec![second.clone()]);

    // Publishing the same document again changes nothing.
    publish(store, &second).await;
    assert_eq!(statuses(store).await, vec![second]);

    // No application left.
    let empty = cluster_status("east", "replica-b", 180_000, Vec::new());
    publish(store, &empty).await;
    assert_eq!(statuses(store).await, vec![empty]);
}

/// Publishing cluster A never changes cluster B's documents, even where both have
/// applications of the same names.
pub async fn publishing_one_cluster_never_touches_another(store: &Arc<dyn DriftStore>) {
    let names = ["shop-frontend", "platform"];
    let in_cluster = |cluster: &str, leader: &str, at: i64, status: ReadStatus| {
        cluster_status(
            cluster,
            leader,
            at,
            names
                .iter()
                .map(|name| application(cluster, name, status))
                .collect(),
        )
    };
    let west = in_cluster("west", "west-0", 60_000, ReadStatus::Ok);
    publish(store, &in_cluster("east", "east-0", 60_000, ReadStatus::Ok)).await;
    publish(store, &west).await;

    // East drops an application, then changes the other.
    let mut east = in_cluster("east", "east-1", 120_000, ReadStatus::Failed);
    east.applications.truncate(1);
    publish(store, &east).await;
    assert_eq!(statuses(store).await, vec![east.clone(), west.clone()]);
    let east = cluster_status("east", "east-1", 180_000, Vec::new());
    publish(store, &east).await;
    assert_eq!(statuses(store).await, vec![east, west]);
}

/// Documents are listed by cluster name, whatever order they were published in.
pub async fn cluster_statuses_are_ordered_by_cluster(store: &Arc<dyn DriftStore>) {
    let clusters = [
        "west",
        "east",
        "prod-eu-2",
        "north",
        "prod-eu-10",
        "default",
    ];
    for (n, cluster) in clusters.iter().enumerate() {
        publish(
            store,
            &cluster_status(
                cluster,
                &format!("{cluster}-leader"),
                60_000 + n as i64 * 1_000,
                vec![
                    application(cluster, "zeta", ReadStatus::Ok),
                    application(cluster, "alpha", ReadStatus::Ok),
                ],
            ),
        )
        .await;
    }
    let listed = statuses(store).await;
    let order: Vec<&str> = listed.iter().map(|s| s.cluster.as_str()).collect();
    assert_eq!(
        order,
        [
            "default",
            "east",
            "north",
            "prod-eu-10",
            "prod-eu-2",
            "west"
        ]
    );
    for status in &listed {
        let applications: Vec<(&str, &str)> = status
            .applications
            .iter()
            .map(|a| (a.cluster.as_str(), a.name.as_str()))
            .collect();
        assert_eq!(
            applications,
            [
                (status.cluster.as_str(), "zeta"),
                (status.cluster.as_str(), "alpha")
            ],
            "each cluster's own applications, in published order"
        );
    }
}

/// `application_counts()` is keyed by `(cluster, application)`: the same application
/// name in two clusters is counted apart.
pub async fn application_counts_per_cluster_and_application(store: &Arc<dyn DriftStore>) {
    let of = |cluster: &str, application: &str, id: &str, status, types: &[DriftType]| {
        let mut r = record(id, status, types, 10_000);
        r.cluster = cluster.to_owned();
        r.application = application.to_owned();
        r
    };
    let records = vec![
        of(
            "east",
            "shop",
            "Deployment:shop:web",
            DriftStatus::Active,
            &[DriftType::Missing],
        ),
        of("east", "shop", "Service:shop:web", DriftStatus::None, &[]),
        of(
            "west",
            "shop",
            "Deployment:shop:web",
            DriftStatus::Resolved,
            &[],
        ),
        of(
            "west",
            "platform",
            "Namespace::shop",
            DriftStatus::Active,
            &[DriftType::LabelChange],
        ),
    ];
    save(store, &records, &[]).await;
    let key = |cluster: &str, application: &str| (cluster.to_owned(), application.to_owned());
    let counts = |none, active, resolved, missing| StatusCounts {
        none,
        active,
        resolved,
        missing,
    };
    let expected = BTreeMap::from([
        (key("east", "shop"), counts(1, 1, 0, 1)),
        (key("west", "platform"), counts(0, 1, 0, 0)),
        (key("west", "shop"), counts(0, 0, 1, 0)),
    ]);
    assert_eq!(expected_counts(&records), expected);
    assert_eq!(application_counts(store).await, expected);
}
