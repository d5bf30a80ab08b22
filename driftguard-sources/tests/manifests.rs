//! Reading manifest folders and dumps: formats, lists, skipped files, and clear errors.

use std::path::Path;

use driftguard_core::secret::FingerprintKey;
use driftguard_sources::{
    ApplicationRender, DesiredReader, DumpLiveSource, Error, FolderDesiredSource, RenderConfig,
    RenderMode, Renderer,
};

fn key() -> FingerprintKey {
    FingerprintKey::derive("manifest tests")
}

fn write(dir: &Path, name: &str, content: &[u8]) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create folder");
    }
    std::fs::write(path, content).expect("write file");
}

fn read_desired(dir: &Path) -> Result<Vec<String>, Error> {
    Ok(FolderDesiredSource::new(dir, key())?
        .read()?
        .resources
        .into_iter()
        .map(|r| r.id.to_string())
        .collect())
}

#[test]
fn reads_multi_document_yaml_json_and_nested_folders() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "app.yaml",
        b"# the app\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: shop\n---\n# nothing here\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n  namespace: shop\n---\n",
    );
    write(
        dir.path(),
        "nested/more/role.yml",
        b"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: reader\n",
    );
    write(
        dir.path(),
        "z.json",
        br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}"#,
    );
    write(dir.path(), "README.md", b"# not a manifest");
    write(
        dir.path(),
        ".github/workflows/ci.yml",
        b"on: [push]\njobs: {}\n",
    );
    let ids = read_desired(dir.path()).expect("folder reads");
    assert_eq!(
        ids,
        [
            "ConfigMap:shop:a",
            "Service:shop:b",
            "ClusterRole::reader",
            "Namespace::shop"
        ]
    );
}

#[test]
fn expands_lists_including_typed_lists_without_item_kinds() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "dump.json",
        br#"{"apiVersion":"apps/v1","kind":"DeploymentList","metadata":{"resourceVersion":"9"},
            "items":[{"metadata":{"name":"web","namespace":"shop"},"spec":{"replicas":1}}]}"#,
    );
    write(
        dir.path(),
        "list.yaml",
        b"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\n    namespace: shop\n",
    );
    let live = DumpLiveSource::new(dir.path(), key())
        .read()
        .expect("dumps read");
    let ids: Vec<String> = live.resources.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(ids, ["Deployment:shop:web", "ConfigMap:shop:c"]);
    assert_eq!(live.resources[0].api_version, "apps/v1");
}

/// Reads `dir` as plain manifests, without rendering what it holds.
fn read_plain(dir: &Path) -> Result<Vec<String>, Error> {
    let renderer = std::sync::Arc::new(Renderer::new(RenderConfig::default())?);
    let settings = ApplicationRender {
        mode: RenderMode::Plain,
        ..ApplicationRender::default()
    };
    let source =
        FolderDesiredSource::with_reader(dir, DesiredReader::new(renderer, settings, key()));
    Ok(source
        .read()?
        .resources
        .into_iter()
        .map(|r| r.id.to_string())
        .collect())
}

#[test]
fn non_kubernetes_yaml_is_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "values.yaml",
        b"replicaCount: 2\nimage:\n  tag: v1\n",
    );
    write(
        dir.path(),
        "Chart.yaml",
        b"apiVersion: v2\nname: shop\nversion: 1.0.0\n",
    );
    write(
        dir.path(),
        "kustomization.yaml",
        b"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n",
    );
    write(dir.path(), "list-doc.yaml", b"- a\n- b\n");
    assert_eq!(
        read_plain(dir.path()).expect("folder reads"),
        Vec::<String>::new()
    );
}

fn error_text(dir: &Path) -> String {
    read_desired(dir)
        .expect_err("input is rejected")
        .to_string()
}

#[test]
fn broken_yaml_names_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "broken.yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: [oops\nstringData:\n  password: hunter2-secret\n",
    );
    let text = error_text(dir.path());
    assert!(text.contains("broken.yaml:"), "{text}");
    assert!(text.contains("invalid YAML"), "{text}");
    let line: u64 = text
        .split("broken.yaml:")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .expect("a line number follows the file name");
    assert!((9..=11).contains(&line), "line {line} in {text}");
    assert!(!text.contains("hunter2-secret"), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
}

#[test]
fn document_without_kind_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "nokind.yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nmetadata:\n  name: b\n",
    );
    let text = error_text(dir.path());
    assert!(text.contains("nokind.yaml:6:"), "{text}");
    assert!(text.contains("no `kind`"), "{text}");
}

