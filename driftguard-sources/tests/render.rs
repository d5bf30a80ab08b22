//! Rendering with the real tools: Kustomize (`kubectl kustomize`, or `kustomize` when on
//! PATH) and Helm's own engine (the test `helm` command over helm-python-sdk), on the
//! repositories of `tests/render/`, from a folder and from Git.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod git_common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use driftguard_core::secret::FingerprintKey;
use driftguard_core::{DesiredSnapshot, DesiredSource as _, Resource};
use driftguard_sources::{
    ApplicationRender, Capabilities, CapabilitiesSource, DesiredReader, Error, FolderDesiredSource,
    GitDesiredSource, GitRepositories, HelmOptions, KustomizeOptions, RenderConfig, RenderMode,
    Renderer,
};
use driftguard_test_support::git::{GitDaemon, TestRepo};
use driftguard_test_support::helm::helm_command;
use driftguard_test_support::python::workspace_root;
use serde_json::{Value, json};

use git_common::{config, source_error};

fn fixture(path: &str) -> PathBuf {
    workspace_root().join("tests/render").join(path)
}

fn key() -> FingerprintKey {
    FingerprintKey::derive("render tests")
}

fn renderer(config: RenderConfig) -> Arc<Renderer> {
    Arc::new(Renderer::new(config).expect("renderer"))
}

fn render_config() -> RenderConfig {
    RenderConfig {
        helm_command: helm_command(),
        ..RenderConfig::default()
    }
}

fn folder_source(folder: &Path, settings: ApplicationRender) -> FolderDesiredSource {
    FolderDesiredSource::with_reader(
        folder,
        DesiredReader::new(renderer(render_config()), settings, key()),
    )
}

fn ids(snapshot: &DesiredSnapshot) -> Vec<String> {
    let mut ids: Vec<String> = snapshot
        .resources
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    ids.sort();
    ids
}

fn find<'a>(snapshot: &'a DesiredSnapshot, prefix: &str) -> &'a Resource {
    snapshot
        .resources
        .iter()
        .find(|r| r.id.to_string().starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix}… in {:?}", ids(snapshot)))
}

