//! The store contract, written once against `&dyn DriftStore`.
//!
//! Each test target (`contract_memory`, `contract_sqlite`, `contract_mongo`) provides an
//! async function giving a fresh, empty [`Subject`] and expands [`contract_tests!`] with
//! it: one `#[tokio::test]` per case. The expected answers come from the port's own
//! definitions (`RecordFilter::matches`, `EventFilter::matches`, `ResourceId` order,
//! `driftguard_core::stats::compute`, `StatusCounts::add`), so
//! every store is held to the same meaning.

#![allow(dead_code)]

pub mod clusters;
pub mod data;
pub mod events;
pub mod listing;
pub mod prune;
pub mod status;
pub mod timeline;

pub use clusters::*;
pub use events::*;
pub use listing::*;
pub use prune::*;
pub use status::*;
pub use timeline::*;

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use driftguard_core::analysis::DetectionSettings;
use driftguard_core::ports::{DriftStore, EventFilter, EventPosition, RecordFilter};
use driftguard_core::stats::{DriftStatistics, StatusCounts, compute};
use driftguard_core::testing::{InMemoryDesired, InMemoryLive};
use driftguard_core::{
    Application, DEFAULT_APPLICATION, DEFAULT_CLUSTER, DesiredSnapshot, Detector, DriftEvent,
    DriftRecord, DriftStatus, DriftType, EventKind, LiveSnapshot, PortErrorKind, Resource,
    ResourceId, Severity,
};
use serde_json::{Value, json};

use data::{APPLICATIONS, event, expected_events, expected_list, record, time};

/// A fresh, empty store under test, with whatever keeps it alive (a temp folder, a
/// server) and what to do after a passing case (drop a database).
pub struct Subject {
    /// The store.
    pub store: Arc<dyn DriftStore>,
    /// Kept until the case ends.
    pub keep: Box<dyn Any + Send>,
    /// Run after the case passed.
    pub finish: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl Subject {
    /// A subject needing nothing kept and nothing done afterwards.
    pub fn new(store: Arc<dyn DriftStore>) -> Self {
        Self {
            store,
            keep: Box::new(()),
            finish: None,
        }
    }

    /// Runs the clean-up step.
    pub async fn finish(self) {
        if let Some(finish) = self.finish {
            finish.await;
        }
    }
}

/// One `#[tokio::test]` per contract case, each on a fresh subject from `$subject`
/// (an async fn returning [`Subject`]).
#[macro_export]
macro_rules! contract_tests {
    ($subject:path) => {
        $crate::contract_tests!(@cases $subject;
            an_empty_store_answers_every_query,
            saved_records_read_back_unchanged,
            save_upserts_by_resource_id,
            an_empty_save_changes_nothing,
            list_orders_by_resource_id,
            list_applies_every_filter_and_combination,
            list_pages_with_limit_and_offset,
            list_filters_by_application_alone_and_combined,
            list_pages_within_an_application,
            events_come_back_oldest_first_with_ties_in_saved_order,
            events_filter_by_resource_time_range_and_limit,
            event_pages_visit_events_sharing_a_time_once_each,
            event_pages_keep_since_and_until,
            event_pages_continue_over_events_saved_between_pages,
            an_event_position_of_another_store_is_refused,
            statistics_match_the_core_definition,
            statistics_follow_later_saves,
            statistics_count_drifted_records_by_application,
            application_counts_match_the_core_definition,
            application_counts_follow_later_saves,
            events_keep_their_application,
            applications_through_the_detector,
            lifecycle_round_trip_through_the_detector,
            a_large_analysis_is_saved_in_one_call,
            drift_values_of_every_json_type_round_trip,
            prune_deletes_old_events_and_long_resolved_records,
            event_pages_and_saves_continue_after_a_prune,
            a_prune_with_nothing_to_delete_changes_nothing,
            a_save_for_one_cluster_never_touches_another,
            statistics_and_counts_per_cluster,
            stored_records_are_one_clusters_records_by_id,
            a_published_status_reads_back_as_published,
            republishing_replaces_and_drops_unlisted_applications,
            publishing_one_cluster_never_touches_another,
            cluster_statuses_are_ordered_by_cluster,
            application_counts_per_cluster_and_application,
            saving_the_same_batch_twice_stores_its_events_once,
            two_transitions_of_a_resource_are_both_stored,
            events_without_a_key_are_all_stored_and_read_back,
            duplicate_events_through_the_detector_are_stored_once,
            the_same_first_drift_in_two_clusters_is_two_events,
            list_filters_by_severity_type_and_text,
            list_sorts_by_every_key_both_ways,
            count_ignores_paging_and_follows_saves,
            timeline_counts_events_per_bucket_and_severity,
            timeline_matches_the_core_definition,
        );
    };
    (@cases $subject:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let subject = $subject().await;
                $crate::contract::$case(&subject.store).await;
                subject.finish().await;
            }
        )*
    };
}

fn id(text: &str) -> ResourceId {
    text.parse().expect("valid id")
}

async fn list(store: &Arc<dyn DriftStore>, filter: &RecordFilter) -> Vec<DriftRecord> {
    store
        .list(filter)
        .await
        .unwrap_or_else(|e| panic!("list({filter:?}) failed: {e}"))
}

async fn events_of(store: &Arc<dyn DriftStore>, filter: &EventFilter) -> Vec<DriftEvent> {
    store
        .events(filter)
        .await
        .unwrap_or_else(|e| panic!("events({filter:?}) failed: {e}"))
        .events
}

async fn save(store: &Arc<dyn DriftStore>, records: &[DriftRecord], events: &[DriftEvent]) {
    store.save(records, events).await.unwrap_or_else(|e| {
        panic!(
            "save of {} records, {} events failed: {e}",
            records.len(),
            events.len()
        )
    });
}

fn ids(records: &[DriftRecord]) -> Vec<String> {
    records.iter().map(|r| r.resource_id.to_string()).collect()
}

async fn application_counts(
    store: &Arc<dyn DriftStore>,
) -> BTreeMap<(String, String), StatusCounts> {
    store
        .application_counts()
        .await
        .unwrap_or_else(|e| panic!("application_counts() failed: {e}"))
}

/// What `application_counts()` must answer over `records`: the core's counts per
/// `(cluster, application)`.
fn expected_counts(records: &[DriftRecord]) -> BTreeMap<(String, String), StatusCounts> {
    let mut counts: BTreeMap<(String, String), StatusCounts> = BTreeMap::new();
    for record in records {
        counts
            .entry((record.cluster.clone(), record.application.clone()))
            .or_default()
            .add(record);
    }
    counts
}

