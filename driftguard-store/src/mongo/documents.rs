//! Records and events as MongoDB documents.
//!
//! A record document has the record shape of DESIGN.md §3 (snake_case fields, `null`
//! where a value is absent) with times as BSON dates, and its `resource_id` as `_id`
//! too: upserts and lookups then go through the primary index, which every server keeps
//! fastest. An event document has the event's fields and a driver-made ObjectId, and
//! its `key` only when it has one (uniquely indexed where present). BSON
//! dates hold milliseconds, so times are stored truncated to the millisecond.
//!
//! Documents written before applications existed have no `application` field; they read
//! back as [`DEFAULT_APPLICATION`], and queries treat the missing field as that name
//! ([`crate::mongo::queries::application_condition`]). Likewise documents written before
//! clusters existed have no `cluster` field and belong to [`DEFAULT_CLUSTER`]
//! ([`crate::mongo::migrations`] sets the field on them).
//!
//! A record's `_id` is its key ([`record_key`]): the bare resource id in cluster
//! [`DEFAULT_CLUSTER`], so documents stored before clusters existed already sit at their
//! key, and `CLUSTER/resource_id` in any other cluster (a resource id never holds a `/`,
//! a cluster name neither). The unique index on `(cluster, resource_id)` states the key.

use bson::{DateTime as BsonDateTime, Document};
use chrono::{DateTime, Utc};
use driftguard_core::{
    DEFAULT_APPLICATION, DEFAULT_CLUSTER, DriftDetail, DriftEvent, DriftRecord, DriftStatus,
    DriftType, EventKind, ResourceId, Severity,
};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::identity::check_identity;

/// A drift record as stored in `drift_records`.
#[derive(Serialize, Deserialize)]
struct RecordDocument {
    resource_id: ResourceId,
    api_version: String,
    kind: String,
    namespace: Option<String>,
    name: String,
    #[serde(default = "default_cluster")]
    cluster: String,
    #[serde(default = "default_application")]
    application: String,
    drift_detected: bool,
    drift_status: DriftStatus,
    severity: Option<Severity>,
    drift_types: Vec<DriftType>,
    drifts: Vec<DriftDetail>,
    desired_hash: String,
    live_hash: Option<String>,
    last_known_good_hash: Option<String>,
    git_revision: Option<String>,
    first_detected: Option<BsonDateTime>,
    last_detected: Option<BsonDateTime>,
    resolved_at: Option<BsonDateTime>,
    last_checked: BsonDateTime,
    resolution_message: Option<String>,
    detection_count: i64,
}

/// A lifecycle event as stored in `drift_events`.
#[derive(Serialize, Deserialize)]
struct EventDocument {
    resource_id: ResourceId,
    #[serde(default = "default_cluster")]
    cluster: String,
    #[serde(default = "default_application")]
    application: String,
    kind: EventKind,
    at: BsonDateTime,
    drift_types: Vec<DriftType>,
    severity: Option<Severity>,
    git_revision: Option<String>,
    message: String,
    /// The transition's identity (`DriftEvent::key`); left out when empty (events stored
    /// before keys existed have none), so the unique index on it passes over them.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    key: String,
}

/// The cluster of a document stored before clusters existed.
fn default_cluster() -> String {
    DEFAULT_CLUSTER.to_owned()
}

/// The `_id` of the record of `id` in `cluster`: the bare id in [`DEFAULT_CLUSTER`],
/// `cluster/id` elsewhere.
pub(crate) fn record_key(cluster: &str, id: &ResourceId) -> String {
    if cluster == DEFAULT_CLUSTER {
        id.to_string()
    } else {
        format!("{cluster}/{id}")
    }
}

/// The application of a document stored before applications existed.
fn default_application() -> String {
    DEFAULT_APPLICATION.to_owned()
}

fn date(time: DateTime<Utc>) -> BsonDateTime {
    BsonDateTime::from_chrono(time)
}

fn optional_date(time: Option<DateTime<Utc>>) -> Option<BsonDateTime> {
    time.map(date)
}

