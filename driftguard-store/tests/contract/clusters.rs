//! Contract cases for clusters: records keyed by `(cluster, resource_id)`, every write
//! scoped to the clusters of the records it carries, and reads filtered by cluster.

use std::sync::Arc;

use driftguard_core::ports::{DriftStore, EventFilter, RecordFilter};
use driftguard_core::stats::{compute, status_counts_by};
use driftguard_core::{DriftEvent, DriftRecord, DriftStatus, DriftType, EventKind};

use super::data::{self, event, record};
use super::{assert_statistics, events_of, id, list, save};

/// `records` moved to `cluster`.
fn in_cluster(cluster: &str, records: &[DriftRecord]) -> Vec<DriftRecord> {
    records
        .iter()
        .cloned()
        .map(|mut r| {
            r.cluster = cluster.to_owned();
            r
        })
        .collect()
}

/// `events` moved to `cluster`.
fn events_in(cluster: &str, events: &[DriftEvent]) -> Vec<DriftEvent> {
    events
        .iter()
        .cloned()
        .map(|mut e| {
            e.cluster = cluster.to_owned();
            e
        })
        .collect()
}

/// The same resource ids in two clusters are two records: saving, resolving and
/// re-saving one cluster's records leaves the other's exactly as they were, and reads
/// scoped to a cluster see its records and events only.
pub async fn a_save_for_one_cluster_never_touches_another(store: &Arc<dyn DriftStore>) {
    let web = "Deployment:shop:web";
    let api = "Deployment:shop:api";
    let east = in_cluster(
        "east",
        &[
            record(web, DriftStatus::Active, &[DriftType::Scaling], 60_000),
            record(api, DriftStatus::None, &[], 60_000),
        ],
    );
    let west = in_cluster(
        "west",
        &[
            record(web, DriftStatus::None, &[], 61_000),
            record(
                api,
                DriftStatus::Active,
                &[DriftType::VersionChange],
                61_000,
            ),
        ],
    );
    let east_events = events_in(
        "east",
        &[event(
            web,
            EventKind::DriftDetected,
            60_000,
            &[DriftType::Scaling],
        )],
    );
    let west_events = events_in(
        "west",
        &[event(
            api,
            EventKind::DriftDetected,
            61_000,
            &[DriftType::VersionChange],
        )],
    );
    save(store, &east, &east_events).await;
    save(store, &west, &west_events).await;

    // East resolves its drift: west's record of the same id stays as it was.
    let resolved = in_cluster("east", &[record(web, DriftStatus::Resolved, &[], 90_000)]);
    let resolution = events_in(
        "east",
        &[event(
            web,
            EventKind::DriftResolved,
            90_000,
            &[DriftType::Scaling],
        )],
    );
    save(store, &resolved, &resolution).await;

    for expected in &west {
        assert_eq!(
            store
                .get("west", &expected.resource_id)
                .await
                .expect("get")
                .as_ref(),
            Some(expected),
            "west's records are untouched by east's saves"
        );
    }
    assert_eq!(
        store.get("east", &id(web)).await.expect("get").as_ref(),
        Some(&resolved[0])
    );
    assert_eq!(store.get("north", &id(web)).await.expect("get"), None);

    let both = store.lookup(&id(web)).await.expect("lookup");
    let clusters: Vec<&str> = both.iter().map(|r| r.cluster.as_str()).collect();
    assert_eq!(
        clusters,
        ["east", "west"],
        "one record per cluster, by cluster"
    );
    assert!(
        store
            .lookup(&id("Deployment:shop:none"))
            .await
            .expect("lookup")
            .is_empty()
    );

    let west_only = list(
        store,
        &RecordFilter {
            cluster: Some("west".to_owned()),
            ..RecordFilter::default()
        },
    )
    .await;
    assert_eq!(west_only, vec![west[1].clone(), west[0].clone()]);
    let east_active = list(
        store,
        &RecordFilter {
            cluster: Some("east".to_owned()),
            drift_status: Some(DriftStatus::Active),
            ..RecordFilter::default()
        },
    )
    .await;
    assert!(east_active.is_empty(), "{east_active:?}");
    let everything = list(store, &RecordFilter::default()).await;
    let keys: Vec<(String, String)> = everything
        .iter()
        .map(|r| (r.resource_id.to_string(), r.cluster.clone()))
        .collect();
    assert_eq!(
        keys,
        [
            (api.to_owned(), "east".to_owned()),
            (api.to_owned(), "west".to_owned()),
            (web.to_owned(), "east".to_owned()),
            (web.to_owned(), "west".to_owned()),
        ],
        "ResourceId order, then cluster"
    );

    let web_in_east = events_of(
        store,
        &EventFilter {
            cluster: Some("east".to_owned()),
            resource_id: Some(id(web)),
            ..EventFilter::default()
        },
    )
    .await;
    let mut expected_east = east_events.clone();
    expected_east.extend(resolution);
    assert_eq!(web_in_east, expected_east);
    let web_in_west = events_of(
        store,
        &EventFilter {
            cluster: Some("west".to_owned()),
            resource_id: Some(id(web)),
            ..EventFilter::default()
        },
    )
    .await;
    assert!(web_in_west.is_empty(), "{web_in_west:?}");
}

