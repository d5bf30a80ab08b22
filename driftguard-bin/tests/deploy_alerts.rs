//! The alerting rules of `deploy/`: promtool accepts them, its unit tests show each alert
//! firing and staying quiet, every alert says what it is and links its runbook, and the
//! PrometheusRule carries the checked rules word for word. Alerts about a cluster are shown
//! firing for one cluster of several.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod deploy_support;

use std::collections::BTreeSet;

use deploy_support::{
    alerts, assert_success, deploy_dir, read, read_yaml, repo_root, rules_file, rules_test_file,
    run_promtool,
};

const RUNBOOK_BASE: &str = "https://github.com/driftguard/driftguard/blob/main/docs/operations.md#";

#[test]
fn promtool_accepts_the_rules() {
    let output = run_promtool(
        &deploy_dir().join("prometheus"),
        &["check", "rules", "driftguard.rules.yaml"],
    );
    assert_success("promtool check rules", &output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = format!("SUCCESS: {} rules found", alerts().len());
    assert!(stdout.contains(&expected), "{stdout}");
}

#[test]
fn promtool_unit_tests_pass() {
    let output = run_promtool(
        &deploy_dir().join("prometheus"),
        &["test", "rules", "driftguard.rules.test.yaml"],
    );
    assert_success("promtool test rules", &output);
}

/// The unit tests would pass vacuously if they expected nothing: each alert must be
/// expected to fire at some evaluation and expected to be quiet at another.
#[test]
fn every_alert_is_unit_tested_firing_and_quiet() {
    let tests = read_yaml(&rules_test_file());
    assert_eq!(
        tests["rule_files"],
        serde_json::json!(["driftguard.rules.yaml"]),
        "the unit tests must load the rules file itself"
    );
    let mut firing = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    for group in tests["tests"].as_array().expect("`tests` is a list") {
        for case in group["alert_rule_test"].as_array().into_iter().flatten() {
            let name = case["alertname"].as_str().expect("alertname").to_owned();
            let expected = case["exp_alerts"].as_array().map_or(0, Vec::len);
            if expected == 0 {
                quiet.insert(name);
            } else {
                firing.insert(name);
            }
        }
    }
    for (name, _) in alerts() {
        assert!(firing.contains(&name), "no unit test shows {name} firing");
        assert!(quiet.contains(&name), "no unit test shows {name} quiet");
    }
}

/// The values of `label` in a promtool series such as `m{cluster="east",job="x"}`.
fn label_value(series: &str, label: &str) -> Option<String> {
    let (_, labels) = series.split_once('{')?;
    labels
        .trim_end_matches('}')
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| name.trim() == label)
        .map(|(_, value)| value.trim().trim_matches('"').to_owned())
}

