//! Turns configuration into the library's settings, sources and store: one path for
//! `serve` and for `check`, whose flags are an overlay on the same settings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use driftguard_core::analysis::DetectionSettings;
use driftguard_core::secret::FingerprintKey;
use driftguard_core::{Application, DriftStore, LiveSource};
use driftguard_sources::{
    ApplicationConfig, CapabilitiesSource, DumpLiveSource, GitRepositories, KubeLiveSource,
    KubeSourceConfig, LiveKind, Renderer, resolve_applications,
};
use driftguard_store::DatabaseKind;

use crate::config::Settings;

/// The comparison and classification settings of the `detection` section, with the
/// namespaces of the `kubernetes` section as the analysis scope.
pub fn detection_settings(settings: &Settings) -> anyhow::Result<DetectionSettings> {
    settings.cluster.validate()?;
    detection_settings_for(settings, &settings.cluster.name)
}

/// [`detection_settings`] for the analyses of the cluster named `cluster`.
pub fn detection_settings_for(
    settings: &Settings,
    cluster: &str,
) -> anyhow::Result<DetectionSettings> {
    let mut detection = settings
        .detection
        .detection_settings(&settings.kubernetes.namespaces)
        .context("detection")?;
    detection.cluster = cluster.to_owned();
    Ok(detection)
}

/// The live side the configuration names, and, for a cluster, the source of what Helm's
/// `.Capabilities` should see. A Kubernetes source starts watching when `watch` is set.
pub async fn live_source(
    settings: &Settings,
    key: &FingerprintKey,
    watch: bool,
) -> anyhow::Result<(Arc<dyn LiveSource>, Option<Arc<dyn CapabilitiesSource>>)> {
    live_source_for(settings, &settings.kubernetes, key, watch).await
}

/// [`live_source`] with `kubernetes` as the connection and settings of a cluster source.
pub async fn live_source_for(
    settings: &Settings,
    kubernetes: &KubeSourceConfig,
    key: &FingerprintKey,
    watch: bool,
) -> anyhow::Result<(Arc<dyn LiveSource>, Option<Arc<dyn CapabilitiesSource>>)> {
    Ok(match settings.sources.live {
        LiveKind::Dump => {
            let dump = settings
                .sources
                .dump
                .clone()
                .context("sources.dump is required when sources.live is dump")?;
            let source = DumpLiveSource::new(dump, key.clone())
                .with_declared_types(settings.sources.dump_types.clone());
            (Arc::new(source), None)
        }
        LiveKind::Kubernetes => {
            let source = KubeLiveSource::connect(kubernetes.clone(), key.clone()).await?;
            if watch && let Err(error) = source.start_watch().await {
                tracing::warn!(%error, "❌ cannot start watching the cluster; changes are seen at the next full analysis");
            }
            let source = Arc::new(source);
            let capabilities: Arc<dyn CapabilitiesSource> = source.clone();
            (source, Some(capabilities))
        }
    })
}

/// The applications the configuration describes, each with its desired source: shared
/// Git clones for applications of one repository, and one renderer for all, giving Helm
/// `capabilities` when the live side is a cluster.
pub fn applications(
    settings: &Settings,
    key: &FingerprintKey,
    capabilities: Option<Arc<dyn CapabilitiesSource>>,
) -> anyhow::Result<Vec<Application>> {
    let configs = resolve_applications(&settings.sources, &settings.git, &settings.applications)?;
    build_applications(
        settings,
        &configs,
        &GitRepositories::default(),
        key,
        capabilities,
    )
}

/// The applications `configs` describe (already resolved), as [`applications`] builds
/// them; applications of one repository share its clone in `repositories`, also across
/// clusters.
pub fn build_applications(
    settings: &Settings,
    configs: &[ApplicationConfig],
    repositories: &GitRepositories,
    key: &FingerprintKey,
    capabilities: Option<Arc<dyn CapabilitiesSource>>,
) -> anyhow::Result<Vec<Application>> {
    let mut renderer = Renderer::new(settings.render.clone()).context("render")?;
    if let Some(capabilities) = capabilities {
        renderer = renderer.with_capabilities(capabilities);
    }
    let renderer = Arc::new(renderer);
    configs
        .iter()
        .map(|config| {
            config
                .build(&settings.git, repositories, &renderer, key)
                .with_context(|| format!("application {}", config.name))
        })
        .collect()
}

/// Opens the configured store.
pub async fn store(settings: &Settings) -> anyhow::Result<Arc<dyn DriftStore>> {
    if let DatabaseKind::Sqlite { path } = &settings.database.kind {
        create_parent(path)?;
    }
    Ok(driftguard_store::open(&settings.database).await?)
}

/// Creates the folder a file will live in.
pub fn create_parent(path: &Path) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    }
    Ok(())
}

/// Whether `--desired` names a Git repository rather than a folder of manifests.
pub fn is_git_location(desired: &str, branch_or_path_given: bool) -> bool {
    if desired.contains("://") {
        return true;
    }
    // scp-like `git@github.com:org/repo.git`; a Windows drive or a plain path has no `@…:`.
    if let Some((user_host, _)) = desired.split_once(':')
        && user_host.contains('@')
        && !user_host.contains('/')
    {
        return true;
    }
    let path = PathBuf::from(desired);
    branch_or_path_given || is_bare_repository(&path)
}

/// Whether `path` holds a bare Git repository (`HEAD`, `objects/` and `refs/` at its top).
pub fn is_bare_repository(path: &Path) -> bool {
    path.join("HEAD").is_file() && path.join("objects").is_dir() && path.join("refs").is_dir()
}