/// The name Kustomize gives a generated object: `NAME-` and a ten-character hash.
fn is_hashed(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .is_some_and(|hash| hash.len() == 10 && hash.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[test]
fn an_overlay_is_built_as_kustomize_builds_it() {
    let source = folder_source(&fixture("shop/overlays/prod"), ApplicationRender::default());
    let snapshot = source.read().expect("the overlay renders");
    let ids = ids(&snapshot);
    assert_eq!(ids.len(), 7, "{ids:?}");
    for expected in [
        "ClusterRole::prod-shop-reader",
        "Deployment:shop:prod-web",
        "Namespace::shop",
        "PodDisruptionBudget:shop:prod-web",
        "Service:shop:prod-web",
    ] {
        assert!(ids.contains(&expected.to_owned()), "{expected} in {ids:?}");
    }
    // Generators: hash-suffixed names, and references to them rewritten.
    let config_map = find(&snapshot, "ConfigMap:shop:prod-web-config-");
    assert!(is_hashed(
        &config_map.id.to_string(),
        "ConfigMap:shop:prod-web-config-"
    ));
    let secret = find(&snapshot, "Secret:shop:prod-web-secret-");
    assert!(is_hashed(
        &secret.id.to_string(),
        "Secret:shop:prod-web-secret-"
    ));
    let deployment = &find(&snapshot, "Deployment:shop:prod-web")
        .object
        .to_value();
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["envFrom"][0]["configMapRef"]["name"],
        config_map.id.name()
    );
    assert_eq!(
        container["env"][0]["valueFrom"]["secretKeyRef"]["name"],
        secret.id.name()
    );
    // replicas, images, the strategic-merge patch, labels.
    assert_eq!(deployment["spec"]["replicas"], 3);
    assert_eq!(container["image"], "nginx:1.27.1");
    assert_eq!(container["resources"]["limits"]["cpu"], "500m");
    assert_eq!(deployment["metadata"]["labels"]["env"], "prod");
    assert_eq!(
        deployment["metadata"]["labels"]["app.kubernetes.io/part-of"],
        "shop"
    );
    // The JSON 6902 patch.
    let service = &find(&snapshot, "Service:shop:prod-web").object.to_value();
    assert_eq!(
        service["metadata"]["annotations"]["shop.example.com/tier"],
        "frontend"
    );
    // A generated Secret is fingerprinted like any Secret: no plaintext, no base64 of it.
    let text = serde_json::to_string(
        &snapshot
            .resources
            .iter()
            .map(|r| &r.object)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(!text.contains("prod-api-key-do-not-show"), "{text}");
    assert!(!text.contains("cHJvZC1hcGkta2V5LWRvLW5vdC1zaG93"), "{text}");
    assert!(
        secret.object.to_value()["data"]["API_KEY"]
            .as_str()
            .is_some_and(|v| v.starts_with("fingerprint:"))
    );
    // Where the objects came from, and that one tool ran.
    let origin = deployment_origin(&snapshot);
    assert!(
        origin.contains("overlays/prod (rendered by Kustomize)"),
        "{origin}"
    );
    let render = snapshot.render.expect("a render summary");
    assert_eq!((render.rendered, render.cached), (1, 0));
}

fn deployment_origin(snapshot: &DesiredSnapshot) -> String {
    find(snapshot, "Deployment:")
        .origin
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default()
}

#[test]
fn a_repository_root_renders_the_overlays_not_the_base_nor_the_patch_files() {
    let source = folder_source(&fixture("shop"), ApplicationRender::default());
    let snapshot = source.read().expect("the repository renders");
    let ids = ids(&snapshot);
    // Both overlays, each with its own prefix and namespace; never the base's unprefixed
    // objects, the component alone, or the raw patch file.
    assert!(
        ids.contains(&"Deployment:shop:prod-web".to_owned()),
        "{ids:?}"
    );
    assert!(
        ids.contains(&"Deployment:shop-staging:staging-web".to_owned()),
        "{ids:?}"
    );
    assert!(
        !ids.iter()
            .any(|id| id.ends_with(":web") || id.ends_with("::web")),
        "{ids:?}"
    );
    assert_eq!(ids.len(), 7 + 4, "{ids:?}");
    assert_eq!(snapshot.render.map(|r| r.rendered), Some(2));
}

#[test]
fn plain_mode_reads_the_files_as_written() {
    let settings = ApplicationRender {
        mode: RenderMode::Plain,
        ..ApplicationRender::default()
    };
    let snapshot = folder_source(&fixture("shop/overlays/prod"), settings)
        .read()
        .expect("plain files read");
    // The raw patch (a namespace-less, unprefixed Deployment) and the raw objects.
    let ids = ids(&snapshot);
    assert!(ids.contains(&"Deployment::web".to_owned()), "{ids:?}");
    assert!(snapshot.render.is_none());
}

fn billing(helm: HelmOptions, namespace: &str) -> ApplicationRender {
    ApplicationRender {
        mode: RenderMode::Auto,
        helm,
        namespace: Some(namespace.to_owned()),
        ..ApplicationRender::default()
    }
}

#[test]
fn a_chart_is_rendered_with_its_values_files_in_order_and_set_values() {
    let helm = HelmOptions {
        release: Some("billing-eu".to_owned()),
        values: vec![
            PathBuf::from("values-prod.yaml"),
            PathBuf::from("values-eu.yaml"),
        ],
        set: [("image.tag".to_owned(), json!("2.4.1"))]
            .into_iter()
            .collect(),
        ..HelmOptions::default()
    };
    let snapshot = folder_source(&fixture("charts/billing"), billing(helm, "billing"))
        .read()
        .expect("the chart renders");
    let ids = ids(&snapshot);
    assert_eq!(
        ids,
        [
            "ConfigMap::billing-eu-config",
            "CustomResourceDefinition::invoices.billing.example.com",
            "Deployment::billing-eu",
            "Job::billing-eu-migrate",
        ],
        "the CRD from crds/ (--include-crds) and the hook are rendered; NOTES.txt is not"
    );
    let config = &find(&snapshot, "ConfigMap::").object.to_value()["data"];
    // values.yaml, then values-prod.yaml (log level), then values-eu.yaml (region).
    assert_eq!(config["LOG_LEVEL"], "warn");
    assert_eq!(config["CURRENCY"], "EUR");
    assert_eq!(config["REGION"], "eu-west-1");
    // The destination namespace is the release namespace.
    assert_eq!(config["RELEASE_NAMESPACE"], "billing");
    let deployment = &find(&snapshot, "Deployment::").object.to_value();
    assert_eq!(deployment["spec"]["replicas"], 3);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/example/billing:2.4.1"
    );
    let origin = deployment_origin(&snapshot);
    assert!(
        origin.contains("charts/billing (rendered by Helm)"),
        "{origin}"
    );
}

#[test]
fn a_chart_without_settings_renders_with_its_defaults_as_release_of_its_folder_name() {
    let snapshot = folder_source(
        &fixture("charts/billing"),
        billing(HelmOptions::default(), "payments"),
    )
    .read()
    .expect("the chart renders");
    let config = &find(&snapshot, "ConfigMap::billing-config")
        .object
        .to_value()["data"];
    assert_eq!(config["LOG_LEVEL"], "info");
    assert_eq!(config["RELEASE_NAMESPACE"], "payments");
}

/// Capabilities as discovery would report them.
struct Cluster(Capabilities);

#[async_trait]
impl CapabilitiesSource for Cluster {
    async fn capabilities(&self) -> Result<Capabilities, Error> {
        Ok(self.0.clone())
    }
}

#[tokio::test]
async fn helm_sees_the_api_versions_the_cluster_serves() {
    let without = folder_source(
        &fixture("charts/billing"),
        billing(HelmOptions::default(), "billing"),
    )
    .snapshot()
    .await
    .expect("renders");
    assert!(
        !ids(&without)
            .iter()
            .any(|id| id.starts_with("ServiceMonitor"))
    );

    let cluster = Cluster(Capabilities {
        kube_version: Some("v1.31.2".to_owned()),
        api_versions: vec!["apps/v1".to_owned(), "monitoring.coreos.com/v1".to_owned()],
    });
    let renderer = Arc::new(
        Renderer::new(render_config())
            .unwrap()
            .with_capabilities(Arc::new(cluster)),
    );
    let source = FolderDesiredSource::with_reader(
        fixture("charts/billing"),
        DesiredReader::new(renderer, billing(HelmOptions::default(), "billing"), key()),
    );
    let with = source.snapshot().await.expect("renders");
    assert!(
        ids(&with).contains(&"ServiceMonitor::billing".to_owned()),
        "{:?}",
        ids(&with)
    );
}

/// A cluster whose discovery answers only while `up` is set.
struct Flaky {
    up: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl CapabilitiesSource for Flaky {
    async fn capabilities(&self) -> Result<Capabilities, Error> {
        if self.up.load(std::sync::atomic::Ordering::SeqCst) {
            Ok(Capabilities {
                kube_version: Some("v1.31.2".to_owned()),
                api_versions: vec!["monitoring.coreos.com/v1".to_owned()],
            })
        } else {
            Err(Error::KubeUnreachable {
                request: "discover /api".to_owned(),
                reason: "connection refused".to_owned(),
            })
        }
    }
}

#[tokio::test]
async fn a_chart_waits_for_the_clusters_capabilities_and_keeps_the_last_ones() {
    let cluster = Arc::new(Flaky {
        up: std::sync::atomic::AtomicBool::new(false),
    });
    let renderer = Arc::new(
        Renderer::new(render_config())
            .unwrap()
            .with_capabilities(cluster.clone()),
    );
    let source = FolderDesiredSource::with_reader(
        fixture("charts/billing"),
        DesiredReader::new(renderer, billing(HelmOptions::default(), "billing"), key()),
    );
    // Never read: rendering with Helm's defaults would drop the ServiceMonitor.
    let error = source.snapshot().await.expect_err("no capabilities yet");
    assert!(error.to_string().contains(".Capabilities"), "{error}");
    cluster.up.store(true, std::sync::atomic::Ordering::SeqCst);
    let read = source.snapshot().await.expect("renders");
    assert!(ids(&read).contains(&"ServiceMonitor::billing".to_owned()));
    // Down again: the last capabilities read are used.
    cluster.up.store(false, std::sync::atomic::Ordering::SeqCst);
    let again = source.snapshot().await.expect("renders with the last ones");
    assert_eq!(ids(&again), ids(&read));
}

#[test]
fn a_values_file_outside_the_repository_is_refused() {
    let repository = tempfile::tempdir().unwrap();
    copy(
        &fixture("charts/billing"),
        &repository.path().join("charts/billing"),
    );
    std::fs::create_dir(repository.path().join(".git")).unwrap();
    std::fs::write(
        repository
            .path()
            .parent()
            .unwrap()
            .join("stolen-values.yaml"),
        "x: 1\n",
    )
    .ok();
    let helm = HelmOptions {
        values: vec![PathBuf::from("../../../stolen-values.yaml")],
        ..HelmOptions::default()
    };
    let error = folder_source(
        &repository.path().join("charts/billing"),
        billing(helm, "billing"),
    )
    .read()
    .expect_err("refused");
    assert!(matches!(error, Error::RenderRefused { .. }), "{error}");
    assert!(
        error.to_string().contains("leaves the repository"),
        "{error}"
    );
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn kustomize_error(folder: &Path, options: KustomizeOptions, config: RenderConfig) -> Error {
    let settings = ApplicationRender {
        kustomize: options,
        ..ApplicationRender::default()
    };
    FolderDesiredSource::with_reader(
        folder,
        DesiredReader::new(renderer(config), settings, key()),
    )
    .read()
    .expect_err("the render fails")
}

#[test]
fn a_missing_file_fails_the_render_with_kustomizes_message() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "app/kustomization.yaml",
        "resources: [deployment.yaml]\n",
    );
    let error = kustomize_error(
        &dir.path().join("app"),
        KustomizeOptions::default(),
        render_config(),
    );
    let message = error.to_string();
    assert!(matches!(error, Error::Render { .. }), "{message}");
    assert!(message.contains("app"), "{message}");
    assert!(message.contains("deployment.yaml"), "{message}");
}

#[test]
fn a_remote_base_is_refused_unless_the_application_allows_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "app/kustomization.yaml",
        "resources:\n- https://github.com/kubernetes-sigs/kustomize//examples/helloWorld?ref=v5.5.0\n",
    );
    let started = Instant::now();
    let error = kustomize_error(
        &dir.path().join("app"),
        KustomizeOptions::default(),
        render_config(),
    );
    assert!(matches!(error, Error::RenderRefused { .. }), "{error}");
    assert!(error.to_string().contains("allow_remote_bases"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(2));

    // Allowed, it is fetched; with no network it fails, and within the render timeout.
    let config = RenderConfig {
        timeout: Duration::from_secs(15),
        ..render_config()
    };
    let started = Instant::now();
    let allowed = KustomizeOptions {
        allow_remote_bases: true,
        ..KustomizeOptions::default()
    };
    let error = kustomize_error(&dir.path().join("app"), allowed, config);
    assert!(matches!(error, Error::Render { .. }), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_base_outside_the_repository_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let repository = dir.path().join("repo");
    std::fs::create_dir_all(repository.join(".git")).unwrap();
    write(dir.path(), "outside/kustomization.yaml", "resources: []\n");
    write(
        &repository,
        "app/kustomization.yaml",
        "resources: [../../outside]\n",
    );
    let error = kustomize_error(
        &repository.join("app"),
        KustomizeOptions::default(),
        render_config(),
    );
    assert!(
        error.to_string().contains("leaves the repository"),
        "{error}"
    );
}

/// A `kustomize` of our own that misbehaves as `script` says.
fn fake_kustomize(dir: &Path, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("kustomize");
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[test]
fn a_renderer_that_never_ends_is_stopped_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app/kustomization.yaml", "resources: []\n");
    let config = RenderConfig {
        timeout: Duration::from_secs(1),
        kustomize_command: Some(fake_kustomize(dir.path(), "sleep 600 & sleep 600")),
        ..render_config()
    };
    let started = Instant::now();
    let error = kustomize_error(&dir.path().join("app"), KustomizeOptions::default(), config);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        error.to_string().contains("did not finish within 1 s"),
        "{error}"
    );
}