/// The document of one record.
pub(crate) fn record_document(record: &DriftRecord) -> Result<Document> {
    check_identity(record)?;
    let what = || format!("record {}", record.resource_id);
    let document = RecordDocument {
        resource_id: record.resource_id.clone(),
        api_version: record.api_version.clone(),
        kind: record.kind.clone(),
        namespace: record.namespace.clone(),
        name: record.name.clone(),
        cluster: record.cluster.clone(),
        application: record.application.clone(),
        drift_detected: record.drift_detected,
        drift_status: record.drift_status,
        severity: record.severity,
        drift_types: record.drift_types.clone(),
        drifts: record.drifts.clone(),
        desired_hash: record.desired_hash.clone(),
        live_hash: record.live_hash.clone(),
        last_known_good_hash: record.last_known_good_hash.clone(),
        git_revision: record.git_revision.clone(),
        first_detected: optional_date(record.first_detected),
        last_detected: optional_date(record.last_detected),
        resolved_at: optional_date(record.resolved_at),
        last_checked: date(record.last_checked),
        resolution_message: record.resolution_message.clone(),
        detection_count: i64::try_from(record.detection_count).map_err(|_| Error::Unstorable {
            what: what(),
            reason: format!("detection_count {} is too large", record.detection_count),
        })?,
    };
    let fields = bson::serialize_to_document(&document).map_err(|e| Error::Unstorable {
        what: what(),
        reason: e.to_string(),
    })?;
    let mut stored = bson::doc! { "_id": record_key(&record.cluster, &record.resource_id) };
    stored.extend(fields);
    Ok(stored)
}

/// A record from its document.
pub(crate) fn record_from_document(document: Document) -> Result<DriftRecord> {
    let what = described("record", &document);
    let what = || what.clone();
    let stored: RecordDocument =
        bson::deserialize_from_document(document).map_err(|e| Error::Malformed {
            what: what(),
            reason: e.to_string(),
        })?;
    Ok(DriftRecord {
        detection_count: u64::try_from(stored.detection_count).map_err(|_| Error::Malformed {
            what: what(),
            reason: format!("detection_count {} is negative", stored.detection_count),
        })?,
        resource_id: stored.resource_id,
        api_version: stored.api_version,
        kind: stored.kind,
        namespace: stored.namespace,
        name: stored.name,
        cluster: stored.cluster,
        application: stored.application,
        drift_detected: stored.drift_detected,
        drift_status: stored.drift_status,
        severity: stored.severity,
        drift_types: stored.drift_types,
        drifts: stored.drifts,
        desired_hash: stored.desired_hash,
        live_hash: stored.live_hash,
        last_known_good_hash: stored.last_known_good_hash,
        git_revision: stored.git_revision,
        first_detected: stored.first_detected.map(BsonDateTime::to_chrono),
        last_detected: stored.last_detected.map(BsonDateTime::to_chrono),
        resolved_at: stored.resolved_at.map(BsonDateTime::to_chrono),
        last_checked: stored.last_checked.to_chrono(),
        resolution_message: stored.resolution_message,
    })
}

/// The document of one event.
pub(crate) fn event_document(event: &DriftEvent) -> Result<Document> {
    let document = EventDocument {
        resource_id: event.resource_id.clone(),
        cluster: event.cluster.clone(),
        application: event.application.clone(),
        kind: event.kind,
        at: date(event.at),
        drift_types: event.drift_types.clone(),
        severity: event.severity,
        git_revision: event.git_revision.clone(),
        message: event.message.clone(),
        key: event.key.clone(),
    };
    bson::serialize_to_document(&document).map_err(|e| Error::Unstorable {
        what: format!("event of {} at {}", event.resource_id, event.at),
        reason: e.to_string(),
    })
}

/// An event from its document.
pub(crate) fn event_from_document(document: Document) -> Result<DriftEvent> {
    let what = described("event of", &document);
    let stored: EventDocument =
        bson::deserialize_from_document(document).map_err(|e| Error::Malformed {
            what,
            reason: e.to_string(),
        })?;
    Ok(DriftEvent {
        resource_id: stored.resource_id,
        cluster: stored.cluster,
        application: stored.application,
        kind: stored.kind,
        at: stored.at.to_chrono(),
        drift_types: stored.drift_types,
        severity: stored.severity,
        git_revision: stored.git_revision,
        message: stored.message,
        key: stored.key,
    })
}