/// The key of `application` in [`DEFAULT_CLUSTER`] in `application_counts()`.
fn in_default_cluster(application: &str) -> (String, String) {
    (DEFAULT_CLUSTER.to_owned(), application.to_owned())
}

/// Statistics equal, the mean time to resolve up to floating-point rounding (stores sum
/// milliseconds, the reference sums seconds).
fn assert_statistics(actual: &DriftStatistics, expected: &DriftStatistics) {
    let mean = |s: &DriftStatistics| s.mean_time_to_resolve_seconds;
    match (mean(actual), mean(expected)) {
        (Some(a), Some(e)) => assert!(
            (a - e).abs() <= 1e-9 * e.abs().max(1.0),
            "mean time to resolve {a} != {e}"
        ),
        (a, e) => assert_eq!(a, e, "mean time to resolve"),
    }
    let without_mean = |s: &DriftStatistics| DriftStatistics {
        mean_time_to_resolve_seconds: None,
        ..s.clone()
    };
    assert_eq!(without_mean(actual), without_mean(expected));
}

/// Nothing stored: no record, empty listings, zero statistics, and the store is up.
pub async fn an_empty_store_answers_every_query(store: &Arc<dyn DriftStore>) {
    store.ping().await.expect("an empty store is ready");
    assert_eq!(
        store
            .get(DEFAULT_CLUSTER, &id("Deployment:shop:web"))
            .await
            .expect("get"),
        None
    );
    assert!(list(store, &RecordFilter::default()).await.is_empty());
    assert!(events_of(store, &EventFilter::default()).await.is_empty());
    let statistics = store.statistics(None).await.expect("statistics");
    assert_statistics(&statistics, &compute(&[], &[]));
    assert_eq!(statistics.by_status.get("active"), Some(&0));
    assert!(statistics.by_application.is_empty());
    assert!(application_counts(store).await.is_empty());
    let filter = RecordFilter {
        application: Some(DEFAULT_APPLICATION.to_owned()),
        ..RecordFilter::default()
    };
    assert!(list(store, &filter).await.is_empty());
}

/// Every field of a record, namespaced or cluster-scoped, in any application, comes back
/// as saved.
pub async fn saved_records_read_back_unchanged(store: &Arc<dyn DriftStore>) {
    let mut active = record(
        "Deployment:shop:web",
        DriftStatus::Active,
        &[
            DriftType::Scaling,
            DriftType::VersionChange,
            DriftType::LabelChange,
        ],
        42_000,
    );
    active.application = "shop-frontend".to_owned();
    let mut resolved = record("Namespace::shop", DriftStatus::Resolved, &[], 43_000);
    resolved.application = "platform".to_owned();
    let mut bare = record("ConfigMap:shop:settings", DriftStatus::None, &[], 44_000);
    bare.live_hash = None;
    bare.last_known_good_hash = None;
    bare.git_revision = None;
    // RBAC names may hold colons.
    let rbac = record(
        "ClusterRole::system:aggregate-to-view",
        DriftStatus::None,
        &[],
        45_000,
    );
    assert!(
        active
            .drifts
            .iter()
            .all(|d| d.desired.is_some() || d.live.is_some())
    );
    save(
        store,
        &[active.clone(), resolved.clone(), bare.clone(), rbac.clone()],
        &[],
    )
    .await;

    for expected in [&active, &resolved, &bare, &rbac] {
        let stored = store
            .get(DEFAULT_CLUSTER, &expected.resource_id)
            .await
            .expect("get")
            .unwrap_or_else(|| panic!("{} was saved", expected.resource_id));
        assert_eq!(&stored, expected);
    }
    assert_eq!(list(store, &RecordFilter::default()).await.len(), 4);
    assert_eq!(
        store
            .get(DEFAULT_CLUSTER, &id("Deployment:shop:api"))
            .await
            .expect("get"),
        None
    );
}

/// Saving a record again replaces it; other records stay as they were.
pub async fn save_upserts_by_resource_id(store: &Arc<dyn DriftStore>) {
    let first = record(
        "Deployment:shop:web",
        DriftStatus::Active,
        &[DriftType::Scaling],
        1_000,
    );
    let other = record("Service:shop:web", DriftStatus::None, &[], 1_000);
    save(store, &[first, other.clone()], &[]).await;
    let second = record("Deployment:shop:web", DriftStatus::Resolved, &[], 9_000);
    save(store, std::slice::from_ref(&second), &[]).await;

    assert_eq!(
        store
            .get(DEFAULT_CLUSTER, &second.resource_id)
            .await
            .expect("get"),
        Some(second.clone())
    );
    assert_eq!(
        store
            .get(DEFAULT_CLUSTER, &other.resource_id)
            .await
            .expect("get"),
        Some(other.clone())
    );
    assert_eq!(
        list(store, &RecordFilter::default()).await,
        vec![second, other]
    );
}

/// A save of nothing succeeds and stores nothing.
pub async fn an_empty_save_changes_nothing(store: &Arc<dyn DriftStore>) {
    store.save(&[], &[]).await.expect("empty save");
    assert!(list(store, &RecordFilter::default()).await.is_empty());
    let one = record("ConfigMap:shop:settings", DriftStatus::None, &[], 5);
    save(store, std::slice::from_ref(&one), &[]).await;
    store.save(&[], &[]).await.expect("empty save");
    assert_eq!(list(store, &RecordFilter::default()).await, vec![one]);
}

/// Listings follow `ResourceId` order (kind, namespace with cluster-scoped first, name),
/// whatever order and batches the records were saved in.
pub async fn list_orders_by_resource_id(store: &Arc<dyn DriftStore>) {
    let records = data::records(7);
    let mut reversed = records.clone();
    reversed.reverse();
    for chunk in reversed.chunks(5) {
        save(store, chunk, &[]).await;
    }
    let listed = list(store, &RecordFilter::default()).await;
    assert_eq!(
        ids(&listed),
        ids(&expected_list(&records, &RecordFilter::default()))
    );
    assert_eq!(listed, expected_list(&records, &RecordFilter::default()));
    let cluster_first = ids(&listed)
        .into_iter()
        .filter(|i| i.starts_with("Namespace:"))
        .collect::<Vec<_>>();
    assert_eq!(
        cluster_first,
        [
            "Namespace::1st-team",
            "Namespace::payments",
            "Namespace::shop"
        ]
    );
}

