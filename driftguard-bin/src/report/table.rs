//! The table `check` prints: one row per desired resource, one indented line per drifted
//! field (`PATH: GIT → CLUSTER`), a line diff under multi-line values, and a summary.

use std::io::Write;

use driftguard_core::analysis::{AnalysisOutcome, NotObserved};
use driftguard_core::{DriftDetail, DriftRecord, DriftType};
use serde_json::Value;

use super::diff::line_diff;
use super::printable;

/// The widest value shown on a drift line; longer ones are cut with `…`.
const MAX_VALUE_WIDTH: usize = 80;

/// What the table leaves out.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions {
    /// Leave in-sync rows out (`--only-drifted`); the summary still counts them.
    pub only_drifted: bool,
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

/// Who wrote the cluster's value, as a suffix of the drift line.
fn written_by(detail: &DriftDetail) -> String {
    match (detail.manager.as_deref(), detail.hand_edit, detail.unowned) {
        (Some(manager), true, _) => format!("  (edited by hand: {})", printable(manager)),
        (Some(manager), false, _) => format!("  (by {})", printable(manager)),
        (None, _, true) => "  (no field manager: written by admission)".to_owned(),
        (None, _, false) => String::new(),
    }
}

/// The multi-line text of a value, when it is a string of several lines.
fn multi_line(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .filter(|text| text.trim_end_matches('\n').contains('\n'))
}

/// The lines describing one drifted field: `path: GIT → CLUSTER  [type, severity]`, or,
/// for a multi-line string, `path:  [type, severity]` followed by a line diff.
fn detail_lines(detail: &DriftDetail) -> Vec<String> {
    if detail.drift_type == DriftType::Missing {
        return vec!["not found in the cluster".to_owned()];
    }
    let path = printable(&detail.path);
    let tag = format!(
        "[{}, {}]{}",
        detail.drift_type,
        detail.severity,
        written_by(detail)
    );
    let (desired, live) = (detail.desired.as_ref(), detail.live.as_ref());
    if multi_line(desired).is_some() || multi_line(live).is_some() {
        let text = |value: Option<&Value>| match value {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        let mut lines = vec![format!("{path}: (lines: - git, + cluster)  {tag}")];
        lines.extend(
            line_diff(&text(desired), &text(live))
                .into_iter()
                .map(|line| format!("    {line}")),
        );
        return lines;
    }
    vec![format!("{path}: {} → {}  {tag}", show(desired), show(live))]
}

/// One row of the table, and the lines under it.
struct Row {
    cells: Vec<String>,
    details: Vec<String>,
}

fn record_row(record: &DriftRecord, with_application: bool) -> Row {
    let types: Vec<&str> = record.drift_types.iter().map(|t| t.as_str()).collect();
    let mut cells = vec![printable(&record.resource_id.to_string())];
    if with_application {
        cells.push(printable(&record.application));
    }
    cells.extend([
        status(record).to_owned(),
        record.severity.map_or("-".to_owned(), |s| s.to_string()),
        if types.is_empty() {
            "-".to_owned()
        } else {
            types.join(", ")
        },
    ]);
    Row {
        cells,
        details: record.drifts.iter().flat_map(detail_lines).collect(),
    }
}

fn not_observed_row(resource: &NotObserved, with_application: bool) -> Row {
    let mut cells = vec![printable(&resource.resource_id.to_string())];
    if with_application {
        cells.push(printable(&resource.application));
    }
    cells.extend(["not observed".to_owned(), "-".to_owned(), "-".to_owned()]);
    Row {
        cells,
        details: vec![printable(&resource.explanation())],
    }
}

/// Writes a table to `out`: one row per resource (in-sync ones unless
/// `options.only_drifted`), one indented line per drifted field, and the summary.
pub fn print_table(
    outcome: &AnalysisOutcome,
    options: &TableOptions,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let with_application = outcome.applications.len() > 1;
    let mut rows: Vec<(String, Row)> = outcome
        .records
        .iter()
        .filter(|r| !options.only_drifted || r.drift_detected)
        .map(|r| (r.resource_id.to_string(), record_row(r, with_application)))
        .chain(outcome.not_observed.iter().map(|n| {
            (
                n.resource_id.to_string(),
                not_observed_row(n, with_application),
            )
        }))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut headers = vec!["RESOURCE"];
    if with_application {
        headers.push("APPLICATION");
    }
    headers.extend(["STATUS", "SEVERITY", "TYPES"]);
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for (_, row) in &rows {
        for (width, cell) in widths.iter_mut().zip(&row.cells) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 < cells.len() {
                text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            } else {
                text.push_str(cell);
            }
        }
        text.trim_end().to_owned()
    };
    writeln!(out, "{}", line(&headers))?;
    writeln!(
        out,
        "    FIELD: GIT → CLUSTER  [TYPE, SEVERITY]  (WHO WROTE THE CLUSTER VALUE)"
    )?;
    for (_, row) in &rows {
        let cells: Vec<&str> = row.cells.iter().map(String::as_str).collect();
        writeln!(out, "{}", line(&cells))?;
        for detail in &row.details {
            writeln!(out, "    {detail}")?;
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
            "; {} not observed (types or namespaces the live side did not read)",
            s.not_observed
        )?;
    }
    if options.only_drifted && s.in_sync > 0 {
        write!(out, "; in-sync rows hidden")?;
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
    fn values_are_escaped_and_cut() {
        assert_eq!(show(Some(&Value::String("x\ry".to_owned()))), "x\\ry");
        let long = "a".repeat(200);
        assert_eq!(show(Some(&Value::String(long))).chars().count(), 80);
    }

    fn detail(manager: Option<&str>, hand_edit: bool, unowned: bool) -> DriftDetail {
        DriftDetail {
            path: "spec.paused".to_owned(),
            drift_type: DriftType::Other,
            severity: driftguard_core::Severity::Medium,
            desired: None,
            live: Some(Value::Bool(true)),
            manager: manager.map(str::to_owned),
            hand_edit,
            unowned,
        }
    }

    #[test]
    fn each_drift_says_who_wrote_the_live_value() {
        let line = |manager, hand_edit, unowned| {
            detail_lines(&detail(manager, hand_edit, unowned)).join("\n")
        };
        assert!(
            line(Some("kubectl-edit"), true, false).ends_with("(edited by hand: kubectl-edit)")
        );
        assert!(line(Some("helm"), false, false).ends_with("(by helm)"));
        assert!(line(None, false, true).ends_with("(no field manager: written by admission)"));
        assert_eq!(
            line(None, false, false),
            "spec.paused: (absent) → true  [Other, Medium]"
        );
    }

    #[test]
    fn multi_line_values_are_shown_as_line_diffs() {
        let mut change = detail(None, false, false);
        change.path = "data.nginx.conf".to_owned();
        change.desired = Some(Value::String("a\nworker 2\nc\n".to_owned()));
        change.live = Some(Value::String("a\nworker 8\nc\n".to_owned()));
        let lines = detail_lines(&change);
        assert_eq!(
            lines[0],
            "data.nginx.conf: (lines: - git, + cluster)  [Other, Medium]"
        );
        assert!(lines.contains(&"    - worker 2".to_owned()), "{lines:?}");
        assert!(lines.contains(&"    + worker 8".to_owned()), "{lines:?}");
        assert!(lines.contains(&"      a".to_owned()), "{lines:?}");
    }
}