/// An event from its document, with its key in the order of events: the bytes of its
/// `_id`, an ObjectId (see [`crate::mongo::queries::event_order`]).
pub(crate) fn keyed_event_from_document(document: Document) -> Result<(DriftEvent, Vec<u8>)> {
    let id = document
        .get_object_id("_id")
        .map_err(|_| Error::Malformed {
            what: described("event of", &document),
            reason: "its `_id` is not an ObjectId".to_owned(),
        })?;
    Ok((event_from_document(document)?, id.bytes().to_vec()))
}

/// `record Deployment:shop:web`, for messages about a stored document.
fn described(prefix: &str, document: &Document) -> String {
    format!(
        "{prefix} {}",
        document
            .get_str("resource_id")
            .unwrap_or("<without resource_id>")
    )
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::*;

    /// A record document as stored before applications existed.
    fn record_document_without_application() -> Document {
        doc! {
            "_id": "Deployment:shop:web",
            "resource_id": "Deployment:shop:web",
            "api_version": "apps/v1",
            "kind": "Deployment",
            "namespace": "shop",
            "name": "web",
            "drift_detected": true,
            "drift_status": "active",
            "severity": "Medium",
            "drift_types": ["Scaling"],
            "drifts": [{
                "path": "spec.replicas", "drift_type": "Scaling", "severity": "Medium",
                "desired": 3, "live": 5, "manager": "kubectl-scale",
            }],
            "desired_hash": "d",
            "live_hash": "l",
            "last_known_good_hash": null,
            "git_revision": "c0ffee",
            "first_detected": BsonDateTime::from_millis(1_000),
            "last_detected": BsonDateTime::from_millis(2_000),
            "resolved_at": null,
            "last_checked": BsonDateTime::from_millis(2_000),
            "resolution_message": null,
            "detection_count": 2_i64,
        }
    }

    #[test]
    fn documents_stored_before_applications_belong_to_the_default_application() {
        let record = record_from_document(record_document_without_application())
            .expect("an older record document reads back");
        assert_eq!(record.application, DEFAULT_APPLICATION);
        assert_eq!(record.drift_types, vec![DriftType::Scaling]);
        assert_eq!(record.detection_count, 2);

        let event = event_from_document(doc! {
            "resource_id": "Deployment:shop:web",
            "kind": "drift_detected",
            "at": BsonDateTime::from_millis(1_000),
            "drift_types": ["Scaling"],
            "severity": "Medium",
            "git_revision": "c0ffee",
            "message": "drift detected",
        })
        .expect("an older event document reads back");
        assert_eq!(event.application, DEFAULT_APPLICATION);
        assert_eq!(event.kind, EventKind::DriftDetected);
    }

    #[test]
    fn records_and_events_keep_their_application() {
        let mut record =
            record_from_document(record_document_without_application()).expect("record document");
        record.application = "payments".to_owned();
        let document = record_document(&record).expect("storable");
        assert_eq!(document.get_str("application").ok(), Some("payments"));
        assert_eq!(record_from_document(document).expect("reads back"), record);

        let event = DriftEvent {
            resource_id: record.resource_id.clone(),
            cluster: DEFAULT_CLUSTER.to_owned(),
            application: "payments".to_owned(),
            kind: EventKind::DriftResolved,
            at: BsonDateTime::from_millis(3_000).to_chrono(),
            drift_types: vec![DriftType::Scaling],
            severity: Some(Severity::Medium),
            git_revision: None,
            message: "resolved".to_owned(),
            key: String::new(),
        };
        let document = event_document(&event).expect("storable");
        assert_eq!(document.get_str("application").ok(), Some("payments"));
        assert!(!document.contains_key("key"), "no key field without a key");
        assert_eq!(event_from_document(document).expect("reads back"), event);

        let keyed = DriftEvent {
            key: "0123abcd".to_owned(),
            ..event
        };
        let document = event_document(&keyed).expect("storable");
        assert_eq!(document.get_str("key").ok(), Some("0123abcd"));
        assert_eq!(event_from_document(document).expect("reads back"), keyed);
    }
}
