//! Records and events to and from SQLite rows.
//!
//! Times are stored as INTEGER nanoseconds since the Unix epoch (UTC): exact, ordered,
//! and usable in arithmetic (mean time to resolve) without floating-point rounding.
//! Read them with `datetime(at / 1e9, 'unixepoch')`. Lists (`drift_types`, `drifts`)
//! are JSON text.

use chrono::{DateTime, Utc};
use driftguard_core::{DriftEvent, DriftRecord, DriftStatus, EventKind, ResourceId, Severity};
use rusqlite::Row;
use rusqlite::types::Value;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::identity::check_identity;

/// The record columns, in the order [`record_values`] and [`record_from_row`] use.
pub(crate) const RECORD_COLUMNS: &str = "resource_id, api_version, kind, namespace, name, \
     application, drift_detected, drift_status, severity, drift_types, drifts, desired_hash, \
     live_hash, last_known_good_hash, git_revision, first_detected, last_detected, \
     resolved_at, last_checked, resolution_message, detection_count, cluster";

/// How many columns [`RECORD_COLUMNS`] names.
pub(crate) const RECORD_COLUMN_COUNT: usize = 22;

/// The event columns (the sequence number aside), in the order [`event_values`] and
/// [`event_from_row`] use.
pub(crate) const EVENT_COLUMNS: &str = "resource_id, application, kind, at, drift_types, \
     severity, git_revision, message, cluster, key";

/// How many columns [`EVENT_COLUMNS`] names.
pub(crate) const EVENT_COLUMN_COUNT: usize = 10;

/// Nanoseconds since the epoch, for a time between the years 1677 and 2262.
pub(crate) fn nanos(time: DateTime<Utc>, what: impl FnOnce() -> String) -> Result<i64> {
    time.timestamp_nanos_opt().ok_or_else(|| Error::Unstorable {
        what: what(),
        reason: format!("the time {time} is outside the years 1677 to 2262"),
    })
}

fn time(nanos: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(nanos)
}

fn optional_nanos(time: Option<DateTime<Utc>>, what: impl FnOnce() -> String) -> Result<Value> {
    Ok(match time {
        Some(t) => Value::Integer(nanos(t, what)?),
        None => Value::Null,
    })
}

fn text(value: Option<&str>) -> Value {
    value.map_or(Value::Null, |v| Value::Text(v.to_owned()))
}

fn json<T: serde::Serialize>(value: &T, what: impl FnOnce() -> String) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Unstorable {
        what: what(),
        reason: e.to_string(),
    })
}

/// The column values of one record, in [`RECORD_COLUMNS`] order.
pub(crate) fn record_values(record: &DriftRecord) -> Result<Vec<Value>> {
    check_identity(record)?;
    let what = || format!("record {}", record.resource_id);
    let detection_count = i64::try_from(record.detection_count).map_err(|_| Error::Unstorable {
        what: what(),
        reason: format!("detection_count {} is too large", record.detection_count),
    })?;
    Ok(vec![
        Value::Text(record.resource_id.to_string()),
        Value::Text(record.api_version.clone()),
        Value::Text(record.kind.clone()),
        text(record.namespace.as_deref()),
        Value::Text(record.name.clone()),
        Value::Text(record.application.clone()),
        Value::Integer(i64::from(record.drift_detected)),
        Value::Text(record.drift_status.as_str().to_owned()),
        text(record.severity.map(Severity::as_str)),
        Value::Text(json(&record.drift_types, what)?),
        Value::Text(json(&record.drifts, what)?),
        Value::Text(record.desired_hash.clone()),
        text(record.live_hash.as_deref()),
        text(record.last_known_good_hash.as_deref()),
        text(record.git_revision.as_deref()),
        optional_nanos(record.first_detected, what)?,
        optional_nanos(record.last_detected, what)?,
        optional_nanos(record.resolved_at, what)?,
        Value::Integer(nanos(record.last_checked, what)?),
        text(record.resolution_message.as_deref()),
        Value::Integer(detection_count),
        Value::Text(record.cluster.clone()),
    ])
}

