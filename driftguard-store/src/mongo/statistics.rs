//! Statistics and counts per application as aggregation pipelines, with the meaning
//! `driftguard_core::stats::compute` and `StatusCounts` give them. Only counts and sums
//! travel back, never the records.
//!
//! The stages are the portable core of MongoDB 5+ (`$facet`, `$group`, `$unwind`,
//! `$setWindowFields`, `$dateDiff`); group keys are plain field paths, strings or
//! `$ifNull` over a field, which every server in the wire-protocol family evaluates
//! alike (compound group keys are not: counts of several statuses are conditional sums
//! instead).

use std::collections::BTreeMap;

use bson::{Bson, Document, doc};
use driftguard_core::stats::{DriftCount, MOST_DRIFTED_LIMIT, StatusCounts, zero_status_counts};
use driftguard_core::{DriftStatus, DriftType};

use crate::error::{Error, Result};
use crate::mongo::queries::{application_or_default, cluster_condition, cluster_or_default};

/// The stages that keep the documents of `cluster` only (none for every cluster), put in
/// front of a pipeline.
fn scoped(cluster: Option<&str>, pipeline: Vec<Document>) -> Vec<Document> {
    cluster
        .map(|cluster| doc! { "$match": { "cluster": cluster_condition(cluster) } })
        .into_iter()
        .chain(pipeline)
        .collect()
}

/// Record counts by status, severity, type, namespace, application and cluster, in one
/// pass over the records of `cluster` (every cluster when `None`).
pub(crate) fn record_breakdowns(cluster: Option<&str>) -> Vec<Document> {
    let count = doc! { "$sum": 1 };
    scoped(
        cluster,
        vec![doc! {
            "$facet": {
                "by_status": [
                    { "$group": { "_id": "$drift_status", "count": count.clone() } },
                ],
                "by_severity": [
                    { "$match": { "drift_detected": true, "severity": { "$ne": Bson::Null } } },
                    { "$group": { "_id": "$severity", "count": count.clone() } },
                ],
                "by_type": [
                    { "$match": { "drift_detected": true } },
                    { "$unwind": "$drift_types" },
                    { "$group": { "_id": "$drift_types", "count": count.clone() } },
                ],
                "by_namespace": [
                    { "$match": { "drift_detected": true } },
                    { "$group": {
                        "_id": { "$ifNull": ["$namespace", ""] },
                        "count": count.clone(),
                    } },
                ],
                "by_application": [
                    { "$match": { "drift_detected": true } },
                    { "$group": { "_id": application_or_default(), "count": count.clone() } },
                ],
                "by_cluster": [
                    { "$match": { "drift_detected": true } },
                    { "$group": { "_id": cluster_or_default(), "count": count } },
                ],
            }
        }],
    )
}

/// The breakdowns read from the one document [`record_breakdowns`] produces.
pub(crate) struct RecordBreakdowns {
    /// Records by status, every status present.
    pub(crate) by_status: BTreeMap<String, u64>,
    /// Drifted records by severity.
    pub(crate) by_severity: BTreeMap<String, u64>,
    /// Drifted records by type.
    pub(crate) by_type: BTreeMap<String, u64>,
    /// Drifted records by namespace.
    pub(crate) by_namespace: BTreeMap<String, u64>,
    /// Drifted records by application.
    pub(crate) by_application: BTreeMap<String, u64>,
    /// Drifted records by cluster.
    pub(crate) by_cluster: BTreeMap<String, u64>,
}

impl RecordBreakdowns {
    /// Reads the facets; an empty collection gives zero counts.
    pub(crate) fn from_document(document: Option<&Document>) -> Result<Self> {
        let facet = |name: &str| -> Result<BTreeMap<String, u64>> {
            let Some(document) = document else {
                return Ok(BTreeMap::new());
            };
            let groups = document.get_array(name).map_err(|e| malformed(name, e))?;
            let mut counts = BTreeMap::new();
            for group in groups {
                let group = group
                    .as_document()
                    .ok_or_else(|| malformed(name, "a group is not a document"))?;
                let key = match group.get("_id") {
                    Some(Bson::String(key)) => key.clone(),
                    other => {
                        return Err(malformed(name, format!("group key {other:?} is not text")));
                    }
                };
                counts.insert(
                    key,
                    count(group.get("count")).map_err(|e| malformed(name, e))?,
                );
            }
            Ok(counts)
        };
        let mut by_status = zero_status_counts();
        by_status.extend(facet("by_status")?);
        Ok(Self {
            by_status,
            by_severity: facet("by_severity")?,
            by_type: facet("by_type")?,
            by_namespace: facet("by_namespace")?,
            by_application: facet("by_application")?,
            by_cluster: facet("by_cluster")?,
        })
    }
}