/// Statistics of one cluster are the core's definition over that cluster's records and
/// events; statistics of all add `by_cluster`; counts per cluster match the core's.
pub async fn statistics_and_counts_per_cluster(store: &Arc<dyn DriftStore>) {
    let records = data::records(29);
    let events = data::events(31);
    let (half, event_half) = (records.len() / 2, events.len() / 2);
    let east = in_cluster("east", &records[..half]);
    let west = in_cluster("west", &records);
    let east_events = events_in("east", &events[..event_half]);
    let west_events = events_in("west", &events);
    save(store, &east, &east_events).await;
    save(store, &west, &west_events).await;

    let mut all_records = east.clone();
    all_records.extend(west.iter().cloned());
    let mut all_events = east_events.clone();
    all_events.extend(west_events.iter().cloned());

    let expected_all = compute(&all_records, &all_events);
    assert_eq!(expected_all.by_cluster.len(), 2, "drift in both clusters");
    assert_statistics(
        &store.statistics(None).await.expect("statistics"),
        &expected_all,
    );
    assert_statistics(
        &store.statistics(Some("east")).await.expect("statistics"),
        &compute(&east, &east_events),
    );
    assert_statistics(
        &store.statistics(Some("west")).await.expect("statistics"),
        &compute(&west, &west_events),
    );
    assert_statistics(
        &store.statistics(Some("north")).await.expect("statistics"),
        &compute(&[], &[]),
    );
    assert_eq!(
        store.cluster_counts().await.expect("cluster counts"),
        status_counts_by(&all_records, |r| r.cluster.as_str())
    );
}

/// What a full analysis continues from: every record of one cluster, each under its id,
/// the same as that cluster's listing, and none of another cluster's.
pub async fn stored_records_are_one_clusters_records_by_id(store: &Arc<dyn DriftStore>) {
    let web = "Deployment:shop:web";
    let api = "Deployment:shop:api";
    let east = in_cluster(
        "east",
        &[
            record(web, DriftStatus::Active, &[DriftType::Scaling], 60_000),
            record(api, DriftStatus::None, &[], 60_000),
        ],
    );
    let west = in_cluster("west", &[record(web, DriftStatus::Resolved, &[], 61_000)]);
    save(store, &east, &[]).await;
    save(store, &west, &[]).await;

    for (cluster, records) in [("east", &east), ("west", &west)] {
        let stored = store.stored_records(cluster).await.expect("stored records");
        assert_eq!(stored.len(), records.len(), "{cluster}");
        for expected in records.iter() {
            assert_eq!(
                stored.get(&expected.resource_id),
                Some(expected),
                "{cluster}: {}",
                expected.resource_id
            );
        }
        let listed = list(
            store,
            &RecordFilter {
                cluster: Some(cluster.to_owned()),
                ..RecordFilter::default()
            },
        )
        .await;
        assert!(listed.iter().all(|r| stored.get(&r.resource_id) == Some(r)));
    }
    assert!(
        store
            .stored_records("north")
            .await
            .expect("stored")
            .is_empty()
    );
}
