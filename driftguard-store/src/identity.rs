//! A record's kind, namespace and name must be those of its `resource_id`.
//!
//! Listings sort on those fields (that is `ResourceId`'s order), so a record that
//! disagreed with its id would be listed out of place; stores refuse it.

use driftguard_core::DriftRecord;

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
