//! Diff renderings of drift: a line diff of one multi-line value for the table, and a
//! unified diff per drifted resource for `check -o diff`.
//!
//! # `-o diff`
//!
//! Each drifted or missing resource gets a unified diff in the spirit of `kubectl diff`,
//! Git's side first:
//!
//! ```text
//! --- git/apps/v1/Deployment/shop/web
//! +++ cluster/apps/v1/Deployment/shop/web
//! @@ -1,7 +1,7 @@
//!  spec:
//! -  replicas: 3
//! +  replicas: 5
//!    template:
//!      spec:
//!        containers:
//!        - name: web
//! -        image: nginx:1.25.3
//! +        image: nginx:1.26.0
//! ```
//!
//! The file names are `git/` or `cluster/`, then the `apiVersion` (one segment for the
//! core group, `v1`; two otherwise, `apps/v1`), the kind, the namespace and the name. A
//! cluster-scoped object has no namespace segment: `git/v1/Namespace/shop`. Hunk headers
//! always give both the start and the line count (`@@ -1,1 +0,0 @@`).
//!
//! Each side is a *sparse* YAML document: only the fields that drifted, each with its
//! value on that side, inside the maps and lists that lead to it. A field absent on one
//! side (a label only the cluster has) is left out of that side, while the maps and list
//! items around it stay on both sides as context. A list item addressed by its merge key
//! (`containers[name=web]`) holds its key fields before the drifted ones, so it reads like
//! the object (`- name: web`); an item addressed by position holds only the drifted
//! fields. Fields keep the order in which the drifts name them; a whole map that drifted
//! prints its keys in name order. Multi-line strings print as literal block scalars (`|`)
//! so that they diff line by line; other strings are quoted where YAML would read them as
//! something else (`"true"`, `"3"`, `""`).
//!
//! A missing resource diffs its whole desired object, less `status` and
//! `metadata.managedFields`, against nothing: every line is removed. When the desired
//! object is not at hand, one removed comment line says that the object is not in the
//! cluster.
//!
//! Values are printed as the records hold them: Secret values are already fingerprints.
//! A manifest's value must not reach the terminal as an escape sequence, so control
//! characters other than tab are escaped on every printed line, as in the table.

mod sparse;

use std::io::Write;

use driftguard_core::{DriftRecord, DriftType, ResourceId};
use serde_json::Value;
use similar::{Algorithm, DiffOp, DiffTag};

use sparse::{Node, sparse_document, yaml_lines};

/// Lines of unchanged context kept around each change.
const CONTEXT: usize = 3;

/// The lines of a line-level diff of a multi-line value, Git's `git` against the
/// cluster's `cluster`, for the table to print under the drift.
///
/// Each line starts with `- ` (only in Git), `+ ` (only in the cluster) or two spaces
/// (both). At most three unchanged lines are kept around each change; a line `…` stands
/// for the unchanged lines left out. When the two texts differ only in whether they end
/// with a newline, a line `\ no newline at end` follows the last line of the side
/// without one. Control characters other than tab are escaped. Equal texts give no
/// lines.
pub(crate) fn line_diff(git: &str, cluster: &str) -> Vec<String> {
    let endings_differ =
        !git.is_empty() && !cluster.is_empty() && git.ends_with('\n') != cluster.ends_with('\n');
    let old = text_lines(git, endings_differ);
    let new = text_lines(cluster, endings_differ);
    let groups = similar::group_diff_ops(
        similar::capture_diff_slices(Algorithm::Myers, &old, &new),
        CONTEXT,
    );
    let mut out = Vec::new();
    let mut printed_to = 0;
    for group in &groups {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        if first.old_range().start > printed_to {
            out.push("…".to_owned());
        }
        for op in group {
            let (tag, old_range, new_range) = op.as_tag_tuple();
            if tag == DiffTag::Equal {
                push_text_lines(&mut out, "  ", &old[old_range]);
            } else {
                push_text_lines(&mut out, "- ", &old[old_range]);
                push_text_lines(&mut out, "+ ", &new[new_range]);
            }
        }
        printed_to = last.old_range().end;
    }
    if !groups.is_empty() && printed_to < old.len() {
        out.push("…".to_owned());
    }
    out
}

