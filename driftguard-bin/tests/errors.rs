//! `driftguard check` on input it cannot use: exit code 2 and one clear line on stderr.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use driftguard_test_support::process::free_port;

fn check(desired: &Path, live: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_driftguard"))
        .args(["check", "--output", "json", "--desired"])
        .arg(desired)
        .arg("--live-dir")
        .arg(live)
        .output()
        .expect("driftguard runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `driftguard` with `args` and `env`, killing it (and failing) when it has not
/// finished within `limit`: a check that blocks must not hang the test run.
fn run_within(
    args: &[&std::ffi::OsStr],
    env: &[(&str, &str)],
    limit: Duration,
) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_driftguard"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("driftguard runs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for driftguard") {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().expect("kill driftguard");
            child.wait().expect("reap driftguard");
            panic!("driftguard {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read stdout");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    (status.code().unwrap_or(-1), stdout, stderr)
}

/// Makes a named pipe at `path` with mkfifo(1).
fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

fn folders() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let root = tempfile::tempdir().expect("temp dir");
    let desired = root.path().join("desired");
    let live = root.path().join("live");
    std::fs::create_dir_all(&desired).expect("mkdir");
    std::fs::create_dir_all(&live).expect("mkdir");
    std::fs::write(
        live.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: shop\ndata:\n  k: v\n",
    )
    .expect("write");
    (root, desired, live)
}

#[test]
fn broken_yaml_exits_2_naming_file_and_line() {
    let (_root, desired, live) = folders();
    std::fs::write(
        desired.join("app.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\nstringData:\n  password: \"tr0ub4dor\\q\"\n",
    )
    .expect("write");
    let (code, stdout, stderr) = check(&desired, &live);
    assert_eq!(code, 2, "stderr: {stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("app.yaml:7:"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("tr0ub4dor"), "{stderr}");
}

#[test]
fn broken_live_dump_exits_2() {
    let (_root, desired, live) = folders();
    std::fs::write(
        desired.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: shop\n",
    )
    .expect("write");
    std::fs::write(
        live.join("dump.json"),
        "{\"kind\": \"List\", \"items\": [\n  {\"kind\": }\n]}",
    )
    .expect("write");
    let (code, _, stderr) = check(&desired, &live);
    assert_eq!(code, 2, "stderr: {stderr}");
    assert!(stderr.contains("dump.json:2:"), "{stderr}");
}

#[test]
fn missing_folder_exits_2() {
    let (_root, desired, _live) = folders();
    let (code, _, stderr) = check(&desired, Path::new("/nonexistent/driftguard-live"));
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent/driftguard-live"), "{stderr}");
}

#[test]
fn duplicate_resource_exits_2_naming_both_files() {
    let (_root, desired, live) = folders();
    let cm =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: shop\ndata:\n  k: v\n";
    std::fs::write(desired.join("one.yaml"), cm).expect("write");
    std::fs::write(desired.join("two.yaml"), cm).expect("write");
    let (code, _, stderr) = check(&desired, &live);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("one.yaml:1") && stderr.contains("two.yaml:1"),
        "{stderr}"
    );
}

#[test]
fn unknown_option_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_driftguard"))
        .args([
            "check",
            "--desired",
            ".",
            "--live-dir",
            ".",
            "--output",
            "xml",
        ])
        .output()
        .expect("driftguard runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_empty_desired_folder_exits_2_unless_allowed() {
    let (_root, desired, live) = folders();
    // Files that are not Kubernetes objects do not count.
    std::fs::write(desired.join("values.yaml"), "replicaCount: 2\n").expect("write");
    let (code, stdout, stderr) = check(&desired, &live);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let error = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(error.starts_with("driftguard: error: "), "{stderr}");
    assert!(stderr.contains(&desired.display().to_string()), "{stderr}");
    assert!(stderr.contains("no Kubernetes objects found"), "{stderr}");
    assert!(stderr.contains("--render"), "{stderr}");
    assert!(stderr.contains("--allow-empty"), "{stderr}");

    let out = Command::new(env!("CARGO_BIN_EXE_driftguard"))
        .args(["check", "--output", "json", "--allow-empty", "--desired"])
        .arg(&desired)
        .arg("--live-dir")
        .arg(&live)
        .output()
        .expect("driftguard runs");
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["summary"]["resources"], 0);
}

