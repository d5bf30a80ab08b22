//! Printing a check's outcome as JSON or as a table.

use std::io::Write;

use driftguard_core::analysis::{AnalysisOutcome, Summary};
use driftguard_core::{DriftDetail, DriftRecord, DriftType};
use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
struct JsonReport<'a> {
    revision: Option<&'a str>,
    summary: &'a Summary,
    records: &'a [DriftRecord],
}

/// Writes one JSON object to `out`: revision, summary and one record per desired
/// resource.
pub fn print_json(outcome: &AnalysisOutcome, out: &mut dyn Write) -> std::io::Result<()> {
    let report = JsonReport {
        revision: outcome.revision.as_deref(),
        summary: &outcome.summary,
        records: &outcome.records,
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}

const MAX_VALUE_WIDTH: usize = 80;

/// `text` with control characters escaped (`\n`, `\u{1b}`), so that a value or a name
/// from a manifest cannot break a row or send escape sequences to the terminal.
fn printable(text: &str) -> String {
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

fn show(value: Option<&Value>) -> String {
    let text = match value {
        None => return "(absent)".to_owned(),
        Some(Value::String(s)) => printable(s),
        Some(other) => other.to_string(),
    };
    if text.chars().count() > MAX_VALUE_WIDTH {
        let cut: String = text.chars().take(MAX_VALUE_WIDTH - 1).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn status(record: &DriftRecord) -> &'static str {
    if record.drift_types.contains(&DriftType::Missing) {
        "missing"
    } else if record.drift_detected {
        "drifted"
    } else {
        "in sync"
    }
}

fn detail_line(detail: &DriftDetail) -> String {
    if detail.drift_type == DriftType::Missing {
        return "not found in the live state".to_owned();
    }
    let by = match (detail.manager.as_deref(), detail.hand_edit, detail.unowned) {
        (Some(manager), true, _) => format!("  (edited by hand: {})", printable(manager)),
        (Some(manager), false, _) => format!("  (by {})", printable(manager)),
        (None, _, true) => "  (no field manager: written by admission)".to_owned(),
        (None, _, false) => String::new(),
    };
    format!(
        "{}: {} → {}  [{}, {}]{by}",
        printable(&detail.path.to_string()),
        show(detail.desired.as_ref()),
        show(detail.live.as_ref()),
        detail.drift_type,
        detail.severity
    )
}

/// Writes a table to `out`: one row per resource, one indented line per drifted field.
pub fn print_table(outcome: &AnalysisOutcome, out: &mut dyn Write) -> std::io::Result<()> {
    let rows: Vec<[String; 4]> = outcome
        .records
        .iter()
        .map(|r| {
            let types: Vec<&str> = r.drift_types.iter().map(|t| t.as_str()).collect();
            [
                printable(&r.resource_id.to_string()),
                status(r).to_owned(),
                r.severity.map_or("-".to_owned(), |s| s.to_string()),
                if types.is_empty() {
                    "-".to_owned()
                } else {
                    types.join(", ")
                },
            ]
        })
        .collect();
    let headers = ["RESOURCE", "STATUS", "SEVERITY", "TYPES"];
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 4]| {
        format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )
    };
    writeln!(out, "{}", line(headers))?;
    for (row, record) in rows.iter().zip(&outcome.records) {
        writeln!(
            out,
            "{}",
            line([&row[0], &row[1], &row[2], &row[3]]).trim_end()
        )?;
        for detail in &record.drifts {
            writeln!(out, "    {}", detail_line(detail))?;
        }
    }
    let s = &outcome.summary;
    writeln!(out)?;
    write!(
        out,
        "{} resources: {} in sync, {} drifted, {} missing",
        s.resources, s.in_sync, s.drifted, s.missing
    )?;
    if s.not_observed > 0 {
        write!(
            out,
            "; {} not observed (types or namespaces the live source does not read)",
            s.not_observed
        )?;
    }
    if let Some(revision) = &outcome.revision {
        write!(out, " (revision {})", printable(revision))?;
    }
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_in_the_table() {
        assert_eq!(printable("plain · text"), "plain · text");
        assert_eq!(printable("a\nFAKE ROW\u{1b}[2J"), "a\\nFAKE ROW\\u{1b}[2J");
        assert_eq!(show(Some(&Value::String("x\ry".to_owned()))), "x\\ry");
    }

    #[test]
    fn each_drift_says_who_wrote_the_live_value() {
        let detail = |manager: Option<&str>, hand_edit: bool, unowned: bool| DriftDetail {
            path: "spec.paused".to_owned(),
            drift_type: DriftType::Other,
            severity: driftguard_core::Severity::Medium,
            desired: None,
            live: Some(Value::Bool(true)),
            manager: manager.map(str::to_owned),
            hand_edit,
            unowned,
        };
        let line = |manager, hand_edit, unowned| detail_line(&detail(manager, hand_edit, unowned));
        assert!(
            line(Some("kubectl-edit"), true, false).ends_with("(edited by hand: kubectl-edit)")
        );
        assert!(line(Some("helm"), false, false).ends_with("(by helm)"));
        assert!(line(None, false, true).ends_with("(no field manager: written by admission)"));
        assert!(
            line(None, false, false).ends_with("Medium]"),
            "{}",
            line(None, false, false)
        );
    }
}
