//! `driftguard check --output json` over every case in `tests/fixtures/` and over the
//! bundled example, compared with a golden copy of its output: the exit code and the
//! whole report, every record with its hashes, drifts, values and field order, byte for
//! byte, timestamps aside.
//!
//! `fixtures.rs` checks what each case is about (drift types, severity, managers, no
//! Secret plaintext); this test checks that nothing else moves either. It guards changes
//! meant to leave the output alone, such as performance work on parsing, normalising,
//! comparing or hashing: any byte of any record that differs from the golden fails it.
//!
//! # Layout
//!
//! The golden for `tests/fixtures/<outcome>/<topic>/<name>/` is
//! `tests/golden/check-json/<outcome>/<topic>/<name>.json`; the bundled example's
//! (`--desired examples/desired --live-dir examples/live`, with the `args` of
//! `examples/expected.json`) is `tests/golden/check-json/bundled-example.json`. Each holds
//! `{"exit_code": N, "stdout": REPORT}`, where `REPORT` is the JSON `check` printed, with
//! its fields in the order printed, or `null` when it printed nothing (the `error/` cases).
//!
//! A case runs the binary as `fixtures.rs` does: `driftguard check --desired <case>/desired
//! --live-dir <case>/live <args…> --output json`, with `DRIFTGUARD_FINGERPRINT_KEY` set to a
//! fixed key so that Secret fingerprints, and the hashes of Secrets, are the same on every
//! run, and without any other `DRIFTGUARD…` variable or `KUBECONFIG` of the caller's.
//!
//! # What is normalised
//!
//! Only what varies from run to run: every string that parses as an RFC 3339 timestamp
//! (`first_detected`, `last_detected`, `last_checked`, …: the time of the run) becomes
//! `"<time>"`. The `desired` and `live` values of drifts are copied from the manifests and
//! left alone (a `kubectl.kubernetes.io/restartedAt` annotation is the fixture's, not the
//! clock's). Nothing else varies between two runs of the same binary; hashes, numbers as
//! written, string escapes, the order of records, drifts and fields are all compared as
//! printed. The report must also be laid out as the goldens are (`serde_json`'s pretty
//! printing, ending with a newline), so a golden with its timestamps put back is exactly
//! what `check` printed.
//!
//! # Running
//!
//! ```sh
//! cargo test -p driftguard-bin --test check_output_golden
//! ```
//!
//! The cases run on a few threads and take a few seconds. A failure lists every case that
//! differs with the first differing JSON path and both values (a record is named by its
//! `resource_id`), and writes each such case's actual output, as a golden would hold it,
//! under `target/tmp/check-json-actual/` for a closer look (`diff` it with the golden). A
//! case without a golden, and a golden without a case, are failures too.
//!
//! # Blessing
//!
//! After a change meant to alter the output (a new field, a fixed drift, a new case),
//! rewrite the goldens and review them before committing:
//!
//! ```sh
//! DRIFTGUARD_BLESS=1 cargo test -p driftguard-bin --test check_output_golden
//! git diff --stat tests/golden/check-json
//! ```
//!
//! Blessing writes the golden of every case from the workspace's binary and removes the
//! goldens of cases that are gone. `DRIFTGUARD_GOLDEN_BINARY=/path/to/driftguard`, honoured
//! only when blessing, writes them from another build instead: to record the output of
//! the code before a change (a release build of the base commit) while the workspace
//! already holds the change.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use driftguard_test_support::fixtures::{case_dirs, case_name};
use driftguard_test_support::python::workspace_root;

/// The key material for Secret fingerprints, the same on every run.
const FINGERPRINT_KEY: &str = "golden-output";
/// What a timestamp becomes.
const TIME: &str = "<time>";
/// Set to `1` to write the goldens instead of comparing with them.
const BLESS: &str = "DRIFTGUARD_BLESS";
/// When blessing, the binary to take the goldens from (the workspace's by default).
const GOLDEN_BINARY: &str = "DRIFTGUARD_GOLDEN_BINARY";
/// The longest value shown in a failure.
const SHOWN: usize = 160;