#[test]
fn object_without_name_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "noname.yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n",
    );
    assert!(error_text(dir.path()).contains("metadata.name"));
}

#[test]
fn binary_file_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "image.yaml",
        &[0x89, b'P', b'N', b'G', 0, 0, 0x1a, 0xff],
    );
    let text = error_text(dir.path());
    assert!(
        text.contains("image.yaml") && text.contains("not a text file"),
        "{text}"
    );
}

#[test]
fn oversized_file_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut big =
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  blob: ".to_vec();
    big.resize(50 * 1024 * 1024, b'x');
    big.push(b'\n');
    write(dir.path(), "big.yaml", &big);
    let text = error_text(dir.path());
    assert!(
        text.contains("big.yaml") && text.contains("limit"),
        "{text}"
    );
}

#[test]
fn oversized_document_in_a_dump_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut big =
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  blob: ".to_vec();
    big.resize(6 * 1024 * 1024, b'x');
    big.push(b'\n');
    write(dir.path(), "big.yaml", &big);
    let error = DumpLiveSource::new(dir.path(), key())
        .read()
        .expect_err("too large");
    assert!(
        error.to_string().contains("refuses objects this large"),
        "{error}"
    );
}

#[test]
fn deeply_nested_yaml_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut text =
        String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n");
    for depth in 1..300 {
        text.push_str(&"  ".repeat(depth));
        text.push_str("a:\n");
    }
    write(dir.path(), "deep.yaml", text.as_bytes());
    let text = error_text(dir.path());
    assert!(text.contains("deep.yaml"), "{text}");

    // Flow collections nest without indentation; they are refused the same way.
    let dir = tempfile::tempdir().expect("temp dir");
    let flow = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: flow\ndata:\n  a: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    write(dir.path(), "flow.yaml", flow.as_bytes());
    let text = error_text(dir.path());
    assert!(text.contains("flow.yaml"), "{text}");
}

#[test]
fn missing_path_is_not_found() {
    let error =
        read_desired(Path::new("/nonexistent/driftguard/manifests")).expect_err("no such folder");
    assert!(matches!(error, Error::NotFound { .. }), "{error}");
}

#[test]
fn secrets_are_fingerprinted_when_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "secret.yaml",
        b"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\nstringData:\n  password: correct-horse-battery\n",
    );
    let snapshot = FolderDesiredSource::new(dir.path(), key())
        .and_then(|source| source.read())
        .expect("reads");
    let text = snapshot.resources[0].object.to_string();
    assert!(!text.contains("correct-horse-battery"), "{text}");
    assert!(text.contains("fingerprint:"), "{text}");
}

#[test]
fn yaml_1_1_scalars_read_as_kubectl_reads_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "worker.yaml",
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: w\n  namespace: shop\n  labels:\n    zip: \"0644\"\n    build: \"08\"\nspec:\n  enableServiceLinks: no\n  containers:\n  - name: w\n    image: w:1\n    stdin: on\n    tty: off\n    volumeMounts:\n    - {name: k, mountPath: /k, readOnly: yes}\n  volumes:\n  - name: k\n    secret:\n      secretName: k\n      defaultMode: 0644\n      items:\n      - {key: a, path: a, mode: 0400}\n      - {key: b, path: b, mode: 420}\n",
    );
    let snapshot = FolderDesiredSource::new(dir.path(), key())
        .and_then(|source| source.read())
        .expect("reads");
    let pod = &snapshot.resources[0].object.to_value();
    let spec = &pod["spec"];
    assert_eq!(spec["enableServiceLinks"], serde_json::json!(false));
    assert_eq!(spec["containers"][0]["stdin"], serde_json::json!(true));
    assert_eq!(spec["containers"][0]["tty"], serde_json::json!(false));
    assert_eq!(
        spec["containers"][0]["volumeMounts"][0]["readOnly"],
        serde_json::json!(true)
    );
    let secret = &spec["volumes"][0]["secret"];
    assert_eq!(secret["defaultMode"], serde_json::json!(420));
    assert_eq!(secret["items"][0]["mode"], serde_json::json!(256));
    assert_eq!(secret["items"][1]["mode"], serde_json::json!(420));
    // Quoted scalars stay strings.
    assert_eq!(pod["metadata"]["labels"]["zip"], serde_json::json!("0644"));
    assert_eq!(pod["metadata"]["labels"]["build"], serde_json::json!("08"));
}
