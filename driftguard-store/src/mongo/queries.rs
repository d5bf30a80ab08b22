//! Query documents for listings.

use bson::{Bson, DateTime as BsonDateTime, Document, doc};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use driftguard_core::DEFAULT_APPLICATION;
use driftguard_core::ports::{EventFilter, RecordFilter};

/// Listings follow `ResourceId`'s order: kind, then namespace (cluster-scoped, stored
/// as null, first), then name.
pub(crate) fn record_order() -> Document {
    doc! { "kind": 1, "namespace": 1, "name": 1, "resource_id": 1 }
}

/// Events oldest first, ties in insertion order (driver-made ObjectIds increase).
pub(crate) fn event_order() -> Document {
    doc! { "at": 1, "_id": 1 }
}

/// The field conditions of a record filter (paging aside).
pub(crate) fn record_query(filter: &RecordFilter) -> Document {
    let mut query = Document::new();
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
    query
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
pub(crate) fn event_query(filter: &EventFilter) -> Document {
    let mut query = Document::new();
    if let Some(id) = &filter.resource_id {
        query.insert("resource_id", id.to_string());
    }
    let mut range = Document::new();
    let mut exact: Vec<Bson> = Vec::new();
    if let Some(since) = filter.since {
        range.insert("$gte", BsonDateTime::from_chrono(whole_second_floor(since)));
        exact.push(doc! { "$gte": ["$at", BsonDateTime::from_chrono(since)] }.into());
    }
    if let Some(until) = filter.until {
        range.insert(
            "$lt",
            BsonDateTime::from_chrono(whole_second_ceiling(until)),
        );
        exact.push(doc! { "$lt": ["$at", BsonDateTime::from_chrono(until)] }.into());
    }
    if !range.is_empty() {
        query.insert("at", range);
        query.insert("$expr", doc! { "$and": exact });
    }
    query
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
        });
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
        assert!(event_query(&EventFilter::default()).is_empty());
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
