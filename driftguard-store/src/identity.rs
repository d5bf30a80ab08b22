//! A record's kind, namespace and name must be those of its `resource_id`; a cluster's
//! status document must hold that cluster's applications, each once.
//!
//! Listings sort on those fields (that is `ResourceId`'s order), so a record that
//! disagreed with its id would be listed out of place; stores refuse it. Status
//! documents are stored under `(cluster, application name)`, so an application of
//! another cluster, or named twice, would be stored somewhere else or lost; stores
//! refuse those too.

use std::collections::HashSet;

use driftguard_core::{ClusterStatusDocument, DriftRecord};

use crate::error::{Error, Result};

/// Refuses a record whose kind, namespace or name differ from its id's.
pub(crate) fn check_identity(record: &DriftRecord) -> Result<()> {
    let id = &record.resource_id;
    if record.kind == id.kind()
        && record.namespace.as_deref() == id.namespace()
        && record.name == id.name()
    {
        return Ok(());
    }
    Err(Error::Unstorable {
        what: format!("record {id}"),
        reason: format!(
            "its kind, namespace and name ({}, {}, {}) are not those of its resource_id",
            record.kind,
            record.namespace.as_deref().unwrap_or("<none>"),
            record.name
        ),
    })
}

/// Refuses a status document with an application of another cluster, or an
/// application named twice.
pub(crate) fn check_status(status: &ClusterStatusDocument) -> Result<()> {
    let unstorable = |reason: String| Error::Unstorable {
        what: format!("the status of cluster {}", status.cluster),
        reason,
    };
    let mut names = HashSet::with_capacity(status.applications.len());
    for application in &status.applications {
        if application.cluster != status.cluster {
            return Err(unstorable(format!(
                "its application {} names cluster {}",
                application.name, application.cluster
            )));
        }
        if !names.insert(application.name.as_str()) {
            return Err(unstorable(format!(
                "it lists application {} twice",
                application.name
            )));
        }
    }
    Ok(())
}
