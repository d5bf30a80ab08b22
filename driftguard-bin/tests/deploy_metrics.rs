//! Every metric and label the alerting rules and the Grafana dashboard of `deploy/` use
//! exists in what a running DriftGuard serves on `/metrics`.
//!
//! The test starts `driftguard serve` on the bundled example (desired state from a folder,
//! live state from a dump with drift, SQLite in a temporary folder, API tokens as in
//! `deploy/`), scrapes `/metrics` after the first analysis, again after the drift was
//! resolved, and again after the desired state was emptied (and held back), and checks
//! each expression against what was served: metric names (histograms through their
//! `_bucket`, `_sum` and `_count` series), the labels of matchers and of `by (…)` clauses,
//! counters read only through `rate`/`increase`, and `histogram_quantile` over `_bucket`
//! series. The few metrics the example cannot serve (HTTPS) are taken from docs/api.md.
//! promtool checks the dashboard's expressions are valid PromQL.
//!
//! Clusters: alerts on series that carry `cluster` keep it and name it, and every panel
//! of the dashboard follows its `cluster` variable. The rules and the dashboard use
//! `driftguard_leader` and `driftguard_cluster_ready`, checked here like every other metric.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod deploy_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use deploy_support::{
    alerts, assert_success, dashboard_expressions, dashboard_file, grafana_to_promql, read,
    repo_root, run_promtool,
};
use driftguard_test_support::files::copy_tree;
use driftguard_test_support::http;
use driftguard_test_support::service::ServiceProcess;
use serde_json::Value;

/// Metrics Prometheus itself attaches to every scrape target, with their labels.
const SCRAPE_METRICS: &[(&str, &[&str])] = &[("up", &["job", "instance"])];

/// Labels Prometheus attaches to every series it scrapes (the target's), which /metrics
/// does not show.
const TARGET_LABELS: &[&str] = &["job", "instance"];

/// DriftGuard's metrics that the run below cannot serve, with their type and labels as
/// the metrics table of docs/api.md lists them: served only over HTTPS (`server.tls`),
/// which the plain HTTP client of the tests does not speak.
const NOT_SERVED_BY_THE_EXAMPLE: &[(&str, &str, &[&str])] = &[(
    "driftguard_tls_certificate_reloads_total",
    "counter",
    &["outcome"],
)];

/// A token of the run's tokens file, with the `read` and `analyze` scopes.
const TOKEN: &str = "deploy-metrics-reader-7c41e9b2";
/// `printf %s "$TOKEN" | sha256sum` of [`TOKEN`].
const TOKEN_SHA256: &str = "e0d0fe1bc407abb5ad8f060f1610f75eb4ccfb07925cf4d339d6629f07b85572";

// ---------------------------------------------------------------------------------------
// A running DriftGuard

/// Waits until `/metrics` has a sample of `name`; returns that scrape.
fn metrics_with(driftguard: &mut ServiceProcess, name: &str) -> String {
    driftguard.wait_for(&format!("{name} in /metrics"), |s| {
        Scrape::parse(&s.metrics()).samples.contains_key(name)
    });
    driftguard.metrics()
}

/// `method path` with [`TOKEN`]: the status.
fn call(driftguard: &ServiceProcess, method: &str, path: &str) -> u16 {
    let authorization = format!("Bearer {TOKEN}");
    let headers = [("Authorization", authorization.as_str())];
    http::request_with_headers(driftguard.address(), method, path, &headers, None).0
}