/// The column values of one event, in [`EVENT_COLUMNS`] order.
pub(crate) fn event_values(event: &DriftEvent) -> Result<Vec<Value>> {
    let what = || format!("event of {} at {}", event.resource_id, event.at);
    Ok(vec![
        Value::Text(event.resource_id.to_string()),
        Value::Text(event.application.clone()),
        Value::Text(event.kind.as_str().to_owned()),
        Value::Integer(nanos(event.at, what)?),
        Value::Text(json(&event.drift_types, what)?),
        text(event.severity.map(Severity::as_str)),
        text(event.git_revision.as_deref()),
        Value::Text(event.message.clone()),
        Value::Text(event.cluster.clone()),
        Value::Text(event.key.clone()),
    ])
}

/// Reads a record from a row selected with [`RECORD_COLUMNS`].
pub(crate) fn record_from_row(row: &Row<'_>) -> Result<DriftRecord> {
    let get = RowReader {
        row,
        operation: "reading records",
    };
    let id_text: String = get.at(0)?;
    let what = format!("record {id_text}");
    let malformed = |reason: String| Error::Malformed {
        what: what.clone(),
        reason,
    };
    let resource_id: ResourceId = id_text.parse().map_err(|e| malformed(format!("{e}")))?;
    let detection_count: i64 = get.at(20)?;
    Ok(DriftRecord {
        resource_id,
        api_version: get.at(1)?,
        kind: get.at(2)?,
        namespace: get.at(3)?,
        name: get.at(4)?,
        cluster: get.at(21)?,
        application: get.at(5)?,
        drift_detected: get.at::<i64>(6)? != 0,
        drift_status: name::<DriftStatus>(&get.at::<String>(7)?).map_err(malformed)?,
        severity: get
            .at::<Option<String>>(8)?
            .map(|s| name::<Severity>(&s))
            .transpose()
            .map_err(malformed)?,
        drift_types: from_json(&get.at::<String>(9)?).map_err(malformed)?,
        drifts: from_json(&get.at::<String>(10)?).map_err(malformed)?,
        desired_hash: get.at(11)?,
        live_hash: get.at(12)?,
        last_known_good_hash: get.at(13)?,
        git_revision: get.at(14)?,
        first_detected: get.at::<Option<i64>>(15)?.map(time),
        last_detected: get.at::<Option<i64>>(16)?.map(time),
        resolved_at: get.at::<Option<i64>>(17)?.map(time),
        last_checked: time(get.at(18)?),
        resolution_message: get.at(19)?,
        detection_count: u64::try_from(detection_count)
            .map_err(|_| malformed(format!("detection_count {detection_count} is negative")))?,
    })
}

/// Reads an event from a row selected with [`EVENT_COLUMNS`].
pub(crate) fn event_from_row(row: &Row<'_>) -> Result<DriftEvent> {
    let get = RowReader {
        row,
        operation: "reading events",
    };
    let id_text: String = get.at(0)?;
    let what = format!("event of {id_text}");
    let malformed = |reason: String| Error::Malformed {
        what: what.clone(),
        reason,
    };
    Ok(DriftEvent {
        resource_id: id_text.parse().map_err(|e| malformed(format!("{e}")))?,
        cluster: get.at(8)?,
        application: get.at(1)?,
        kind: name::<EventKind>(&get.at::<String>(2)?).map_err(malformed)?,
        at: time(get.at(3)?),
        drift_types: from_json(&get.at::<String>(4)?).map_err(malformed)?,
        severity: get
            .at::<Option<String>>(5)?
            .map(|s| name::<Severity>(&s))
            .transpose()
            .map_err(malformed)?,
        git_revision: get.at(6)?,
        message: get.at(7)?,
        key: get.at(9)?,
    })
}

/// Column access that names the table in its errors.
struct RowReader<'a, 'r> {
    row: &'a Row<'r>,
    operation: &'static str,
}

impl RowReader<'_, '_> {
    fn at<T: rusqlite::types::FromSql>(&self, index: usize) -> Result<T> {
        self.row.get(index).map_err(|source| Error::Sqlite {
            operation: self.operation,
            source,
        })
    }
}

/// A name stored as text (`active`, `High`, `drift_resolved`, `Scaling`) back to its type.
pub(crate) fn name<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| format!("`{text}` is not a known value"))
}

fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| format!("invalid JSON column: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_counts_match_the_column_lists() {
        assert_eq!(RECORD_COLUMNS.split(',').count(), RECORD_COLUMN_COUNT);
        assert_eq!(EVENT_COLUMNS.split(',').count(), EVENT_COLUMN_COUNT);
    }
}
