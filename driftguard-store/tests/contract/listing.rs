//! Contract cases for the dashboard's listings: filters by severity, drift type and
//! text, every sort order, and the total a page is part of.

use std::sync::Arc;

use chrono::Duration;
use driftguard_core::ports::{DriftStore, RecordFilter, RecordSort, SortKey};
use driftguard_core::{DriftRecord, DriftStatus, DriftType, Severity};

use super::data::{self, expected_list, record, time};
use super::{list, save};

/// `(resource_id, cluster)` of each record, in order.
fn keys(records: &[DriftRecord]) -> Vec<(String, String)> {
    records
        .iter()
        .map(|r| (r.resource_id.to_string(), r.cluster.clone()))
        .collect()
}

async fn count(store: &Arc<dyn DriftStore>, filter: &RecordFilter) -> u64 {
    store
        .count(filter)
        .await
        .unwrap_or_else(|e| panic!("count({filter:?}) failed: {e}"))
}

/// The records of [`data::records`] in two clusters, `default` and `east`, with ties to
/// break: the same ids in both clusters, and in `east` times and detection counts shared
/// by several ids.
fn two_clusters(seed: u64) -> Vec<DriftRecord> {
    let default = data::records(seed);
    let east: Vec<DriftRecord> = data::records(seed + 1)
        .into_iter()
        .enumerate()
        .map(|(i, mut r)| {
            r.cluster = "east".to_owned();
            if i % 3 == 0 && r.first_detected.is_some() {
                r.first_detected = Some(time(500_000));
                r.last_detected = Some(time(900_000));
                r.detection_count = 2;
            }
            if i % 4 == 0 && r.resolved_at.is_some() {
                r.resolved_at = Some(time(2_000_000));
            }
            r
        })
        .collect();
    default.into_iter().chain(east).collect()
}

/// Severity, drift type and text filters, alone, together and with the older filters,
/// answer what `RecordFilter::matches` says, listed and counted. Text matches the id or
/// a drift's path anywhere, ASCII letters in any case, every other character literally
/// (regular-expression and `LIKE` characters included).
pub async fn list_filters_by_severity_type_and_text(store: &Arc<dyn DriftStore>) {
    let records = two_clusters(41);
    save(store, &records, &[]).await;
    let severities = [
        vec![],
        vec![Severity::High],
        vec![Severity::Medium, Severity::Low],
        vec![Severity::Low, Severity::High, Severity::Medium],
    ];
    let types = [
        vec![],
        vec![DriftType::Scaling],
        vec![DriftType::Missing, DriftType::LabelChange],
        vec![DriftType::SecretChange],
    ];
    let texts = [
        None,
        Some("web"),
        Some("WEB"),
        Some("Deployment:Shop:"),
        Some("spec.replicas"),
        Some("[name=web].IMAGE"),
        Some("[port=80,protocol=TCP]"),
        Some("labels.team"),
        Some("1st-team"),
        Some("::"),
        Some("^spec"),
        Some("web$"),
        Some(".*"),
        Some("_"),
        Some("%"),
        Some("no-such-text"),
    ];
    let others = [
        RecordFilter::default(),
        RecordFilter {
            cluster: Some("east".to_owned()),
            ..RecordFilter::default()
        },
        RecordFilter {
            namespace: Some("shop".to_owned()),
            drift_status: Some(DriftStatus::Active),
            ..RecordFilter::default()
        },
    ];
    let mut non_empty = 0;
    let mut checked = 0;
    for other in &others {
        for severities in &severities {
            for drift_types in &types {
                for text in texts {
                    // Every text alone; with other filters, a few.
                    let busy = !severities.is_empty() || !drift_types.is_empty();
                    if busy && text.is_some_and(|t| !["web", "spec.replicas"].contains(&t)) {
                        continue;
                    }
                    let filter = RecordFilter {
                        severities: severities.clone(),
                        drift_types: drift_types.clone(),
                        text: text.map(str::to_owned),
                        ..other.clone()
                    };
                    let expected = expected_list(&records, &filter);
                    non_empty += usize::from(!expected.is_empty());
                    checked += 1;
                    assert_eq!(
                        keys(&list(store, &filter).await),
                        keys(&expected),
                        "{filter:?}"
                    );
                    assert_eq!(
                        count(store, &filter).await,
                        expected.len() as u64,
                        "count({filter:?})"
                    );
                }
            }
        }
    }
    assert!(
        non_empty * 2 > checked,
        "the data must exercise the filters ({non_empty} of {checked} non-empty)"
    );
    // The meaning, spelled out once.
    let text = |t: &str| RecordFilter {
        text: Some(t.to_owned()),
        ..RecordFilter::default()
    };
    for literal in ["^spec", "web$", ".*", "_", "%"] {
        assert!(list(store, &text(literal)).await.is_empty(), "{literal}");
    }
    let image = list(store, &text("[name=web].IMAGE")).await;
    assert!(!image.is_empty());
    assert!(
        image
            .iter()
            .all(|r| r.drift_types.contains(&DriftType::VersionChange))
    );
    // Characters JSON escapes, in a path.
    let mut odd = record(
        "ConfigMap:odd:settings",
        DriftStatus::Active,
        &[DriftType::ConfigurationChange],
        9_000,
    );
    odd.drifts[0].path = "data[\"we\\ird\"]\tKey".to_owned();
    save(store, std::slice::from_ref(&odd), &[]).await;
    for needle in ["\"WE\\IRD\"]\tkey", "e\\i", "\t", "we\\ird"] {
        assert_eq!(
            keys(&list(store, &text(needle)).await),
            keys(&[odd.clone()]),
            "{needle:?}"
        );
        assert_eq!(count(store, &text(needle)).await, 1, "{needle:?}");
    }
    let high = RecordFilter {
        severities: vec![Severity::High],
        ..RecordFilter::default()
    };
    assert!(
        list(store, &high)
            .await
            .iter()
            .all(|r| r.severity == Some(Severity::High))
    );
}