/// An alert that groups by cluster fires once per cluster: some unit test feeds it series
/// of several clusters and expects it for some of them only, and its summary names the
/// cluster.
#[test]
fn every_alert_about_a_cluster_is_unit_tested_firing_for_one_cluster_of_several() {
    let tests = read_yaml(&rules_test_file());
    let mut per_cluster = BTreeSet::new();
    for group in tests["tests"].as_array().expect("`tests` is a list") {
        let clusters: BTreeSet<String> = group["input_series"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| label_value(s["series"].as_str()?, "cluster"))
            .collect();
        for case in group["alert_rule_test"].as_array().into_iter().flatten() {
            let fired: BTreeSet<String> = case["exp_alerts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["exp_labels"]["cluster"].as_str().map(str::to_owned))
                .collect();
            if !fired.is_empty() && fired.is_subset(&clusters) && fired.len() < clusters.len() {
                per_cluster.insert(case["alertname"].as_str().unwrap().to_owned());
            }
        }
    }
    let mut about_clusters = 0;
    for (name, rule) in alerts() {
        let expr = rule["expr"].as_str().unwrap();
        if !expr.contains("by (cluster") {
            continue;
        }
        about_clusters += 1;
        assert!(
            per_cluster.contains(&name),
            "no unit test shows {name} firing for one cluster and not another"
        );
        assert!(
            rule["annotations"]["summary"]
                .as_str()
                .unwrap()
                .contains("{{ $labels.cluster }}"),
            "{name}: the summary names the cluster"
        );
    }
    assert!(
        about_clusters >= 5,
        "only {about_clusters} alerts group by cluster"
    );
    assert_eq!(
        label_value(r#"m{job="x",cluster="east"}"#, "cluster").as_deref(),
        Some("east")
    );
}

#[test]
fn every_alert_has_a_severity_a_summary_a_description_and_a_runbook() {
    let operations = read(&repo_root().join("docs/operations.md"));
    let anchors = markdown_anchors(&operations);
    let mut names = BTreeSet::new();
    for (name, rule) in alerts() {
        assert!(names.insert(name.clone()), "{name} is defined twice");
        assert!(
            name.starts_with("DriftGuard"),
            "{name}: alert names start with DriftGuard"
        );
        let severity = rule["labels"]["severity"].as_str().unwrap_or_default();
        assert!(
            ["critical", "warning", "info"].contains(&severity),
            "{name}: severity label is {severity:?}"
        );
        assert!(
            rule["for"].as_str().is_some_and(|f| !f.is_empty()),
            "{name}: every alert waits (`for`) before firing"
        );
        for annotation in ["summary", "description"] {
            assert!(
                rule["annotations"][annotation]
                    .as_str()
                    .is_some_and(|text| text.len() > 20),
                "{name}: annotation {annotation} is missing or empty"
            );
        }
        let runbook = rule["annotations"]["runbook_url"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no runbook_url"));
        let anchor = runbook.strip_prefix(RUNBOOK_BASE).unwrap_or_else(|| {
            panic!("{name}: runbook_url {runbook} is not in docs/operations.md")
        });
        assert_eq!(
            anchor,
            name.to_lowercase(),
            "{name}: the runbook anchor is the alert's name"
        );
        assert!(
            anchors.contains(anchor),
            "{name}: docs/operations.md has no section `{anchor}` (sections: {anchors:?})"
        );
    }
}

#[test]
fn the_prometheus_rule_embeds_the_checked_rules_unchanged() {
    let plain = read_yaml(&rules_file());
    let wrapped = read_yaml(&deploy_dir().join("prometheus-rules.yaml"));
    assert_eq!(wrapped["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(wrapped["kind"], "PrometheusRule");
    let keys: Vec<&String> = plain.as_object().expect("a mapping").keys().collect();
    assert_eq!(keys, ["groups"], "the plain rules file holds only `groups`");
    let spec_keys: Vec<&String> = wrapped["spec"]
        .as_object()
        .expect("spec is a mapping")
        .keys()
        .collect();
    assert_eq!(spec_keys, ["groups"]);
    assert_eq!(
        wrapped["spec"]["groups"], plain["groups"],
        "deploy/prometheus-rules.yaml and deploy/prometheus/driftguard.rules.yaml differ"
    );
}

/// Links into docs/operations.md from the deploy files, the API reference and the guide
/// itself lead to sections that exist.
#[test]
fn links_to_the_operations_guide_lead_somewhere() {
    let operations = read(&repo_root().join("docs/operations.md"));
    let anchors = markdown_anchors(&operations);
    let mut sources: Vec<(String, String)> = vec![
        ("docs/operations.md".to_owned(), operations.clone()),
        (
            "docs/api.md".to_owned(),
            read(&repo_root().join("docs/api.md")),
        ),
    ];
    for file in driftguard_sources::manifest::manifest_files(&deploy_dir()).unwrap() {
        sources.push((file.display().to_string(), read(&file)));
    }
    let mut checked = 0;
    for (file, text) in &sources {
        let own = file == "docs/operations.md";
        for (at, _) in text.match_indices('#') {
            let before = &text[..at];
            let is_link = before.ends_with("operations.md") || (own && before.ends_with("]("));
            if !is_link {
                continue;
            }
            let anchor: String = text[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            assert!(
                anchors.contains(&anchor),
                "{file} links to docs/operations.md#{anchor}, which does not exist"
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked} links found");
}

/// GitHub's anchors of a Markdown file's headings: lowercase, punctuation dropped,
/// spaces as dashes.
fn markdown_anchors(markdown: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut anchors = BTreeSet::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#').trim();
        let anchor: String = heading
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        anchors.insert(anchor);
    }
    anchors
}

#[test]
fn anchors_follow_github() {
    let anchors =
        markdown_anchors("# Backup and restore\n```\n# not a heading\n```\n### `DriftGuardDown`\n");
    let expected: BTreeSet<String> = ["backup-and-restore", "driftguarddown"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(anchors, expected);
}
