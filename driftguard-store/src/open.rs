//! One call from configuration to a store, for the service and the CLI.

use std::path::Path;
use std::sync::Arc;

use driftguard_core::DriftStore;

use crate::config::{DatabaseKind, StoreConfig};
use crate::error::{Error, Result};
use crate::mongo::MongoStore;
use crate::sqlite::SqliteStore;

/// The store `config` describes, ready to hand to the detector and the API.
///
/// - SQLite: opens (creating and migrating) the file, creating its folder when missing
///   (the default path, `driftguard-data/driftguard.db`, names one); fails when it cannot.
/// - MongoDB: fails only on an unusable URI or database name. It then tries once, within
///   `connect_timeout`, to reach the server, create the indexes and deliver the events an
///   earlier run left pending; when that fails it logs a warning and returns the store
///   all the same. Until the server answers, [`DriftStore::ping`] and every call report
///   it unavailable, and each call retries, so the service starts, reports the store not
///   ready, and recovers by itself.
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn DriftStore>> {
    config.validate()?;
    match &config.kind {
        DatabaseKind::Sqlite { path } => {
            let path = path.clone();
            let store = tokio::task::spawn_blocking(move || {
                create_parent(&path)?;
                SqliteStore::open(path)
            })
            .await
            .map_err(Error::Worker)??;
            tracing::info!(path = %store.path().display(), "using the SQLite drift store");
            Ok(Arc::new(store))
        }
        DatabaseKind::Mongodb { uri, name } => {
            let store = MongoStore::new(uri, name, config.connect_timeout)?;
            match store.prepare().await {
                Ok(()) => tracing::info!(
                    uri = %store.redacted_uri(),
                    database = %name,
                    "using the MongoDB drift store"
                ),
                Err(error) => tracing::warn!(
                    uri = %store.redacted_uri(),
                    database = %name,
                    error = %driftguard_core::error_chain(&error),
                    "❌ the MongoDB drift store is not reachable yet; retrying on every call"
                ),
            }
            Ok(Arc::new(store))
        }
    }
}

/// Creates the folder the database file goes in, when the path names one.
fn create_parent(path: &Path) -> Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(folder) => std::fs::create_dir_all(folder).map_err(|source| Error::CreateFolder {
            path: folder.to_owned(),
            source,
        }),
        None => Ok(()),
    }
}