/// Every filter alone and in every combination answers what `RecordFilter::matches` says.
pub async fn list_applies_every_filter_and_combination(store: &Arc<dyn DriftStore>) {
    let records = data::records(11);
    save(store, &records, &[]).await;
    let namespaces = [
        None,
        Some("shop"),
        Some("1st-team"),
        Some("no-such-namespace"),
        Some(""),
    ];
    let detected = [None, Some(true), Some(false)];
    let statuses = [
        None,
        Some(DriftStatus::None),
        Some(DriftStatus::Active),
        Some(DriftStatus::Resolved),
    ];
    let mut non_empty = 0;
    for namespace in namespaces {
        for drift_detected in detected {
            for drift_status in statuses {
                let filter = RecordFilter {
                    namespace: namespace.map(str::to_owned),
                    drift_detected,
                    drift_status,
                    ..RecordFilter::default()
                };
                let expected = expected_list(&records, &filter);
                non_empty += usize::from(!expected.is_empty());
                assert_eq!(
                    ids(&list(store, &filter).await),
                    ids(&expected),
                    "{filter:?}"
                );
            }
        }
    }
    assert!(
        non_empty > 20,
        "the data must exercise the filters ({non_empty} non-empty)"
    );
}

/// `limit` and `offset` page through a filtered listing without gaps or repeats.
pub async fn list_pages_with_limit_and_offset(store: &Arc<dyn DriftStore>) {
    let records = data::records(13);
    save(store, &records, &[]).await;
    let filters = [
        RecordFilter::default(),
        RecordFilter {
            drift_status: Some(DriftStatus::Active),
            ..RecordFilter::default()
        },
        RecordFilter {
            namespace: Some("shop".to_owned()),
            drift_detected: Some(false),
            ..RecordFilter::default()
        },
    ];
    assert_pages(store, &records, &filters).await;
}

/// Every page of every `filter` over the stored `records`, and pages of 4 read one after
/// the other, answer what the filter, `ResourceId` order and paging say.
async fn assert_pages(
    store: &Arc<dyn DriftStore>,
    records: &[DriftRecord],
    filters: &[RecordFilter],
) {
    for base in filters {
        let all = expected_list(records, base);
        assert!(!all.is_empty(), "{base:?} must match something");
        let len = all.len();
        for limit in [None, Some(0), Some(1), Some(3), Some(len), Some(len + 10)] {
            for offset in [0, 1, 2, len.saturating_sub(1), len, len + 5] {
                let filter = RecordFilter {
                    limit,
                    offset,
                    ..base.clone()
                };
                assert_eq!(
                    ids(&list(store, &filter).await),
                    ids(&expected_list(records, &filter)),
                    "{filter:?}"
                );
            }
        }
        let mut paged = Vec::new();
        let mut offset = 0;
        loop {
            let page = list(
                store,
                &RecordFilter {
                    limit: Some(4),
                    offset,
                    ..base.clone()
                },
            )
            .await;
            if page.is_empty() {
                break;
            }
            offset += page.len();
            paged.extend(page);
        }
        assert_eq!(paged, all, "pages of 4 over {base:?}");
    }
}

/// The application filter alone and with the namespace, drift and status filters
/// answers what `RecordFilter::matches` says; an unknown application matches nothing.
pub async fn list_filters_by_application_alone_and_combined(store: &Arc<dyn DriftStore>) {
    let records = data::records(29);
    save(store, &records, &[]).await;
    let mut applications: Vec<Option<&str>> = APPLICATIONS.iter().copied().map(Some).collect();
    applications.extend([None, Some("no-such-application"), Some("")]);
    let namespaces = [None, Some("shop"), Some("payments"), Some("")];
    let detected = [None, Some(true)];
    let statuses = [None, Some(DriftStatus::Active), Some(DriftStatus::Resolved)];
    let mut non_empty = 0;
    for application in &applications {
        let alone = RecordFilter {
            application: application.map(str::to_owned),
            ..RecordFilter::default()
        };
        let expected = expected_list(&records, &alone);
        assert_eq!(list(store, &alone).await, expected, "{alone:?}");
        if application.is_some_and(|a| APPLICATIONS.contains(&a)) {
            assert!(!expected.is_empty(), "{alone:?} must match something");
            assert!(
                expected.len() < records.len(),
                "{alone:?} must leave some out"
            );
        }
        for namespace in namespaces {
            for drift_detected in detected {
                for drift_status in statuses {
                    let filter = RecordFilter {
                        application: application.map(str::to_owned),
                        namespace: namespace.map(str::to_owned),
                        drift_detected,
                        drift_status,
                        ..RecordFilter::default()
                    };
                    let expected = expected_list(&records, &filter);
                    non_empty += usize::from(!expected.is_empty());
                    assert_eq!(
                        ids(&list(store, &filter).await),
                        ids(&expected),
                        "{filter:?}"
                    );
                }
            }
        }
    }
    assert!(
        non_empty > 30,
        "the data must exercise the filters ({non_empty} non-empty)"
    );
}

/// Paging within an application, alone and with other filters.
pub async fn list_pages_within_an_application(store: &Arc<dyn DriftStore>) {
    let records = data::records(31);
    save(store, &records, &[]).await;
    let filters = [
        RecordFilter {
            application: Some(APPLICATIONS[1].to_owned()),
            ..RecordFilter::default()
        },
        RecordFilter {
            application: Some(DEFAULT_APPLICATION.to_owned()),
            drift_detected: Some(true),
            ..RecordFilter::default()
        },
        RecordFilter {
            application: Some(APPLICATIONS[2].to_owned()),
            namespace: Some("shop".to_owned()),
            ..RecordFilter::default()
        },
    ];
    assert_pages(store, &records, &filters).await;
}