/// Scrapes of a DriftGuard run on the bundled example: after the first analysis (drift
/// active), after the live state was put back in line with Git (drift resolved), and
/// after the desired state was emptied (held back).
fn scrape_a_running_driftguard() -> Scrape {
    let dir = tempfile::tempdir().unwrap();
    let examples = repo_root().join("examples");
    let desired = dir.path().join("desired");
    let live = dir.path().join("live");
    copy_tree(&examples.join("desired"), &desired);
    copy_tree(&examples.join("live"), &live);
    let tokens = dir.path().join("tokens.yaml");
    std::fs::write(
        &tokens,
        format!(
            "- name: metrics-test\n  token_sha256: {TOKEN_SHA256}\n  scopes: [read, analyze]\n"
        ),
    )
    .unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "\
server:
  auth:
    tokens_file: {tokens}
logging:
  level: info
  format: json
database:
  type: sqlite
  path: {db}
sources:
  desired: folder
  folder: {desired}
  live: dump
  dump: {live}
detection:
  interval: 1h
  watch: false
  fingerprint_key_file: {key}
",
            tokens = tokens.display(),
            db = dir.path().join("data/driftguard.db").display(),
            desired = desired.display(),
            live = live.display(),
            key = dir.path().join("data/fingerprint.key").display(),
        ),
    )
    .unwrap();
    let mut driftguard =
        ServiceProcess::start(Path::new(env!("CARGO_BIN_EXE_driftguard")), &config, &[]);
    driftguard.wait_for("/ready", |s| s.get("/ready").1["status"] == "ready");
    // API requests of a few routes, so the request histogram has series.
    assert_eq!(
        call(&driftguard, "GET", "/api/v1/drift-records/active"),
        200
    );
    let first = metrics_with(&mut driftguard, "driftguard_drift_events_total");

    // The cluster put back in line with Git: the drift resolves.
    std::fs::remove_dir_all(&live).unwrap();
    copy_tree(&desired, &live);
    assert_eq!(call(&driftguard, "POST", "/api/v1/analyze"), 202);
    let second = metrics_with(&mut driftguard, "driftguard_drift_resolutions_total");

    // A commit that empties the folder: the desired state is held back.
    std::fs::remove_dir_all(&desired).unwrap();
    std::fs::create_dir(&desired).unwrap();
    assert_eq!(call(&driftguard, "POST", "/api/v1/analyze"), 202);
    let third = metrics_with(&mut driftguard, "driftguard_desired_held_back_total");

    let mut scrape = Scrape::parse(&first);
    scrape.merge(Scrape::parse(&second));
    scrape.merge(Scrape::parse(&third));
    scrape
}

/// The metrics table of docs/api.md: metric name → (type, label names).
fn documented_metrics() -> BTreeMap<String, (String, BTreeSet<String>)> {
    let api = read(&repo_root().join("docs/api.md"));
    let mut metrics = BTreeMap::new();
    for line in api.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, name, kind, labels, _meaning, _] = cells.as_slice() else {
            continue;
        };
        let Some(name) = name
            .strip_prefix("`driftguard_")
            .and_then(|n| n.strip_suffix('`'))
        else {
            continue;
        };
        // "`mode` (`full`, `targeted`), `outcome`": the names, not the values.
        let mut names = BTreeSet::new();
        let mut depth = 0;
        for (i, part) in labels.split('`').enumerate() {
            if i % 2 == 1 && depth == 0 {
                names.insert(part.to_owned());
            } else if i % 2 == 0 {
                depth += part.matches('(').count();
                depth -= part.matches(')').count();
            }
        }
        metrics.insert(format!("driftguard_{name}"), ((*kind).to_owned(), names));
    }
    metrics
}

// ---------------------------------------------------------------------------------------
// What /metrics served

/// Sample names with the label names they were served with, and family types.
#[derive(Debug, Default)]
struct Scrape {
    samples: BTreeMap<String, BTreeSet<String>>,
    types: BTreeMap<String, String>,
}