#[test]
fn check_json_output_matches_the_goldens() {
    let bless = std::env::var(BLESS).is_ok_and(|v| v == "1");
    let binary = match std::env::var_os(GOLDEN_BINARY) {
        Some(path) => {
            assert!(
                bless,
                "{GOLDEN_BINARY} is only honoured with {BLESS}=1: the test compares the workspace's binary"
            );
            PathBuf::from(path)
        }
        None => PathBuf::from(env!("CARGO_BIN_EXE_driftguard")),
    };
    let root = workspace_root();
    let goldens = root.join("tests/golden/check-json");
    let actual_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("check-json-actual");
    match std::fs::remove_dir_all(&actual_dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            panic!("cannot clear {}: {e}", actual_dir.display())
        }
        _ => {}
    }

    let cases = cases(&root);
    let outcomes = run_all(&cases, &binary, &goldens, bless);

    let mut differing = Vec::new();
    let mut missing = Vec::new();
    let mut broken = Vec::new();
    let mut written = 0;
    for (case, outcome) in cases.iter().zip(outcomes) {
        match outcome {
            Outcome::Same => {}
            Outcome::Blessed { changed } => written += usize::from(changed),
            Outcome::Broken(why) => broken.push(format!("  {}: {why}", case.name)),
            Outcome::Missing(actual) => {
                save_actual(&actual_dir, case, &actual);
                missing.push(format!("  {}", case.name));
            }
            Outcome::Differs(difference, actual) => {
                save_actual(&actual_dir, case, &actual);
                differing.push(format!("  {}: {difference}", case.name));
            }
        }
    }
    let stale = stale_goldens(&goldens, &cases);
    if bless {
        for path in &stale {
            std::fs::remove_file(path)
                .unwrap_or_else(|e| panic!("cannot remove {}: {e}", path.display()));
        }
        eprintln!(
            "blessed {} goldens from {}: {written} rewritten, {} removed",
            cases.len(),
            binary.display(),
            stale.len()
        );
    }

    let mut report = Vec::new();
    if !broken.is_empty() {
        report.push(format!(
            "{} cases printed something other than a JSON report:\n{}",
            broken.len(),
            broken.join("\n")
        ));
    }
    if !differing.is_empty() {
        report.push(format!(
            "{} of {} cases differ from their goldens (first difference of each):\n{}",
            differing.len(),
            cases.len(),
            differing.join("\n")
        ));
    }
    if !missing.is_empty() {
        report.push(format!(
            "{} cases have no golden in {}:\n{}",
            missing.len(),
            goldens.display(),
            missing.join("\n")
        ));
    }
    if !stale.is_empty() && !bless {
        let names: Vec<String> = stale.iter().map(|p| format!("  {}", p.display())).collect();
        report.push(format!(
            "{} goldens belong to no case:\n{}",
            stale.len(),
            names.join("\n")
        ));
    }
    if !differing.is_empty() || !missing.is_empty() {
        report.push(format!(
            "actual outputs: {}\nif the change is intended: {BLESS}=1 cargo test -p driftguard-bin --test check_output_golden, then review git diff tests/golden/check-json",
            actual_dir.display()
        ));
    }
    assert!(report.is_empty(), "{}", report.join("\n\n"));
}

/// A case: where its `desired/` and `live/` are, its extra arguments and its name.
struct Case {
    /// `drift/scaling/kubectl-scale`, or `bundled-example`.
    name: String,
    dir: PathBuf,
    args: Vec<String>,
}

/// Every folder under `tests/fixtures` holding a `case.json`, sorted, then the bundled
/// example.
fn cases(root: &Path) -> Vec<Case> {
    let fixtures = root.join("tests/fixtures");
    let dirs = case_dirs(&fixtures);
    let mut cases: Vec<Case> = dirs
        .into_iter()
        .map(|dir| Case {
            name: case_name(&fixtures, &dir),
            args: case_args(&dir.join("case.json")),
            dir,
        })
        .collect();
    let examples = root.join("examples");
    cases.push(Case {
        name: "bundled-example".to_owned(),
        args: case_args(&examples.join("expected.json")),
        dir: examples,
    });
    cases
}

/// The `args` of a `case.json` (or of `examples/expected.json`).
fn case_args(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let case: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    case["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn golden_path(goldens: &Path, case: &Case) -> PathBuf {
    goldens.join(format!("{}.json", case.name))
}

/// Goldens under `goldens` that no case writes.
fn stale_goldens(goldens: &Path, cases: &[Case]) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("a readable folder entry").path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "json") {
                found.push(path);
            }
        }
    }
    let expected: std::collections::BTreeSet<PathBuf> =
        cases.iter().map(|c| golden_path(goldens, c)).collect();
    let mut found = Vec::new();
    walk(goldens, &mut found);
    found.retain(|path| !expected.contains(path));
    found.sort();
    found
}