/// One file the check must refuse: exit 2, nothing on stdout, one stderr line naming it.
fn refused(name: &str, content: &[u8]) -> String {
    let (_root, desired, live) = folders();
    std::fs::write(desired.join(name), content).expect("write");
    let (code, stdout, stderr) = check(&desired, &live);
    assert_eq!(code, 2, "{name}: stdout {stdout}, stderr {stderr}");
    assert!(stdout.is_empty(), "{name}: {stdout}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: {stderr}");
    assert!(stderr.contains(name), "{name}: {stderr}");
    stderr
}

#[test]
fn binary_file_exits_2() {
    let stderr = refused(
        "logo.yaml",
        &[0x89, b'P', b'N', b'G', 0, 0, 0, 13, 0xff, 0xfe],
    );
    assert!(stderr.contains("not a text file"), "{stderr}");
}

#[test]
fn a_50_mb_file_exits_2() {
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n");
    let line = format!("  k: {}\n", "x".repeat(1000));
    while text.len() < 50 * 1024 * 1024 {
        text.push_str(&line);
    }
    let stderr = refused("big.yaml", text.as_bytes());
    assert!(stderr.contains("limit"), "{stderr}");
}

#[test]
fn deeply_nested_yaml_exits_2() {
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  a: {}{}\n",
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    refused("deep.yaml", text.as_bytes());
}

#[test]
fn a_document_without_kind_exits_2_with_its_line() {
    let stderr = refused(
        "app.yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nmetadata:\n  name: b\n",
    );
    assert!(
        stderr.contains("app.yaml:5") || stderr.contains("app.yaml:6"),
        "{stderr}"
    );
    assert!(stderr.contains("kind"), "{stderr}");
}

#[test]
fn a_live_dump_over_the_object_size_limit_is_read_item_by_item() {
    let (_root, desired, live) = folders();
    std::fs::write(
        desired.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: shop\ndata:\n  k: v\n",
    )
    .expect("write");
    // A whole cluster's `kubectl get -o json`: one List far larger than any single object.
    let items: Vec<serde_json::Value> = (0..6_000)
        .map(|i| {
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("cm-{i}"), "namespace": "other"},
                "data": {"payload": "x".repeat(1_000)}})
        })
        .collect();
    let dump = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    let text = dump.to_string();
    assert!(text.len() > 5 * 1024 * 1024);
    std::fs::write(live.join("cluster.json"), text).expect("write");
    let (code, stdout, stderr) = check(&desired, &live);
    assert_eq!(code, 0, "stderr: {stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["summary"]["in_sync"], 1);
}

#[test]
fn a_yaml_alias_bomb_exits_2() {
    let mut text = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    let mut previous = 'a';
    for name in 'b'..='j' {
        let refs = vec![format!("*{previous}"); 9].join(",");
        text.push_str(&format!("  {name}: &{name} [{refs}]\n"));
        previous = name;
    }
    let stderr = refused("bomb.yaml", text.as_bytes());
    assert!(stderr.contains("aliases"), "{stderr}");
    assert!(
        !stderr.contains("Budget") && !stderr.contains('{'),
        "{stderr}"
    );
}

#[test]
fn a_device_instead_of_a_folder_exits_2() {
    let (_root, desired, _live) = folders();
    let (code, _, stderr) = check(&desired, Path::new("/dev/null"));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("/dev/null: not a regular file or a folder"),
        "{stderr}"
    );
}

#[test]
fn a_list_with_null_items_is_empty() {
    let (_root, desired, live) = folders();
    std::fs::remove_file(live.join("cm.yaml")).expect("remove");
    std::fs::write(
        live.join("empty.json"),
        r#"{"apiVersion":"v1","kind":"List","items":null}"#,
    )
    .expect("write");
    std::fs::write(
        desired.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: shop\n",
    )
    .expect("write");
    // An empty dump covers nothing: the ConfigMap was not looked for.
    let (code, stdout, stderr) = check(&desired, &live);
    assert_eq!(code, 2, "stderr: {stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(report["summary"]["missing"], 0);
    assert_eq!(report["summary"]["not_observed"], 1);
}

#[test]
fn a_sequence_of_manifests_exits_2_instead_of_being_skipped() {
    let stderr = refused(
        "apps.yaml",
        b"- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n",
    );
    assert!(stderr.contains("kind: List"), "{stderr}");
}

#[test]
fn a_list_item_that_is_not_an_object_exits_2_naming_it() {
    let stderr = refused(
        "list.json",
        br#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}},"oops"]}"#,
    );
    assert!(stderr.contains("item 1 of the List"), "{stderr}");
}

#[test]
fn a_duplicate_key_names_the_key_in_plain_words() {
    let stderr = refused(
        "dup.yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\nkind: Secret\n",
    );
    assert!(stderr.contains("duplicate mapping key: kind"), "{stderr}");
    assert!(!stderr.contains("DuplicateKeyPolicy"), "{stderr}");
}

#[test]
fn the_table_escapes_control_characters_in_values() {
    let (_root, desired, live) = folders();
    std::fs::write(
        desired.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: shop\ndata:\n  k: \"x\\nFAKE ROW\\e[2J\"\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_driftguard"))
        .args(["check", "--desired"])
        .arg(&desired)
        .arg("--live-dir")
        .arg(&live)
        .output()
        .expect("driftguard runs");
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8_lossy(&out.stdout);
    // A multi-line value is a line diff, each line indented under its field, with the
    // escape sequence escaped.
    assert!(
        table.contains("\n        - FAKE ROW\\u{1b}[2J\n"),
        "{table}"
    );
    assert!(!table.contains('\u{1b}'), "{table}");
    assert!(!table.lines().any(|l| l.starts_with("FAKE ROW")), "{table}");
}