/// One line of a value: its text, and whether it is the last line and its text has no
/// final newline where the other side's has one.
type TextLine<'a> = (&'a str, bool);

fn text_lines(text: &str, mark_missing_newline: bool) -> Vec<TextLine<'_>> {
    if text.is_empty() {
        return Vec::new();
    }
    let has_newline = text.ends_with('\n');
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut lines: Vec<TextLine<'_>> = body.split('\n').map(|line| (line, false)).collect();
    if mark_missing_newline
        && !has_newline
        && let Some(last) = lines.last_mut()
    {
        last.1 = true;
    }
    lines
}

fn push_text_lines(out: &mut Vec<String>, prefix: &str, lines: &[TextLine<'_>]) {
    for (line, no_newline) in lines {
        out.push(format!("{prefix}{}", escape_line(line)));
        if *no_newline {
            out.push("\\ no newline at end".to_owned());
        }
    }
}

/// Writes a unified diff to `out` for each record with drift, in the order given:
/// Git's state against the cluster's, over sparse YAML documents of the drifted fields
/// (see the module documentation). `desired_objects` gives a missing resource's desired
/// object, to show whole.
pub(crate) fn write_unified(
    records: &[DriftRecord],
    desired_objects: &dyn Fn(&ResourceId) -> Option<Value>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    for record in records.iter().filter(|r| r.drift_detected) {
        writeln!(out, "--- {}", escape_line(&file_name("git", record)))?;
        writeln!(out, "+++ {}", escape_line(&file_name("cluster", record)))?;
        if is_missing(record) {
            match desired_objects(&record.resource_id) {
                Some(object) => {
                    let lines = yaml_lines(&Node::from_value(&shown_object(object)));
                    write_hunks(&lines, &[], out)?;
                }
                None => {
                    writeln!(out, "@@ -1,1 +0,0 @@")?;
                    writeln!(out, "-# not found in the cluster")?;
                }
            }
            continue;
        }
        let git = yaml_lines(&sparse_document(&record.drifts, |d| d.desired.as_ref()));
        let cluster = yaml_lines(&sparse_document(&record.drifts, |d| d.live.as_ref()));
        write_hunks(&git, &cluster, out)?;
    }
    Ok(())
}

/// `git/apps/v1/Deployment/shop/web`; no namespace segment for a cluster-scoped object.
fn file_name(side: &str, record: &DriftRecord) -> String {
    let mut name = format!("{side}/{}/{}", record.api_version, record.kind);
    if let Some(namespace) = &record.namespace {
        name.push('/');
        name.push_str(namespace);
    }
    name.push('/');
    name.push_str(&record.name);
    name
}

fn is_missing(record: &DriftRecord) -> bool {
    record.drift_types.contains(&DriftType::Missing)
        || record
            .drifts
            .iter()
            .any(|d| d.drift_type == DriftType::Missing)
}

/// The desired object as a missing resource's diff shows it: without what the server
/// writes.
fn shown_object(mut object: Value) -> Value {
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(metadata) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.remove("managedFields");
        }
    }
    object
}

/// The hunks of `old` (Git) against `new` (the cluster), lines unescaped.
fn write_hunks(old: &[String], new: &[String], out: &mut dyn Write) -> std::io::Result<()> {
    let groups = similar::group_diff_ops(
        similar::capture_diff_slices(Algorithm::Myers, old, new),
        CONTEXT,
    );
    for group in &groups {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_start = first.old_range().start;
        let new_start = first.new_range().start;
        let old_len = last.old_range().end - old_start;
        let new_len = last.new_range().end - new_start;
        writeln!(
            out,
            "@@ -{},{old_len} +{},{new_len} @@",
            hunk_start(old_start, old_len),
            hunk_start(new_start, new_len)
        )?;
        for op in group {
            write_op(op, old, new, out)?;
        }
    }
    Ok(())
}

/// A hunk's first line number; for an empty range, the line before it.
fn hunk_start(start: usize, len: usize) -> usize {
    if len == 0 { start } else { start + 1 }
}

