//! The status documents of clusters and their applications.
//!
//! - `cluster_status`: one document per cluster, its `_id` the cluster's name;
//! - `application_status`: one document per application of a cluster, its `_id`
//!   `CLUSTER/NAME` (a cluster name never holds a `/`), with `cluster` and `position`
//!   (its place in the published list) indexed together ([`crate::mongo::migrations`]).
//!
//! Times are BSON dates, truncated to the millisecond as in records. A publication
//! replaces the cluster's application documents (with upserts), deletes those of its
//! applications no longer listed, and replaces the cluster document last; on the
//! transaction path all in one transaction, so readers see the previous documents or
//! the new ones. Without transactions, a reader may meet a publication half-way: the
//! cluster document is written last, and applications without a cluster document are
//! not read. Publishing again is harmless, so a publication that failed for a passing
//! reason is simply run again.

use bson::{DateTime as BsonDateTime, Document, doc};
use driftguard_core::{
    AnalysisNote, AnalysisResult, ApplicationStatusDocument, ClusterStatusDocument,
    FailingComponent, PortErrorKind, ReadStatus,
};
use futures_util::TryStreamExt;
use mongodb::{Client, ClientSession, Collection, Database};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::identity::check_status;
use crate::mongo::failure::failure;
use crate::mongo::save::ATTEMPTS;

/// The collection of cluster status documents.
pub const CLUSTER_STATUS_COLLECTION: &str = "cluster_status";
/// The collection of application status documents.
pub const APPLICATION_STATUS_COLLECTION: &str = "application_status";

/// A cluster's status as stored in `cluster_status` (its applications aside).
#[derive(Serialize, Deserialize)]
struct ClusterDocument {
    cluster: String,
    leader: String,
    last_analysis: Option<NoteDocument>,
    failing: Vec<FailingDocument>,
    resources: i64,
    updated_at: BsonDateTime,
    expires_at: BsonDateTime,
}

#[derive(Serialize, Deserialize)]
struct NoteDocument {
    at: BsonDateTime,
    outcome: AnalysisResult,
}

#[derive(Serialize, Deserialize)]
struct FailingDocument {
    component: String,
    reason: String,
    since: BsonDateTime,
}

/// An application's status as stored in `application_status`.
#[derive(Serialize, Deserialize)]
struct ApplicationDocument {
    cluster: String,
    name: String,
    position: i64,
    source: String,
    namespace: Option<String>,
    revision: Option<String>,
    status: ReadStatus,
    error: Option<String>,
    render_seconds: Option<f64>,
    checked_at: Option<BsonDateTime>,
}

/// The `_id` of an application's status document.
fn application_key(cluster: &str, name: &str) -> String {
    format!("{cluster}/{name}")
}

fn to_document<T: Serialize>(value: &T, what: impl FnOnce() -> String) -> Result<Document> {
    bson::serialize_to_document(value).map_err(|e| Error::Unstorable {
        what: what(),
        reason: e.to_string(),
    })
}

fn cluster_document(status: &ClusterStatusDocument) -> Result<Document> {
    let what = || format!("the status of cluster {}", status.cluster);
    let stored = ClusterDocument {
        cluster: status.cluster.clone(),
        leader: status.leader.clone(),
        last_analysis: status.last_analysis.map(|note| NoteDocument {
            at: BsonDateTime::from_chrono(note.at),
            outcome: note.outcome,
        }),
        failing: status
            .failing
            .iter()
            .map(|f| FailingDocument {
                component: f.component.clone(),
                reason: f.reason.clone(),
                since: BsonDateTime::from_chrono(f.since),
            })
            .collect(),
        resources: i64::try_from(status.resources).map_err(|_| Error::Unstorable {
            what: what(),
            reason: format!("resources {} is too large", status.resources),
        })?,
        updated_at: BsonDateTime::from_chrono(status.updated_at),
        expires_at: BsonDateTime::from_chrono(status.expires_at),
    };
    let mut document = doc! { "_id": &status.cluster };
    document.extend(to_document(&stored, what)?);
    Ok(document)
}