/// Events come back oldest first; events at the same instant in the order they were saved.
pub async fn events_come_back_oldest_first_with_ties_in_saved_order(store: &Arc<dyn DriftStore>) {
    let saved = vec![
        event(
            "Deployment:shop:web",
            EventKind::DriftDetected,
            5_000,
            &[DriftType::Scaling],
        ),
        event(
            "Deployment:shop:api",
            EventKind::DriftDetected,
            1_000,
            &[DriftType::VersionChange],
        ),
        event(
            "Service:shop:web",
            EventKind::DriftDetected,
            5_000,
            &[DriftType::PortChange],
        ),
        event(
            "Deployment:shop:api",
            EventKind::DriftResolved,
            3_000,
            &[DriftType::VersionChange],
        ),
    ];
    save(store, &[], &saved[..2]).await;
    save(store, &[], &saved[2..]).await;
    let later = vec![
        event(
            "ConfigMap:shop:settings",
            EventKind::DriftDetected,
            5_000,
            &[],
        ),
        event(
            "Deployment:shop:web",
            EventKind::DriftChanged,
            4_000,
            &[DriftType::Scaling],
        ),
    ];
    save(store, &[], &later).await;
    let all: Vec<DriftEvent> = saved.into_iter().chain(later).collect();
    let listed = events_of(store, &EventFilter::default()).await;
    assert_eq!(listed, expected_events(&all, &EventFilter::default()));
    let order: Vec<(String, DateTime<Utc>)> = listed
        .iter()
        .map(|e| (e.resource_id.to_string(), e.at))
        .collect();
    assert_eq!(
        order,
        vec![
            ("Deployment:shop:api".to_owned(), time(1_000)),
            ("Deployment:shop:api".to_owned(), time(3_000)),
            ("Deployment:shop:web".to_owned(), time(4_000)),
            ("Deployment:shop:web".to_owned(), time(5_000)),
            ("Service:shop:web".to_owned(), time(5_000)),
            ("ConfigMap:shop:settings".to_owned(), time(5_000)),
        ]
    );
}

/// Events of one resource, of a time range (`since` inclusive, `until` exclusive), both,
/// and the oldest `limit` of them.
pub async fn events_filter_by_resource_time_range_and_limit(store: &Arc<dyn DriftStore>) {
    let all = data::events(17);
    for chunk in all.chunks(40) {
        save(store, &[], chunk).await;
    }
    let mut times: Vec<DateTime<Utc>> = all.iter().map(|e| e.at).collect();
    times.sort();
    let (early, middle, late) = (
        times[times.len() / 5],
        times[times.len() / 2],
        times[times.len() * 4 / 5],
    );
    let resources = [
        None,
        Some(id("Deployment:shop:web")),
        Some(id("Namespace::shop")),
        Some(id("Deployment:nowhere:x")),
    ];
    let ranges = [
        (None, None),
        (Some(middle), None),
        (None, Some(middle)),
        (Some(early), Some(late)),
        (Some(middle), Some(middle)),
        (Some(late), Some(early)),
    ];
    let mut non_empty = 0;
    for resource_id in &resources {
        for (since, until) in ranges {
            for limit in [None, Some(0), Some(1), Some(5)] {
                let filter = EventFilter {
                    cluster: None,
                    resource_id: resource_id.clone(),
                    since,
                    until,
                    after: None,
                    limit,
                };
                let expected = expected_events(&all, &filter);
                non_empty += usize::from(!expected.is_empty());
                assert_eq!(events_of(store, &filter).await, expected, "{filter:?}");
            }
        }
    }
    assert!(
        non_empty > 20,
        "the data must exercise the filters ({non_empty} non-empty)"
    );
    // The bounds are exact: an event at `since` is in, an event at `until` is out.
    let at_middle = all.iter().filter(|e| e.at == middle).count();
    assert!(at_middle > 0);
    let from = events_of(
        store,
        &EventFilter {
            since: Some(middle),
            ..EventFilter::default()
        },
    )
    .await;
    assert!(from.iter().filter(|e| e.at == middle).count() == at_middle);
    let before = events_of(
        store,
        &EventFilter {
            until: Some(middle),
            ..EventFilter::default()
        },
    )
    .await;
    assert!(before.iter().all(|e| e.at < middle));
}

/// `count` events of `id` at `at` (milliseconds), told apart by their message.
fn events_at(id: &str, at: i64, count: usize, first: usize) -> Vec<DriftEvent> {
    (first..first + count)
        .map(|n| DriftEvent {
            message: format!("event {n} of {id}"),
            ..event(id, EventKind::DriftChanged, at, &[DriftType::Scaling])
        })
        .collect()
}

/// Every page of `filter`, from its start, following `next` as a client would; fails
/// rather than loop when pages stop advancing.
async fn page_through(store: &Arc<dyn DriftStore>, filter: &EventFilter) -> Vec<Vec<DriftEvent>> {
    let everything = events_of(
        store,
        &EventFilter {
            after: None,
            limit: None,
            ..filter.clone()
        },
    )
    .await;
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page_filter = EventFilter {
            after: after.clone(),
            ..filter.clone()
        };
        let page = store
            .events(&page_filter)
            .await
            .unwrap_or_else(|e| panic!("events({page_filter:?}) failed: {e}"));
        assert!(
            page.events.len() <= filter.limit.unwrap_or(usize::MAX),
            "a page holds at most `limit` events"
        );
        pages.push(page.events);
        assert!(
            pages.len() <= everything.len() + 1,
            "paging {filter:?} does not end: {pages:?}"
        );
        match page.next {
            Some(next) => {
                assert_ne!(Some(&next), after.as_ref(), "a page must move forward");
                after = Some(next);
            }
            None => return pages,
        }
    }
}

/// Paging one event at a time through events that share their times (within a save and
/// across saves, interleaved with another resource's) visits each exactly once, in
/// order, and ends with the last event; no empty page is needed to learn the end.
pub async fn event_pages_visit_events_sharing_a_time_once_each(store: &Arc<dyn DriftStore>) {
    let web = "Deployment:shop:web";
    let api = "Deployment:shop:api";
    let mut all = Vec::new();
    all.extend(events_at(web, 2_000, 4, 0));
    all.extend(events_at(api, 2_000, 2, 0));
    all.extend(events_at(web, 1_000, 2, 4));
    save(store, &[], &all).await;
    let more: Vec<DriftEvent> = events_at(web, 2_000, 3, 6)
        .into_iter()
        .chain(events_at(web, 3_000, 1, 9))
        .collect();
    save(store, &[], &more).await;
    all.extend(more);

    for resource_id in [Some(id(web)), None] {
        let everything = EventFilter {
            resource_id: resource_id.clone(),
            ..EventFilter::default()
        };
        let expected = expected_events(&all, &everything);
        for limit in [1, 2, 3, expected.len(), expected.len() + 1] {
            let filter = EventFilter {
                limit: Some(limit),
                ..everything.clone()
            };
            let pages = page_through(store, &filter).await;
            let visited: Vec<DriftEvent> = pages.iter().flatten().cloned().collect();
            assert_eq!(visited, expected, "{filter:?}");
            assert_eq!(pages.len(), expected.len().div_ceil(limit), "{filter:?}");
            assert!(pages.iter().all(|page| !page.is_empty()), "{filter:?}");
        }
    }
    let web_events = expected_events(
        &all,
        &EventFilter {
            resource_id: Some(id(web)),
            ..EventFilter::default()
        },
    );
    assert_eq!(web_events.len(), 10);
    assert_eq!(web_events.iter().filter(|e| e.at == time(2_000)).count(), 7);
}

