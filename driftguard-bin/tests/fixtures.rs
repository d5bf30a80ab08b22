//! Runs `driftguard check` over every case in `tests/fixtures/` (and the bundled example)
//! and checks what a user sees: exit code, one record per desired resource with the
//! right drift types and severity (and, where a case lists them, the field managers named
//! as hand editors), and no Secret plaintext anywhere in the output.
//!
//! A case is a folder `sync-*` (everything in sync), `drift-*` or `error-*` (exit code 2,
//! one line on stderr) holding `desired/`, `live/` and `case.json`: a description, extra
//! `args`, the `exit_code`, the expected `records` by resource id, and the
//! `secret_plaintexts` that must never be printed.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the workspace")
        .to_owned()
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn check(dir: &Path, args: &[String], output: &str) -> Run {
    let result = Command::new(env!("CARGO_BIN_EXE_driftguard"))
        .arg("check")
        .arg("--desired")
        .arg(dir.join("desired"))
        .arg("--live-dir")
        .arg(dir.join("live"))
        .args(args)
        .args(["--output", output])
        .output()
        .expect("driftguard runs");
    Run {
        code: result.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&result.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&result.stderr).into_owned(),
    }
}

fn base64(text: &str) -> String {
    use std::fmt::Write as _;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            let _ = out.write_char(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// Checks one case; returns the problems found.
fn verify_case(dir: &Path, case: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let args: Vec<String> = case["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let expected_code = case["exit_code"].as_i64().unwrap_or(-1) as i32;

    let json_run = check(dir, &args, "json");
    let table_run = check(dir, &args, "table");
    for (name, run) in [("json", &json_run), ("table", &table_run)] {
        if run.code != expected_code {
            problems.push(format!(
                "{name} output: exit code {} (expected {expected_code}); stderr: {}",
                run.code, run.stderr
            ));
        }
        for plaintext in case["secret_plaintexts"].as_array().into_iter().flatten() {
            let Some(plaintext) = plaintext.as_str() else {
                continue;
            };
            for form in [plaintext.to_owned(), base64(plaintext)] {
                if run.stdout.contains(&form) || run.stderr.contains(&form) {
                    problems.push(format!("{name} output shows a secret value ({form:?})"));
                }
            }
        }
    }

    if expected_code == 2 {
        // An error: nothing on stdout, one line on stderr that says why.
        for (name, run) in [("json", &json_run), ("table", &table_run)] {
            if !run.stdout.is_empty() {
                problems.push(format!("{name} output: stdout on error: {}", run.stdout));
            }
            if run.stderr.trim_end().lines().count() != 1 || !run.stderr.contains("error") {
                problems.push(format!("{name} output: not one error line: {}", run.stderr));
            }
        }
        return problems;
    }

    let report: Value = match serde_json::from_str(&json_run.stdout) {
        Ok(v) => v,
        Err(e) => {
            problems.push(format!("stdout is not JSON ({e}): {}", json_run.stdout));
            return problems;
        }
    };
    let records = report["records"].as_array().cloned().unwrap_or_default();
    let expected = case["records"].as_object().cloned().unwrap_or_default();
    let mut seen = std::collections::BTreeSet::new();
    for record in &records {
        let id = record["resource_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        seen.insert(id.clone());
        let Some(want) = expected.get(&id) else {
            problems.push(format!("unexpected record {id}"));
            continue;
        };
        if record["drift_detected"] != want["drift_detected"] {
            problems.push(format!(
                "{id}: drift_detected {} (expected {}); drifts: {}",
                record["drift_detected"], want["drift_detected"], record["drifts"]
            ));
        }
        if record["drift_types"] != want["drift_types"] {
            problems.push(format!(
                "{id}: drift_types {} (expected {}); drifts: {}",
                record["drift_types"], want["drift_types"], record["drifts"]
            ));
        }
        if let Some(severity) = want.get("severity")
            && &record["severity"] != severity
        {
            problems.push(format!(
                "{id}: severity {} (expected {severity})",
                record["severity"]
            ));
        }
        if let Some(managers) = want.get("managers") {
            // The hand editors named in the drifts, each once, sorted.
            let mut named: Vec<&str> = record["drifts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["manager"].as_str())
                .collect();
            named.sort_unstable();
            named.dedup();
            let named = Value::from(named);
            if &named != managers {
                problems.push(format!(
                    "{id}: drifts name managers {named} (expected {managers}); drifts: {}",
                    record["drifts"]
                ));
            }
        }
    }
    for id in expected.keys() {
        if !seen.contains(id) {
            problems.push(format!("no record for {id}"));
        }
    }
    let summary = &report["summary"];
    let drifted = records
        .iter()
        .filter(|r| r["drift_detected"] == Value::Bool(true))
        .count();
    if summary["resources"].as_u64() != Some(records.len() as u64) {
        problems.push(format!(
            "summary counts {} resources, {} records",
            summary["resources"],
            records.len()
        ));
    }
    let summed =
        summary["drifted"].as_u64().unwrap_or(0) + summary["missing"].as_u64().unwrap_or(0);
    if summed != drifted as u64 {
        problems.push(format!(
            "summary {summary} does not match {drifted} drifted records"
        ));
    }
    problems
}

fn case_dirs() -> Vec<PathBuf> {
    let fixtures = repo_root().join("tests/fixtures");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .expect("tests/fixtures exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn run_cases(filter: &str) {
    let mut failures = Vec::new();
    let dirs: Vec<PathBuf> = case_dirs()
        .into_iter()
        .filter(|d| {
            d.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(filter))
        })
        .collect();
    assert!(!dirs.is_empty(), "no {filter}* cases found");
    for dir in &dirs {
        let text = std::fs::read_to_string(dir.join("case.json")).expect("case.json is readable");
        let case: Value = serde_json::from_str(&text).expect("case.json is JSON");
        for problem in verify_case(dir, &case) {
            failures.push(format!("{}: {problem}", dir.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn in_sync_cases_report_no_drift() {
    run_cases("sync-");
}

#[test]
fn drift_cases_report_the_right_types_and_severities() {
    run_cases("drift-");
}

#[test]
fn error_cases_exit_2_with_a_reason() {
    run_cases("error-");
}

#[test]
fn bundled_example_matches_its_expectation() {
    let examples = repo_root().join("examples");
    let text =
        std::fs::read_to_string(examples.join("expected.json")).expect("examples/expected.json");
    let case: Value = serde_json::from_str(&text).expect("expected.json is JSON");
    let problems = verify_case(&examples, &case);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
