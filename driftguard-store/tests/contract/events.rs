//! Contract cases for lifecycle events written idempotently: an event with a non-empty
//! `key` (its transition's identity) is stored once however often it is saved; events
//! without a key (stored before keys existed) are all kept and read back as before.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use driftguard_core::compare::Comparison;
use driftguard_core::hash::content_hash;
use driftguard_core::ports::{DriftStore, EventFilter};
use driftguard_core::record::{advance, retire};
use driftguard_core::stats::compute;
use driftguard_core::{
    DEFAULT_CLUSTER, DriftDetail, DriftEvent, DriftRecord, DriftStatus, DriftType, EventKind,
    Severity,
};
use serde_json::json;

use super::data::{event, record, time};
use super::{assert_statistics, events_of, id, list, save};

/// `event` with `key`.
fn with_key(key: &str, event: DriftEvent) -> DriftEvent {
    DriftEvent {
        key: key.to_owned(),
        ..event
    }
}

/// Saving one batch of records and keyed events twice (a retried save), and a third
/// time split differently, stores each event once; statistics count them once.
pub async fn saving_the_same_batch_twice_stores_its_events_once(store: &Arc<dyn DriftStore>) {
    let web = "Deployment:shop:web";
    let api = "Deployment:shop:api";
    let records = vec![
        record(web, DriftStatus::Active, &[DriftType::Scaling], 60_000),
        record(api, DriftStatus::Resolved, &[], 60_000),
    ];
    let events = vec![
        with_key(
            "k-web-detected",
            event(web, EventKind::DriftDetected, 60_000, &[DriftType::Scaling]),
        ),
        with_key(
            "k-api-resolved",
            event(api, EventKind::DriftResolved, 60_000, &[DriftType::Scaling]),
        ),
        // An event without a record in the save.
        with_key(
            "k-settings-detected",
            event(
                "ConfigMap:shop:settings",
                EventKind::DriftDetected,
                60_000,
                &[],
            ),
        ),
    ];
    save(store, &records, &events).await;
    save(store, &records, &events).await;
    save(store, &records[..1], &events[..1]).await;
    save(store, &[], &events[1..]).await;
    // The same transition twice in one save.
    let twice: Vec<DriftEvent> = events.iter().chain(&events).cloned().collect();
    save(store, &records, &twice).await;

    let stored = events_of(store, &EventFilter::default()).await;
    assert_eq!(stored.len(), events.len(), "{stored:?}");
    let mut keys: Vec<&str> = stored.iter().map(|e| e.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["k-api-resolved", "k-settings-detected", "k-web-detected"]
    );
    for saved in &events {
        assert!(stored.contains(saved), "{saved:?} is stored as saved");
    }
    assert_statistics(
        &store.statistics(None).await.expect("statistics"),
        &compute(&records, &events),
    );

    // The same key in a later save with another time and message is still the same
    // transition: not stored again.
    let later = DriftEvent {
        at: time(61_000),
        message: "computed again by another replica".to_owned(),
        ..events[0].clone()
    };
    save(store, &[], std::slice::from_ref(&later)).await;
    assert_eq!(
        events_of(store, &EventFilter::default()).await.len(),
        events.len()
    );
}

/// Two transitions of the same resource, even of the same kind at the same time, are
/// two events when their keys differ.
pub async fn two_transitions_of_a_resource_are_both_stored(store: &Arc<dyn DriftStore>) {
    let web = "Deployment:shop:web";
    let first = with_key(
        "k-1",
        event(web, EventKind::DriftDetected, 1_000, &[DriftType::Scaling]),
    );
    let resolved = with_key(
        "k-2",
        event(web, EventKind::DriftResolved, 2_000, &[DriftType::Scaling]),
    );
    let again = with_key(
        "k-3",
        event(web, EventKind::DriftDetected, 3_000, &[DriftType::Scaling]),
    );
    let same_instant = with_key(
        "k-4",
        event(web, EventKind::DriftDetected, 3_000, &[DriftType::Scaling]),
    );
    save(store, &[], std::slice::from_ref(&first)).await;
    save(store, &[], &[resolved.clone(), again.clone()]).await;
    save(store, &[], std::slice::from_ref(&same_instant)).await;
    assert_eq!(
        events_of(
            store,
            &EventFilter {
                resource_id: Some(id(web)),
                ..EventFilter::default()
            }
        )
        .await,
        vec![first, resolved, again, same_instant]
    );
}

/// Events without a key (as stored before keys existed) are never taken for one
/// another: saving the same one twice stores it twice, and it reads back without a key.
pub async fn events_without_a_key_are_all_stored_and_read_back(store: &Arc<dyn DriftStore>) {
    let web = "Deployment:shop:web";
    let old = event(web, EventKind::DriftDetected, 1_000, &[DriftType::Scaling]);
    assert!(old.key.is_empty());
    let keyed = with_key(
        "k-1",
        event(web, EventKind::DriftResolved, 2_000, &[DriftType::Scaling]),
    );
    save(store, &[], &[old.clone(), old.clone()]).await;
    save(store, &[], &[old.clone(), keyed.clone()]).await;
    let stored = events_of(store, &EventFilter::default()).await;
    assert_eq!(stored, vec![old.clone(), old.clone(), old, keyed]);
    assert!(stored[..3].iter().all(|e| e.key.is_empty()));
}

