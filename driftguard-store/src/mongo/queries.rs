//! Query documents for listings.

use bson::oid::ObjectId;
use bson::{Bson, DateTime as BsonDateTime, Document, doc};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use driftguard_core::ports::{EventFilter, RecordFilter, RecordSort, SortKey};
use driftguard_core::{DEFAULT_APPLICATION, DEFAULT_CLUSTER, DriftStatus, Severity};

use crate::error::{Error, Result};
use crate::mongo::outbox::OUTBOX_TOKEN;

/// Listings follow `ResourceId`'s order: kind, then namespace (cluster-scoped, stored
/// as null, first), then name.
pub(crate) fn record_order() -> Document {
    doc! { "kind": 1, "namespace": 1, "name": 1, "resource_id": 1, "cluster": 1 }
}

/// Events oldest first, ties in insertion order (driver-made ObjectIds increase): a
/// total order, since `_id` is unique, in which paging positions are taken.
pub(crate) fn event_order() -> Document {
    doc! { "at": 1, "_id": 1 }
}

/// The field conditions of a record filter (paging aside).
pub(crate) fn record_query(filter: &RecordFilter) -> Document {
    let mut query = Document::new();
    if let Some(cluster) = &filter.cluster {
        query.insert("cluster", cluster_condition(cluster));
    }
    if let Some(namespace) = &filter.namespace {
        query.insert("namespace", namespace.as_str());
    }
    if let Some(application) = &filter.application {
        query.insert("application", application_condition(application));
    }
    if let Some(detected) = filter.drift_detected {
        query.insert("drift_detected", detected);
    }
    if let Some(status) = filter.drift_status {
        query.insert("drift_status", status.as_str());
    }
    if !filter.severities.is_empty() {
        let severities: Vec<&str> = filter.severities.iter().map(|s| s.as_str()).collect();
        query.insert("severity", doc! { "$in": severities });
    }
    if !filter.drift_types.is_empty() {
        let types: Vec<&str> = filter.drift_types.iter().map(|t| t.as_str()).collect();
        query.insert("drift_types", doc! { "$in": types });
    }
    if let Some(text) = &filter.text {
        let pattern = contains_pattern(text);
        query.insert(
            "$or",
            vec![
                Bson::from(doc! { "resource_id": { "$regex": &pattern } }),
                doc! { "drifts": { "$elemMatch": { "path": { "$regex": &pattern } } } }.into(),
            ],
        );
    }
    query
}

/// The field [`record_count`] answers in.
const COUNT_FIELD: &str = "n";

/// The pipeline counting the records of `filter` (paging aside): `$match`, then
/// `$count`.
///
/// The driver's `count_documents` sends `$match` and then `$group {_id: 1, n: {$sum: 1}}`,
/// which MongoDB runs the same way (the same indexes for the `$match`); nx-27017, the test
/// server, cannot run that `$group` in SQL and counts in Python over the whole
/// collection, whatever the filter, while it runs `$count` in SQL.
pub(crate) fn record_count(filter: &RecordFilter) -> Vec<Document> {
    vec![
        doc! { "$match": record_query(filter) },
        doc! { "$count": COUNT_FIELD },
    ]
}

/// The count in what [`record_count`] answers: one document, or none when no record
/// matches (`$count` of no input gives no document).
pub(crate) fn record_count_from(documents: &[Document]) -> Result<u64> {
    let malformed = |reason: String| Error::Malformed {
        what: "record count".to_owned(),
        reason,
    };
    let [document] = documents else {
        return match documents {
            [] => Ok(0),
            _ => Err(malformed(format!("{} documents, not one", documents.len()))),
        };
    };
    let count = match document.get(COUNT_FIELD) {
        Some(Bson::Int32(n)) => u64::try_from(*n).ok(),
        Some(Bson::Int64(n)) => u64::try_from(*n).ok(),
        Some(Bson::Double(n)) if *n >= 0.0 && n.fract() == 0.0 => Some(*n as u64),
        _ => None,
    };
    count.ok_or_else(|| malformed(format!("{document} holds no count")))
}

/// A regular expression matching text that holds `text`, ASCII letters in either case
/// and every other character as it is: what `driftguard_core::ports::text_matches`
/// means, also for letters beyond ASCII (which the `i` option would fold too).
///
/// Each ASCII letter becomes a class of its two cases (`[wW]`); every other ASCII
/// character but a digit is escaped with a backslash, which makes any of them literal
/// in PCRE (MongoDB) and in Python's `re` (nx-27017) alike.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() * 4);
    for c in text.chars() {
        if c.is_ascii_alphabetic() {
            pattern.push('[');
            pattern.push(c.to_ascii_lowercase());
            pattern.push(c.to_ascii_uppercase());
            pattern.push(']');
        } else if c.is_ascii() && !c.is_ascii_digit() {
            pattern.push('\\');
            pattern.push(c);
        } else {
            pattern.push(c);
        }
    }
    pattern
}

