//! Contract cases for the timeline: lifecycle events counted per time bucket and
//! severity, every bucket present, bucket edges exact, per cluster.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use driftguard_core::ports::{DriftStore, SeverityCounts, Timeline, TimelineQuery};
use driftguard_core::{DriftEvent, DriftType, EventKind, Severity};

use super::data::{self, event, time};
use super::save;

async fn timeline(store: &Arc<dyn DriftStore>, query: &TimelineQuery) -> Timeline {
    store
        .timeline(query)
        .await
        .unwrap_or_else(|e| panic!("timeline({query:?}) failed: {e}"))
}

fn counts(high: u64, medium: u64, low: u64) -> SeverityCounts {
    SeverityCounts { high, medium, low }
}

/// An event of `kind` and `severity` in `cluster` at `at`.
fn at(at: DateTime<Utc>, kind: EventKind, severity: Option<Severity>, cluster: &str) -> DriftEvent {
    let mut event = event("Deployment:shop:web", kind, 0, &[DriftType::Scaling]);
    event.at = at;
    event.severity = severity;
    event.cluster = cluster.to_owned();
    event.message = format!("{} at {at} in {cluster}", kind.as_str());
    event
}

/// Events exactly on bucket edges count in the bucket they start; events just before
/// the first bucket or at the end of the last are left out; `drift_detected` and
/// `drift_changed` count as drift, `drift_resolved` as resolved, each by its severity;
/// an empty bucket is there with zeros; a cluster's timeline counts its events only.
pub async fn timeline_counts_events_per_bucket_and_severity(store: &Arc<dyn DriftStore>) {
    let step = Duration::minutes(15);
    let query = TimelineQuery {
        cluster: None,
        from: time(0),
        step,
        buckets: 4,
    };
    let edge = |n: i32| time(0) + step * n;
    let ms = Duration::milliseconds(1);
    use EventKind::{
        DriftChanged as Changed, DriftDetected as Detected, DriftResolved as Resolved,
    };
    use Severity::{High, Low, Medium};
    let events = vec![
        at(edge(0) - ms, Detected, Some(High), "default"),
        at(edge(0), Detected, Some(High), "default"),
        at(edge(0), Changed, Some(Low), "east"),
        at(edge(1) - ms, Resolved, Some(Medium), "default"),
        at(edge(1), Resolved, Some(High), "east"),
        at(edge(1) + ms, Changed, Some(Medium), "default"),
        // Bucket 2 stays empty.
        at(edge(3), Detected, Some(Low), "default"),
        at(edge(4) - ms, Resolved, Some(Low), "default"),
        at(edge(4) - ms, Detected, Some(Medium), "east"),
        at(edge(4), Detected, Some(High), "default"),
        at(edge(9), Resolved, Some(High), "default"),
    ];
    save(store, &[], &events[..5]).await;
    save(store, &[], &events[5..]).await;

    let all = timeline(store, &query).await;
    let starts: Vec<DateTime<Utc>> = all.buckets.iter().map(|b| b.start).collect();
    assert_eq!(starts, [edge(0), edge(1), edge(2), edge(3)]);
    let got = |t: &Timeline| -> Vec<(SeverityCounts, SeverityCounts)> {
        t.buckets.iter().map(|b| (b.drift, b.resolved)).collect()
    };
    assert_eq!(
        got(&all),
        [
            (counts(1, 0, 1), counts(0, 1, 0)),
            (counts(0, 1, 0), counts(1, 0, 0)),
            (counts(0, 0, 0), counts(0, 0, 0)),
            (counts(0, 1, 1), counts(0, 0, 1)),
        ]
    );
    assert_eq!(all, Timeline::of_events(&query, &events));

    let east = TimelineQuery {
        cluster: Some("east".to_owned()),
        ..query.clone()
    };
    assert_eq!(
        got(&timeline(store, &east).await),
        [
            (counts(0, 0, 1), counts(0, 0, 0)),
            (counts(0, 0, 0), counts(1, 0, 0)),
            (counts(0, 0, 0), counts(0, 0, 0)),
            (counts(0, 1, 0), counts(0, 0, 0)),
        ]
    );
    let default = TimelineQuery {
        cluster: Some("default".to_owned()),
        ..query.clone()
    };
    assert_eq!(
        timeline(store, &default).await,
        Timeline::of_events(&default, &events)
    );
    let nowhere = TimelineQuery {
        cluster: Some("nowhere".to_owned()),
        ..query.clone()
    };
    assert_eq!(timeline(store, &nowhere).await, Timeline::empty(&nowhere));

    // Later buckets, one bucket, and buckets of a day.
    for (from, step, buckets) in [
        (edge(4), step, 8),
        (edge(1), Duration::minutes(5), 3),
        (time(0) - Duration::days(2), Duration::days(1), 3),
    ] {
        let query = TimelineQuery {
            cluster: None,
            from,
            step,
            buckets,
        };
        let answer = timeline(store, &query).await;
        assert_eq!(answer.buckets.len(), buckets);
        assert_eq!(answer, Timeline::of_events(&query, &events), "{query:?}");
    }
}

/// Irregular histories across applications and resources, saved out of time order,
/// count as the core's definition says, for every cluster and for one.
pub async fn timeline_matches_the_core_definition(store: &Arc<dyn DriftStore>) {
    let mut events = data::events(53);
    for (i, event) in events.iter_mut().enumerate() {
        event.severity = [
            Some(Severity::High),
            Some(Severity::Low),
            None,
            Some(Severity::Medium),
        ][i % 4];
        if i % 5 == 0 {
            event.cluster = "east".to_owned();
        }
    }
    for chunk in events.chunks(30) {
        save(store, &[], chunk).await;
    }
    for cluster in [None, Some("east".to_owned())] {
        for (step, buckets) in [(Duration::minutes(5), 720), (Duration::hours(1), 24)] {
            let query = TimelineQuery {
                cluster: cluster.clone(),
                from: time(0),
                step,
                buckets,
            };
            let answer = timeline(store, &query).await;
            let expected = Timeline::of_events(&query, &events);
            assert_eq!(answer, expected, "{query:?}");
            let counted: u64 = expected
                .buckets
                .iter()
                .map(|b| {
                    b.drift.high
                        + b.drift.medium
                        + b.drift.low
                        + b.resolved.high
                        + b.resolved.medium
                        + b.resolved.low
                })
                .sum();
            assert!(counted > 10, "the data must fill buckets ({counted})");
        }
    }
}
