//! Turns configuration into the library's settings, sources and store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use driftguard_core::analysis::DetectionSettings as CoreDetection;
use driftguard_core::classify::ClassificationRule;
use driftguard_core::ignore::IgnoreRule;
use driftguard_core::secret::FingerprintKey;
use driftguard_core::{DesiredSource, DriftStore, DriftType, LiveSource, Severity};
use driftguard_sources::{
    DumpLiveSource, FolderDesiredSource, GitAuth, GitDesiredSource, GitSourceConfig,
    KubeLiveSource, KubeSourceConfig, TokenSource,
};
use driftguard_store::StoreConfig;

use crate::config::{
    DatabaseType, DesiredKind, GitAuthKind, GitSettings, KubernetesSettings, LiveKind, Settings,
};

/// Parses `Low`, `Medium` or `High` (any case).
pub fn parse_severity(text: &str, key: &str) -> anyhow::Result<Severity> {
    match text.to_ascii_lowercase().as_str() {
        "low" => Ok(Severity::Low),
        "medium" => Ok(Severity::Medium),
        "high" => Ok(Severity::High),
        _ => bail!("{key}: `{text}` is not a severity (Low, Medium or High)"),
    }
}

fn parse_drift_type(text: &str, key: &str) -> anyhow::Result<DriftType> {
    text.parse::<DriftType>().map_err(|_| {
        let names: Vec<&str> = DriftType::ALL.iter().map(|t| t.as_str()).collect();
        anyhow!(
            "{key}: `{text}` is not a drift type (one of {})",
            names.join(", ")
        )
    })
}

/// The comparison and classification settings of the `detection` section, with the
/// namespaces of the `kubernetes` section as the analysis scope.
pub fn detection_settings(settings: &Settings) -> anyhow::Result<CoreDetection> {
    let detection = &settings.detection;
    let mut core = CoreDetection {
        namespaces: settings.kubernetes.namespaces.clone(),
        ..CoreDetection::default()
    };
    let compare = &mut core.compare;
    let mut seen = std::collections::BTreeSet::new();
    for (name, severity) in &detection.severities {
        let key = format!("detection.severities.{name}");
        let drift_type = parse_drift_type(name, &key)?;
        if !seen.insert(drift_type) {
            bail!(
                "{key}: {drift_type} is given twice (names are not case-sensitive, and an environment override such as DRIFTGUARD__DETECTION__SEVERITIES__LABELCHANGE adds a lower-case key next to the file's)"
            );
        }
        compare
            .classifier
            .set_severity(drift_type, parse_severity(severity, &key)?);
    }
    // Rules are put in front one by one; reversing keeps the file's order of precedence.
    for (i, rule) in detection.classification.iter().enumerate().rev() {
        let key = format!("detection.classification[{i}]");
        let drift_type = parse_drift_type(&rule.drift_type, &format!("{key}.drift_type"))?;
        let severity = parse_severity(&rule.severity, &format!("{key}.severity"))?;
        if rule.paths.is_empty() {
            bail!("{key}.paths is empty");
        }
        let kinds: Vec<&str> = rule.kinds.iter().map(String::as_str).collect();
        let paths: Vec<&str> = rule.paths.iter().map(String::as_str).collect();
        let parsed = ClassificationRule::new(drift_type, severity, &kinds, &paths)
            .map_err(|e| anyhow!("{key}.paths: {e}"))?;
        compare.classifier.prepend(parsed);
    }
    for (i, rule) in detection.ignore.iter().enumerate() {
        let key = format!("detection.ignore[{i}].paths");
        if rule.paths.is_empty() {
            bail!("{key} is empty");
        }
        let paths = rule
            .paths
            .iter()
            .map(|p| p.parse())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow!("{key}: {e}"))?;
        compare.ignore.rules.push(IgnoreRule {
            kinds: rule.kinds.clone(),
            paths,
        });
    }
    compare
        .ignore
        .managers
        .extend(detection.ignore_managers.iter().cloned());
    compare
        .managers
        .add_appliers(detection.appliers.iter().cloned());
    compare
        .managers
        .add_controllers(detection.controllers.iter().cloned());
    compare
        .canonical
        .ignored_annotations
        .extend(detection.ignored_annotations.iter().cloned());
    compare
        .canonical
        .ignored_labels
        .extend(detection.ignored_labels.iter().cloned());
    Ok(core)
}