/// The name of the field a computed sort key is put in, left out of the answers.
pub(crate) const SORT_KEY_FIELD: &str = "_driftguard_sort_key";

/// How a listing is ordered on the server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RecordOrder {
    /// A plain sort on stored fields, for `find`.
    Fields(Document),
    /// A sort on a key computed into [`SORT_KEY_FIELD`] (`$addFields` of this expression)
    /// and then the fields: for an aggregation.
    Computed {
        /// The expression of the key.
        key: Document,
        /// The sort on the key and the fields.
        sort: Document,
    },
}

/// The order of `sort`: its key (a missing value last in both directions), then
/// `ResourceId` order and the cluster, ascending.
///
/// The server orders null first in an ascending sort and last in a descending one, and
/// severities by name; so an ascending sort on a time, and a sort by severity, sort on a
/// computed key first: whether the time is missing, or the severity's rank (missing
/// last).
pub(crate) fn record_sort(sort: RecordSort) -> RecordOrder {
    let direction = if sort.descending { -1 } else { 1 };
    let mut fields = Document::new();
    let time = match sort.key {
        SortKey::ResourceId if sort.descending => {
            return RecordOrder::Fields(doc! {
                "kind": -1, "namespace": -1, "name": -1, "resource_id": -1, "cluster": 1,
            });
        }
        SortKey::ResourceId => return RecordOrder::Fields(record_order()),
        SortKey::DetectionCount => {
            fields.insert("detection_count", direction);
            None
        }
        SortKey::Severity => None,
        SortKey::FirstDetected => Some("first_detected"),
        SortKey::LastDetected => Some("last_detected"),
        SortKey::ResolvedAt => Some("resolved_at"),
    };
    if let Some(time) = time {
        fields.insert(time, direction);
    }
    fields.extend(record_order());
    let computed = |key: Document| {
        let mut sort = doc! { SORT_KEY_FIELD: 1 };
        sort.extend(fields.clone());
        RecordOrder::Computed { key, sort }
    };
    match (sort.key, time) {
        (SortKey::Severity, _) => {
            let ranked = if sort.descending {
                [Severity::High, Severity::Medium, Severity::Low]
            } else {
                [Severity::Low, Severity::Medium, Severity::High]
            };
            let branches: Vec<Bson> = ranked
                .iter()
                .zip(1..)
                .map(|(severity, rank)| {
                    doc! { "case": { "$eq": ["$severity", severity.as_str()] }, "then": rank }
                        .into()
                })
                .collect();
            computed(doc! { "$switch": { "branches": branches, "default": 4 } })
        }
        (_, Some(time)) if !sort.descending => computed(doc! {
            "$cond": [{ "$eq": [{ "$ifNull": [format!("${time}"), Bson::Null] }, Bson::Null] }, 1, 0]
        }),
        _ => RecordOrder::Fields(fields),
    }
}

/// The condition on `application` selecting the records of `application`. Documents
/// stored before applications existed have no such field and belong to
/// [`DEFAULT_APPLICATION`], so that application also matches a missing (null) field.
pub(crate) fn application_condition(application: &str) -> Bson {
    if application == DEFAULT_APPLICATION {
        doc! { "$in": [DEFAULT_APPLICATION, Bson::Null] }.into()
    } else {
        application.into()
    }
}

/// The condition on `cluster` selecting the documents of `cluster`. Documents stored
/// before clusters existed (and not yet migrated) have no such field and belong to
/// [`DEFAULT_CLUSTER`], so that cluster also matches a missing (null) field.
pub(crate) fn cluster_condition(cluster: &str) -> Bson {
    if cluster == DEFAULT_CLUSTER {
        doc! { "$in": [DEFAULT_CLUSTER, Bson::Null] }.into()
    } else {
        cluster.into()
    }
}

/// An aggregation expression for a document's cluster: its `cluster` field, or
/// [`DEFAULT_CLUSTER`] for a document stored before clusters existed.
pub(crate) fn cluster_or_default() -> Bson {
    doc! { "$ifNull": ["$cluster", DEFAULT_CLUSTER] }.into()
}

/// An aggregation expression for a document's application: its `application` field, or
/// [`DEFAULT_APPLICATION`] for a document stored before applications existed.
pub(crate) fn application_or_default() -> Bson {
    doc! { "$ifNull": ["$application", DEFAULT_APPLICATION] }.into()
}