impl Scrape {
    fn parse(text: &str) -> Self {
        let mut scrape = Self::default();
        for line in text.lines() {
            if let Some(declaration) = line.strip_prefix("# TYPE ") {
                let (name, kind) = declaration.split_once(' ').expect("# TYPE name type");
                scrape.types.insert(name.to_owned(), kind.to_owned());
                continue;
            }
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (series, _value) = line.rsplit_once(' ').expect("a sample line");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => {
                    let labels = rest.strip_suffix('}').expect("closed labels");
                    let names: Vec<String> = labels
                        .split("\",")
                        .filter(|pair| !pair.is_empty())
                        .map(|pair| pair.split_once("=\"").expect("a label").0.to_owned())
                        .collect();
                    (name, names)
                }
                None => (series, Vec::new()),
            };
            scrape
                .samples
                .entry(name.to_owned())
                .or_default()
                .extend(labels);
        }
        scrape
    }

    fn merge(&mut self, other: Self) {
        for (name, labels) in other.samples {
            self.samples.entry(name).or_default().extend(labels);
        }
        self.types.extend(other.types);
    }

    /// The family a sample name belongs to and its type: `x_bucket` → (`x`, histogram).
    fn family(&self, sample: &str) -> Option<(&str, &str)> {
        if let Some((family, kind)) = self.types.get_key_value(sample) {
            return Some((family, kind));
        }
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = sample.strip_suffix(suffix)
                && let Some((family, kind)) = self.types.get_key_value(base)
                && matches!(kind.as_str(), "histogram" | "summary")
            {
                return Some((family, kind));
            }
        }
        None
    }
}

// ---------------------------------------------------------------------------------------
// What the expressions use: a small PromQL reader

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str,
    Number,
    Punct(String),
}

