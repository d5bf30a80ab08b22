//! `driftguard check` over every case in `tests/fixtures/` and over the bundled example,
//! checking what a user sees: the exit code, one record per desired resource with the
//! right drift types and severity (and, where a case lists them, the field managers named
//! as hand editors), and no Secret plaintext, nor its base64, anywhere in the output.
//!
//! # Layout
//!
//! A case is a folder `tests/fixtures/<outcome>/<topic>/<name>/`:
//!
//! - `<outcome>` is what `check` must conclude: `sync` (exit code 0, nothing drifted),
//!   `drift` (exit code 1) or `error` (exit code 2: nothing on stdout, one line on stderr
//!   that says why);
//! - `<topic>` is what the case is about: a kind of change (`scaling`, `image`, `env-args`,
//!   `secrets`, …), a kind of object (`services`, `hpa`, `jobs-cronjobs`, …) or a way the
//!   input is written (`yaml-input`, `dumps`, `helm-charts`, `three-way`, …);
//! - `<name>` says what happens in it. A name ending in `-no-mf` marks a case whose live
//!   dump carries no `managedFields` (plain `kubectl get`), often the twin of the case
//!   named without the suffix.
//!
//! Each case holds `desired/` (the manifests, `--desired`), `live/` (the cluster's objects
//! as `kubectl get -o yaml|json` dumps, `--live-dir`) and `case.json`: a `description`,
//! extra command-line `args`, the `exit_code`, the expected `records` by resource id
//! (`drift_detected`, `drift_types`, and optionally `severity` and `managers`: the
//! hand-edit tools the drifts name), the
//! `secret_plaintexts` that must never be printed, and optional `tags`.
//!
//! # Running
//!
//! This is a `libtest-mimic` harness: one test per case, named by its folder relative to
//! `tests/fixtures`, so that a filter selects an outcome, a topic or one case:
//!
//! ```sh
//! cargo test -p driftguard-bin --test fixtures -- drift/scaling
//! cargo test -p driftguard-bin --test fixtures -- --exact sync/secrets/stringdata
//! ```
//!
//! A case runs in-process: its arguments are parsed as the binary parses them and
//! [`check::run_to`] writes the report, warnings and error to buffers, with the command's
//! logs captured by a subscriber scoped to the run (no global one is installed). Both
//! output formats are checked (JSON for the records, the table for what it shows).
//! `bundled-example` checks `examples/` against `examples/expected.json`. The `cli/…`
//! tests start the real binary on a few cases, check its output the same way, and check
//! that its table and stderr are those of the in-process run (Secret fingerprints and log
//! timestamps aside).

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex, PoisonError};

use clap::Parser as _;
use driftguard_bin::check;
use driftguard_bin::cli::{Cli, Command as CliCommand};
use driftguard_bin::logging;
use driftguard_test_support::fixtures::{case_dirs, case_name};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

/// Cases the `cli/…` tests run through the binary: in sync, with logged warnings,
/// drifted, both kinds of error, a namespace filter, Secrets with `-vv` logs, and
/// `--allow-empty`.
const CLI_CASES: &[&str] = &[
    "sync/defaults/full-app",
    "sync/yaml-input/anchors-and-merge-keys",
    "drift/multi-change/every-type-one-deployment",
    "drift/namespaces/filter-one-namespace",
    "drift/secrets/value-changed-verbose-logs",
    "sync/helm-charts/hooks-deleted",
    "error/yaml-input/invalid-yaml",
    "error/dumps/live-dir-missing",
];

fn main() -> ExitCode {
    let arguments = Arguments::from_args();
    let fixtures = repo_root().join("tests/fixtures");
    let mut trials: Vec<Trial> = case_dirs(&fixtures)
        .into_iter()
        .map(|dir| {
            let name = case_name(&fixtures, &dir);
            Trial::test(name, move || in_process_case(&dir))
        })
        .collect();
    trials.push(Trial::test("bundled-example", || {
        let examples = repo_root().join("examples");
        let case = load(&examples.join("expected.json"))?;
        outcome(verify_case(
            &case,
            &check_in_process(&examples, &case, "json"),
            &check_in_process(&examples, &case, "table"),
        ))
    }));
    for case in CLI_CASES {
        let dir = fixtures.join(case);
        trials.push(Trial::test(format!("cli/{case}"), move || cli_case(&dir)));
    }
    libtest_mimic::run(&arguments, trials).exit_code()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the workspace")
        .to_owned()
}

fn load(path: &Path) -> Result<Value, Failed> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()).into())
}

fn outcome(problems: Vec<String>) -> Result<(), Failed> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{} problems:\n{}", problems.len(), problems.join("\n")).into())
    }
}

fn in_process_case(dir: &Path) -> Result<(), Failed> {
    let case = load(&dir.join("case.json"))?;
    outcome(verify_case(
        &case,
        &check_in_process(dir, &case, "json"),
        &check_in_process(dir, &case, "table"),
    ))
}

