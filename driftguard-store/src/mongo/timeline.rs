//! Lifecycle events per time bucket: a range query on the events' time index, counted
//! here.
//!
//! The server is asked for the range's events with three small fields each (`at`,
//! `kind`, `severity`), not for a `$group` by bucket: nx-27017, the test server, does not
//! evaluate `$dateTrunc` (nor date arithmetic) in group keys, and answers such a group
//! with one wrong bucket rather than an error, so an aggregation could not be held to
//! the contract suite. The events of the range travel (three fields each, streamed in
//! batches), and the counting is one pass over them.

use bson::{DateTime as BsonDateTime, Document, doc};
use driftguard_core::ports::{Timeline, TimelineQuery};
use driftguard_core::{EventKind, Severity};
use serde::Deserialize;

use crate::error::{Error, Result};

/// The fields of an event a timeline reads.
#[derive(Deserialize)]
struct Counted {
    at: BsonDateTime,
    kind: EventKind,
    severity: Option<Severity>,
}

/// The projection of the events a timeline reads.
pub(crate) fn projection() -> Document {
    doc! { "_id": 0, "at": 1, "kind": 1, "severity": 1 }
}

/// Counts one event read with [`projection`] into its bucket of `query`.
pub(crate) fn add(
    timeline: &mut Timeline,
    query: &TimelineQuery,
    document: Document,
) -> Result<()> {
    let event: Counted =
        bson::deserialize_from_document(document).map_err(|e| Error::Malformed {
            what: "an event of a timeline".to_owned(),
            reason: e.to_string(),
        })?;
    if let Some(index) = query.bucket_of(event.at.to_chrono()) {
        timeline.add(index, event.kind, event.severity, 1);
    }
    Ok(())
}