/// What became of one case.
enum Outcome {
    /// Its output is the golden's.
    Same,
    /// Blessing wrote its golden; `changed` when the file was new or different.
    Blessed { changed: bool },
    /// It has no golden; holds the actual golden text.
    Missing(String),
    /// It differs from the golden: the first difference, and the actual golden text.
    Differs(String, String),
    /// Its output cannot be compared (stdout is not a JSON report, the golden is damaged).
    Broken(String),
}

/// Runs every case on a few threads; the outcomes in the order of `cases`.
fn run_all(cases: &[Case], binary: &Path, goldens: &Path, bless: bool) -> Vec<Outcome> {
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get().clamp(2, 8));
    let next = AtomicUsize::new(0);
    let mut outcomes: Vec<(usize, Outcome)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(case) = cases.get(index) else {
                            return done;
                        };
                        done.push((index, run_case(case, binary, goldens, bless)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a case runner does not panic"))
            .collect()
    });
    outcomes.sort_by_key(|(index, _)| *index);
    assert_eq!(outcomes.len(), cases.len());
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

fn run_case(case: &Case, binary: &Path, goldens: &Path, bless: bool) -> Outcome {
    let mut command = Command::new(binary);
    command
        .arg("check")
        .arg("--desired")
        .arg(case.dir.join("desired"))
        .arg("--live-dir")
        .arg(case.dir.join("live"))
        .args(&case.args)
        .args(["--output", "json"]);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("DRIFTGUARD") {
            command.env_remove(name);
        }
    }
    let output = command
        .env_remove("KUBECONFIG")
        .env("DRIFTGUARD_FINGERPRINT_KEY", FINGERPRINT_KEY)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    let code = output.status.code().unwrap_or(-1);
    let stdout = match String::from_utf8(output.stdout) {
        Ok(text) => text,
        Err(e) => return Outcome::Broken(format!("stdout is not UTF-8: {e}")),
    };
    let report = if stdout.is_empty() {
        Json::Null
    } else {
        let mut report = match Json::parse(&stdout) {
            Ok(report) => report,
            Err(e) => {
                return Outcome::Broken(format!(
                    "exit code {code}; stdout is not JSON ({e}): {}",
                    shorten(&stdout)
                ));
            }
        };
        let relaid = format!("{}\n", report.pretty());
        if relaid != stdout {
            return Outcome::Broken(format!(
                "exit code {code}; stdout is not laid out as pretty-printed JSON ending with a newline: {}",
                first_line_difference(&relaid, &stdout)
            ));
        }
        report.normalise();
        report
    };
    let actual = Json::Object(vec![
        ("exit_code".to_owned(), Json::Number(code.to_string())),
        ("stdout".to_owned(), report),
    ]);
    let actual_text = format!("{}\n", actual.pretty());

    let path = golden_path(goldens, case);
    let golden_text = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    };
    if bless {
        let changed = golden_text.as_deref() != Some(actual_text.as_str());
        if changed {
            let parent = path.parent().expect("a golden lies in a folder");
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
            std::fs::write(&path, &actual_text)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        }
        return Outcome::Blessed { changed };
    }
    let Some(golden_text) = golden_text else {
        return Outcome::Missing(actual_text);
    };
    if golden_text == actual_text {
        return Outcome::Same;
    }
    let golden = match Json::parse(&golden_text) {
        Ok(golden) => golden,
        Err(e) => return Outcome::Broken(format!("{} is not JSON: {e}", path.display())),
    };
    let difference = match golden.first_difference(&actual, "") {
        Some(difference) => difference,
        // Same values, laid out differently: the golden was edited by hand.
        None => format!(
            "{} is not laid out as the test writes goldens: {}",
            path.display(),
            first_line_difference(&golden_text, &actual_text)
        ),
    };
    Outcome::Differs(difference, actual_text)
}