/// Runs the binary on a case, checks its output as for an in-process run, and checks
/// that its table and stderr are the in-process run's (fingerprints and log timestamps
/// aside).
fn cli_case(dir: &Path) -> Result<(), Failed> {
    let case = load(&dir.join("case.json"))?;
    let json = check_binary(dir, &case, "json");
    let table = check_binary(dir, &case, "table");
    let mut problems = verify_case(&case, &json, &table);
    let in_process = check_in_process(dir, &case, "table");
    if in_process.code != table.code {
        problems.push(format!(
            "exit code {} in-process, {} from the binary",
            in_process.code, table.code
        ));
    }
    if masked_fingerprints(&in_process.stdout) != masked_fingerprints(&table.stdout) {
        problems.push(format!(
            "the binary's table differs from the in-process one:\n{}\nin-process:\n{}",
            table.stdout, in_process.stdout
        ));
    }
    if without_timestamps(&in_process.stderr) != without_timestamps(&table.stderr) {
        problems.push(format!(
            "the binary's stderr differs from the in-process one:\n{}\nin-process:\n{}",
            table.stderr, in_process.stderr
        ));
    }
    outcome(problems)
}

/// What one run of `check` printed, and its exit code.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn case_args(case: &Value) -> Vec<String> {
    case["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The command line for a case, as the binary receives it (program name first).
fn command_line(dir: &Path, case: &Value, output: &str) -> Vec<OsString> {
    let mut line: Vec<OsString> = vec![
        "driftguard".into(),
        "check".into(),
        "--desired".into(),
        dir.join("desired").into(),
        "--live-dir".into(),
        dir.join("live").into(),
    ];
    line.extend(case_args(case).into_iter().map(OsString::from));
    line.extend(["--output".into(), output.into()]);
    line
}

fn check_binary(dir: &Path, case: &Value, output: &str) -> Run {
    let line = command_line(dir, case, output);
    let result = Command::new(env!("CARGO_BIN_EXE_driftguard"))
        .args(&line[1..])
        .output()
        .expect("driftguard runs");
    Run {
        code: result.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&result.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&result.stderr).into_owned(),
    }
}

/// Runs `check` in this process: arguments parsed by clap as the binary does, the report
/// in a buffer, warnings, the error and the logs (at the case's `-v` level) in another.
fn check_in_process(dir: &Path, case: &Value, output: &str) -> Run {
    let cli = match Cli::try_parse_from(command_line(dir, case, output)) {
        Ok(cli) => cli,
        Err(error) => {
            // What the binary does with arguments clap refuses.
            let text = error.render().to_string();
            let (stdout, stderr) = if error.use_stderr() {
                (String::new(), text)
            } else {
                (text, String::new())
            };
            return Run {
                code: error.exit_code(),
                stdout,
                stderr,
            };
        }
    };
    let CliCommand::Check(args) = &cli.command else {
        unreachable!("the command line names `check`");
    };
    let stderr = SharedBuffer::default();
    let mut stdout = Vec::new();
    let subscriber = logging::command_subscriber(cli.verbose, stderr.clone());
    let code = tracing::subscriber::with_default(subscriber, || {
        check::run_to(args, &mut stdout, &mut stderr.clone())
    });
    Run {
        code: i32::from(code),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: stderr.text(),
    }
}

/// A buffer that `check` (its warnings and error) and the log subscriber both write to,
/// in the order they write, as they would to stderr.
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for SharedBuffer {
    type Writer = SharedBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// `text` with each `fingerprint:<hex>` replaced by `fingerprint:*`: without
/// `DRIFTGUARD_FINGERPRINT_KEY`, every run fingerprints Secrets with a key of its own.
fn masked_fingerprints(text: &str) -> String {
    const MARK: &str = "fingerprint:";
    let mut masked = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(MARK) {
        masked.push_str(&rest[..at + MARK.len()]);
        masked.push('*');
        rest = rest[at + MARK.len()..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
    }
    masked.push_str(rest);
    masked
}

/// `text` without the timestamp that starts each log line.
fn without_timestamps(text: &str) -> String {
    text.lines()
        .map(|line| {
            let stamped = line.as_bytes().get(4) == Some(&b'-')
                && line.as_bytes().get(10) == Some(&b'T')
                && line
                    .split_once(' ')
                    .is_some_and(|(stamp, _)| stamp.ends_with('Z'));
            if stamped {
                line.split_once(' ').map_or(line, |(_, rest)| rest)
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
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

/// Checks the runs of one case in both output formats; returns the problems found.
fn verify_case(case: &Value, json_run: &Run, table_run: &Run) -> Vec<String> {
    let mut problems = Vec::new();
    let expected_code = case["exit_code"].as_i64().unwrap_or(-1) as i32;

    for (name, run) in [("json", json_run), ("table", table_run)] {
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
        for (name, run) in [("json", json_run), ("table", table_run)] {
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
            // The hand-edit tools named in the drifts, each once, sorted.
            let mut named: Vec<&str> = record["drifts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["hand_edit"] == Value::Bool(true))
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