/// The conditions of an event filter (limit aside).
///
/// A time range is written twice: as a plain range on `at`, widened to whole seconds,
/// which the `(resource_id, at)` and `(at)` indexes serve; and as an `$expr` with the
/// exact bounds. Some servers of the wire-protocol family compare dates in plain ranges
/// at whole seconds only; the pair gives the exact answer everywhere, through the index.
/// A position `(t, k)` to start after is a lower bound on `at` the same way, and the
/// exact condition `at > t or (at = t and _id > k)` as an `$or` that compares dates in
/// `$expr` and `_id` as a plain field (those servers cannot read `_id` in `$expr`).
///
/// Fails when the position's key is not an ObjectId's 12 bytes.
pub(crate) fn event_query(filter: &EventFilter) -> Result<Document> {
    let mut query = Document::new();
    if let Some(cluster) = &filter.cluster {
        query.insert("cluster", cluster_condition(cluster));
    }
    if let Some(id) = &filter.resource_id {
        query.insert("resource_id", id.to_string());
    }
    let mut range = Document::new();
    let mut exact: Vec<Bson> = Vec::new();
    let lowest = filter
        .since
        .into_iter()
        .chain(filter.after.as_ref().map(|after| after.at))
        .max();
    if let Some(lowest) = lowest {
        range.insert(
            "$gte",
            BsonDateTime::from_chrono(whole_second_floor(lowest)),
        );
    }
    if let Some(since) = filter.since {
        exact.push(doc! { "$gte": ["$at", BsonDateTime::from_chrono(since)] }.into());
    }
    if let Some(until) = filter.until {
        range.insert(
            "$lt",
            BsonDateTime::from_chrono(whole_second_ceiling(until)),
        );
        exact.push(doc! { "$lt": ["$at", BsonDateTime::from_chrono(until)] }.into());
    }
    if let Some(after) = &filter.after {
        let at = BsonDateTime::from_chrono(after.at);
        let id = object_id_key(&after.key)?;
        query.insert(
            "$or",
            vec![
                Bson::from(doc! { "$expr": { "$gt": ["$at", at] } }),
                doc! { "$expr": { "$eq": ["$at", at] }, "_id": { "$gt": id } }.into(),
            ],
        );
    }
    if !range.is_empty() {
        query.insert("at", range);
    }
    if !exact.is_empty() {
        query.insert("$expr", doc! { "$and": exact });
    }
    Ok(query)
}

/// The resolved records whose `resolved_at` is before `before` and that hold no
/// pending outbox (their events must be delivered first).
///
/// As in [`event_query`], the plain range (widened to whole seconds, served by the
/// `(drift_status, resolved_at)` index) is paired with the exact bound in `$expr`.
pub(crate) fn prunable_records(before: DateTime<Utc>) -> Document {
    doc! {
        "drift_status": DriftStatus::Resolved.as_str(),
        "resolved_at": { "$lt": BsonDateTime::from_chrono(whole_second_ceiling(before)) },
        "$expr": { "$lt": ["$resolved_at", BsonDateTime::from_chrono(before)] },
        OUTBOX_TOKEN: { "$exists": false },
    }
}

/// The ObjectId an event position's key holds.
fn object_id_key(key: &[u8]) -> Result<ObjectId> {
    <[u8; 12]>::try_from(key)
        .map(ObjectId::from_bytes)
        .map_err(|_| Error::InvalidPosition {
            reason: format!(
                "a MongoDB store's event key is a 12-byte ObjectId, this one has {} bytes",
                key.len()
            ),
        })
}

fn whole_second_floor(time: DateTime<Utc>) -> DateTime<Utc> {
    time.duration_trunc(TimeDelta::seconds(1)).unwrap_or(time)
}