/// Records per `(cluster, application)`: one group per pair with a count per status,
/// and the active records whose drift types hold `Missing`. Groups are keyed
/// `cluster<TAB>application`: a text key, which every server groups alike (a cluster
/// name holds no tab).
pub(crate) fn application_counts() -> Vec<Document> {
    status_counts(doc! { "$concat": [cluster_or_default(), "\t", application_or_default()] }.into())
}

/// Records per cluster, as [`application_counts`] counts them per application.
pub(crate) fn cluster_counts() -> Vec<Document> {
    status_counts(cluster_or_default())
}

/// Records per group key `key`: a count per status, and the active Missing ones.
fn status_counts(key: Bson) -> Vec<Document> {
    let status_is = |status: DriftStatus| doc! { "$eq": ["$drift_status", status.as_str()] };
    let count_if = |condition: Document| doc! { "$sum": { "$cond": [condition, 1, 0] } };
    let missing = DriftType::Missing.as_str();
    vec![doc! { "$group": {
        "_id": key,
        "none": count_if(status_is(DriftStatus::None)),
        "active": count_if(status_is(DriftStatus::Active)),
        "resolved": count_if(status_is(DriftStatus::Resolved)),
        "missing": count_if(doc! { "$and": [
            status_is(DriftStatus::Active),
            { "$in": [missing, "$drift_types"] },
        ] }),
    } }]
}

/// Reads the groups of [`cluster_counts`].
pub(crate) fn status_counts_from(groups: &[Document]) -> Result<BTreeMap<String, StatusCounts>> {
    groups
        .iter()
        .map(|group| {
            let key = group
                .get_str("_id")
                .map_err(|e| malformed("cluster_counts", e))?;
            Ok((key.to_owned(), counts_of(group, "cluster_counts")?))
        })
        .collect()
}

/// Reads the groups of [`application_counts`].
pub(crate) fn application_counts_from(
    groups: &[Document],
) -> Result<BTreeMap<(String, String), StatusCounts>> {
    let stage = "application_counts";
    groups
        .iter()
        .map(|group| {
            let key = group.get_str("_id").map_err(|e| malformed(stage, e))?;
            let (cluster, application) = key
                .split_once('\t')
                .ok_or_else(|| malformed(stage, format!("`{key}` names no cluster")))?;
            Ok((
                (cluster.to_owned(), application.to_owned()),
                counts_of(group, stage)?,
            ))
        })
        .collect()
}

/// The counts of one group of [`status_counts`].
fn counts_of(group: &Document, stage: &str) -> Result<StatusCounts> {
    let field = |name: &str| count(group.get(name)).map_err(|e| malformed(stage, e));
    Ok(StatusCounts {
        none: field("none")?,
        active: field("active")?,
        resolved: field("resolved")?,
        missing: field("missing")?,
    })
}

/// The resources with the most `drift_detected` events (of `cluster`, or of every
/// cluster), most first, ties by id then cluster. Groups are keyed
/// `resource_id<TAB>cluster`: a text key, which every server groups alike, and which
/// sorts as the pair does, since a tab sorts before every character of a resource id.
pub(crate) fn most_drifted(cluster: Option<&str>) -> Vec<Document> {
    scoped(
        cluster,
        vec![
            doc! { "$match": { "kind": "drift_detected" } },
            doc! { "$group": {
                "_id": { "$concat": ["$resource_id", "\t", cluster_or_default()] },
                "count": { "$sum": 1 },
            } },
            doc! { "$sort": { "count": -1, "_id": 1 } },
            doc! { "$limit": MOST_DRIFTED_LIMIT as i64 },
        ],
    )
}