fn save_actual(dir: &Path, case: &Case, text: &str) {
    let path = golden_path(dir, case);
    let parent = path.parent().expect("an output lies in a folder");
    std::fs::create_dir_all(parent)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// The first line where `expected` and `actual` differ, both shown.
fn first_line_difference(expected: &str, actual: &str) -> String {
    let mut expected_lines = expected.split('\n');
    let mut actual_lines = actual.split('\n');
    let mut number = 1;
    loop {
        match (expected_lines.next(), actual_lines.next()) {
            (Some(e), Some(a)) if e == a => number += 1,
            (e, a) => {
                return format!(
                    "line {number}: expected {}, found {}",
                    e.map_or("(end)".to_owned(), |l| format!("`{}`", shorten(l))),
                    a.map_or("(end)".to_owned(), |l| format!("`{}`", shorten(l)))
                );
            }
        }
    }
}

/// `text`, cut to [`SHOWN`] characters.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(SHOWN) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// JSON as printed: objects keep their fields in order, and numbers and strings keep
/// their text (strings as escaped, without the quotes), so that printing a parsed report
/// again gives back its bytes. (`serde_json::Value` sorts fields and rewrites numbers.)
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn parse(text: &str) -> Result<Json, String> {
        let mut parser = Parser {
            bytes: text.as_bytes(),
            at: 0,
        };
        let value = parser.value()?;
        parser.skip_whitespace();
        if parser.at != parser.bytes.len() {
            return Err(format!("trailing characters at byte {}", parser.at));
        }
        Ok(value)
    }

    /// Printed as `serde_json::to_string_pretty` prints (two spaces an indent), without a
    /// final newline.
    fn pretty(&self) -> String {
        let mut out = String::new();
        self.write_pretty(0, &mut out);
        out
    }

    fn write_pretty(&self, depth: usize, out: &mut String) {
        let indent = |out: &mut String, depth: usize| {
            for _ in 0..depth {
                out.push_str("  ");
            }
        };
        match self {
            Json::Array(items) if !items.is_empty() => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(",\n");
                    }
                    indent(out, depth + 1);
                    item.write_pretty(depth + 1, out);
                }
                out.push('\n');
                indent(out, depth);
                out.push(']');
            }
            Json::Object(fields) if !fields.is_empty() => {
                out.push_str("{\n");
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(",\n");
                    }
                    indent(out, depth + 1);
                    out.push('"');
                    out.push_str(key);
                    out.push_str("\": ");
                    value.write_pretty(depth + 1, out);
                }
                out.push('\n');
                indent(out, depth);
                out.push('}');
            }
            scalar_or_empty => scalar_or_empty.write_compact(out),
        }
    }

    fn compact(&self) -> String {
        let mut out = String::new();
        self.write_compact(&mut out);
        out
    }

    fn write_compact(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(n),
            Json::String(s) => {
                out.push('"');
                out.push_str(s);
                out.push('"');
            }
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_compact(out);
                }
                out.push(']');
            }
            Json::Object(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    out.push_str(key);
                    out.push_str("\":");
                    value.write_compact(out);
                }
                out.push('}');
            }
        }
    }

    fn field(&self, name: &str) -> Option<&Json> {
        match self {
            Json::Object(fields) => fields.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Replaces every timestamp, the time of the run, with [`TIME`]; the `desired` and
    /// `live` values of drifts, copied from the manifests, stay as they are.
    fn normalise(&mut self) {
        match self {
            Json::String(text) if is_timestamp(text) => *text = TIME.to_owned(),
            Json::Array(items) => items.iter_mut().for_each(Json::normalise),
            Json::Object(fields) => {
                for (key, value) in fields {
                    match value {
                        Json::Array(drifts) if key == "drifts" => {
                            drifts.iter_mut().for_each(Json::normalise_drift);
                        }
                        value => value.normalise(),
                    }
                }
            }
            _ => {}
        }
    }

    fn normalise_drift(&mut self) {
        match self {
            Json::Object(fields) => {
                for (key, value) in fields {
                    if key != "desired" && key != "live" {
                        value.normalise();
                    }
                }
            }
            other => other.normalise(),
        }
    }

    /// Where `actual` first differs from `self` (the golden), in the golden's order, with
    /// both values; `None` when they are equal. `path` is where both lie.
    fn first_difference(&self, actual: &Json, path: &str) -> Option<String> {
        let show = |golden: Option<&Json>, actual: Option<&Json>, path: &str| {
            let shown =
                |v: Option<&Json>| v.map_or("(absent)".to_owned(), |v| shorten(&v.compact()));
            Some(format!(
                "{}: golden {}, actual {}",
                path.trim_start_matches('.'),
                shown(golden),
                shown(actual)
            ))
        };
        match (self, actual) {
            (Json::Array(golden), Json::Array(actual)) => {
                for (i, (g, a)) in golden.iter().zip(actual).enumerate() {
                    let here = match g.field("resource_id") {
                        Some(Json::String(id)) => format!("{path}[{i}]({id})"),
                        _ => format!("{path}[{i}]"),
                    };
                    if let Some(found) = g.first_difference(a, &here) {
                        return Some(found);
                    }
                }
                let i = golden.len().min(actual.len());
                if golden.len() != actual.len() {
                    return show(golden.get(i), actual.get(i), &format!("{path}[{i}]"));
                }
                None
            }
            (Json::Object(golden), Json::Object(actual)) => {
                for (key, g) in golden {
                    let here = format!("{path}.{key}");
                    match actual.iter().find(|(k, _)| k == key) {
                        Some((_, a)) => {
                            if let Some(found) = g.first_difference(a, &here) {
                                return Some(found);
                            }
                        }
                        None => return show(Some(g), None, &here),
                    }
                }
                if let Some((key, a)) = actual
                    .iter()
                    .find(|(k, _)| !golden.iter().any(|(g, _)| g == k))
                {
                    return show(None, Some(a), &format!("{path}.{key}"));
                }
                // The same fields with the same values: only their order (or a repeated
                // field) differs.
                let field = |fields: &[(String, Json)], i: usize| {
                    fields
                        .get(i)
                        .map_or("(none)".to_owned(), |(k, _)| format!("`{k}`"))
                };
                let i = (0..golden.len().max(actual.len()))
                    .find(|&i| golden.get(i).map(|(k, _)| k) != actual.get(i).map(|(k, _)| k))?;
                Some(format!(
                    "{}: fields in another order: field {} is {} in the golden, {} in the actual output",
                    if path.is_empty() {
                        "(top)"
                    } else {
                        path.trim_start_matches('.')
                    },
                    i + 1,
                    field(golden, i),
                    field(actual, i)
                ))
            }
            (golden, actual) if golden == actual => None,
            (golden, actual) => show(Some(golden), Some(actual), path),
        }
    }
}

/// Whether a string's (escaped) text is an RFC 3339 timestamp.
fn is_timestamp(text: &str) -> bool {
    !text.contains('\\') && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn skip_whitespace(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        self.skip_whitespace();
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(format!("expected `{}` at byte {}", byte as char, self.at))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.skip_whitespace();
        let Some(&first) = self.bytes.get(self.at) else {
            return Err("unexpected end".to_owned());
        };
        match first {
            b'{' => {
                self.at += 1;
                let mut fields = Vec::new();
                self.skip_whitespace();
                if self.bytes.get(self.at) == Some(&b'}') {
                    self.at += 1;
                    return Ok(Json::Object(fields));
                }
                loop {
                    self.skip_whitespace();
                    let key = self.string()?;
                    self.expect(b':')?;
                    fields.push((key, self.value()?));
                    self.skip_whitespace();
                    match self.bytes.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(Json::Object(fields));
                        }
                        _ => return Err(format!("expected `,` or `}}` at byte {}", self.at)),
                    }
                }
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                self.skip_whitespace();
                if self.bytes.get(self.at) == Some(&b']') {
                    self.at += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value()?);
                    self.skip_whitespace();
                    match self.bytes.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(format!("expected `,` or `]` at byte {}", self.at)),
                    }
                }
            }
            b'"' => Ok(Json::String(self.string()?)),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'n' => self.literal("null", Json::Null),
            b'-' | b'0'..=b'9' => {
                let start = self.at;
                while self
                    .bytes
                    .get(self.at)
                    .is_some_and(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                {
                    self.at += 1;
                }
                let number = self.text(start, self.at)?;
                serde_json::from_str::<serde_json::Number>(&number)
                    .map_err(|e| format!("bad number `{number}` at byte {start}: {e}"))?;
                Ok(Json::Number(number))
            }
            other => Err(format!(
                "unexpected `{}` at byte {}",
                other as char, self.at
            )),
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, String> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(format!("unexpected word at byte {}", self.at))
        }
    }

    /// A string's text as escaped, without the quotes.
    fn string(&mut self) -> Result<String, String> {
        let start = self.at;
        if self.bytes.get(self.at) != Some(&b'"') {
            return Err(format!("expected a string at byte {start}"));
        }
        self.at += 1;
        loop {
            match self.bytes.get(self.at) {
                None => return Err(format!("unterminated string from byte {start}")),
                Some(b'"') => break,
                Some(b'\\') => self.at += 2,
                Some(_) => self.at += 1,
            }
        }
        self.at += 1;
        // Checks the escapes, which are kept as written.
        let quoted = self.text(start, self.at)?;
        serde_json::from_str::<String>(&quoted)
            .map_err(|e| format!("bad string at byte {start}: {e}"))?;
        Ok(quoted[1..quoted.len() - 1].to_owned())
    }

    fn text(&self, start: usize, end: usize) -> Result<String, String> {
        std::str::from_utf8(&self.bytes[start..end])
            .map(str::to_owned)
            .map_err(|e| format!("not UTF-8 at byte {start}: {e}"))
    }
}