#[test]
fn a_named_pipe_in_a_manifest_folder_exits_2_naming_it() {
    // In the desired folder and in the live dump folder; with a manifest's name and
    // without one; at the top and in a sub-folder. Nothing writes to the pipes: a reader
    // that opened one would block.
    for (side, name) in [
        ("desired", "pipe.yaml"),
        ("desired", "nested/pipe"),
        ("live", "dump.json"),
        ("live", "nested/fifo"),
    ] {
        let (_root, desired, live) = folders();
        std::fs::write(
            desired.join("cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: shop\n",
        )
        .expect("write");
        let folder = if side == "desired" { &desired } else { &live };
        let pipe = folder.join(name);
        std::fs::create_dir_all(pipe.parent().expect("a parent")).expect("mkdir");
        mkfifo(&pipe);
        let (code, stdout, stderr) = run_within(
            &[
                "check".as_ref(),
                "--output".as_ref(),
                "json".as_ref(),
                "--desired".as_ref(),
                desired.as_os_str(),
                "--live-dir".as_ref(),
                live.as_os_str(),
            ],
            &[],
            Duration::from_secs(60),
        );
        assert_eq!(code, 2, "{side} {name}: stdout {stdout}, stderr {stderr}");
        assert!(stdout.is_empty(), "{side} {name}: {stdout}");
        let error = stderr.trim_end().lines().last().unwrap_or_default();
        assert!(
            error.contains(&format!(
                "{}: not a regular file or a folder (a named pipe)",
                pipe.display()
            )),
            "{side} {name}: {stderr}"
        );
    }
}

#[test]
fn a_named_pipe_given_as_the_folder_exits_2_naming_it() {
    let (root, desired, _live) = folders();
    let pipe = root.path().join("live.yaml");
    mkfifo(&pipe);
    let (code, _, stderr) = run_within(
        &[
            "check".as_ref(),
            "--desired".as_ref(),
            desired.as_os_str(),
            "--live-dir".as_ref(),
            pipe.as_os_str(),
        ],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: not a regular file or a folder (a named pipe)",
            pipe.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_token_in_a_git_url_never_shows_in_the_error() {
    let (_root, _desired, live) = folders();
    // Nothing listens on the port: the clone fails, and the error names the remote.
    let port = free_port();
    for url in [
        format!("https://127.0.0.1:{port}/r.git?private_token=SEKRIT"),
        format!("https://bot:SEKRIT@127.0.0.1:{port}/r.git?ref=main&Access%5FToken=SEKRIT#x"),
    ] {
        let (code, stdout, stderr) = run_within(
            &[
                "check".as_ref(),
                "-v".as_ref(),
                "--desired".as_ref(),
                url.as_ref(),
                "--live-dir".as_ref(),
                live.as_os_str(),
            ],
            &[("RUST_LOG", "debug")],
            Duration::from_secs(120),
        );
        assert_eq!(code, 2, "{url}: stdout {stdout}, stderr {stderr}");
        assert!(!stdout.contains("SEKRIT"), "{stdout}");
        assert!(!stderr.contains("SEKRIT"), "{stderr}");
        let error = stderr.trim_end().lines().last().unwrap_or_default();
        assert!(error.starts_with("driftguard: error: "), "{stderr}");
        assert!(
            error.contains(&format!("127.0.0.1:{port}/r.git?")) && error.contains("=***"),
            "the error names the remote, its secret masked: {stderr}"
        );
    }
}