fn lex(expr: &str) -> Vec<Token> {
    let chars: Vec<char> = expr.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '"' || c == '\'' || c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' && c != '`' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            tokens.push(Token::Str);
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            tokens.push(Token::Number);
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            tokens.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if ["==", "!=", "=~", "!~", ">=", "<="].contains(&two.as_str()) {
                tokens.push(Token::Punct(two));
                i += 2;
            } else {
                tokens.push(Token::Punct(c.to_string()));
                i += 1;
            }
        }
    }
    tokens
}

const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "limitk",
    "limit_ratio",
];
const GROUPING: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];
const KEYWORDS: &[&str] = &["and", "or", "unless", "bool", "offset", "inf", "nan"];
const RATE_FUNCTIONS: &[&str] = &["rate", "irate", "increase"];

/// One metric selector of an expression.
#[derive(Debug, Clone, PartialEq, Default)]
struct Selector {
    metric: String,
    /// Label names of its matchers.
    matchers: BTreeSet<String>,
    /// Inside `rate`, `irate` or `increase`.
    in_rate: bool,
    /// Inside `histogram_quantile`.
    in_quantile: bool,
    /// Labels an enclosing `by (…)` groups by: each must be on this metric.
    grouped_by: BTreeSet<String>,
}

/// What one expression uses.
#[derive(Debug, Default)]
struct Uses {
    selectors: Vec<Selector>,
    /// Labels of `without (…)`, `on (…)` and the like, each of which must be on some
    /// selected metric.
    other_labels: BTreeSet<String>,
}

/// A `by (…)`, `without (…)`, `on (…)`… clause: its labels, the token range of the
/// expression it groups (aggregations), and whether it is `by`.
type Grouping = (BTreeSet<String>, Option<(usize, usize)>, bool);

fn closing(tokens: &[Token], open: usize) -> usize {
    let (o, c) = match &tokens[open] {
        Token::Punct(p) if p == "(" => ("(", ")"),
        Token::Punct(p) if p == "{" => ("{", "}"),
        Token::Punct(p) if p == "[" => ("[", "]"),
        other => panic!("not an opening bracket: {other:?}"),
    };
    let mut depth = 0;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token {
            Token::Punct(p) if p == o => depth += 1,
            Token::Punct(p) if p == c => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced {o} in expression");
}

fn is_punct(tokens: &[Token], i: usize, p: &str) -> bool {
    matches!(tokens.get(i), Some(Token::Punct(q)) if q == p)
}

fn ident(tokens: &[Token], i: usize) -> Option<&str> {
    match tokens.get(i) {
        Some(Token::Ident(name)) => Some(name),
        _ => None,
    }
}

fn label_list(tokens: &[Token], open: usize, close: usize) -> BTreeSet<String> {
    (open + 1..close)
        .filter_map(|i| ident(tokens, i).map(str::to_owned))
        .collect()
}

fn parse_uses(expr: &str) -> Uses {
    let tokens = lex(expr);
    // Token ranges that hold label names or durations, not metric names.
    let mut not_metrics: Vec<(usize, usize)> = Vec::new();
    // (range of a function's argument list, function name)
    let mut calls: Vec<(usize, usize, String)> = Vec::new();
    let mut groupings: Vec<Grouping> = Vec::new();
    for i in 0..tokens.len() {
        if is_punct(&tokens, i, "{") || is_punct(&tokens, i, "[") {
            not_metrics.push((i, closing(&tokens, i)));
        }
        let Some(name) = ident(&tokens, i) else {
            continue;
        };
        if !is_punct(&tokens, i + 1, "(") {
            continue;
        }
        let close = closing(&tokens, i + 1);
        if GROUPING.contains(&name) {
            not_metrics.push((i + 1, close));
            let labels = label_list(&tokens, i + 1, close);
            let scope = if name == "by" || name == "without" {
                if i > 0 && ident(&tokens, i - 1).is_some_and(|a| AGGREGATIONS.contains(&a)) {
                    // sum by (labels) (body)
                    is_punct(&tokens, close + 1, "(")
                        .then(|| (close + 1, closing(&tokens, close + 1)))
                } else if i > 0 && is_punct(&tokens, i - 1, ")") {
                    // sum (body) by (labels)
                    let end = i - 1;
                    let start = (0..end)
                        .rev()
                        .find(|&j| is_punct(&tokens, j, "(") && closing(&tokens, j) == end)
                        .expect("the aggregated expression");
                    Some((start, end))
                } else {
                    None
                }
            } else {
                None
            };
            groupings.push((labels, scope, name == "by"));
        } else {
            calls.push((i + 1, close, name.to_owned()));
        }
    }
    // `a and on (…) b`, `a unless on (…) b`: b only picks which series of a are kept, so
    // the labels that a `by (…)` around both groups by need not be on b.
    let mut filters: Vec<(usize, usize)> = Vec::new();
    for i in 0..tokens.len() {
        if !matches!(ident(&tokens, i), Some("and" | "unless")) {
            continue;
        }
        let mut start = i + 1;
        if matches!(ident(&tokens, start), Some("on" | "ignoring"))
            && is_punct(&tokens, start + 1, "(")
        {
            start = closing(&tokens, start + 1) + 1;
        }
        if ident(&tokens, start).is_none() {
            continue;
        }
        let mut end = start;
        if is_punct(&tokens, end + 1, "(") {
            end = closing(&tokens, end + 1);
        } else {
            if is_punct(&tokens, end + 1, "{") {
                end = closing(&tokens, end + 1);
            }
            if is_punct(&tokens, end + 1, "[") {
                end = closing(&tokens, end + 1);
            }
        }
        filters.push((start, end));
    }
    let inside = |i: usize, ranges: &[(usize, usize)]| ranges.iter().any(|&(a, b)| a < i && i < b);
    let mut uses = Uses::default();
    for i in 0..tokens.len() {
        let Some(name) = ident(&tokens, i) else {
            continue;
        };
        let prefix_grouping = AGGREGATIONS.contains(&name)
            && ident(&tokens, i + 1).is_some_and(|g| g == "by" || g == "without");
        if is_punct(&tokens, i + 1, "(")
            || prefix_grouping
            || GROUPING.contains(&name)
            || KEYWORDS.contains(&name)
            || inside(i, &not_metrics)
        {
            continue;
        }
        let mut selector = Selector {
            metric: name.to_owned(),
            ..Selector::default()
        };
        if is_punct(&tokens, i + 1, "{") {
            let close = closing(&tokens, i + 1);
            for j in i + 2..close {
                if let Some(label) = ident(&tokens, j)
                    && matches!(tokens.get(j + 1), Some(Token::Punct(op)) if ["=", "!=", "=~", "!~"].contains(&op.as_str()))
                {
                    selector.matchers.insert(label.to_owned());
                }
            }
        }
        // Whether `i` lies in a filter inside the token range (a, b).
        let filtered = |a: usize, b: usize| {
            filters
                .iter()
                .any(|&(start, end)| start <= i && i <= end && a < start && end < b)
        };
        for (open, close, function) in &calls {
            if *open < i && i < *close && !filtered(*open, *close) {
                selector.in_rate |= RATE_FUNCTIONS.contains(&function.as_str());
                selector.in_quantile |= function == "histogram_quantile";
            }
        }
        for (labels, scope, by) in &groupings {
            let Some((a, b)) = *scope else {
                continue;
            };
            if *by && a < i && i < b && !filtered(a, b) {
                selector.grouped_by.extend(labels.iter().cloned());
            }
        }
        uses.selectors.push(selector);
    }
    for (labels, scope, by) in groupings {
        if !by || scope.is_none() {
            uses.other_labels.extend(labels);
        }
    }
    uses
}

/// What is wrong with `expr` given what DriftGuard serves; empty when nothing is.
fn problems(scrape: &Scrape, expr: &str) -> Vec<String> {
    let uses = parse_uses(expr);
    let mut problems = Vec::new();
    if uses.selectors.is_empty() {
        problems.push("uses no metric".to_owned());
    }
    let mut available = BTreeSet::new();
    for selector in &uses.selectors {
        let metric = selector.metric.as_str();
        if let Some((_, labels)) = SCRAPE_METRICS.iter().find(|(m, _)| *m == metric) {
            for label in selector.matchers.iter().chain(&selector.grouped_by) {
                if !labels.contains(&label.as_str()) {
                    problems.push(format!("{metric} has no label `{label}`"));
                }
            }
            available.extend(labels.iter().map(|l| (*l).to_owned()));
            continue;
        }
        let Some(labels) = scrape.samples.get(metric) else {
            problems.push(format!("{metric} is not in DriftGuard's /metrics"));
            continue;
        };
        available.extend(labels.iter().cloned());
        available.extend(TARGET_LABELS.iter().map(|l| (*l).to_owned()));
        for label in selector.matchers.iter().chain(&selector.grouped_by) {
            if !labels.contains(label) && !TARGET_LABELS.contains(&label.as_str()) {
                problems.push(format!(
                    "{metric} has no label `{label}` (it has {labels:?})"
                ));
            }
        }
        let (family, kind) = scrape.family(metric).unwrap_or((metric, "untyped"));
        let cumulative = kind == "counter" || family != metric;
        if selector.in_rate && !cumulative {
            problems.push(format!("rate/increase of {metric}, a {kind}"));
        }
        if !selector.in_rate && kind == "counter" {
            problems.push(format!("{metric} is a counter read without rate/increase"));
        }
        if selector.in_quantile {
            if !(kind == "histogram" && metric.ends_with("_bucket")) {
                problems.push(format!(
                    "histogram_quantile over {metric}, not a histogram's _bucket series"
                ));
            }
            if !selector.grouped_by.contains("le") {
                problems.push(format!(
                    "histogram_quantile over {metric} without `le` kept"
                ));
            }
        }
    }
    for label in &uses.other_labels {
        if !available.contains(label) {
            problems.push(format!("label `{label}` is on none of the metrics"));
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------
// The tests

#[test]
fn the_promql_reader_finds_metrics_labels_and_functions() {
    let uses = parse_uses(
        "histogram_quantile(0.99, sum by (le, route) (rate(x_bucket{status=~\"5..\"}[5m])))",
    );
    assert_eq!(
        uses.selectors,
        [Selector {
            metric: "x_bucket".to_owned(),
            matchers: BTreeSet::from(["status".to_owned()]),
            in_rate: true,
            in_quantile: true,
            grouped_by: BTreeSet::from(["le".to_owned(), "route".to_owned()]),
        }]
    );
    let uses = parse_uses(
        "sum without (mode, outcome) (rate(a_total{outcome=\"failure\"}[15m]))\n  / sum(b) by (job) > 0.25 or absent(up{job=\"x\"})",
    );
    let metrics: Vec<&str> = uses.selectors.iter().map(|s| s.metric.as_str()).collect();
    assert_eq!(metrics, ["a_total", "b", "up"]);
    assert!(uses.selectors[0].in_rate && !uses.selectors[1].in_rate);
    assert_eq!(
        uses.selectors[1].grouped_by,
        BTreeSet::from(["job".to_owned()])
    );
    assert_eq!(
        uses.other_labels,
        BTreeSet::from(["mode".to_owned(), "outcome".to_owned()])
    );
    assert_eq!(
        parse_uses("time() - max(t_seconds) > 900").selectors[0].metric,
        "t_seconds"
    );
    // The right side of `and on (…)` only filters: the enclosing `by` is not its business.
    let uses = parse_uses(
        "sum by (route) (rate(r_bucket[5m]) and on (instance) last_over_time(f{cluster=~\".*\"}[1h])) and on (x) g",
    );
    let grouped: Vec<(&str, Vec<&str>)> = uses
        .selectors
        .iter()
        .map(|s| {
            (
                s.metric.as_str(),
                s.grouped_by.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        grouped,
        [("r_bucket", vec!["route"]), ("f", vec![]), ("g", vec![])]
    );
    assert_eq!(
        uses.other_labels,
        BTreeSet::from(["instance".to_owned(), "x".to_owned()])
    );
    let uses =
        parse_uses("histogram_quantile(0.5, sum by (le) (rate(h_bucket[5m]) and on (instance) f))");
    assert!(uses.selectors[0].in_quantile && uses.selectors[0].in_rate);
    assert!(!uses.selectors[1].in_quantile && uses.selectors[1].grouped_by.is_empty());
}

#[test]
fn the_checks_refuse_what_driftguard_does_not_serve() {
    let scrape = Scrape::parse(
        "# TYPE c_total counter\nc_total{mode=\"full\"} 1\n# TYPE h histogram\nh_bucket{route=\"/\",le=\"1\"} 1\nh_sum{route=\"/\"} 1\nh_count{route=\"/\"} 1\n# TYPE g gauge\ng{namespace=\"shop\"} 1\n",
    );
    assert!(problems(&scrape, "sum by (namespace) (g)").is_empty());
    assert!(
        problems(
            &scrape,
            "histogram_quantile(0.5, sum by (le) (rate(h_bucket[5m])))"
        )
        .is_empty()
    );
    assert_eq!(problems(&scrape, "sum by (ns) (g)").len(), 1);
    assert_eq!(problems(&scrape, "g{severity=\"High\"}").len(), 1);
    assert_eq!(problems(&scrape, "rate(h[5m])").len(), 1);
    assert_eq!(problems(&scrape, "c_total > 0").len(), 1);
    assert_eq!(problems(&scrape, "rate(g[5m])").len(), 1);
    assert_eq!(
        problems(
            &scrape,
            "histogram_quantile(0.5, sum by (route) (rate(h_bucket[5m])))"
        )
        .len(),
        1
    );
    assert_eq!(problems(&scrape, "sum without (nope) (g)").len(), 1);
    // Prometheus adds the target's labels to every series.
    assert!(problems(&scrape, "max by (namespace, instance) (g)").is_empty());
    assert!(problems(&scrape, "g and on (instance) c_total").len() == 1);
    assert!(problems(&scrape, "g and on (instance) rate(c_total[5m])").is_empty());
}

#[test]
fn every_metric_and_label_of_the_rules_and_the_dashboard_is_served() {
    let mut scrape = scrape_a_running_driftguard();
    let documented = documented_metrics();
    for (name, kind, labels) in NOT_SERVED_BY_THE_EXAMPLE {
        assert!(
            scrape.family(name).is_none(),
            "{name} is served by the example: take it off NOT_SERVED_BY_THE_EXAMPLE"
        );
        let labels: BTreeSet<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        assert_eq!(
            documented.get(*name),
            Some(&((*kind).to_owned(), labels.clone())),
            "{name}: docs/api.md lists another type or other labels"
        );
        scrape.types.insert((*name).to_owned(), (*kind).to_owned());
        scrape.samples.insert((*name).to_owned(), labels);
    }
    let mut expressions: Vec<(String, String)> = alerts()
        .into_iter()
        .map(|(name, rule)| {
            (
                format!("alert {name}"),
                rule["expr"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    expressions.extend(
        dashboard_expressions()
            .into_iter()
            .map(|(title, expr)| (format!("panel {title:?}"), expr)),
    );
    let mut found = Vec::new();
    let mut used = BTreeSet::new();
    for (origin, expr) in &expressions {
        for problem in problems(&scrape, expr) {
            found.push(format!("{origin}: {problem}\n    {expr}"));
        }
        used.extend(parse_uses(expr).selectors.into_iter().map(|s| s.metric));
    }
    // The dashboard's namespace variable.
    let dashboard: Value = serde_json::from_str(&read(&dashboard_file())).unwrap();
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        if variable["type"] != "query" {
            continue;
        }
        let query = variable["definition"]
            .as_str()
            .expect("a query variable's definition");
        let args = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
            .unwrap_or_else(|| panic!("variable query {query} is not label_values(metric, label)"));
        let (selector, label) = args.rsplit_once(',').unwrap();
        let (selector, label) = (selector.trim(), label.trim());
        let metric = selector.split('{').next().unwrap().trim();
        for problem in problems(&scrape, &grafana_to_promql(selector)) {
            found.push(format!("variable {}: {problem}", variable["name"]));
        }
        if !scrape
            .samples
            .get(metric)
            .is_some_and(|l| l.contains(label))
        {
            found.push(format!(
                "variable {}: {metric} with label {label} is not served",
                variable["name"]
            ));
        }
    }
    // An alert on series that all carry `cluster` keeps it (fires per cluster) and names it.
    for (name, rule) in alerts() {
        let expr = rule["expr"].as_str().unwrap();
        let uses = parse_uses(expr);
        let of_clusters = uses.selectors.iter().all(|s| {
            scrape
                .samples
                .get(&s.metric)
                .is_some_and(|labels| labels.contains("cluster"))
        });
        if !of_clusters {
            continue;
        }
        for selector in &uses.selectors {
            if !selector.grouped_by.is_empty() && !selector.grouped_by.contains("cluster") {
                found.push(format!(
                    "alert {name}: aggregates {} without keeping `cluster`",
                    selector.metric
                ));
            }
        }
        let summary = rule["annotations"]["summary"].as_str().unwrap_or_default();
        if !summary.contains("{{ $labels.cluster }}") {
            found.push(format!(
                "alert {name}: the summary does not name the cluster"
            ));
        }
    }
    assert!(
        found.is_empty(),
        "expressions that do not match DriftGuard's /metrics:\n{}\n\nserved: {:#?}",
        found.join("\n"),
        scrape.samples
    );
    // The alerts and the dashboard between them watch every DriftGuard metric.
    for family in scrape.types.keys().filter(|f| f.starts_with("driftguard_")) {
        let is_used = used
            .iter()
            .any(|m| m == family || scrape.family(m).is_some_and(|(f, _)| f == family));
        assert!(
            is_used,
            "{family} is in neither the alerts nor the dashboard"
        );
    }
}

/// Grafana sends each target's expression to Prometheus as it is (after variables);
/// promtool parses them as recording rules.
#[test]
fn the_dashboard_expressions_are_valid_promql() {
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, (_, expr)) in dashboard_expressions().iter().enumerate() {
        rules.push_str(&format!(
            "      - record: dashboard:expression_{i}\n        expr: {}\n",
            serde_json::to_string(expr).unwrap()
        ));
    }
    let dashboard: Value = serde_json::from_str(&read(&dashboard_file())).unwrap();
    assert_eq!(dashboard["uid"], "driftguard");
    assert!(dashboard["title"].is_string());
    std::fs::write(dir.path().join("dashboard.rules.yaml"), rules).unwrap();
    let output = run_promtool(dir.path(), &["check", "rules", "dashboard.rules.yaml"]);
    assert_success(
        "promtool check rules on the dashboard's expressions",
        &output,
    );
    assert_eq!(
        grafana_to_promql("rate(x[$__rate_interval])"),
        "rate(x[5m])"
    );
}

/// Every panel queries the data source chosen in the dashboard's variable, so the
/// dashboard works whatever the Prometheus data source is called.
#[test]
fn every_panel_uses_the_data_source_variable() {
    let dashboard: Value = serde_json::from_str(&read(&dashboard_file())).unwrap();
    let variables: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(variables.contains(&"datasource"), "{variables:?}");
    let mut ids = BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        assert!(
            ids.insert(panel["id"].as_u64().expect("a panel id")),
            "duplicate panel id"
        );
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(
            panel["datasource"]["uid"], "${datasource}",
            "{}",
            panel["title"]
        );
        for target in panel["targets"].as_array().unwrap() {
            assert_eq!(
                target["datasource"]["uid"], "${datasource}",
                "{}",
                panel["title"]
            );
        }
    }
}

/// The dashboard has a `cluster` variable (several clusters, or all), and every query
/// follows it: the namespace variable and every target of every panel.
#[test]
fn every_panel_follows_the_cluster_variable() {
    let dashboard: Value = serde_json::from_str(&read(&dashboard_file())).unwrap();
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    let cluster = variables
        .iter()
        .find(|v| v["name"] == "cluster")
        .expect("a cluster variable");
    assert_eq!(cluster["type"], "query");
    assert_eq!(cluster["multi"], true);
    assert_eq!(cluster["includeAll"], true);
    assert_eq!(
        cluster["allValue"], ".*",
        "All matches every cluster, not a list of the ones seen when the page loaded"
    );
    let definition = cluster["definition"].as_str().unwrap();
    assert!(
        definition.ends_with(", cluster)"),
        "the variable lists values of the cluster label: {definition}"
    );
    let position = |name: &str| variables.iter().position(|v| v["name"] == name).unwrap();
    assert!(
        position("cluster") < position("namespace"),
        "the namespace variable depends on the cluster variable"
    );
    let namespace = &variables[position("namespace")];
    assert!(
        namespace["definition"]
            .as_str()
            .unwrap()
            .contains("cluster=~\"$cluster\""),
        "{namespace}"
    );
    let mut targets = 0;
    let mut panels: Vec<&Value> = dashboard["panels"].as_array().unwrap().iter().collect();
    while let Some(panel) = panels.pop() {
        panels.extend(panel["panels"].as_array().into_iter().flatten());
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            assert!(
                expr.contains("cluster=~\"$cluster\""),
                "panel {}: {expr} does not follow the cluster variable",
                panel["title"]
            );
            targets += 1;
        }
    }
    assert!(targets > 20, "only {targets} targets");
}
