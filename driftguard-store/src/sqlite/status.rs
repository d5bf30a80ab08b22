//! Schema migration 6 and the status documents of clusters and their applications.
//!
//! `cluster_status` holds one row per cluster, `application_status` one per application
//! of a cluster, keyed by `(cluster, name)` and kept in the order they were published
//! (`position`). Times are INTEGER nanoseconds as everywhere in the file; the failing
//! components, a short list read and written whole, are JSON text. A publication
//! replaces the cluster's rows in one immediate transaction, so readers see the
//! cluster's previous documents or its new ones, never a mix.
//!
//! The migration also replaces the covering index of the record counts per application
//! with one per `(cluster, application)`: the same application name in two clusters is
//! counted apart.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use driftguard_core::{
    AnalysisNote, AnalysisResult, ApplicationStatusDocument, ClusterStatusDocument,
    FailingComponent, ReadStatus,
};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, TransactionBehavior, params_from_iter};

use crate::error::{Error, Result};
use crate::identity::check_status;
use crate::sqlite::codec::{name, nanos};

/// The statements of migration 6, run in one transaction.
pub(crate) const MIGRATION: &str = "
    CREATE TABLE cluster_status (
        cluster               TEXT PRIMARY KEY NOT NULL,
        leader                TEXT NOT NULL,
        last_analysis_at      INTEGER,
        last_analysis_outcome TEXT,
        failing               TEXT NOT NULL,
        resources             INTEGER NOT NULL CHECK (resources >= 0),
        updated_at            INTEGER NOT NULL,
        expires_at            INTEGER NOT NULL,
        CHECK ((last_analysis_at IS NULL) = (last_analysis_outcome IS NULL))
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE application_status (
        cluster        TEXT NOT NULL,
        name           TEXT NOT NULL,
        position       INTEGER NOT NULL,
        source         TEXT NOT NULL,
        namespace      TEXT,
        revision       TEXT,
        status         TEXT NOT NULL,
        error          TEXT,
        render_seconds REAL,
        checked_at     INTEGER,
        PRIMARY KEY (cluster, name)
    ) STRICT, WITHOUT ROWID;

    DROP INDEX drift_records_by_application_status;
    CREATE INDEX drift_records_by_cluster_application_status
        ON drift_records (cluster, application, drift_status, drift_types);";

const CLUSTER_COLUMNS: &str = "cluster, leader, last_analysis_at, last_analysis_outcome, \
     failing, resources, updated_at, expires_at";

const APPLICATION_COLUMNS: &str = "cluster, name, position, source, namespace, revision, \
     status, error, render_seconds, checked_at";

fn sql_error(operation: &'static str) -> impl Fn(rusqlite::Error) -> Error {
    move |source| Error::Sqlite { operation, source }
}

fn text(value: Option<&str>) -> Value {
    value.map_or(Value::Null, |v| Value::Text(v.to_owned()))
}

fn time(nanos: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(nanos)
}

/// The column values of the cluster's row, in [`CLUSTER_COLUMNS`] order.
fn cluster_values(status: &ClusterStatusDocument) -> Result<Vec<Value>> {
    let what = || format!("the status of cluster {}", status.cluster);
    let unstorable = |reason: String| Error::Unstorable {
        what: what(),
        reason,
    };
    let (analysed_at, outcome) = match &status.last_analysis {
        Some(note) => (
            Value::Integer(nanos(note.at, what)?),
            Value::Text(note.outcome.as_str().to_owned()),
        ),
        None => (Value::Null, Value::Null),
    };
    let failing = serde_json::to_string(&status.failing).map_err(|e| unstorable(e.to_string()))?;
    let resources = i64::try_from(status.resources)
        .map_err(|_| unstorable(format!("resources {} is too large", status.resources)))?;
    Ok(vec![
        Value::Text(status.cluster.clone()),
        Value::Text(status.leader.clone()),
        analysed_at,
        outcome,
        Value::Text(failing),
        Value::Integer(resources),
        Value::Integer(nanos(status.updated_at, what)?),
        Value::Integer(nanos(status.expires_at, what)?),
    ])
}

/// The column values of one application's row, in [`APPLICATION_COLUMNS`] order.
fn application_values(
    application: &ApplicationStatusDocument,
    position: usize,
) -> Result<Vec<Value>> {
    let what = || {
        format!(
            "the status of application {} of cluster {}",
            application.name, application.cluster
        )
    };
    let checked_at = match application.checked_at {
        Some(at) => Value::Integer(nanos(at, what)?),
        None => Value::Null,
    };
    Ok(vec![
        Value::Text(application.cluster.clone()),
        Value::Text(application.name.clone()),
        Value::Integer(i64::try_from(position).unwrap_or(i64::MAX)),
        Value::Text(application.source.clone()),
        text(application.namespace.as_deref()),
        text(application.revision.as_deref()),
        Value::Text(application.status.as_str().to_owned()),
        text(application.error.as_deref()),
        application.render_seconds.map_or(Value::Null, Value::Real),
        checked_at,
    ])
}

/// Replaces the documents of `status.cluster` (its row and all its applications' rows)
/// in one immediate transaction; other clusters' rows are not touched.
pub(crate) fn publish(connection: &mut Connection, status: &ClusterStatusDocument) -> Result<()> {
    check_status(status)?;
    let cluster_row = cluster_values(status)?;
    let application_rows = status
        .applications
        .iter()
        .enumerate()
        .map(|(position, application)| application_values(application, position))
        .collect::<Result<Vec<_>>>()?;
    let failed = sql_error("publishing a cluster's status");
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(&failed)?;
    transaction
        .prepare_cached(&format!(
            "INSERT OR REPLACE INTO cluster_status ({CLUSTER_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        ))
        .and_then(|mut statement| statement.execute(params_from_iter(cluster_row)))
        .map_err(&failed)?;
    transaction
        .prepare_cached("DELETE FROM application_status WHERE cluster = ?1")
        .and_then(|mut statement| statement.execute([&status.cluster]))
        .map_err(&failed)?;
    {
        let mut insert = transaction
            .prepare_cached(&format!(
                "INSERT INTO application_status ({APPLICATION_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ))
            .map_err(&failed)?;
        for row in application_rows {
            insert.execute(params_from_iter(row)).map_err(&failed)?;
        }
    }
    transaction.commit().map_err(&failed)
}

/// Every cluster's document with its applications, by cluster, each cluster's
/// applications in published order; read in one transaction.
pub(crate) fn cluster_statuses(connection: &mut Connection) -> Result<Vec<ClusterStatusDocument>> {
    let failed = sql_error("reading cluster statuses");
    let transaction = connection.transaction().map_err(&failed)?;
    let mut clusters: BTreeMap<String, ClusterStatusDocument> = BTreeMap::new();
    {
        let mut statement = transaction
            .prepare_cached(&format!(
                "SELECT {CLUSTER_COLUMNS} FROM cluster_status ORDER BY cluster"
            ))
            .map_err(&failed)?;
        let rows = statement
            .query_map([], |row| Ok(cluster_from_row(row)))
            .map_err(&failed)?;
        for row in rows {
            let status = row.map_err(&failed)??;
            clusters.insert(status.cluster.clone(), status);
        }
    }
    {
        let mut statement = transaction
            .prepare_cached(&format!(
                "SELECT {APPLICATION_COLUMNS} FROM application_status \
                 ORDER BY cluster, position"
            ))
            .map_err(&failed)?;
        let rows = statement
            .query_map([], |row| Ok(application_from_row(row)))
            .map_err(&failed)?;
        for row in rows {
            let application = row.map_err(&failed)??;
            if let Some(cluster) = clusters.get_mut(&application.cluster) {
                cluster.applications.push(application);
            }
        }
    }
    Ok(clusters.into_values().collect())
}

/// Column access that names the table in its errors.
fn column<T: rusqlite::types::FromSql>(row: &Row<'_>, index: usize) -> Result<T> {
    row.get(index).map_err(|source| Error::Sqlite {
        operation: "reading cluster statuses",
        source,
    })
}

fn cluster_from_row(row: &Row<'_>) -> Result<ClusterStatusDocument> {
    let cluster: String = column(row, 0)?;
    let malformed = |reason: String| Error::Malformed {
        what: format!("the status of cluster {cluster}"),
        reason,
    };
    let last_analysis = match (
        column::<Option<i64>>(row, 2)?,
        column::<Option<String>>(row, 3)?,
    ) {
        (Some(at), Some(outcome)) => Some(AnalysisNote {
            at: time(at),
            outcome: name::<AnalysisResult>(&outcome).map_err(malformed)?,
        }),
        _ => None,
    };
    let failing: Vec<FailingComponent> = serde_json::from_str(&column::<String>(row, 4)?)
        .map_err(|e| malformed(format!("invalid JSON column: {e}")))?;
    let resources: i64 = column(row, 5)?;
    Ok(ClusterStatusDocument {
        leader: column(row, 1)?,
        last_analysis,
        failing,
        resources: u64::try_from(resources)
            .map_err(|_| malformed(format!("resources {resources} is negative")))?,
        updated_at: time(column(row, 6)?),
        expires_at: time(column(row, 7)?),
        applications: Vec::new(),
        cluster,
    })
}

fn application_from_row(row: &Row<'_>) -> Result<ApplicationStatusDocument> {
    let cluster: String = column(row, 0)?;
    let application: String = column(row, 1)?;
    let status =
        name::<ReadStatus>(&column::<String>(row, 6)?).map_err(|reason| Error::Malformed {
            what: format!("the status of application {application} of cluster {cluster}"),
            reason,
        })?;
    Ok(ApplicationStatusDocument {
        source: column(row, 3)?,
        namespace: column(row, 4)?,
        revision: column(row, 5)?,
        status,
        error: column(row, 7)?,
        render_seconds: column(row, 8)?,
        checked_at: column::<Option<i64>>(row, 9)?.map(time),
        cluster,
        name: application,
    })
}
