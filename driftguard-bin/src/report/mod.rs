//! Printing a check's outcome: as JSON, as a table ([`table`]) or as unified diffs
//! ([`diff`]).

pub(crate) mod diff;
mod table;

use std::io::Write;

use driftguard_core::analysis::{AnalysisOutcome, ApplicationResult, NotObserved, Summary};
use driftguard_core::{DriftRecord, Unobserved};
use serde::Serialize;

use crate::check::DesiredObjects;

pub use table::{TableOptions, print_table};

#[derive(Serialize)]
struct JsonReport<'a> {
    revision: Option<&'a str>,
    summary: &'a Summary,
    applications: Vec<JsonApplication<'a>>,
    records: &'a [DriftRecord],
    not_observed: Vec<JsonNotObserved<'a>>,
}

#[derive(Serialize)]
struct JsonApplication<'a> {
    name: &'a str,
    revision: Option<&'a str>,
    summary: &'a Summary,
}

impl<'a> From<&'a ApplicationResult> for JsonApplication<'a> {
    fn from(application: &'a ApplicationResult) -> Self {
        Self {
            name: &application.name,
            revision: application.revision.as_deref(),
            summary: &application.summary,
        }
    }
}

/// A desired resource that could not be observed, shaped like a record's identity.
#[derive(Serialize)]
struct JsonNotObserved<'a> {
    resource_id: String,
    api_version: &'a str,
    kind: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
    application: &'a str,
    status: &'static str,
    reason: Unobserved,
    message: String,
}

impl<'a> From<&'a NotObserved> for JsonNotObserved<'a> {
    fn from(resource: &'a NotObserved) -> Self {
        Self {
            resource_id: resource.resource_id.to_string(),
            api_version: &resource.api_version,
            kind: resource.resource_id.kind(),
            namespace: resource.resource_id.namespace(),
            name: resource.resource_id.name(),
            application: &resource.application,
            status: "not_observed",
            reason: resource.reason,
            message: resource.explanation(),
        }
    }
}

/// Writes one JSON object to `out`: revision, summary, one summary per application,
/// one record per desired resource compared, and the desired resources not observed.
pub fn print_json(outcome: &AnalysisOutcome, out: &mut dyn Write) -> std::io::Result<()> {
    let report = JsonReport {
        revision: outcome.revision.as_deref(),
        summary: &outcome.summary,
        applications: outcome.applications.iter().map(Into::into).collect(),
        records: &outcome.records,
        not_observed: outcome.not_observed.iter().map(Into::into).collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}

/// Writes a unified diff per drifted or missing resource to `out`: Git (`---`) against
/// the cluster (`+++`).
pub fn print_diff(
    outcome: &AnalysisOutcome,
    desired_objects: &DesiredObjects,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    diff::write_unified(&outcome.records, &|id| desired_objects.get(id), out)
}

/// `text` with control characters escaped (`\n`, `\u{1b}`), so that a value or a name
/// from a manifest cannot break a row or send escape sequences to the terminal.
pub(crate) fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            escaped.extend(c.escape_debug());
        } else {
            escaped.push(c);
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("plain · text"), "plain · text");
        assert_eq!(printable("a\nFAKE ROW\u{1b}[2J"), "a\\nFAKE ROW\\u{1b}[2J");
    }
}