/// `since` and `until` keep filtering while paging: every page stays in the range, and
/// the events at `since` itself are all visited.
pub async fn event_pages_keep_since_and_until(store: &Arc<dyn DriftStore>) {
    let web = "Deployment:shop:web";
    let mut all = Vec::new();
    for (n, at) in [1_000, 2_000, 2_000, 2_000, 3_000, 3_000, 4_000, 5_000]
        .into_iter()
        .enumerate()
    {
        all.extend(events_at(web, at, 1, n));
    }
    save(store, &[], &all).await;
    for (since, until) in [
        (Some(time(2_000)), None),
        (Some(time(2_000)), Some(time(4_000))),
        (None, Some(time(3_000))),
        (Some(time(2_500)), Some(time(3_000))),
    ] {
        for limit in [1, 2] {
            let filter = EventFilter {
                resource_id: Some(id(web)),
                since,
                until,
                limit: Some(limit),
                ..EventFilter::default()
            };
            let visited: Vec<DriftEvent> = page_through(store, &filter)
                .await
                .into_iter()
                .flatten()
                .collect();
            let unlimited = EventFilter {
                limit: None,
                ..filter.clone()
            };
            assert_eq!(visited, expected_events(&all, &unlimited), "{filter:?}");
        }
    }
}

/// Events saved after a page was read, at that page's last time or later, come on the
/// pages after it.
pub async fn event_pages_continue_over_events_saved_between_pages(store: &Arc<dyn DriftStore>) {
    let web = "Deployment:shop:web";
    let first = events_at(web, 1_000, 3, 0);
    save(store, &[], &first).await;
    let filter = EventFilter {
        resource_id: Some(id(web)),
        limit: Some(2),
        ..EventFilter::default()
    };
    let page = store.events(&filter).await.expect("first page");
    assert_eq!(page.events, first[..2]);
    let later: Vec<DriftEvent> = events_at(web, 1_000, 2, 3)
        .into_iter()
        .chain(events_at(web, 2_000, 1, 5))
        .collect();
    save(store, &[], &later).await;
    let rest = events_of(
        store,
        &EventFilter {
            after: page.next,
            limit: None,
            ..filter
        },
    )
    .await;
    let expected: Vec<DriftEvent> = first[2..].iter().chain(&later).cloned().collect();
    assert_eq!(rest, expected);
}

/// A position whose key this store did not make (a cursor of another store, or forged)
/// is refused as an invalid request, not mistaken for a store failure.
pub async fn an_event_position_of_another_store_is_refused(store: &Arc<dyn DriftStore>) {
    save(store, &[], &events_at("Deployment:shop:web", 1_000, 2, 0)).await;
    for key in [Vec::new(), vec![7; 3], vec![7; 40]] {
        let filter = EventFilter {
            after: Some(EventPosition {
                at: time(1_000),
                key,
            }),
            limit: Some(1),
            ..EventFilter::default()
        };
        let error = store
            .events(&filter)
            .await
            .expect_err("a key of no store of this kind");
        assert_eq!(
            error.kind,
            PortErrorKind::InvalidRequest,
            "{filter:?}: {error}"
        );
    }
}

/// Statistics over varied records and irregular histories equal
/// `driftguard_core::stats::compute` over the same data.
pub async fn statistics_match_the_core_definition(store: &Arc<dyn DriftStore>) {
    let records = data::records(19);
    let events = data::events(23);
    save(store, &records[..10], &events[..events.len() / 2]).await;
    save(store, &records[10..], &events[events.len() / 2..]).await;
    let expected = compute(&records, &events);
    assert!(expected.mean_time_to_resolve_seconds.is_some());
    assert_eq!(
        expected.most_drifted.len(),
        driftguard_core::stats::MOST_DRIFTED_LIMIT
    );
    assert!(
        expected.by_namespace.contains_key(""),
        "cluster-scoped drift is counted"
    );
    assert_eq!(
        expected.by_application.len(),
        APPLICATIONS.len(),
        "drift in every application"
    );
    let actual = store.statistics(None).await.expect("statistics");
    assert_statistics(&actual, &expected);
}

/// Statistics describe what is stored now: upserts replace, events add up.
pub async fn statistics_follow_later_saves(store: &Arc<dyn DriftStore>) {
    let web = "Deployment:shop:web";
    let mut records = vec![record(
        web,
        DriftStatus::Active,
        &[DriftType::Scaling],
        60_000,
    )];
    let mut events = vec![event(
        web,
        EventKind::DriftDetected,
        0,
        &[DriftType::Scaling],
    )];
    save(store, &records, &events).await;
    assert_statistics(
        &store.statistics(None).await.expect("statistics"),
        &compute(&records, &events),
    );

    records = vec![record(web, DriftStatus::Resolved, &[], 90_000)];
    let resolution = event(web, EventKind::DriftResolved, 90_000, &[DriftType::Scaling]);
    save(store, &records, std::slice::from_ref(&resolution)).await;
    events.push(resolution);
    let statistics = store.statistics(None).await.expect("statistics");
    assert_statistics(&statistics, &compute(&records, &events));
    assert_eq!(statistics.total_resources, 1);
    assert_eq!(statistics.drifted_resources, 0);
    assert_eq!(statistics.by_status.get("resolved"), Some(&1));
    assert_eq!(statistics.mean_time_to_resolve_seconds, Some(90.0));
}

