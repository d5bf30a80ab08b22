//! `driftguard check` on input it cannot use: exit code 2 and one clear line on stderr.

use std::path::Path;
use std::process::Command;

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
fn empty_desired_folder_is_in_sync() {
    let (_root, desired, live) = folders();
    let (code, stdout, _) = check(&desired, &live);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("JSON report");
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
