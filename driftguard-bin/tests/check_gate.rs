//! `driftguard check` as a CI gate: what it compares (`--config`, applications, the
//! environment), what it refuses to call in sync (not-observed resources, unknown types),
//! the switches CI users expect (`--fail-on`, `--desired -`, `--allow-unobserved`) and
//! the output people read (the table's legend, line diffs, `--only-drifted`, `-o diff`).
//! Each test runs the real binary and checks its exit code and what it printed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use driftguard_test_support::check::CheckRun;
use serde_json::Value;

/// The repository root: examples' paths are relative to it.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// `driftguard check ARGS` in the repository root, with no DriftGuard variables from the
/// caller's environment, plus `env`; `stdin` piped in when given.
fn run(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> CheckRun {
    let mut command = Command::new(env!("CARGO_BIN_EXE_driftguard"));
    command
        .arg("check")
        .args(args)
        .current_dir(root())
        .env_remove("KUBECONFIG")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars() {
        if name.starts_with("DRIFTGUARD") && name != "DRIFTGUARD_TEST_PYTHON" {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    let mut child = command.spawn().expect("driftguard starts");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    child.wait_with_output().expect("driftguard runs").into()
}

/// Asserts that the run's error line contains `part`.
fn error_names(run: &CheckRun, part: &str) {
    assert!(
        run.error().contains(part),
        "no `{part}` in: {}",
        run.error()
    );
}

fn json(args: &[&str]) -> CheckRun {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    run(&all, &[], None)
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels:
    team: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
";

const CONFIG_MAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop
data:
  nginx.conf: |
    worker_processes 2;
    events {}
    http {}
";

/// A live Deployment: `replicas` (desired: 2) and the `team` label (desired: `web`) as
/// given.
fn live_deployment(replicas: u32, team: &str) -> String {
    DEPLOYMENT
        .replace("replicas: 2", &format!("replicas: {replicas}"))
        .replace("team: web", &format!("team: {team}"))
}

/// A case folder: `desired/` holding `desired`, `live/` holding `live`.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(desired: &[&str], live: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (side, documents) in [("desired", desired), ("live", live)] {
            std::fs::create_dir_all(dir.path().join(side)).unwrap();
            std::fs::write(
                dir.path().join(side).join("objects.yaml"),
                documents.join("---\n"),
            )
            .unwrap();
        }
        Self { dir }
    }

    fn desired(&self) -> String {
        self.dir.path().join("desired").display().to_string()
    }

    fn live(&self) -> String {
        self.dir.path().join("live").display().to_string()
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

#[test]
fn a_partial_dump_gives_not_observed_not_missing_and_fails_the_gate() {
    // A dump of Deployments only (`kubectl get deployments -o yaml`): the ConfigMap was
    // never looked for.
    let case = Case::new(&[DEPLOYMENT, CONFIG_MAP], &[DEPLOYMENT]);
    let (desired, live) = (case.desired(), case.live());
    let partial = json(&["--desired", &desired, "--live-dir", &live]);
    assert_eq!(partial.code, 2, "stderr: {}", partial.stderr);
    assert!(
        partial
            .error()
            .contains("1 desired resource could not be observed"),
        "{}",
        partial.error()
    );
    error_names(&partial, "ConfigMap:shop:web-config");
    error_names(&partial, "--allow-unobserved");
    let report = partial.report();
    assert_eq!(report["summary"]["missing"], 0);
    assert_eq!(report["summary"]["not_observed"], 1);
    assert_eq!(partial.ids(), ["Deployment:shop:web"]);
    let unobserved = &report["not_observed"][0];
    assert_eq!(unobserved["resource_id"], "ConfigMap:shop:web-config");
    assert_eq!(unobserved["status"], "not_observed");
    assert_eq!(unobserved["reason"], "kind_not_in_dump");
    assert!(
        unobserved["message"]
            .as_str()
            .unwrap()
            .contains("holds no ConfigMap"),
        "{unobserved}"
    );

    // The table names it too, with why.
    let table = run(&["--desired", &desired, "--live-dir", &live], &[], None);
    assert_eq!(table.code, 2);
    let row = table
        .stdout
        .lines()
        .position(|l| l.starts_with("ConfigMap:shop:web-config") && l.contains("not observed"))
        .unwrap_or_else(|| panic!("no not-observed row:\n{}", table.stdout));
    assert!(
        table
            .stdout
            .lines()
            .nth(row + 1)
            .unwrap()
            .contains("holds no ConfigMap"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("1 not observed"), "{}", table.stdout);

    // Accepted: the gate decides on what was compared.
    let accepted = json(&[
        "--desired",
        &desired,
        "--live-dir",
        &live,
        "--allow-unobserved",
    ]);
    assert_eq!(accepted.code, 0, "stderr: {}", accepted.stderr);
    assert_eq!(
        accepted.report()["not_observed"][0]["reason"],
        "kind_not_in_dump"
    );

    // Declared coverage: the dump holds every ConfigMap, so this one is missing.
    let declared = json(&[
        "--desired",
        &desired,
        "--live-dir",
        &live,
        "--resource-type",
        "deployments",
        "--resource-type",
        "configmaps",
    ]);
    assert_eq!(declared.code, 1, "stderr: {}", declared.stderr);
    assert_eq!(
        declared.record("ConfigMap:shop:web-config")["drift_types"][0],
        "Missing"
    );
    assert_eq!(declared.report()["summary"]["not_observed"], 0);
}

#[test]
fn a_declared_type_that_names_nothing_is_an_error() {
    let case = Case::new(&[DEPLOYMENT], &[DEPLOYMENT]);
    let checked = json(&[
        "--desired",
        &case.desired(),
        "--live-dir",
        &case.live(),
        "--resource-type",
        "widgets",
    ]);
    assert_eq!(checked.code, 2, "stdout: {}", checked.stdout);
    error_names(&checked, "`widgets`");
    assert!(checked.stdout.is_empty());
}

#[test]
fn fail_on_sets_which_severities_fail() {
    // A label change (Low) and a replica change (Medium).
    let case = Case::new(&[DEPLOYMENT], &[&live_deployment(5, "ops")]);
    let (desired, live) = (case.desired(), case.live());
    let code = |fail_on: &str| {
        run(
            &[
                "--desired",
                &desired,
                "--live-dir",
                &live,
                "--fail-on",
                fail_on,
            ],
            &[],
            None,
        )
    };
    assert_eq!(code("Low").code, 1);
    assert_eq!(code("Medium").code, 1);
    let high = code("High");
    assert_eq!(high.code, 0, "stderr: {}", high.stderr);
    // Drift below the threshold is still printed.
    assert!(
        high.stdout.contains("spec.replicas: 2 → 5"),
        "{}",
        high.stdout
    );
    let labels_only = Case::new(&[DEPLOYMENT], &[&live_deployment(2, "ops")]);
    let medium = run(
        &[
            "--desired",
            &labels_only.desired(),
            "--live-dir",
            &labels_only.live(),
            "--fail-on",
            "Medium",
        ],
        &[],
        None,
    );
    assert_eq!(medium.code, 0, "{}", medium.stdout);
    let bad = code("Critical");
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--fail-on"), "{}", bad.stderr);
}

#[test]
fn manifests_on_stdin_are_compared_and_errors_name_the_line() {
    let case = Case::new(&[DEPLOYMENT], &[&live_deployment(5, "web")]);
    let live = case.live();
    let drifted = run(
        &["--desired", "-", "--live-dir", &live, "-o", "json"],
        &[],
        Some(&format!("# rendered\n---\n{DEPLOYMENT}")),
    );
    assert_eq!(drifted.code, 1, "stderr: {}", drifted.stderr);
    assert_eq!(
        drifted.record("Deployment:shop:web")["drift_types"][0],
        "Scaling"
    );

    let in_sync = Case::new(&[DEPLOYMENT], &[DEPLOYMENT]);
    let synced = run(
        &["--desired", "-", "--live-dir", &in_sync.live()],
        &[],
        Some(DEPLOYMENT),
    );
    assert_eq!(synced.code, 0, "stderr: {}", synced.stderr);

    let broken = run(
        &["--desired", "-", "--live-dir", &live],
        &[],
        Some(&format!(
            "{DEPLOYMENT}---\nkind: ConfigMap\nmetadata: [unclosed\n"
        )),
    );
    assert_eq!(broken.code, 2);
    error_names(&broken, "<stdin>:");
    let line = broken.error().split("<stdin>:").nth(1).unwrap();
    assert!(
        line.starts_with("21") || line.starts_with("22"),
        "{}",
        broken.error()
    );

    let empty = run(&["--desired", "-", "--live-dir", &live], &[], Some(""));
    assert_eq!(empty.code, 2);
    error_names(&empty, "stdin");
}

#[test]
fn the_exit_code_matrix() {
    let partial = Case::new(&[DEPLOYMENT, CONFIG_MAP], &[&live_deployment(5, "web")]);
    let synced = Case::new(&[DEPLOYMENT], &[DEPLOYMENT]);
    let (d, l) = (partial.desired(), partial.live());
    let (sd, sl) = (synced.desired(), synced.live());
    let cases: &[(&[&str], Option<&str>, i32)] = &[
        (&["--desired", &sd, "--live-dir", &sl], None, 0),
        (&["--desired", &d, "--live-dir", &l], None, 2),
        (
            &["--desired", &d, "--live-dir", &l, "--allow-unobserved"],
            None,
            1,
        ),
        (
            &[
                "--desired",
                &d,
                "--live-dir",
                &l,
                "--allow-unobserved",
                "--fail-on",
                "High",
            ],
            None,
            0,
        ),
        (
            &[
                "--desired",
                &d,
                "--live-dir",
                &l,
                "--resource-type",
                "configmaps",
            ],
            None,
            1,
        ),
        (
            &[
                "--desired",
                &d,
                "--live-dir",
                &l,
                "--resource-type",
                "configmaps",
                "--fail-on",
                "High",
            ],
            None,
            // Missing is High.
            1,
        ),
        (&["--desired", "-", "--live-dir", &sl], Some(DEPLOYMENT), 0),
        (&["--desired", "-", "--live-dir", &l], Some(DEPLOYMENT), 1),
        (
            &["--desired", "-", "--live-dir", &l, "--fail-on", "High"],
            Some(DEPLOYMENT),
            0,
        ),
        (&["--desired", "-", "--live-dir", &l], Some("kind: [\n"), 2),
        (
            &[
                "--desired",
                &sd,
                "--live-dir",
                &sl,
                "--resource-type",
                "nosuchthings",
            ],
            None,
            2,
        ),
    ];
    for (args, stdin, expected) in cases {
        let checked = run(args, &[], *stdin);
        assert_eq!(
            checked.code, *expected,
            "{args:?}\nstdout: {}\nstderr: {}",
            checked.stdout, checked.stderr
        );
    }
}

#[test]
fn the_table_reads_as_a_diff() {
    let drifted_config = CONFIG_MAP.replace("worker_processes 2;", "worker_processes 8;");
    let in_sync = DEPLOYMENT.replace("name: web\n", "name: api\n");
    let case = Case::new(
        &[DEPLOYMENT, CONFIG_MAP, &in_sync],
        &[&live_deployment(5, "web"), &drifted_config, &in_sync],
    );
    let (desired, live) = (case.desired(), case.live());
    let table = run(&["--desired", &desired, "--live-dir", &live], &[], None);
    assert_eq!(table.code, 1, "stderr: {}", table.stderr);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(lines[1].contains("GIT → CLUSTER"), "{}", table.stdout);
    assert!(
        lines.contains(&"    spec.replicas: 2 → 5  [Scaling, Medium]"),
        "{}",
        table.stdout
    );
    // The configuration file changed on one line: a line diff, not one escaped line.
    assert!(
        lines.contains(&"        - worker_processes 2;"),
        "{}",
        table.stdout
    );
    assert!(
        lines.contains(&"        + worker_processes 8;"),
        "{}",
        table.stdout
    );
    assert!(lines.contains(&"          events {}"), "{}", table.stdout);
    assert!(!table.stdout.contains("\\n"), "{}", table.stdout);
    assert!(
        table.stdout.contains("Deployment:shop:api"),
        "{}",
        table.stdout
    );

    let only = run(
        &["--desired", &desired, "--live-dir", &live, "--only-drifted"],
        &[],
        None,
    );
    assert_eq!(only.code, 1);
    assert!(
        !only.stdout.contains("Deployment:shop:api"),
        "{}",
        only.stdout
    );
    assert!(
        only.stdout
            .contains("3 resources: 1 in sync, 2 drifted, 0 missing"),
        "{}",
        only.stdout
    );
}

/// `examples/` with a fixed fingerprint key, so that the output is the same every run.
fn example_output(format: &str) -> CheckRun {
    run(
        &[
            "--desired",
            "examples/desired",
            "--live-dir",
            "examples/live",
            "-o",
            format,
        ],
        &[("DRIFTGUARD__DETECTION__FINGERPRINT_KEY", "golden")],
        None,
    )
}

fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if std::env::var_os("DRIFTGUARD_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (DRIFTGUARD_UPDATE_GOLDEN=1 writes it)",
            path.display()
        )
    });
    assert_eq!(actual, expected, "{} differs", path.display());
}

#[test]
fn the_bundled_example_as_a_table_and_as_a_diff() {
    let table = example_output("table");
    assert_eq!(table.code, 1, "stderr: {}", table.stderr);
    golden("example.table", &table.stdout);
    let diff = example_output("diff");
    assert_eq!(diff.code, 1, "stderr: {}", diff.stderr);
    golden("example.diff", &diff.stdout);
    assert!(
        diff.stdout
            .contains("--- git/apps/v1/Deployment/shop/cart\n"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout
            .contains("+++ cluster/apps/v1/Deployment/shop/cart\n"),
        "{}",
        diff.stdout
    );
    for secret in [
        "demo-Pa55word-from-git-42",
        "ZGVtby1QYTU1d29yZC1mcm9tLWdpdC00Mg",
    ] {
        assert!(!diff.stdout.contains(secret), "{}", diff.stdout);
        assert!(!table.stdout.contains(secret), "{}", table.stdout);
    }
    assert!(diff.stdout.contains("fingerprint:"), "{}", diff.stdout);
}

#[test]
fn a_missing_resource_diffs_its_whole_object() {
    let case = Case::new(&[DEPLOYMENT, CONFIG_MAP], &[DEPLOYMENT]);
    let diff = run(
        &[
            "--desired",
            &case.desired(),
            "--live-dir",
            &case.live(),
            "--resource-type",
            "configmaps",
            "-o",
            "diff",
        ],
        &[],
        None,
    );
    assert_eq!(diff.code, 1, "stderr: {}", diff.stderr);
    assert!(
        diff.stdout.contains("--- git/v1/ConfigMap/shop/web-config"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains("-    worker_processes 2;"),
        "{}",
        diff.stdout
    );
    assert!(!diff.stdout.contains("Deployment"), "{}", diff.stdout);
}

#[test]
fn path_without_a_repository_is_an_error_that_says_so() {
    let checked = json(&[
        "--desired",
        "examples",
        "--path",
        "desired",
        "--live-dir",
        "examples/live",
    ]);
    assert_eq!(checked.code, 2);
    error_names(&checked, "--path desired");
    error_names(&checked, "--desired examples/desired");
    assert!(!checked.error().contains("clone"), "{}", checked.error());
}

/// A configuration file `name` for the case: folder desired, dump live, and `detection` as given.
fn write_config(case: &Case, name: &str, detection: &str) -> String {
    let path = case.path(name);
    std::fs::write(
        &path,
        format!(
            "sources:\n  desired: folder\n  folder: {}\n  live: dump\n  dump: {}\ndetection:\n{detection}",
            case.desired(),
            case.live()
        ),
    )
    .unwrap();
    path
}

#[test]
fn check_applies_the_configured_rules_and_the_environment() {
    let case = Case::new(&[DEPLOYMENT], &[&live_deployment(5, "ops")]);
    let plain = write_config(&case, "plain.yaml", "  watch: false\n");
    let run_plain = json(&["--config", &plain]);
    assert_eq!(run_plain.code, 1, "stderr: {}", run_plain.stderr);
    assert_eq!(
        run_plain.record("Deployment:shop:web")["drift_types"],
        serde_json::json!(["LabelChange", "Scaling"])
    );

    // An accepted mutation, as docs/drift-rules.md recommends: ignored in the file...
    let ignoring = write_config(
        &case,
        "ignoring.yaml",
        "  ignore:\n    - paths: [spec.replicas]\n      kinds: [Deployment]\n",
    );
    let accepted = json(&["--config", &ignoring]);
    assert_eq!(accepted.code, 1, "stderr: {}", accepted.stderr);
    assert_eq!(
        accepted.record("Deployment:shop:web")["drift_types"],
        serde_json::json!(["LabelChange"])
    );
    // ...and the severities from the file decide the gate.
    let low = run(&["--config", &ignoring, "--fail-on", "High"], &[], None);
    assert_eq!(
        low.code, 0,
        "stdout: {}\nstderr: {}",
        low.stdout, low.stderr
    );
    let severities = write_config(
        &case,
        "severities.yaml",
        "  ignore:\n    - paths: [spec.replicas]\n      kinds: [Deployment]\n  severities:\n    LabelChange: High\n",
    );
    let gate = run(&["--config", &severities, "--fail-on", "High"], &[], None);
    assert_eq!(
        gate.code, 1,
        "stdout: {}\nstderr: {}",
        gate.stdout, gate.stderr
    );

    // The environment overrides the file, as for `serve`.
    let from_env = run(
        &["--config", &plain, "-o", "json"],
        &[("DRIFTGUARD__DETECTION__IGNORED_LABELS", "team")],
        None,
    );
    assert_eq!(from_env.code, 1, "stderr: {}", from_env.stderr);
    assert_eq!(
        from_env.record("Deployment:shop:web")["drift_types"],
        serde_json::json!(["Scaling"])
    );

    // Flags override the file: the live side from --live-dir.
    let other = Case::new(&[], &[DEPLOYMENT]);
    let flagged = json(&["--config", &plain, "--live-dir", &other.live()]);
    assert_eq!(flagged.code, 0, "stderr: {}", flagged.stderr);
}

#[test]
fn one_fingerprint_key_under_two_names() {
    let secret = "apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
stringData: {password: hunter2}
";
    let case = Case::new(&[secret], &[&secret.replace("hunter2", "hunter3")]);
    let (desired, live) = (case.desired(), case.live());
    let fingerprints = |env: &[(&str, &str)]| {
        let run = run(
            &["--desired", &desired, "--live-dir", &live, "-o", "json"],
            env,
            None,
        );
        assert_eq!(run.code, 1, "stderr: {}", run.stderr);
        assert!(!run.stdout.contains("hunter"), "{}", run.stdout);
        run.record("Secret:shop:db")["drifts"][0].clone()
    };
    let canonical = fingerprints(&[("DRIFTGUARD__DETECTION__FINGERPRINT_KEY", "k1")]);
    let alias = fingerprints(&[("DRIFTGUARD_FINGERPRINT_KEY", "k1")]);
    assert_eq!(canonical, alias);
    assert_ne!(
        canonical,
        fingerprints(&[("DRIFTGUARD_FINGERPRINT_KEY", "k2")])
    );
    let both = run(
        &["--desired", &desired, "--live-dir", &live],
        &[
            ("DRIFTGUARD_FINGERPRINT_KEY", "k1"),
            ("DRIFTGUARD__DETECTION__FINGERPRINT_KEY", "k2"),
        ],
        None,
    );
    assert_eq!(both.code, 2);
    error_names(&both, "different keys");
    assert!(
        !both.error().contains("k1") && !both.error().contains("k2"),
        "{}",
        both.error()
    );
}

#[test]
fn several_applications_report_each_and_one_can_be_chosen() {
    let run_all = json(&["--config", "examples/gitops/config.yaml"]);
    assert!(
        run_all.code == 0 || run_all.code == 1,
        "stderr: {}",
        run_all.stderr
    );
    let report = run_all.report();
    let names: Vec<&str> = report["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["storefront", "platform"]);
    for application in report["applications"].as_array().unwrap() {
        assert!(
            application["summary"]["resources"].as_u64().unwrap() > 0,
            "{application}"
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (_, record) in run_all.records() {
        seen.insert(record["application"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["platform", "storefront"]
    );
    let table = run(&["--config", "examples/gitops/config.yaml"], &[], None);
    assert!(
        table.stdout.lines().next().unwrap().contains("APPLICATION"),
        "{}",
        table.stdout
    );

    let one = json(&[
        "--config",
        "examples/gitops/config.yaml",
        "--application",
        "platform",
    ]);
    let names: Vec<String> = one
        .records()
        .iter()
        .map(|(_, r)| r["application"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !names.is_empty() && names.iter().all(|n| n == "platform"),
        "{names:?}"
    );
    assert_eq!(one.report()["applications"].as_array().unwrap().len(), 1);

    let unknown = json(&[
        "--config",
        "examples/gitops/config.yaml",
        "--application",
        "nope",
    ]);
    assert_eq!(unknown.code, 2);
    error_names(&unknown, "--application nope");
    error_names(&unknown, "storefront, platform");
}

/// The record without the times it was made at.
fn timeless(mut record: Value) -> Value {
    for field in ["first_detected", "last_detected", "last_checked"] {
        record.as_object_mut().unwrap().remove(field);
    }
    record
}

#[test]
fn check_with_the_example_configuration_gives_the_records_serve_stores() {
    // The example configuration with its paths made absolute and its files in a
    // temporary folder: one file for both commands.
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(root().join("examples/config.yaml")).unwrap();
    let config = example
        .replace("examples/", &format!("{}/examples/", root().display()))
        .replace("target/example/", &format!("{}/", dir.path().display()));
    assert_ne!(config, example);
    let config_path = dir.path().join("config.yaml");
    std::fs::write(&config_path, config).unwrap();

    let mut service = driftguard_test_support::service::ServiceProcess::start(
        Path::new(env!("CARGO_BIN_EXE_driftguard")),
        &config_path,
        &[],
    );
    let mut stored = Vec::new();
    service.wait_for("the first analysis", |s| {
        let (status, body) = s.get("/api/v1/drift-records?limit=1000");
        stored = body["drift_records"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        status == 200 && stored.len() == 10
    });
    service.terminate();

    let checked = json(&["--config", config_path.to_str().unwrap()]);
    assert_eq!(checked.code, 1, "stderr: {}", checked.stderr);
    let mut stored: Vec<Value> = stored.into_iter().map(timeless).collect();
    stored.sort_by(|a, b| a["resource_id"].as_str().cmp(&b["resource_id"].as_str()));
    let checked: Vec<Value> = checked
        .records()
        .into_iter()
        .map(|(_, r)| timeless(r))
        .collect();
    assert_eq!(checked.len(), 10);
    for (from_check, from_serve) in checked.iter().zip(&stored) {
        assert_eq!(from_check, from_serve);
    }
}

#[test]
fn a_run_that_compares_nothing_or_mixes_sources_is_refused() {
    // A misspelt namespace leaves nothing in scope: the gate must not pass.
    let typo = json(&[
        "--desired",
        "examples/desired",
        "--live-dir",
        "examples/live",
        "-n",
        "shpo",
    ]);
    assert_eq!(typo.code, 2, "stdout: {}", typo.stdout);
    error_names(&typo, "nothing was compared");
    error_names(&typo, "shpo");

    let mixed = json(&[
        "--config",
        "examples/gitops/config.yaml",
        "--desired",
        "examples/gitops/platform",
        "--application",
        "platform",
    ]);
    assert_eq!(mixed.code, 2);
    error_names(&mixed, "--application");

    let branch = json(&[
        "--desired",
        "examples/desired",
        "--branch",
        "main",
        "--live-dir",
        "examples/live",
    ]);
    assert_eq!(branch.code, 2);
    error_names(&branch, "is a local folder, not a Git repository");

    let empty = run(
        &["--desired", "-", "--live-dir", "examples/live"],
        &[],
        Some(""),
    );
    assert_eq!(empty.code, 2);
    error_names(&empty, "<stdin>");
}

#[test]
fn declared_dump_types_are_checked_with_the_configuration() {
    let case = Case::new(&[DEPLOYMENT], &[DEPLOYMENT]);
    let config = case.path("config.yaml");
    std::fs::write(
        &config,
        format!(
            "sources:\n  desired: folder\n  folder: {}\n  live: dump\n  dump: {}\n  dump_types: [junk/a/b/c]\n",
            case.desired(),
            case.live()
        ),
    )
    .unwrap();
    let checked = json(&["--config", &config]);
    assert_eq!(checked.code, 2);
    error_names(&checked, "`junk/a/b/c`");
    assert!(
        !checked.error().contains("kubernetes."),
        "{}",
        checked.error()
    );
    let validated = Command::new(env!("CARGO_BIN_EXE_driftguard"))
        .args(["config", "validate", "--config", &config])
        .output()
        .unwrap();
    assert_eq!(validated.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&validated.stderr).contains("junk/a/b/c"),
        "{}",
        String::from_utf8_lossy(&validated.stderr)
    );
}