fn application_document(
    application: &ApplicationStatusDocument,
    position: usize,
) -> Result<(String, Document)> {
    let key = application_key(&application.cluster, &application.name);
    let stored = ApplicationDocument {
        cluster: application.cluster.clone(),
        name: application.name.clone(),
        position: i64::try_from(position).unwrap_or(i64::MAX),
        source: application.source.clone(),
        namespace: application.namespace.clone(),
        revision: application.revision.clone(),
        status: application.status,
        error: application.error.clone(),
        render_seconds: application.render_seconds,
        checked_at: application.checked_at.map(BsonDateTime::from_chrono),
    };
    let mut document = doc! { "_id": &key };
    document.extend(to_document(&stored, || {
        format!(
            "the status of application {} of cluster {}",
            application.name, application.cluster
        )
    })?);
    Ok((key, document))
}

/// Runs a driver action in `session` when there is one.
macro_rules! in_session {
    ($action:expr, $session:expr) => {
        match $session.as_deref_mut() {
            Some(session) => $action.session(session).await,
            None => $action.await,
        }
    };
}

/// The two collections.
fn collections(database: &Database) -> (Collection<Document>, Collection<Document>) {
    (
        database.collection(CLUSTER_STATUS_COLLECTION),
        database.collection(APPLICATION_STATUS_COLLECTION),
    )
}

/// Writes the documents of `status.cluster`, in `session` when given: its applications,
/// then the removal of those no longer listed, then the cluster document.
async fn write(
    database: &Database,
    uri: &str,
    status: &ClusterStatusDocument,
    mut session: Option<&mut ClientSession>,
) -> Result<()> {
    let operation = "publishing a cluster's status";
    let cluster_document = cluster_document(status)?;
    let applications = status
        .applications
        .iter()
        .enumerate()
        .map(|(position, application)| application_document(application, position))
        .collect::<Result<Vec<_>>>()?;
    let (clusters, application_statuses) = collections(database);
    for (key, document) in &applications {
        in_session!(
            application_statuses
                .replace_one(doc! { "_id": key }, document)
                .upsert(true),
            session
        )
        .map_err(|e| failure(operation, uri, &e))?;
    }
    let listed: Vec<&str> = applications.iter().map(|(key, _)| key.as_str()).collect();
    in_session!(
        application_statuses.delete_many(doc! {
            "cluster": &status.cluster,
            "_id": { "$nin": listed },
        }),
        session
    )
    .map_err(|e| failure(operation, uri, &e))?;
    in_session!(
        clusters
            .replace_one(doc! { "_id": &status.cluster }, cluster_document)
            .upsert(true),
        session
    )
    .map_err(|e| failure(operation, uri, &e))?;
    Ok(())
}

/// Publishes `status` without a transaction (the cluster document last).
pub(crate) async fn publish(
    database: &Database,
    uri: &str,
    status: &ClusterStatusDocument,
) -> Result<()> {
    check_status(status)?;
    write(database, uri, status, None).await
}

/// Publishes `status` in one transaction, run again (up to [`ATTEMPTS`] times) when it
/// fails for a passing reason; publishing is idempotent, so a commit whose outcome is
/// unknown may be run again too.
pub(crate) async fn publish_in_transaction(
    client: &Client,
    database: &Database,
    uri: &str,
    status: &ClusterStatusDocument,
) -> Result<()> {
    check_status(status)?;
    let mut session = client
        .start_session()
        .await
        .map_err(|e| failure("starting a session", uri, &e))?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = async {
            session
                .start_transaction()
                .await
                .map_err(|e| failure("starting a transaction", uri, &e))?;
            if let Err(error) = write(database, uri, status, Some(&mut session)).await {
                // Nothing is committed; a failed abort leaves the server to time it out.
                let _ = session.abort_transaction().await;
                return Err(error);
            }
            session
                .commit_transaction()
                .await
                .map_err(|e| failure("committing a cluster's status", uri, &e))
        }
        .await;
        match result {
            Err(error) if error.kind() == PortErrorKind::Unavailable && attempt < ATTEMPTS => {
                tracing::debug!(%error, attempt, "publishing a cluster's status failed; running it again");
            }
            other => return other,
        }
    }
}