#[test]
fn a_renderer_printing_a_gibibyte_is_stopped_at_the_output_cap() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app/kustomization.yaml", "resources: []\n");
    let config = RenderConfig {
        max_output_bytes: 1024 * 1024,
        kustomize_command: Some(fake_kustomize(
            dir.path(),
            "head -c 1073741824 /dev/zero | tr '\\0' 'a'",
        )),
        ..render_config()
    };
    let started = Instant::now();
    let error = kustomize_error(&dir.path().join("app"), KustomizeOptions::default(), config);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(error.to_string().contains("1048576 bytes"), "{error}");
}

#[test]
fn an_empty_kustomization_renders_nothing_or_fails_as_kustomize_says() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app/kustomization.yaml", "resources: []\n");
    let snapshot = folder_source(&dir.path().join("app"), ApplicationRender::default())
        .read()
        .expect("renders");
    assert!(snapshot.resources.is_empty());
    assert_eq!(snapshot.render.map(|r| r.rendered), Some(1));
    // A kustomization with nothing at all in it is an error of Kustomize's own.
    write(
        dir.path(),
        "app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n",
    );
    let error = kustomize_error(
        &dir.path().join("app"),
        KustomizeOptions::default(),
        render_config(),
    );
    assert!(error.to_string().contains("empty"), "{error}");
}