/// Every sort key in both directions, over every record and over a filter, listed whole
/// and in pages: the key's order with missing values last in both directions, ties by
/// resource id then cluster.
pub async fn list_sorts_by_every_key_both_ways(store: &Arc<dyn DriftStore>) {
    let records = two_clusters(43);
    save(store, &records, &[]).await;
    let filters = [
        RecordFilter::default(),
        RecordFilter {
            cluster: Some("east".to_owned()),
            ..RecordFilter::default()
        },
        RecordFilter {
            severities: vec![Severity::High, Severity::Medium],
            ..RecordFilter::default()
        },
    ];
    for key in SortKey::ALL {
        for descending in [false, true] {
            let sort = RecordSort { key, descending };
            for base in &filters {
                let sorted = RecordFilter {
                    sort,
                    ..base.clone()
                };
                let all = expected_list(&records, &sorted);
                assert_eq!(keys(&list(store, &sorted).await), keys(&all), "{sorted:?}");
                let mut paged = Vec::new();
                for offset in (0..all.len() + 7).step_by(7) {
                    let page = RecordFilter {
                        limit: Some(7),
                        offset,
                        ..sorted.clone()
                    };
                    let listed = list(store, &page).await;
                    assert_eq!(
                        keys(&listed),
                        keys(&expected_list(&records, &page)),
                        "{page:?}"
                    );
                    paged.extend(listed);
                }
                assert_eq!(paged, all, "pages of 7 over {sorted:?}");
            }
        }
    }

    // What the order means, on records built for it.
    let at = |minutes: i64| time(0) + Duration::minutes(minutes);
    let mut high = record(
        "Deployment:shop:b",
        DriftStatus::Active,
        &[DriftType::VersionChange],
        5,
    );
    high.first_detected = Some(at(3));
    let mut medium = record(
        "Deployment:shop:c",
        DriftStatus::Active,
        &[DriftType::Scaling],
        5,
    );
    medium.first_detected = Some(at(1));
    let mut medium_east = medium.clone();
    medium_east.cluster = "east".to_owned();
    let mut low = record(
        "Deployment:shop:d",
        DriftStatus::Active,
        &[DriftType::LabelChange],
        5,
    );
    low.first_detected = Some(at(3));
    let none = record("Deployment:shop:a", DriftStatus::None, &[], 5);
    save(store, &[none, low, medium_east, medium, high], &[]).await;
    let order = |sort: &str| {
        let filter = RecordFilter {
            namespace: Some("shop".to_owned()),
            text: Some("Deployment:shop:".to_owned()),
            sort: sort.parse().expect("a sort order"),
            ..RecordFilter::default()
        };
        async move {
            list(store, &filter)
                .await
                .iter()
                .filter(|r| r.name.len() == 1)
                .map(|r| format!("{}@{}", r.name, r.cluster))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        order("-severity").await,
        ["b@default", "c@default", "c@east", "d@default", "a@default"]
    );
    assert_eq!(
        order("severity").await,
        ["d@default", "c@default", "c@east", "b@default", "a@default"]
    );
    assert_eq!(
        order("first_detected").await,
        ["c@default", "c@east", "b@default", "d@default", "a@default"]
    );
    assert_eq!(
        order("-first_detected").await,
        ["b@default", "d@default", "c@default", "c@east", "a@default"]
    );
    assert_eq!(
        order("-resource_id").await,
        ["d@default", "c@default", "c@east", "b@default", "a@default"]
    );
}

/// `count` answers how many records pass the filter whatever its paging and order, for
/// the filters of the default page, `/active` and `/resolved` (per cluster too), of
/// severity lists (per cluster too, and matching nothing) and for others, and follows
/// later saves.
pub async fn count_ignores_paging_and_follows_saves(store: &Arc<dyn DriftStore>) {
    assert_eq!(count(store, &RecordFilter::default()).await, 0);
    let mut records = two_clusters(47);
    save(store, &records, &[]).await;
    let filters = [
        RecordFilter::default(),
        RecordFilter {
            drift_status: Some(DriftStatus::Active),
            ..RecordFilter::default()
        },
        RecordFilter {
            drift_status: Some(DriftStatus::Resolved),
            cluster: Some("east".to_owned()),
            ..RecordFilter::default()
        },
        RecordFilter {
            cluster: Some("default".to_owned()),
            ..RecordFilter::default()
        },
        RecordFilter {
            cluster: Some("nowhere".to_owned()),
            ..RecordFilter::default()
        },
        RecordFilter {
            drift_detected: Some(true),
            ..RecordFilter::default()
        },
        RecordFilter {
            application: Some(data::APPLICATIONS[1].to_owned()),
            drift_status: Some(DriftStatus::None),
            ..RecordFilter::default()
        },
        RecordFilter {
            drift_types: vec![DriftType::VersionChange],
            text: Some("shop".to_owned()),
            ..RecordFilter::default()
        },
        // The totals of severity lists, across clusters and in one, and of none.
        RecordFilter {
            severities: vec![Severity::High, Severity::Low],
            ..RecordFilter::default()
        },
        RecordFilter {
            severities: vec![Severity::Medium],
            cluster: Some("east".to_owned()),
            ..RecordFilter::default()
        },
        RecordFilter {
            severities: vec![Severity::High],
            cluster: Some("default".to_owned()),
            drift_status: Some(DriftStatus::Active),
            ..RecordFilter::default()
        },
        RecordFilter {
            severities: vec![Severity::High],
            cluster: Some("nowhere".to_owned()),
            ..RecordFilter::default()
        },
    ];
    for filter in &filters[filters.len() - 4..filters.len() - 1] {
        assert!(
            !expected_list(&records, filter).is_empty(),
            "the data must have records of {filter:?}"
        );
    }
    check_counts(store, &filters, &records).await;
    // Some records change status, some are new.
    let changed: Vec<DriftRecord> = records
        .iter()
        .step_by(3)
        .map(|r| {
            let status = match r.drift_status {
                DriftStatus::Active => DriftStatus::Resolved,
                _ => DriftStatus::Active,
            };
            let mut changed = record(
                &r.resource_id.to_string(),
                status,
                &[DriftType::VersionChange, DriftType::Scaling],
                7_000,
            );
            changed.cluster = r.cluster.clone();
            changed.application = r.application.clone();
            changed
        })
        .chain([record(
            "Deployment:shop:new",
            DriftStatus::Active,
            &[DriftType::Scaling],
            8_000,
        )])
        .collect();
    save(store, &changed, &[]).await;
    for change in changed {
        match records
            .iter_mut()
            .find(|r| r.resource_id == change.resource_id && r.cluster == change.cluster)
        {
            Some(stored) => *stored = change,
            None => records.push(change),
        }
    }
    check_counts(store, &filters, &records).await;
}

/// Each of `filters` counts what it matches in `records`, whatever the paging and order.
async fn check_counts(
    store: &Arc<dyn DriftStore>,
    filters: &[RecordFilter],
    records: &[DriftRecord],
) {
    for base in filters {
        let expected = expected_list(records, base).len() as u64;
        for (limit, offset, sort) in [
            (None, 0, RecordSort::default()),
            (Some(1), 0, "-severity".parse().expect("a sort")),
            (Some(3), 5, "detection_count".parse().expect("a sort")),
            (Some(1000), 1000, RecordSort::default()),
        ] {
            let filter = RecordFilter {
                limit,
                offset,
                sort,
                ..base.clone()
            };
            assert_eq!(count(store, &filter).await, expected, "{filter:?}");
        }
    }
}
