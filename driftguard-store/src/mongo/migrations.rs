//! Versioned migrations of the MongoDB data, run when the store first reaches the server.
//!
//! The version is kept in the `driftguard_schema` collection (one document, `_id:
//! "schema"`). Migration N takes the data from version N-1 to N; every step is
//! idempotent, so two processes starting together, or one interrupted half-way, leave
//! the same result. A database from a newer build is read as it is, without migrating
//! anything back.

use bson::{Bson, Document, doc};
use driftguard_core::DEFAULT_CLUSTER;
use mongodb::options::IndexOptions;
use mongodb::{Database, IndexModel};

use crate::error::Result;
use crate::mongo::failure::failure;
use crate::mongo::{APPLICATION_STATUS_COLLECTION, EVENTS_COLLECTION, RECORDS_COLLECTION};

/// The collection holding the schema version.
const SCHEMA_COLLECTION: &str = "driftguard_schema";

/// The schema version this build writes.
pub(crate) const CURRENT_VERSION: i64 = 3;

/// The unique index on `resource_id` alone, from before clusters existed: the same
/// resource id in two clusters would violate it.
const RESOURCE_ID_UNIQUE: &str = "resource_id_unique";

/// Brings the database up to [`CURRENT_VERSION`].
pub(crate) async fn migrate(database: &Database, uri: &str) -> Result<()> {
    let schema = database.collection::<Document>(SCHEMA_COLLECTION);
    let stored = schema
        .find_one(doc! { "_id": "schema" })
        .await
        .map_err(|e| failure("preparing the store (reading the schema version)", uri, &e))?;
    let version = match stored.as_ref().and_then(|d| d.get("version")) {
        Some(Bson::Int32(v)) => i64::from(*v),
        Some(Bson::Int64(v)) => *v,
        _ => 0,
    };
    if version < 1 {
        clusters(database, uri).await?;
    }
    if version < 2 {
        application_status_index(database, uri).await?;
    }
    if version < 3 {
        event_keys(database, uri).await?;
    }
    if version < CURRENT_VERSION {
        schema
            .update_one(
                doc! { "_id": "schema" },
                doc! { "$max": { "version": CURRENT_VERSION } },
            )
            .upsert(true)
            .await
            .map_err(|e| failure("preparing the store (writing the schema version)", uri, &e))?;
    }
    Ok(())
}

/// Migration 1: records keyed by `(cluster, resource_id)`. Documents stored before
/// clusters existed get cluster [`DEFAULT_CLUSTER`] (their `_id`, the bare resource id,
/// is already the key of that cluster), and the unique index on `resource_id` alone
/// gives way to the one on `(cluster, resource_id)`.
async fn clusters(database: &Database, uri: &str) -> Result<()> {
    let operation = "preparing the store (migrating to cluster keys)";
    for collection in [RECORDS_COLLECTION, EVENTS_COLLECTION] {
        database
            .collection::<Document>(collection)
            .update_many(
                doc! { "cluster": { "$exists": false } },
                doc! { "$set": { "cluster": DEFAULT_CLUSTER } },
            )
            .await
            .map_err(|e| failure(operation, uri, &e))?;
    }
    let records = database.collection::<Document>(RECORDS_COLLECTION);
    let names: Vec<String> = records
        .list_index_names()
        .await
        .or_else(|e| match *e.kind {
            // A collection that does not exist yet has no index.
            mongodb::error::ErrorKind::Command(ref c) if c.code == 26 => Ok(Vec::new()),
            _ => Err(e),
        })
        .map_err(|e| failure(operation, uri, &e))?;
    if names.iter().any(|name| name == RESOURCE_ID_UNIQUE) {
        records
            .drop_index(RESOURCE_ID_UNIQUE)
            .await
            .map_err(|e| failure(operation, uri, &e))?;
    }
    Ok(())
}

/// Migration 2: the application status documents of a cluster are found (to read them
/// in published order, and to delete those no longer listed) through `(cluster,
/// position)`.
async fn application_status_index(database: &Database, uri: &str) -> Result<()> {
    let index = IndexModel::builder()
        .keys(doc! { "cluster": 1, "position": 1 })
        .options(
            IndexOptions::builder()
                .name("by_cluster".to_owned())
                .build(),
        )
        .build();
    database
        .collection::<Document>(APPLICATION_STATUS_COLLECTION)
        .create_index(index)
        .await
        .map_err(|e| {
            failure(
                "preparing the store (indexing application statuses)",
                uri,
                &e,
            )
        })?;
    Ok(())
}

/// The name of the unique index on the events' `key`.
pub(crate) const EVENT_KEY_UNIQUE: &str = "key_unique";

/// Migration 3: one event per transition. Events carry their transition's `key`
/// (`DriftEvent::key`); a unique index on it, partial to documents with a non-empty key
/// (events stored before keys existed have no such field), makes a second insert of the
/// same transition fail with a duplicate key, which saves pass over.
async fn event_keys(database: &Database, uri: &str) -> Result<()> {
    let index = IndexModel::builder()
        .keys(doc! { "key": 1 })
        .options(
            IndexOptions::builder()
                .name(EVENT_KEY_UNIQUE.to_owned())
                .unique(true)
                .partial_filter_expression(doc! { "key": { "$gt": "" } })
                .build(),
        )
        .build();
    database
        .collection::<Document>(EVENTS_COLLECTION)
        .create_index(index)
        .await
        .map_err(|e| failure("preparing the store (indexing event keys)", uri, &e))?;
    Ok(())
}