/// The Git source settings of the `git` section.
pub fn git_config(git: &GitSettings) -> GitSourceConfig {
    let auth = &git.auth;
    let token = || match (&auth.token_env, &auth.token_file) {
        (Some(name), _) => TokenSource::Env(name.clone()),
        (None, Some(path)) => TokenSource::File(path.clone()),
        (None, None) => TokenSource::Env(String::new()),
    };
    let passphrase = match (&auth.ssh_passphrase_env, &auth.ssh_passphrase_file) {
        (Some(name), _) => Some(TokenSource::Env(name.clone())),
        (None, Some(path)) => Some(TokenSource::File(path.clone())),
        (None, None) => None,
    };
    let auth = match auth.kind {
        GitAuthKind::None => GitAuth::None,
        GitAuthKind::Token => GitAuth::HttpsToken {
            username: auth.username.clone(),
            token: token(),
        },
        GitAuthKind::Ssh => GitAuth::SshKey {
            username: auth.username.clone(),
            private_key: auth.ssh_key.clone().unwrap_or_default(),
            public_key: auth.ssh_public_key.clone(),
            passphrase,
        },
        GitAuthKind::SshAgent => GitAuth::SshAgent {
            username: auth.username.clone(),
        },
    };
    let mut config = GitSourceConfig::new(git.url.clone(), git.cache_dir.clone());
    config.branch = git.branch.clone();
    config.path = git.path.clone();
    config.clone_timeout = git.clone_timeout;
    config.pull_timeout = git.pull_timeout;
    config.allow_force_push = git.allow_force_push;
    config.auth = auth;
    config
}

/// The Kubernetes source settings of the `kubernetes` section.
pub fn kube_config(kubernetes: &KubernetesSettings) -> KubeSourceConfig {
    KubeSourceConfig {
        kubeconfig: kubernetes.kubeconfig.clone(),
        context: kubernetes.context.clone(),
        namespaces: kubernetes.namespaces.clone(),
        resource_types: kubernetes.resource_types.clone(),
        exclude_system_namespaces: kubernetes.exclude_system_namespaces,
        system_namespaces: kubernetes.system_namespaces.clone(),
        page_size: kubernetes.page_size,
        request_timeout: kubernetes.request_timeout,
    }
}

/// The store settings of the `database` section.
pub fn store_config(settings: &Settings) -> StoreConfig {
    let database = &settings.database;
    let config = match database.kind {
        DatabaseType::Sqlite => StoreConfig::sqlite(database.path.clone()),
        DatabaseType::Mongodb => StoreConfig::mongodb(
            database.uri.clone().unwrap_or_default(),
            database.name.clone(),
        ),
    };
    config.with_connect_timeout(database.connect_timeout)
}

/// The desired source the configuration names.
pub fn desired_source(
    settings: &Settings,
    key: &FingerprintKey,
) -> anyhow::Result<Arc<dyn DesiredSource>> {
    Ok(match settings.sources.desired {
        DesiredKind::Folder => {
            let folder = settings
                .sources
                .folder
                .clone()
                .context("sources.folder is required when sources.desired is folder")?;
            Arc::new(FolderDesiredSource::new(folder, key.clone()))
        }
        DesiredKind::Git => Arc::new(
            GitDesiredSource::new(git_config(&settings.git), key.clone())
                .map_err(|e| anyhow!("git: {e}"))?,
        ),
    })
}

/// The live source the configuration names; a Kubernetes source starts watching when
/// `detection.watch` is on.
pub async fn live_source(
    settings: &Settings,
    key: &FingerprintKey,
) -> anyhow::Result<Arc<dyn LiveSource>> {
    Ok(match settings.sources.live {
        LiveKind::Dump => {
            let dump = settings
                .sources
                .dump
                .clone()
                .context("sources.dump is required when sources.live is dump")?;
            Arc::new(DumpLiveSource::new(dump, key.clone()))
        }
        LiveKind::Kubernetes => {
            let source = KubeLiveSource::connect(kube_config(&settings.kubernetes), key.clone())
                .await
                .map_err(|e| anyhow!("kubernetes: {e}"))?;
            if settings.detection.watch
                && let Err(error) = source.start_watch().await
            {
                tracing::warn!(%error, "❌ cannot start watching the cluster; changes are seen at the next full analysis");
            }
            Arc::new(source)
        }
    })
}

/// Opens the configured store.
pub async fn store(settings: &Settings) -> anyhow::Result<Arc<dyn DriftStore>> {
    let config = store_config(settings);
    if let DatabaseType::Sqlite = settings.database.kind {
        create_parent(&settings.database.path)?;
    }
    driftguard_store::open(&config)
        .await
        .map_err(|e| anyhow!("database: {e}"))
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

fn is_bare_repository(path: &Path) -> bool {
    path.join("HEAD").is_file() && path.join("objects").is_dir() && path.join("refs").is_dir()
}