/// Reads the groups of [`most_drifted`].
pub(crate) fn most_drifted_from(groups: &[Document]) -> Result<Vec<DriftCount>> {
    groups
        .iter()
        .map(|group| {
            let key = group
                .get_str("_id")
                .map_err(|e| malformed("most_drifted", e))?;
            let (resource_id, cluster) = key
                .split_once('\t')
                .ok_or_else(|| malformed("most_drifted", format!("`{key}` names no cluster")))?;
            Ok(DriftCount {
                cluster: cluster.to_owned(),
                resource_id: resource_id.to_owned(),
                drift_events: count(group.get("count"))
                    .map_err(|e| malformed("most_drifted", e))?,
            })
        })
        .collect()
}

/// Total and count of detection-to-resolution times, in milliseconds.
///
/// Each `drift_resolved` event pairs with the earliest `drift_detected` event of the
/// same resource since that resource's previous resolution: a running count of
/// resolutions (per resource, in time order, ties in insertion order) numbers the
/// episodes; a detection belongs to the episode of the resolutions before it, a
/// resolution closes its own.
pub(crate) fn time_to_resolve(cluster: Option<&str>) -> Vec<Document> {
    scoped(
        cluster,
        vec![
            doc! { "$match": { "kind": { "$in": ["drift_detected", "drift_resolved"] } } },
            doc! { "$addFields": {
                "is_resolution": { "$cond": [{ "$eq": ["$kind", "drift_resolved"] }, 1, 0] },
                "resource_key": { "$concat": [cluster_or_default(), "/", "$resource_id"] },
            } },
            doc! { "$setWindowFields": {
                "partitionBy": "$resource_key",
                "sortBy": { "at": 1, "_id": 1 },
                "output": {
                    "resolutions": {
                        "$sum": "$is_resolution",
                        "window": { "documents": ["unbounded", "current"] },
                    },
                },
            } },
            doc! { "$addFields": {
                "episode": { "$subtract": ["$resolutions", "$is_resolution"] },
            } },
            doc! { "$addFields": {
                "episode_key": { "$concat": ["$resource_key", "#", { "$toString": "$episode" }] },
                "detected_at": { "$cond": [{ "$eq": ["$is_resolution", 0] }, "$at", Bson::Null] },
                "resolved_at": { "$cond": [{ "$eq": ["$is_resolution", 1] }, "$at", Bson::Null] },
            } },
            doc! { "$group": {
                "_id": "$episode_key",
                "detected_at": { "$min": "$detected_at" },
                "resolved_at": { "$min": "$resolved_at" },
            } },
            doc! { "$match": {
                "detected_at": { "$ne": Bson::Null },
                "resolved_at": { "$ne": Bson::Null },
            } },
            doc! { "$project": {
                "millis": { "$dateDiff": {
                    "startDate": "$detected_at", "endDate": "$resolved_at", "unit": "millisecond",
                } },
            } },
            doc! { "$group": {
                "_id": Bson::Null,
                "total_millis": { "$sum": "$millis" },
                "episodes": { "$sum": 1 },
            } },
        ],
    )
}

/// The mean in seconds from the one document [`time_to_resolve`] produces (none when
/// no episode was resolved).
pub(crate) fn mean_seconds_from(document: Option<&Document>) -> Result<Option<f64>> {
    let Some(document) = document else {
        return Ok(None);
    };
    let episodes = count(document.get("episodes")).map_err(|e| malformed("time_to_resolve", e))?;
    let total =
        number(document.get("total_millis")).map_err(|e| malformed("time_to_resolve", e))?;
    Ok((episodes > 0).then(|| total / 1000.0 / episodes as f64))
}

fn count(value: Option<&Bson>) -> Result<u64, String> {
    let n = number(value)?;
    if n < 0.0 || n.fract() != 0.0 {
        return Err(format!("{n} is not a count"));
    }
    Ok(n as u64)
}

fn number(value: Option<&Bson>) -> Result<f64, String> {
    match value {
        Some(Bson::Int32(n)) => Ok(f64::from(*n)),
        Some(Bson::Int64(n)) => Ok(*n as f64),
        Some(Bson::Double(n)) => Ok(*n),
        other => Err(format!("{other:?} is not a number")),
    }
}

fn malformed(stage: &str, reason: impl std::fmt::Display) -> Error {
    Error::Malformed {
        what: format!("statistics ({stage})"),
        reason: reason.to_string(),
    }
}
