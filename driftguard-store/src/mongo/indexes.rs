//! The collections' indexes, created at start-up. Creating an index that exists with the
//! same keys, name and options is a no-op, so this runs on every start.

use bson::doc;
use mongodb::IndexModel;
use mongodb::options::IndexOptions;

use crate::mongo::outbox::OUTBOX_TOKEN;

fn index(name: &str, keys: bson::Document, unique: bool) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(
            IndexOptions::builder()
                .name(name.to_owned())
                .unique(unique.then_some(true))
                .build(),
        )
        .build()
}

/// An index of the documents that have the field only.
fn sparse(name: &str, keys: bson::Document) -> IndexModel {
    IndexModel::builder()
        .keys(keys)
        .options(
            IndexOptions::builder()
                .name(name.to_owned())
                .sparse(true)
                .build(),
        )
        .build()
}

/// `drift_records`: one document per resource and cluster, listed in `ResourceId` order
/// (kind, namespace, name), filtered by cluster, namespace, application, drift and
/// status, looked up by resource id across clusters.
/// Documents stored before applications existed are indexed under a null
/// `application`, which the filter for the default application includes. Pruning reads
/// resolved records by `resolved_at`; deliveries find pending outboxes by their token,
/// which only documents holding one have.
pub(crate) fn record_indexes() -> Vec<IndexModel> {
    vec![
        index(
            "cluster_resource_id_unique",
            doc! { "cluster": 1, "resource_id": 1 },
            true,
        ),
        index("by_resource_id", doc! { "resource_id": 1 }, false),
        index(
            "by_cluster",
            doc! { "cluster": 1, "kind": 1, "namespace": 1, "name": 1 },
            false,
        ),
        index(
            "by_id_parts",
            doc! { "kind": 1, "namespace": 1, "name": 1 },
            false,
        ),
        index(
            "by_namespace",
            doc! { "namespace": 1, "kind": 1, "name": 1 },
            false,
        ),
        index(
            "by_application",
            doc! { "application": 1, "kind": 1, "namespace": 1, "name": 1 },
            false,
        ),
        index(
            "by_status",
            doc! { "drift_status": 1, "kind": 1, "namespace": 1, "name": 1 },
            false,
        ),
        index(
            "by_drift_detected",
            doc! { "drift_detected": 1, "kind": 1, "namespace": 1, "name": 1 },
            false,
        ),
        index(
            "by_resolution",
            doc! { "drift_status": 1, "resolved_at": 1 },
            false,
        ),
        sparse("pending_outbox", doc! { OUTBOX_TOKEN: 1 }),
    ]
}

/// `drift_events`: history of one resource, a time range, and counts by kind.
///
/// Pages of events are in `(at, _id)` order; the indexes give the order by `at`, and the
/// server orders the few events sharing a time by `_id`. (Ending the first two in `_id`
/// would serve that too, but some servers of the wire-protocol family keep `_id` apart
/// from the document and cannot index it with other fields.)
pub(crate) fn event_indexes() -> Vec<IndexModel> {
    vec![
        index(
            "by_resource_and_time",
            doc! { "resource_id": 1, "at": 1 },
            false,
        ),
        index("by_cluster_and_time", doc! { "cluster": 1, "at": 1 }, false),
        index("by_time", doc! { "at": 1 }, false),
        index("by_kind", doc! { "kind": 1, "resource_id": 1 }, false),
    ]
}
