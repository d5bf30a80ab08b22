//! The contract of `prune`: what retention deletes, what it keeps, and that everything
//! left answers as if only it had been saved.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use driftguard_core::ports::{DriftStore, EventFilter, PruneCounts, RecordFilter};
use driftguard_core::stats::compute;
use driftguard_core::{DriftEvent, DriftRecord, DriftStatus, EventKind};

use super::data::{self, event, expected_events, expected_list, record, time};
use super::{application_counts, assert_statistics, events_of, expected_counts, list, save};

/// Events before the events cutoff and resolved records resolved before the records
/// cutoff go; an event or a resolution exactly at its cutoff stays, and so do active and
/// never-drifted records however old. What is left answers every query as if only it
/// had been saved; a second prune finds nothing.
pub async fn prune_deletes_old_events_and_long_resolved_records(store: &Arc<dyn DriftStore>) {
    let mut records = data::records(5);
    // Never drifted and checked long ago: not the prune's business.
    records.push(record("ConfigMap:old:settings", DriftStatus::None, &[], 1));
    let events = data::events(7);
    save(store, &records[..12], &events[..events.len() / 2]).await;
    save(store, &records[12..], &events[events.len() / 2..]).await;

    // Cutoffs on an event's and a resolution's own instant, between whole seconds.
    let mut times: Vec<DateTime<Utc>> = events.iter().map(|e| e.at).collect();
    times.sort();
    let before_events = times[times.len() / 2];
    assert_ne!(
        before_events.timestamp_subsec_millis(),
        0,
        "{before_events}"
    );
    let mut resolutions: Vec<DateTime<Utc>> = records
        .iter()
        .filter(|r| r.drift_status == DriftStatus::Resolved)
        .filter_map(|r| r.resolved_at)
        .collect();
    resolutions.sort();
    assert!(resolutions.len() >= 3, "{resolutions:?}");
    let before_resolved = resolutions[resolutions.len() / 2];

    let pruned_record = |r: &DriftRecord| {
        r.drift_status == DriftStatus::Resolved
            && r.resolved_at.is_some_and(|at| at < before_resolved)
    };
    let kept_records: Vec<DriftRecord> = records
        .iter()
        .filter(|r| !pruned_record(r))
        .cloned()
        .collect();
    let kept_events: Vec<DriftEvent> = events
        .iter()
        .filter(|e| e.at >= before_events)
        .cloned()
        .collect();
    let expected = PruneCounts {
        events: (events.len() - kept_events.len()) as u64,
        records: (records.len() - kept_records.len()) as u64,
    };
    assert!(expected.events > 0 && !kept_events.is_empty());
    assert!(expected.records > 0);

    let counts = store
        .prune(before_events, before_resolved)
        .await
        .expect("prune");
    assert_eq!(counts, expected);

    assert_eq!(
        list(store, &RecordFilter::default()).await,
        expected_list(&kept_records, &RecordFilter::default())
    );
    assert_eq!(
        events_of(store, &EventFilter::default()).await,
        expected_events(&kept_events, &EventFilter::default())
    );
    assert_statistics(
        &store.statistics(None).await.expect("statistics"),
        &compute(&kept_records, &kept_events),
    );
    assert_eq!(
        application_counts(store).await,
        expected_counts(&kept_records)
    );

    let again = store
        .prune(before_events, before_resolved)
        .await
        .expect("prune again");
    assert_eq!(again, PruneCounts::default());
}

/// A paging position taken before a prune still continues where it left off, and saves
/// after a prune are counted as before.
pub async fn event_pages_and_saves_continue_after_a_prune(store: &Arc<dyn DriftStore>) {
    let web = "Deployment:shop:web";
    let kinds = [EventKind::DriftDetected, EventKind::DriftResolved];
    let events: Vec<DriftEvent> = (0..10)
        .map(|i| event(web, kinds[i % 2], 1_000 * (i as i64 + 1), &[]))
        .collect();
    save(store, &[], &events).await;
    let first = store
        .events(&EventFilter {
            limit: Some(4),
            ..EventFilter::default()
        })
        .await
        .expect("first page");
    assert_eq!(first.events, events[..4]);

    let counts = store
        .prune(time(2_500), time(0))
        .await
        .expect("prune the first two");
    assert_eq!(
        counts,
        PruneCounts {
            events: 2,
            records: 0
        }
    );
    let rest = events_of(
        store,
        &EventFilter {
            after: first.next,
            ..EventFilter::default()
        },
    )
    .await;
    assert_eq!(rest, events[4..]);

    let later = vec![
        event(web, EventKind::DriftDetected, 20_000, &[]),
        event(web, EventKind::DriftResolved, 21_500, &[]),
    ];
    save(store, &[], &later).await;
    let all: Vec<DriftEvent> = events[2..].iter().chain(&later).cloned().collect();
    assert_eq!(events_of(store, &EventFilter::default()).await, all);
    assert_statistics(
        &store.statistics(None).await.expect("statistics"),
        &compute(&[], &all),
    );
}

/// Pruning an empty store, or with cutoffs before everything, deletes nothing.
pub async fn a_prune_with_nothing_to_delete_changes_nothing(store: &Arc<dyn DriftStore>) {
    assert_eq!(
        store.prune(time(0), time(0)).await.expect("prune"),
        PruneCounts::default()
    );
    let records = data::records(11);
    let events = data::events(13);
    save(store, &records, &events).await;
    assert_eq!(
        store
            .prune(time(-1), DateTime::<Utc>::MIN_UTC)
            .await
            .expect("prune"),
        PruneCounts::default()
    );
    assert_eq!(
        list(store, &RecordFilter::default()).await,
        expected_list(&records, &RecordFilter::default())
    );
    assert_eq!(
        events_of(store, &EventFilter::default()).await.len(),
        events.len()
    );
}