fn whole_second_ceiling(time: DateTime<Utc>) -> DateTime<Utc> {
    let floor = whole_second_floor(time);
    if floor == time {
        time
    } else {
        floor
            .checked_add_signed(TimeDelta::seconds(1))
            .unwrap_or(time)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// A count is `$match` on the listing's query, then `$count`; no document (nothing
    /// matched) is 0, and the count reads back whatever integer type the server uses.
    #[test]
    fn counts_records_with_match_and_count() {
        let filter = RecordFilter {
            severities: vec![Severity::Medium],
            limit: Some(10),
            offset: 20,
            ..RecordFilter::default()
        };
        assert_eq!(
            record_count(&filter),
            vec![
                doc! { "$match": { "severity": { "$in": ["Medium"] } } },
                doc! { "$count": "n" },
            ]
        );
        assert_eq!(record_count_from(&[]).expect("no document"), 0);
        for n in [Bson::Int32(7), Bson::Int64(7), Bson::Double(7.0)] {
            assert_eq!(record_count_from(&[doc! { "n": n }]).expect("a count"), 7);
        }
        for wrong in [
            vec![doc! { "n": -1 }],
            vec![doc! { "n": 1.5 }],
            vec![doc! { "count": 7 }],
            vec![doc! { "n": 7 }, doc! { "n": 7 }],
        ] {
            assert!(record_count_from(&wrong).is_err(), "{wrong:?}");
        }
    }

    #[test]
    fn widens_plain_ranges_to_whole_seconds_and_keeps_exact_bounds() {
        let at = |ms: i64| {
            Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
                .single()
                .expect("time")
                + TimeDelta::milliseconds(ms)
        };
        let query = event_query(&EventFilter {
            since: Some(at(1_250)),
            until: Some(at(3_000)),
            ..EventFilter::default()
        })
        .expect("no position to check");
        let range = query.get_document("at").expect("plain range");
        assert_eq!(
            range.get_datetime("$gte").expect("since").to_chrono(),
            at(1_000)
        );
        assert_eq!(
            range.get_datetime("$lt").expect("until").to_chrono(),
            at(3_000)
        );
        let exact = query
            .get_document("$expr")
            .and_then(|e| e.get_array("$and"))
            .expect("exact bounds");
        let bound = |i: usize, op: &str| {
            exact[i]
                .as_document()
                .and_then(|c| c.get_array(op).ok())
                .and_then(|pair| pair[1].as_datetime())
                .map(|d| d.to_chrono())
        };
        assert_eq!(bound(0, "$gte"), Some(at(1_250)));
        assert_eq!(bound(1, "$lt"), Some(at(3_000)));
        assert!(
            event_query(&EventFilter::default())
                .expect("no position to check")
                .is_empty()
        );
    }

    #[test]
    fn a_position_raises_the_plain_lower_bound_and_orders_ties_by_id() {
        let at = |ms: i64| {
            Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
                .single()
                .expect("time")
                + TimeDelta::milliseconds(ms)
        };
        let id = ObjectId::new();
        let query = event_query(&EventFilter {
            since: Some(at(1_250)),
            after: Some(driftguard_core::ports::EventPosition {
                at: at(2_500),
                key: id.bytes().to_vec(),
            }),
            ..EventFilter::default()
        })
        .expect("an ObjectId key");
        let range = query.get_document("at").expect("plain range");
        assert_eq!(
            range.get_datetime("$gte").expect("lower bound").to_chrono(),
            at(2_000)
        );
        let ties = query.get_array("$or").expect("the position's condition")[1]
            .as_document()
            .expect("the tie condition");
        assert_eq!(ties.get_document("_id").ok(), Some(&doc! { "$gt": id }));
    }

    #[test]
    fn a_key_that_is_no_object_id_is_refused() {
        let error = event_query(&EventFilter {
            after: Some(driftguard_core::ports::EventPosition {
                at: Utc::now(),
                key: vec![0; 8],
            }),
            ..EventFilter::default()
        })
        .expect_err("eight bytes are no ObjectId");
        assert_eq!(error.kind(), driftguard_core::PortErrorKind::InvalidRequest);
    }

    #[test]
    fn text_becomes_a_pattern_of_literal_characters_with_ascii_letters_in_either_case() {
        assert_eq!(contains_pattern("Web-1"), "[wW][eE][bB]\\-1");
        assert_eq!(
            contains_pattern("[a=b].*^$"),
            "\\[[aA]\\=[bB]\\]\\.\\*\\^\\$"
        );
        assert_eq!(contains_pattern("Äé\\"), "Äé\\\\");
    }

    #[test]
    fn listings_sort_on_fields_where_the_server_orders_as_the_port_does() {
        let sort = |text: &str| record_sort(text.parse().expect("a sort order"));
        assert_eq!(sort("resource_id"), RecordOrder::Fields(record_order()));
        let mut by_count = doc! { "detection_count": -1 };
        by_count.extend(record_order());
        assert_eq!(sort("-detection_count"), RecordOrder::Fields(by_count));
        let mut latest = doc! { "last_detected": -1 };
        latest.extend(record_order());
        assert_eq!(sort("-last_detected"), RecordOrder::Fields(latest));
        for computed in ["severity", "-severity", "first_detected", "resolved_at"] {
            let RecordOrder::Computed { sort, .. } = sort(computed) else {
                panic!("{computed} sorts on a computed key");
            };
            assert_eq!(sort.keys().next().map(String::as_str), Some(SORT_KEY_FIELD));
        }
    }

    #[test]
    fn the_default_application_also_matches_documents_without_the_field() {
        let query = |application: &str| {
            record_query(&RecordFilter {
                application: Some(application.to_owned()),
                ..RecordFilter::default()
            })
        };
        assert_eq!(
            query(DEFAULT_APPLICATION),
            doc! { "application": { "$in": [DEFAULT_APPLICATION, Bson::Null] } }
        );
        assert_eq!(query("shop"), doc! { "application": "shop" });
        assert!(record_query(&RecordFilter::default()).is_empty());
    }
}