#[tokio::test]
async fn applications_of_one_repository_share_one_fetch_and_a_revision_is_rendered_once() {
    let repo = TestRepo::new();
    repo.copy_tree(&fixture("shop"), "apps/shop");
    repo.copy_tree(&fixture("charts/billing"), "charts/billing");
    let head = repo.commit("shop overlays and the billing chart");
    let daemon = GitDaemon::serve(repo.base_dir());
    let cache = tempfile::tempdir().unwrap();
    let base = config(&daemon.url(repo.name()), cache.path());
    let repositories = GitRepositories::default();
    let shared = repositories.get(&base).unwrap();
    assert!(Arc::ptr_eq(&shared, &repositories.get(&base).unwrap()));
    let renderer = renderer(render_config());
    let shop = GitDesiredSource::for_application(
        Arc::clone(&shared),
        Some(PathBuf::from("apps/shop/overlays/prod")),
        DesiredReader::new(Arc::clone(&renderer), ApplicationRender::default(), key()),
    )
    .unwrap();
    let billing_render = billing(HelmOptions::default(), "billing");
    let billing = GitDesiredSource::for_application(
        Arc::clone(&shared),
        Some(PathBuf::from("charts/billing")),
        DesiredReader::new(Arc::clone(&renderer), billing_render, key()),
    )
    .unwrap();

    let (shop_snapshot, billing_snapshot) = tokio::join!(shop.snapshot(), billing.snapshot());
    let (shop_snapshot, billing_snapshot) = (shop_snapshot.unwrap(), billing_snapshot.unwrap());
    assert_eq!(shared.syncs(), 1, "one fetch for two applications");
    assert_eq!(shop_snapshot.revision.as_deref(), Some(head.as_str()));
    assert_eq!(billing_snapshot.revision.as_deref(), Some(head.as_str()));
    assert!(ids(&shop_snapshot).contains(&"Deployment:shop:prod-web".to_owned()));
    assert!(ids(&billing_snapshot).contains(&"Deployment::billing".to_owned()));
    // Errors and origins name repository paths, not the checkout on disk.
    let origin = deployment_origin(&shop_snapshot);
    assert!(
        origin.starts_with("apps/shop/overlays/prod (rendered by Kustomize)"),
        "{origin}"
    );

    // The same revision again: fetched, not rendered.
    let again = shop.snapshot().await.unwrap();
    assert_eq!(again.resources, shop_snapshot.resources);
    let render = again.render.unwrap();
    assert_eq!((render.rendered, render.cached), (0, 1));

    // A new commit is rendered again.
    repo.commit_file(
        "apps/shop/overlays/prod/resources.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          resources:\n            limits:\n              cpu: \"1\"\n",
        "more cpu",
    );
    let changed = shop.snapshot().await.unwrap();
    assert_eq!(changed.render.unwrap().rendered, 1);
    let deployment = &find(&changed, "Deployment:shop:prod-web").object.to_value();
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"],
        Value::from("1")
    );
}

#[tokio::test]
async fn a_failed_render_in_git_names_the_repository_folder_and_the_cause() {
    let repo = TestRepo::new();
    repo.write(
        "apps/broken/kustomization.yaml",
        "resources: [missing.yaml]\n",
    );
    repo.commit("a kustomization that refers to a missing file");
    let daemon = GitDaemon::serve(repo.base_dir());
    let cache = tempfile::tempdir().unwrap();
    let mut settings = config(&daemon.url(repo.name()), cache.path());
    settings.path = Some(PathBuf::from("apps/broken"));
    let source = GitDesiredSource::new(settings, key()).unwrap();
    let error = source.snapshot().await.expect_err("the render fails");
    let inner = source_error(&error);
    let message = inner.to_string();
    assert!(matches!(inner, Error::Render { .. }), "{message}");
    assert!(message.contains("failed on apps/broken"), "{message}");
    assert!(message.contains("missing.yaml"), "{message}");
    assert!(!message.contains(".checkouts"), "{message}");
}