/// `by_application` counts drifted records per application, as `by_namespace` does per
/// namespace: records without drift now count nowhere.
pub async fn statistics_count_drifted_records_by_application(store: &Arc<dyn DriftStore>) {
    let in_application = |id: &str, application: &str, status: DriftStatus, types: &[DriftType]| {
        let mut r = record(id, status, types, 10_000);
        r.application = application.to_owned();
        r
    };
    let records = vec![
        in_application(
            "Deployment:shop:web",
            "shop-frontend",
            DriftStatus::Active,
            &[DriftType::Scaling],
        ),
        in_application(
            "Service:shop:web",
            "shop-frontend",
            DriftStatus::Active,
            &[DriftType::Missing],
        ),
        in_application(
            "ConfigMap:shop:settings",
            "shop-frontend",
            DriftStatus::Resolved,
            &[],
        ),
        in_application(
            "ClusterRole::reader",
            DEFAULT_APPLICATION,
            DriftStatus::Active,
            &[DriftType::LabelChange],
        ),
        in_application("Namespace::shop", "platform", DriftStatus::None, &[]),
    ];
    save(store, &records, &[]).await;
    let statistics = store.statistics(None).await.expect("statistics");
    assert_statistics(&statistics, &compute(&records, &[]));
    assert_eq!(
        statistics.by_application,
        BTreeMap::from([
            (DEFAULT_APPLICATION.to_owned(), 1),
            ("shop-frontend".to_owned(), 2),
        ])
    );
}

/// `application_counts()` equals `status_counts_by` over every record: each status per
/// application, and the active records whose drift types hold Missing.
pub async fn application_counts_match_the_core_definition(store: &Arc<dyn DriftStore>) {
    let mut records = data::records(37);
    let mut missing = record(
        "Service:shop:gone",
        DriftStatus::Active,
        &[DriftType::Missing],
        20_000,
    );
    missing.application = "shop-frontend".to_owned();
    let mut missing_and_more = record(
        "Deployment:payments:gone",
        DriftStatus::Active,
        &[DriftType::Missing, DriftType::Scaling],
        20_000,
    );
    missing_and_more.application = "payments".to_owned();
    // Only active records count as Missing, whatever types a resolved one kept.
    let mut resolved = record("Secret:payments:back", DriftStatus::Resolved, &[], 20_000);
    resolved.application = "payments".to_owned();
    resolved.drift_types = vec![DriftType::Missing];
    records.extend([missing, missing_and_more, resolved]);
    save(store, &records[..12], &[]).await;
    save(store, &records[12..], &[]).await;

    let expected = expected_counts(&records);
    assert!(
        expected.values().map(|c| c.missing).sum::<u64>() >= 2,
        "the data must hold Missing records"
    );
    assert_eq!(expected.len(), APPLICATIONS.len() + 1);
    assert_eq!(application_counts(store).await, expected);
    assert_eq!(
        application_counts(store)
            .await
            .get(&in_default_cluster("payments")),
        Some(&StatusCounts {
            none: 0,
            active: 1,
            resolved: 1,
            missing: 1,
        })
    );
}

/// Counts describe what is stored now: a record that moves to another application or
/// changes status is counted there, once.
pub async fn application_counts_follow_later_saves(store: &Arc<dyn DriftStore>) {
    let web = "Deployment:shop:web";
    let mut first = record(web, DriftStatus::Active, &[DriftType::Missing], 1_000);
    first.application = "shop-frontend".to_owned();
    let other = record("Service:shop:web", DriftStatus::None, &[], 1_000);
    save(store, &[first.clone(), other.clone()], &[]).await;
    assert_eq!(
        application_counts(store).await,
        expected_counts(&[first, other.clone()])
    );

    let mut moved = record(web, DriftStatus::Resolved, &[], 2_000);
    moved.application = "platform".to_owned();
    save(store, std::slice::from_ref(&moved), &[]).await;
    let counts = application_counts(store).await;
    assert_eq!(counts, expected_counts(&[moved, other]));
    assert!(
        !counts.contains_key(&in_default_cluster("shop-frontend")),
        "{counts:?}"
    );
}

/// Events keep the application they were saved with, also when one resource's events
/// belong to different applications (it moved from one to another).
pub async fn events_keep_their_application(store: &Arc<dyn DriftStore>) {
    let in_application = |application: &str, mut e: DriftEvent| {
        e.application = application.to_owned();
        e
    };
    let web = "Deployment:shop:web";
    let saved = vec![
        in_application(
            "shop-frontend",
            event(web, EventKind::DriftDetected, 1_000, &[DriftType::Scaling]),
        ),
        in_application(
            "shop-frontend",
            event(web, EventKind::DriftResolved, 2_000, &[DriftType::Scaling]),
        ),
        in_application(
            "platform",
            event(web, EventKind::DriftDetected, 3_000, &[DriftType::Missing]),
        ),
        event(
            "ConfigMap:shop:settings",
            EventKind::DriftDetected,
            3_000,
            &[],
        ),
    ];
    save(store, &[], &saved[..2]).await;
    save(store, &[], &saved[2..]).await;
    let listed = events_of(store, &EventFilter::default()).await;
    assert_eq!(listed, expected_events(&saved, &EventFilter::default()));
    let of_web: Vec<String> = events_of(
        store,
        &EventFilter {
            resource_id: Some(id(web)),
            ..EventFilter::default()
        },
    )
    .await
    .into_iter()
    .map(|e| e.application)
    .collect();
    assert_eq!(of_web, ["shop-frontend", "shop-frontend", "platform"]);
    assert_eq!(listed[3].application, DEFAULT_APPLICATION);
}

fn config_map(mode: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "shop"},
        "data": {"mode": mode, "retries": "3"}
    })
}

fn deployment(replicas: u32, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]}}}
    })
}