/// What the detector computes for a scaled deployment: desired 3 replicas, live 5.
fn scaled(live_replicas: u32) -> Comparison {
    Comparison {
        resource_id: id("Deployment:shop:web"),
        api_version: "apps/v1".to_owned(),
        desired_hash: content_hash(&json!({"replicas": 3})),
        live_hash: Some(content_hash(&json!({ "replicas": live_replicas }))),
        drifts: vec![DriftDetail {
            path: "spec.replicas".to_owned(),
            drift_type: DriftType::Scaling,
            severity: Severity::Medium,
            desired: Some(json!(3)),
            live: Some(json!(live_replicas)),
            manager: Some("kubectl-scale".to_owned()),
            hand_edit: true,
            unowned: false,
        }],
    }
}

/// The stored record of the deployment.
async fn stored_record(store: &Arc<dyn DriftStore>) -> Option<DriftRecord> {
    store
        .get(DEFAULT_CLUSTER, &id("Deployment:shop:web"))
        .await
        .expect("get")
}

/// Two replicas during a failover: both read the same stored record and observe the same
/// objects, at different times, and both save their transition. The store keeps one
/// event per transition; later real transitions are each stored.
pub async fn duplicate_events_through_the_detector_are_stored_once(store: &Arc<dyn DriftStore>) {
    let at = |seconds: i64| -> DateTime<Utc> { time(seconds * 1_000) };
    let replicas = |previous: Option<&DriftRecord>, comparison: &Comparison, now: [i64; 2]| {
        now.map(|now| {
            advance(
                previous,
                comparison,
                "default",
                "default",
                Some("c0ffee"),
                at(now),
            )
        })
    };

    // First seen, already drifted: both replicas detect it.
    let detected = replicas(None, &scaled(5), [60, 61]);
    assert_eq!(detected[0].events[0].key, detected[1].events[0].key);
    assert_ne!(detected[0].events[0].key, "");
    for transition in &detected {
        save(
            store,
            std::slice::from_ref(&transition.record),
            &transition.events,
        )
        .await;
    }

    // Both see the drift change, from the record the second one stored.
    let previous = stored_record(store).await.expect("stored");
    let changed = replicas(Some(&previous), &scaled(7), [90, 92]);
    assert_eq!(changed[0].events[0].kind, EventKind::DriftChanged);
    for transition in &changed {
        save(
            store,
            std::slice::from_ref(&transition.record),
            &transition.events,
        )
        .await;
    }

    // Both see it resolved when the resource leaves Git and the cluster.
    let previous = stored_record(store).await.expect("stored");
    let resolved = [120, 121].map(|now| {
        retire(&previous, "removed", Some("c0ffee"), at(now)).expect("an active record")
    });
    for transition in &resolved {
        save(
            store,
            std::slice::from_ref(&transition.record),
            &transition.events,
        )
        .await;
    }

    // The same drift later again: a new transition, from a record checked later.
    let previous = stored_record(store).await.expect("stored");
    let again = advance(
        Some(&previous),
        &scaled(5),
        "default",
        "default",
        None,
        at(300),
    );
    assert_ne!(again.events[0].key, detected[0].events[0].key);
    save(store, std::slice::from_ref(&again.record), &again.events).await;

    let history: Vec<(EventKind, DateTime<Utc>)> = events_of(store, &EventFilter::default())
        .await
        .into_iter()
        .map(|e| (e.kind, e.at))
        .collect();
    assert_eq!(
        history,
        [
            (EventKind::DriftDetected, at(60)),
            (EventKind::DriftChanged, at(90)),
            (EventKind::DriftResolved, at(120)),
            (EventKind::DriftDetected, at(300)),
        ],
        "one event per transition, as the first replica saved it"
    );
    let records = list(store, &Default::default()).await;
    let events = events_of(store, &EventFilter::default()).await;
    assert_statistics(
        &store.statistics(None).await.expect("statistics"),
        &compute(&records, &events),
    );
}

/// Agents of two clusters meet the same resource for the first time, drifted the same way:
/// each cluster's detection is its own event, never taken for a repeat of the other's.
pub async fn the_same_first_drift_in_two_clusters_is_two_events(store: &Arc<dyn DriftStore>) {
    let now = time(60_000);
    let east = advance(None, &scaled(5), "east", "default", None, now);
    let west = advance(None, &scaled(5), "west", "default", None, now);
    assert_eq!(east.record.cluster, "east");
    assert_eq!(west.events[0].cluster, "west");
    assert_ne!(east.events[0].key, west.events[0].key);
    save(store, std::slice::from_ref(&east.record), &east.events).await;
    save(store, std::slice::from_ref(&west.record), &west.events).await;
    let stored = events_of(store, &EventFilter::default()).await;
    let clusters: Vec<&str> = stored.iter().map(|e| e.cluster.as_str()).collect();
    assert_eq!(clusters.len(), 2, "{stored:?}");
    assert!(
        clusters.contains(&"east") && clusters.contains(&"west"),
        "{clusters:?}"
    );
}