/// Every cluster's document with its applications, by cluster, each cluster's
/// applications in published order.
pub(crate) async fn read_all(database: &Database, uri: &str) -> Result<Vec<ClusterStatusDocument>> {
    let operation = "reading cluster statuses";
    let (clusters, applications) = collections(database);
    let clusters: Vec<Document> = clusters
        .find(doc! {})
        .await
        .map_err(|e| failure(operation, uri, &e))?
        .try_collect()
        .await
        .map_err(|e| failure(operation, uri, &e))?;
    let applications: Vec<Document> = applications
        .find(doc! {})
        .await
        .map_err(|e| failure(operation, uri, &e))?
        .try_collect()
        .await
        .map_err(|e| failure(operation, uri, &e))?;
    let mut statuses = clusters
        .into_iter()
        .map(cluster_from_document)
        .collect::<Result<Vec<_>>>()?;
    statuses.sort_by(|a, b| a.cluster.cmp(&b.cluster));
    let mut applications = applications
        .into_iter()
        .map(application_from_document)
        .collect::<Result<Vec<_>>>()?;
    applications.sort_by(|(a, p), (b, q)| (&a.cluster, p).cmp(&(&b.cluster, q)));
    for (application, _) in applications {
        if let Ok(index) = statuses.binary_search_by(|s| s.cluster.cmp(&application.cluster)) {
            statuses[index].applications.push(application);
        }
    }
    Ok(statuses)
}

fn malformed<E: std::fmt::Display>(what: String) -> impl Fn(E) -> Error {
    move |e| Error::Malformed {
        what: what.clone(),
        reason: e.to_string(),
    }
}

fn cluster_from_document(document: Document) -> Result<ClusterStatusDocument> {
    let what = format!(
        "the status of cluster {}",
        document.get_str("_id").unwrap_or("<without a text _id>")
    );
    let stored: ClusterDocument =
        bson::deserialize_from_document(document).map_err(malformed(what.clone()))?;
    Ok(ClusterStatusDocument {
        resources: u64::try_from(stored.resources).map_err(|_| Error::Malformed {
            what,
            reason: format!("resources {} is negative", stored.resources),
        })?,
        cluster: stored.cluster,
        leader: stored.leader,
        last_analysis: stored.last_analysis.map(|note| AnalysisNote {
            at: note.at.to_chrono(),
            outcome: note.outcome,
        }),
        failing: stored
            .failing
            .into_iter()
            .map(|f| FailingComponent {
                component: f.component,
                reason: f.reason,
                since: f.since.to_chrono(),
            })
            .collect(),
        updated_at: stored.updated_at.to_chrono(),
        expires_at: stored.expires_at.to_chrono(),
        applications: Vec::new(),
    })
}

/// An application's status and its position in its cluster's list.
fn application_from_document(document: Document) -> Result<(ApplicationStatusDocument, i64)> {
    let what = format!(
        "the status of application {}",
        document.get_str("_id").unwrap_or("<without a text _id>")
    );
    let stored: ApplicationDocument =
        bson::deserialize_from_document(document).map_err(malformed(what))?;
    Ok((
        ApplicationStatusDocument {
            cluster: stored.cluster,
            name: stored.name,
            source: stored.source,
            namespace: stored.namespace,
            revision: stored.revision,
            status: stored.status,
            error: stored.error,
            render_seconds: stored.render_seconds,
            checked_at: stored.checked_at.map(BsonDateTime::to_chrono),
        },
        stored.position,
    ))
}