/// What the API server returns for `object`: server metadata and status added.
fn as_live(mut object: Value) -> Value {
    object["metadata"]["uid"] = json!("7c1d0f2e-93a4-4b5c-8d6e-0f1a2b3c4d5e");
    object["metadata"]["resourceVersion"] = json!("1200");
    object["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
    if object["kind"] == "Deployment" {
        object["spec"]["revisionHistoryLimit"] = json!(10);
        object["status"] = json!({"replicas": 3});
    }
    object
}

fn resource(object: Value) -> Resource {
    Resource::from_object(object, None).expect("valid object")
}

/// The lifecycle none → active → resolved → active, driven by the real detector over
/// in-memory sources and this store.
pub async fn lifecycle_round_trip_through_the_detector(store: &Arc<dyn DriftStore>) {
    let desired = Arc::new(InMemoryDesired::new(DesiredSnapshot {
        resources: vec![
            resource(deployment(3, "nginx:1.25.3")),
            resource(config_map("fast")),
        ],
        revision: Some("c0ffee".to_owned()),
        render: None,
    }));
    let live = Arc::new(InMemoryLive::new(LiveSnapshot::complete(vec![
        resource(as_live(deployment(3, "nginx:1.25.3"))),
        resource(as_live(config_map("fast"))),
    ])));
    let detector = Detector::new(
        desired.clone(),
        live.clone(),
        Arc::clone(store),
        DetectionSettings::default(),
    );
    let web = id("Deployment:shop:web");
    let settings = id("ConfigMap:shop:settings");
    let minute = |m: i64| time(m * 60_000);
    let get = |id: ResourceId| async move {
        store
            .get(DEFAULT_CLUSTER, &id)
            .await
            .expect("get")
            .expect("record exists")
    };

    // In sync: records with status none, no events.
    detector.run(minute(0)).await.expect("analysis");
    let r = get(web.clone()).await;
    assert_eq!(
        (r.drift_status, r.drift_detected),
        (DriftStatus::None, false)
    );
    assert_eq!(r.last_known_good_hash, r.live_hash);
    assert!(events_of(store, &EventFilter::default()).await.is_empty());

    // Someone scales by hand: active.
    live.set(LiveSnapshot::complete(vec![
        resource(as_live(deployment(5, "nginx:1.25.3"))),
        resource(as_live(config_map("fast"))),
    ]));
    detector.run(minute(1)).await.expect("analysis");
    let r = get(web.clone()).await;
    assert_eq!(r.drift_status, DriftStatus::Active);
    assert_eq!(r.drift_types, vec![DriftType::Scaling]);
    assert_eq!(r.severity, Some(Severity::Medium));
    assert_eq!((r.first_detected, r.detection_count), (Some(minute(1)), 1));
    assert_eq!(r.git_revision.as_deref(), Some("c0ffee"));
    assert_eq!(get(settings.clone()).await.drift_status, DriftStatus::None);

    // It persists: still active, counted again, no new event.
    detector.run(minute(2)).await.expect("analysis");
    let r = get(web.clone()).await;
    assert_eq!(
        (r.drift_status, r.detection_count, r.last_detected),
        (DriftStatus::Active, 2, Some(minute(2)))
    );

    // Reverted to Git: resolved.
    live.set(LiveSnapshot::complete(vec![
        resource(as_live(deployment(3, "nginx:1.25.3"))),
        resource(as_live(config_map("fast"))),
    ]));
    detector.run(minute(4)).await.expect("analysis");
    let r = get(web.clone()).await;
    assert_eq!(
        (r.drift_status, r.drift_detected, r.resolved_at),
        (DriftStatus::Resolved, false, Some(minute(4)))
    );
    assert!(
        r.resolution_message
            .as_deref()
            .is_some_and(|m| m.contains("reverted")),
        "{:?}",
        r.resolution_message
    );
    assert_eq!(
        list(
            store,
            &RecordFilter {
                drift_status: Some(DriftStatus::Resolved),
                ..RecordFilter::default()
            }
        )
        .await
        .len(),
        1
    );

    // Drift again, on the image and the config map: a new episode.
    live.set(LiveSnapshot::complete(vec![
        resource(as_live(deployment(3, "nginx:1.27.0"))),
        resource(as_live(config_map("slow"))),
    ]));
    detector.run(minute(7)).await.expect("analysis");
    let r = get(web.clone()).await;
    assert_eq!(r.drift_status, DriftStatus::Active);
    assert_eq!(r.drift_types, vec![DriftType::VersionChange]);
    assert_eq!(
        (r.first_detected, r.resolved_at, r.detection_count),
        (Some(minute(7)), None, 1)
    );
    assert_eq!(r.resolution_message, None);
    let c = get(settings.clone()).await;
    assert_eq!(c.drift_status, DriftStatus::Active);
    assert_eq!(c.drifts[0].desired, Some(json!("fast")));
    assert_eq!(c.drifts[0].live, Some(json!("slow")));

    let history: Vec<(EventKind, DateTime<Utc>)> = events_of(
        store,
        &EventFilter {
            resource_id: Some(web.clone()),
            ..EventFilter::default()
        },
    )
    .await
    .into_iter()
    .map(|e| (e.kind, e.at))
    .collect();
    assert_eq!(
        history,
        vec![
            (EventKind::DriftDetected, minute(1)),
            (EventKind::DriftResolved, minute(4)),
            (EventKind::DriftDetected, minute(7)),
        ]
    );
    let since_resolution = events_of(
        store,
        &EventFilter {
            since: Some(minute(4)),
            ..EventFilter::default()
        },
    )
    .await;
    assert_eq!(since_resolution.len(), 3, "{since_resolution:?}");

    let statistics = store.statistics(None).await.expect("statistics");
    assert_eq!(statistics.total_resources, 2);
    assert_eq!(statistics.drifted_resources, 2);
    assert_eq!(statistics.by_status.get("active"), Some(&2));
    assert_eq!(statistics.by_namespace.get("shop"), Some(&2));
    assert_eq!(statistics.total_events, 4);
    assert_eq!(statistics.mean_time_to_resolve_seconds, Some(180.0));
    assert_eq!(statistics.most_drifted[0].resource_id, web.to_string());
    assert_eq!(statistics.most_drifted[0].drift_events, 2);
    let records = list(store, &RecordFilter::default()).await;
    let events = events_of(store, &EventFilter::default()).await;
    assert_statistics(&statistics, &compute(&records, &events));
}

/// Two applications analysed by the real detector: records and events carry the
/// application that declares the resource, and the listings, statistics and counts
/// per application follow.
pub async fn applications_through_the_detector(store: &Arc<dyn DriftStore>) {
    let application = |name: &str, objects: Vec<Value>| Application {
        name: name.to_owned(),
        namespace: None,
        source: Arc::new(InMemoryDesired::new(DesiredSnapshot {
            resources: objects.into_iter().map(resource).collect(),
            revision: Some(format!("rev-{name}")),
            render: None,
        })),
        description: format!("the {name} manifests"),
    };
    let live = Arc::new(InMemoryLive::new(LiveSnapshot::complete(vec![
        resource(as_live(deployment(3, "nginx:1.25.3"))),
        resource(as_live(config_map("fast"))),
    ])));
    let detector = Detector::with_applications(
        vec![
            application("shop-frontend", vec![deployment(3, "nginx:1.25.3")]),
            application("platform", vec![config_map("fast")]),
        ],
        live.clone(),
        Arc::clone(store),
        DetectionSettings::default(),
    );
    let web = id("Deployment:shop:web");
    let settings = id("ConfigMap:shop:settings");
    let minute = |m: i64| time(m * 60_000);

    detector.run(minute(0)).await.expect("analysis");
    // The deployment is scaled by hand; the config map is deleted.
    live.set(LiveSnapshot::complete(vec![resource(as_live(deployment(
        5,
        "nginx:1.25.3",
    )))]));
    detector.run(minute(1)).await.expect("analysis");

    let record_of = |id: ResourceId| async move {
        store
            .get(DEFAULT_CLUSTER, &id)
            .await
            .expect("get")
            .unwrap_or_else(|| panic!("a record of {id}"))
    };
    let r = record_of(web.clone()).await;
    assert_eq!(
        (r.application.as_str(), r.drift_status),
        ("shop-frontend", DriftStatus::Active)
    );
    let c = record_of(settings.clone()).await;
    assert_eq!(
        (
            c.application.as_str(),
            c.drift_status,
            c.drift_types.as_slice()
        ),
        (
            "platform",
            DriftStatus::Active,
            [DriftType::Missing].as_slice()
        )
    );

    let events = events_of(store, &EventFilter::default()).await;
    let mut applications: Vec<(String, String)> = events
        .iter()
        .map(|e| (e.resource_id.to_string(), e.application.clone()))
        .collect();
    applications.sort();
    assert_eq!(
        applications,
        [
            (settings.to_string(), "platform".to_owned()),
            (web.to_string(), "shop-frontend".to_owned()),
        ],
        "one drift event per resource, in its application"
    );

    let listed = list(
        store,
        &RecordFilter {
            application: Some("platform".to_owned()),
            ..RecordFilter::default()
        },
    )
    .await;
    assert_eq!(ids(&listed), [settings.to_string()]);

    let records = list(store, &RecordFilter::default()).await;
    let statistics = store.statistics(None).await.expect("statistics");
    assert_statistics(&statistics, &compute(&records, &events));
    assert_eq!(
        statistics.by_application,
        BTreeMap::from([("platform".to_owned(), 1), ("shop-frontend".to_owned(), 1)])
    );
    let active = |missing| StatusCounts {
        none: 0,
        active: 1,
        resolved: 0,
        missing,
    };
    assert_eq!(
        application_counts(store).await,
        BTreeMap::from([
            (in_default_cluster("platform"), active(1)),
            (in_default_cluster("shop-frontend"), active(0)),
        ])
    );
}

/// An analysis of thousands of resources is saved by one `save` call, whatever
/// batching the store does underneath, and reads back whole.
pub async fn a_large_analysis_is_saved_in_one_call(store: &Arc<dyn DriftStore>) {
    let count = 3_000;
    let records: Vec<DriftRecord> = (0..count)
        .map(|i| {
            let status = [
                DriftStatus::None,
                DriftStatus::Active,
                DriftStatus::Resolved,
            ][i % 3];
            let mut r = record(
                &format!("Deployment:team-{:02}:app-{i:05}", i % 17),
                status,
                &[
                    DriftType::Scaling,
                    DriftType::VersionChange,
                    DriftType::ConfigurationChange,
                ],
                i as i64,
            );
            r.application = data::application_of(i / 5).to_owned();
            r
        })
        .collect();
    let events: Vec<DriftEvent> = records
        .iter()
        .filter(|r| r.drift_status != DriftStatus::None)
        .map(|r| {
            event(
                &r.resource_id.to_string(),
                EventKind::DriftDetected,
                50_000,
                &r.drift_types,
            )
        })
        .collect();
    save(store, &records, &events).await;

    let listed = list(store, &RecordFilter::default()).await;
    assert_eq!(listed.len(), count);
    assert_eq!(listed, expected_list(&records, &RecordFilter::default()));
    for filter in [
        RecordFilter {
            namespace: Some("team-03".to_owned()),
            drift_status: Some(DriftStatus::Active),
            limit: Some(10),
            offset: 20,
            ..RecordFilter::default()
        },
        RecordFilter {
            application: Some(APPLICATIONS[2].to_owned()),
            drift_status: Some(DriftStatus::Resolved),
            limit: Some(25),
            offset: 100,
            ..RecordFilter::default()
        },
    ] {
        let page = list(store, &filter).await;
        assert_eq!(page.len(), filter.limit.unwrap_or_default(), "{filter:?}");
        assert_eq!(
            ids(&page),
            ids(&expected_list(&records, &filter)),
            "{filter:?}"
        );
    }
    assert_eq!(application_counts(store).await, expected_counts(&records));
    assert_eq!(
        events_of(store, &EventFilter::default()).await.len(),
        events.len()
    );
    assert_statistics(
        &store.statistics(None).await.expect("statistics"),
        &compute(&records, &events),
    );
}

/// The desired and live values of drifts keep their JSON types: strings, integers
/// (negative and large), fractions, booleans, lists and objects.
pub async fn drift_values_of_every_json_type_round_trip(store: &Arc<dyn DriftStore>) {
    let mut r = record(
        "Deployment:shop:web",
        DriftStatus::Active,
        &[DriftType::Other],
        7_000,
    );
    let values = [
        json!("text with \"quotes\", ünïcödé and a newline\n"),
        json!(0),
        json!(-42),
        json!(9_007_199_254_740_993_i64),
        json!(0.25),
        json!(1.5e300),
        json!(true),
        json!(false),
        json!([]),
        json!([1, "two", [3.5], {"four": null}]),
        json!({}),
        json!({"nested": {"list": [{"a": 1}, {"b": [true, false]}], "empty": {}}}),
    ];
    r.drifts = values
        .iter()
        .enumerate()
        .map(|(i, value)| driftguard_core::DriftDetail {
            path: format!("spec.values[{i}]"),
            drift_type: DriftType::Other,
            severity: Severity::Medium,
            desired: Some(value.clone()),
            live: (i % 2 == 0).then(|| value.clone()),
            manager: (i % 3 == 0).then(|| "kubectl-edit".to_owned()),
            hand_edit: i % 3 == 0,
            unowned: i % 3 == 1,
        })
        .collect();
    save(store, std::slice::from_ref(&r), &[]).await;
    let stored = store
        .get(DEFAULT_CLUSTER, &r.resource_id)
        .await
        .expect("get")
        .expect("saved");
    for (stored, saved) in stored.drifts.iter().zip(&r.drifts) {
        assert_eq!(stored, saved, "{}", saved.path);
    }
    assert_eq!(stored, r);
}
