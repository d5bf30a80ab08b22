//! `driftguard serve` with access control, as a process on 127.0.0.1: bearer tokens with
//! scopes from `server.auth.tokens_file`, rotated while it runs, the analysis rate limit,
//! tokens kept out of its log, an invalid tokens file refused by `config validate`, and
//! the warning about a non-loopback address without tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use driftguard_test_support::http;
use driftguard_test_support::python::workspace_root;
use driftguard_test_support::service::ServiceProcess;
use driftguard_test_support::tokens::sha256sum;

const READER: &str = "reader-bin-3e7a91c5";
const ADMIN: &str = "admin-bin-b04d2f86";
const NEXT: &str = "next-bin-6c18e0a2";

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_driftguard"))
}

fn tokens_text(entries: &[(&str, &str, &str)]) -> String {
    entries
        .iter()
        .map(|(name, token, scopes)| {
            format!(
                "- name: {name}\n  token_sha256: {}\n  scopes: [{scopes}]\n",
                sha256sum(token)
            )
        })
        .collect()
}

/// Replaces `path` at once, as a Secret mount does.
fn replace(path: &Path, text: &str) {
    let aside = path.with_extension("new");
    std::fs::write(&aside, text).unwrap();
    std::fs::rename(&aside, path).unwrap();
}

/// The bundled example (a folder and a dump) with records in `dir` and `server` settings
/// as given.
fn write_config(dir: &Path, server: &str) -> PathBuf {
    let examples = workspace_root().join("examples");
    let config = format!(
        "\
server:
{server}
logging:
  level: info
  format: json
database:
  type: sqlite
  path: {database}
sources:
  desired: folder
  folder: {desired}
  live: dump
  dump: {live}
detection:
  interval: 1h
  watch: false
  fingerprint_key: access test key
",
        database = dir.join("drift.db").display(),
        desired = examples.join("desired").display(),
        live = examples.join("live").display(),
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, config).unwrap();
    path
}

/// `method path` with `token` as a bearer token when given: status, head, body.
fn call(
    address: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, String, String) {
    let header = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = header
        .as_deref()
        .map(|h| ("Authorization", h))
        .into_iter()
        .collect();
    http::request_with_headers(address, method, path, &headers, None)
}

fn status(address: SocketAddr, method: &str, path: &str, token: Option<&str>) -> u16 {
    call(address, method, path, token).0
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_service_answers_token_holders_by_scope_and_follows_the_tokens_file() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.yaml");
    replace(
        &tokens,
        &tokens_text(&[
            ("reader", READER, "read"),
            ("admin", ADMIN, "read, analyze"),
        ]),
    );
    let config = write_config(
        dir.path(),
        &format!(
            "  auth:\n    tokens_file: {}\n  analyze_rate_limit:\n    per_minute: 1",
            tokens.display()
        ),
    );
    let mut service = ServiceProcess::start(binary(), &config, &[]);
    let address = service.address();
    service.wait_for("readiness", |s| {
        let (code, _, body) = call(s.address(), "GET", "/ready", None);
        code == 200 && body.contains(r#""status":"ready""#)
    });

    assert_eq!(status(address, "GET", "/health", None), 200);
    assert_eq!(status(address, "GET", "/metrics", None), 200);
    let (code, head, body) = call(address, "GET", "/api/v1/drift-records/active", None);
    assert_eq!(code, 401, "{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{head}"
    );
    assert!(body.contains("\"error\""), "{body}");
    let (code, _, body) = call(address, "GET", "/api/v1/drift-records/active", Some(READER));
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        status(
            address,
            "GET",
            &format!("/api/v1/drift-records/active?access_token={READER}"),
            None
        ),
        401
    );
    assert_eq!(
        status(address, "POST", "/api/v1/analyze", Some(READER)),
        403
    );
    assert_eq!(status(address, "POST", "/api/v1/analyze", Some(ADMIN)), 202);
    let (code, head, body) = call(address, "POST", "/api/v1/analyze", Some(ADMIN));
    assert_eq!(code, 429, "{body}");
    let retry = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("retry-after: ")
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no Retry-After in {head}"));
    let retry: u64 = retry.trim().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");

    // Rotation: the new file is in force within seconds, without a restart.
    replace(&tokens, &tokens_text(&[("next", NEXT, "read")]));
    wait_until("the new token to be accepted", || {
        status(address, "GET", "/api/v1/statistics", Some(NEXT)) == 200
    });
    assert_eq!(
        status(address, "GET", "/api/v1/statistics", Some(READER)),
        401
    );

    let log = service.log();
    for token in [READER, ADMIN, NEXT] {
        assert!(!log.contains(token), "{token} in the log:\n{log}");
    }
    assert!(log.contains("reader"), "tokens are logged by name:\n{log}");
    assert!(!log.contains("without access control"), "{log}");
    service.terminate();
}

#[test]
fn a_non_loopback_address_without_tokens_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "  port: 8080");
    let mut service = ServiceProcess::start(
        binary(),
        &config,
        &[("DRIFTGUARD__SERVER__HOST", "0.0.0.0")],
    );
    service.wait_for("the warning", |s| {
        s.log().contains("without access control")
    });
    service.terminate();

    // The same on loopback: no warning.
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "  port: 8080");
    let mut service = ServiceProcess::start(binary(), &config, &[]);
    service.wait_for("serving", |s| s.log().contains("DriftGuard is serving"));
    assert!(!service.log().contains("without access control"));
    service.terminate();
}

#[test]
fn an_invalid_tokens_file_is_refused_naming_the_file_and_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.yaml");
    std::fs::write(
        &tokens,
        "- name: ci\n  token_sha256: a-raw-token-pasted-here\n  scopes: [read]\n",
    )
    .unwrap();
    let config = write_config(
        dir.path(),
        &format!("  auth:\n    tokens_file: {}", tokens.display()),
    );
    for command in [&["config", "validate"][..], &["serve"][..]] {
        let output = Command::new(binary())
            .args(command)
            .arg("--config")
            .arg(&config)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(stderr.contains(&tokens.display().to_string()), "{stderr}");
        assert!(stderr.contains("entry 1 (`ci`)"), "{stderr}");
        assert!(!stderr.contains("a-raw-token-pasted-here"), "{stderr}");
    }
}