fn write_op(
    op: &DiffOp,
    old: &[String],
    new: &[String],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let (tag, old_range, new_range) = op.as_tag_tuple();
    let mut lines = |prefix: char, lines: &[String]| -> std::io::Result<()> {
        for line in lines {
            writeln!(out, "{prefix}{}", escape_line(line))?;
        }
        Ok(())
    };
    if tag == DiffTag::Equal {
        lines(' ', &old[old_range])
    } else {
        lines('-', &old[old_range])?;
        lines('+', &new[new_range])
    }
}

/// `line` with control characters other than tab escaped, as the table escapes values.
fn escape_line(line: &str) -> String {
    line.split('\t')
        .map(super::printable)
        .collect::<Vec<_>>()
        .join("\t")
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftguard_core::{DriftDetail, DriftStatus, Severity};
    use serde_json::json;

    fn detail(
        path: &str,
        drift_type: DriftType,
        desired: Option<Value>,
        live: Option<Value>,
    ) -> DriftDetail {
        DriftDetail {
            path: path.to_owned(),
            drift_type,
            severity: Severity::Medium,
            desired,
            live,
            manager: None,
            hand_edit: false,
            unowned: false,
        }
    }

    fn record(
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        drifts: Vec<DriftDetail>,
    ) -> DriftRecord {
        let mut drift_types: Vec<DriftType> = drifts.iter().map(|d| d.drift_type).collect();
        drift_types.sort();
        drift_types.dedup();
        DriftRecord {
            cluster: "default".to_owned(),
            resource_id: ResourceId::new(kind, namespace, name),
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
            application: driftguard_core::DEFAULT_APPLICATION.to_owned(),
            drift_detected: !drifts.is_empty(),
            drift_status: if drifts.is_empty() {
                DriftStatus::None
            } else {
                DriftStatus::Active
            },
            severity: drifts.iter().map(|d| d.severity).max(),
            drift_types,
            drifts,
            desired_hash: "d".to_owned(),
            live_hash: Some("l".to_owned()),
            last_known_good_hash: None,
            git_revision: None,
            first_detected: None,
            last_detected: None,
            resolved_at: None,
            last_checked: chrono::Utc::now(),
            resolution_message: None,
            detection_count: 1,
        }
    }

    fn deployment(drifts: Vec<DriftDetail>) -> DriftRecord {
        record("apps/v1", "Deployment", Some("shop"), "web", drifts)
    }

    fn unified_with(
        records: &[DriftRecord],
        objects: &dyn Fn(&ResourceId) -> Option<Value>,
    ) -> String {
        let mut out = Vec::new();
        write_unified(records, objects, &mut out).expect("writing to a Vec");
        String::from_utf8(out).expect("UTF-8")
    }

    fn unified(records: &[DriftRecord]) -> String {
        unified_with(records, &|_| None)
    }

    #[test]
    fn a_scaling_change_is_one_hunk() {
        let scaled = deployment(vec![detail(
            "spec.replicas",
            DriftType::Scaling,
            Some(json!(3)),
            Some(json!(5)),
        )]);
        assert_eq!(
            unified(&[scaled]),
            "--- git/apps/v1/Deployment/shop/web\n\
             +++ cluster/apps/v1/Deployment/shop/web\n\
             @@ -1,2 +1,2 @@\n \
             spec:\n\
             -  replicas: 3\n\
             +  replicas: 5\n"
        );
    }

    #[test]
    fn keyed_list_items_show_their_key_fields() {
        let drifted = deployment(vec![
            detail(
                "spec.replicas",
                DriftType::Scaling,
                Some(json!(3)),
                Some(json!(5)),
            ),
            detail(
                "spec.template.spec.containers[name=web].image",
                DriftType::VersionChange,
                Some(json!("nginx:1.25.3")),
                Some(json!("nginx:1.26.0")),
            ),
        ]);
        assert_eq!(
            unified(&[drifted]),
            "--- git/apps/v1/Deployment/shop/web\n\
             +++ cluster/apps/v1/Deployment/shop/web\n\
             @@ -1,7 +1,7 @@\n \
             spec:\n\
             -  replicas: 3\n\
             +  replicas: 5\n   \
             template:\n     \
             spec:\n       \
             containers:\n       \
             - name: web\n\
             -        image: nginx:1.25.3\n\
             +        image: nginx:1.26.0\n"
        );
    }

    #[test]
    fn items_keyed_by_several_fields_and_by_position() {
        let drifted = deployment(vec![
            detail(
                "spec.template.spec.containers[name=web].ports[containerPort=8080,protocol=TCP].hostPort",
                DriftType::PortChange,
                None,
                Some(json!(80)),
            ),
            detail(
                "spec.template.spec.containers[name=web].args[1]",
                DriftType::ConfigurationChange,
                Some(json!("--verbose")),
                Some(json!("--quiet")),
            ),
        ]);
        assert_eq!(
            unified(&[drifted]),
            "--- git/apps/v1/Deployment/shop/web\n\
             +++ cluster/apps/v1/Deployment/shop/web\n\
             @@ -6,5 +6,6 @@\n         \
             ports:\n         \
             - containerPort: 8080\n           \
             protocol: TCP\n\
             +          hostPort: 80\n         \
             args:\n\
             -        - --verbose\n\
             +        - --quiet\n"
        );
    }

    #[test]
    fn a_multi_line_value_diffs_per_line() {
        let git = "worker_processes 4;\nevents {\n  worker_connections 512;\n}\nhttp {\n  gzip on;\n  sendfile on;\n}\n";
        let live = "worker_processes 4;\nevents {\n  worker_connections 1024;\n}\nhttp {\n  gzip on;\n  sendfile on;\n}\n";
        let changed = record(
            "v1",
            "ConfigMap",
            Some("shop"),
            "nginx",
            vec![detail(
                r#"data["nginx.conf"]"#,
                DriftType::ConfigurationChange,
                Some(json!(git)),
                Some(json!(live)),
            )],
        );
        assert_eq!(
            unified(&[changed]),
            "--- git/v1/ConfigMap/shop/nginx\n\
             +++ cluster/v1/ConfigMap/shop/nginx\n\
             @@ -2,7 +2,7 @@\n   \
             nginx.conf: |\n     \
             worker_processes 4;\n     \
             events {\n\
             -      worker_connections 512;\n\
             +      worker_connections 1024;\n     \
             }\n     \
             http {\n       \
             gzip on;\n"
        );
        assert_eq!(
            line_diff(git, live),
            [
                "  worker_processes 4;",
                "  events {",
                "-   worker_connections 512;",
                "+   worker_connections 1024;",
                "  }",
                "  http {",
                "    gzip on;",
                "…",
            ]
        );
    }

    #[test]
    fn line_diffs_skip_long_unchanged_runs() {
        let git: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let live = git
            .replace("line 2\n", "line two\n")
            .replace("line 18\n", "line eighteen\n");
        let lines = line_diff(&git, &live);
        assert_eq!(
            lines,
            [
                "  line 1",
                "- line 2",
                "+ line two",
                "  line 3",
                "  line 4",
                "  line 5",
                "…",
                "  line 15",
                "  line 16",
                "  line 17",
                "- line 18",
                "+ line eighteen",
                "  line 19",
                "  line 20",
            ]
        );
        let middle = line_diff(&git, &git.replace("line 10\n", "line ten\n"));
        assert_eq!(middle.first().map(String::as_str), Some("…"));
        assert_eq!(middle.last().map(String::as_str), Some("…"));
        assert!(line_diff(&git, &git).is_empty());
        assert_eq!(
            line_diff("a\nb", "a\nb\n"),
            ["  a", "- b", "\\ no newline at end", "+ b"]
        );
    }

    #[test]
    fn a_missing_resource_diffs_its_whole_object() {
        let missing = record(
            "v1",
            "ConfigMap",
            Some("shop"),
            "settings",
            vec![detail("", DriftType::Missing, None, None)],
        );
        let object = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "shop",
                         "managedFields": [{"manager": "kubectl"}]},
            "data": {"LOG_LEVEL": "info", "RETRIES": "3"},
            "status": {"phase": "x"}
        });
        let text = unified_with(std::slice::from_ref(&missing), &|id| {
            (id.name() == "settings").then(|| object.clone())
        });
        assert_eq!(
            text,
            "--- git/v1/ConfigMap/shop/settings\n\
             +++ cluster/v1/ConfigMap/shop/settings\n\
             @@ -1,8 +0,0 @@\n\
             -apiVersion: v1\n\
             -data:\n\
             -  LOG_LEVEL: info\n\
             -  RETRIES: \"3\"\n\
             -kind: ConfigMap\n\
             -metadata:\n\
             -  name: settings\n\
             -  namespace: shop\n"
        );
        assert_eq!(
            unified(&[missing]),
            "--- git/v1/ConfigMap/shop/settings\n\
             +++ cluster/v1/ConfigMap/shop/settings\n\
             @@ -1,1 +0,0 @@\n\
             -# not found in the cluster\n"
        );
    }

    #[test]
    fn a_field_only_the_cluster_has_is_only_on_the_cluster_side() {
        let labelled = record(
            "v1",
            "Namespace",
            None,
            "shop",
            vec![detail(
                r#"metadata.labels["team.example.com/owner"]"#,
                DriftType::LabelChange,
                None,
                Some(json!("ops")),
            )],
        );
        assert_eq!(
            unified(&[labelled]),
            "--- git/v1/Namespace/shop\n\
             +++ cluster/v1/Namespace/shop\n\
             @@ -1,2 +1,3 @@\n \
             metadata:\n   \
             labels:\n\
             +    team.example.com/owner: ops\n"
        );
    }

    #[test]
    fn records_without_drift_are_left_out_and_order_is_kept() {
        let in_sync = deployment(Vec::new());
        let mut other = deployment(vec![detail(
            "spec.paused",
            DriftType::Other,
            None,
            Some(json!(true)),
        )]);
        other.name = "api".to_owned();
        let scaled = deployment(vec![detail(
            "spec.replicas",
            DriftType::Scaling,
            Some(json!(1)),
            Some(json!(2)),
        )]);
        let text = unified(&[scaled, in_sync, other]);
        let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("---")).collect();
        assert_eq!(
            headers,
            [
                "--- git/apps/v1/Deployment/shop/web",
                "--- git/apps/v1/Deployment/shop/api"
            ]
        );
        assert!(text.contains("+  paused: true\n"), "{text}");
    }

    #[test]
    fn strings_yaml_would_misread_are_quoted() {
        let lines = yaml_lines(&Node::from_value(&json!({
            "a": "true", "b": "3", "c": "", "d": "null", "e": "x: y", "f": " padded",
            "g": "# no comment", "h": "fingerprint:4f2a", "i": 3, "j": {}, "k": [],
            "l": "keep\n\n", "m": "no end\nline", "p": "  indented\nnext\n"
        })));
        assert_eq!(
            lines,
            [
                "a: \"true\"",
                "b: \"3\"",
                "c: \"\"",
                "d: \"null\"",
                "e: \"x: y\"",
                "f: \" padded\"",
                "g: \"# no comment\"",
                "h: fingerprint:4f2a",
                "i: 3",
                "j: {}",
                "k: []",
                "l: |+",
                "  keep",
                "",
                "m: |-",
                "  no end",
                "  line",
                "p: |2",
                "    indented",
                "  next",
            ]
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let script = "echo start\n\tprintf '\u{1b}[2J'\r\necho \u{9b}done\n";
        let changed = record(
            "v1",
            "ConfigMap",
            Some("shop\u{1b}[31m"),
            "scripts",
            vec![
                detail(
                    "data.run",
                    DriftType::ConfigurationChange,
                    Some(json!("echo start\n")),
                    Some(json!(script)),
                ),
                detail(
                    "data.title",
                    DriftType::ConfigurationChange,
                    Some(json!("plain")),
                    Some(json!("bell\u{7}")),
                ),
                detail(
                    "metadata.labels[\"x\u{1b}y\"]",
                    DriftType::LabelChange,
                    None,
                    Some(json!("z")),
                ),
            ],
        );
        let text = unified(&[changed]);
        assert!(
            !text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t'),
            "{text:?}"
        );
        assert!(text.contains("--- git/v1/ConfigMap/shop\\u{1b}[31m/scripts\n"));
        assert!(text.contains("+    \tprintf '\\u{1b}[2J'\\r\n"), "{text}");
        assert!(text.contains("+    echo \\u{9b}done\n"), "{text}");
        assert!(text.contains("+  title: \"bell\\a\"\n"), "{text}");

        let lines = line_diff("a\u{1b}[2J\n", "a\tb\u{7f}\n");
        assert_eq!(lines, ["- a\\u{1b}[2J", "+ a\tb\\u{7f}"]);
    }
}
