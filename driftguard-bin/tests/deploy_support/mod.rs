//! What the tests of `deploy/` share: where the files are, reading them, promtool, what
//! RBAC the watched types need ([`rbac`]) and whom a NetworkPolicy admits ([`network`]).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod network;
pub mod rbac;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate lives in the workspace")
        .to_owned()
}

/// `deploy/`.
pub fn deploy_dir() -> PathBuf {
    repo_root().join("deploy")
}

/// A file of the repository as text.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A YAML (or JSON) file as one JSON value.
pub fn read_yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&read(path))
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

/// The plain Prometheus rules file.
pub fn rules_file() -> PathBuf {
    deploy_dir().join("prometheus/driftguard.rules.yaml")
}

/// The promtool unit tests of the rules file.
pub fn rules_test_file() -> PathBuf {
    deploy_dir().join("prometheus/driftguard.rules.test.yaml")
}

/// The Grafana dashboard.
pub fn dashboard_file() -> PathBuf {
    deploy_dir().join("grafana-dashboard.json")
}

/// Every alerting rule of the rules file, as `(alert name, rule)`.
pub fn alerts() -> Vec<(String, Value)> {
    let rules = read_yaml(&rules_file());
    let groups = rules["groups"].as_array().expect("`groups` is a list");
    let mut alerts = Vec::new();
    for group in groups {
        for rule in group["rules"].as_array().expect("each group has `rules`") {
            let name = rule["alert"]
                .as_str()
                .expect("every rule is an alerting rule");
            alerts.push((name.to_owned(), rule.clone()));
        }
    }
    assert!(!alerts.is_empty(), "the rules file has no alerts");
    alerts
}

/// Every PromQL expression of the dashboard's panels, with the panel title, Grafana's
/// variables replaced by values Prometheus accepts.
pub fn dashboard_expressions() -> Vec<(String, String)> {
    let dashboard: Value = serde_json::from_str(&read(&dashboard_file()))
        .unwrap_or_else(|e| panic!("grafana-dashboard.json is not JSON: {e}"));
    let mut expressions = Vec::new();
    let mut panels: Vec<&Value> = dashboard["panels"]
        .as_array()
        .expect("the dashboard has panels")
        .iter()
        .collect();
    while let Some(panel) = panels.pop() {
        if let Some(inner) = panel["panels"].as_array() {
            panels.extend(inner);
        }
        let title = panel["title"].as_str().unwrap_or("(untitled)");
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("a target of panel {title:?} has no `expr`"));
            expressions.push((title.to_owned(), grafana_to_promql(expr)));
        }
    }
    assert!(
        !expressions.is_empty(),
        "the dashboard has no query expressions"
    );
    expressions
}

/// Replaces Grafana's variables by what they stand for at query time.
pub fn grafana_to_promql(expr: &str) -> String {
    expr.replace("$__rate_interval", "5m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h")
        .replace("$namespace", ".*")
        .replace("$cluster", ".*")
}

/// promtool: `PROMTOOL`, else `promtool` on `PATH`, else the copy scripts/test.sh unpacks
/// into target/tools/bin. A test that needs it fails when it is nowhere.
pub fn promtool() -> PathBuf {
    if let Some(explicit) = std::env::var_os("PROMTOOL") {
        let path = PathBuf::from(explicit);
        assert!(
            path.is_file(),
            "PROMTOOL={} does not name a file",
            path.display()
        );
        return path;
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("promtool"))
        .find(|candidate| candidate.is_file());
    if let Some(path) = on_path {
        return path;
    }
    let unpacked = repo_root().join("target/tools/bin/promtool");
    if unpacked.is_file() {
        return unpacked;
    }
    panic!(
        "promtool is needed to check deploy/prometheus/driftguard.rules.yaml and was not found \
         (not in PROMTOOL, not on PATH, not in target/tools/bin). Run scripts/test.sh, which \
         unpacks it from Debian's `prometheus` package, or install that package \
         (apt-get install --no-install-recommends prometheus)."
    );
}

/// Runs promtool with `args` in `dir`.
pub fn run_promtool(dir: &Path, args: &[&str]) -> Output {
    let promtool = promtool();
    Command::new(&promtool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", promtool.display()))
}

/// Panics with promtool's output unless it succeeded.
pub fn assert_success(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
