//! `check`'s flags as an overlay on the configuration `serve` reads: the file given with
//! `--config` (or built-in defaults), the `DRIFTGUARD__…` environment, then the flags.

use anyhow::{Context as _, bail};
use driftguard_sources::{
    ApplicationConfig, ApplicationGitConfig, GitAuth, LiveKind, RenderMode, TokenSource,
    resolve_applications,
};

use crate::cli::{CheckArgs, RenderArg};
use crate::config::{self, Settings};
use crate::wiring::{is_bare_repository, is_git_location};

/// What `--desired -` names: manifests read from standard input.
pub const STDIN: &str = "-";

/// The settings a check runs with.
pub struct CheckSettings {
    /// The effective settings: file, environment and flags.
    pub settings: Settings,
    /// Whether a configuration file was given (`--config`).
    pub config_given: bool,
    /// The temporary Git cache when the settings name none: held for the check's
    /// duration, and removed when dropped.
    pub _git_cache: Option<tempfile::TempDir>,
}

/// The settings `args` describe.
pub fn settings(args: &CheckArgs) -> anyhow::Result<CheckSettings> {
    let loaded = config::load_for_check(args.config.as_deref())?;
    let mut settings = loaded.settings;
    select_cluster(&mut settings, args.cluster.as_deref())?;
    let mut git_cache = None;
    if let Some(desired) = args.desired.as_deref() {
        let application = desired_application(args, desired, &mut settings, &mut git_cache)?;
        replace_applications(&mut settings, vec![application]);
    } else {
        if args.branch.is_some() || args.path.is_some() {
            bail!("--branch and --path choose what --desired reads; give --desired too");
        }
        // The configured repositories, with the credentials and cache the flags name.
        if credential_flags_given(args) {
            settings.git.auth = git_auth(args);
        }
        if let Some(dir) = &args.git_cache {
            settings.git.cache_dir = dir.clone();
        }
    }
    if args.application.is_some() && args.desired.is_some() {
        bail!(
            "--application picks one of the applications of --config; --desired replaces them with its own, so give one or the other"
        );
    }
    select_application(&mut settings, args.application.as_deref())?;
    apply_application_flags(args, &mut settings)?;
    if !args.namespaces.is_empty() {
        settings.kubernetes.namespaces = args.namespaces.clone();
    }
    if let Some(dir) = &args.live_dir {
        settings.sources.live = LiveKind::Dump;
        settings.sources.dump = Some(dir.clone());
    }
    match settings.sources.live {
        LiveKind::Dump => {
            if args.kubeconfig.is_some() || args.context.is_some() {
                bail!(
                    "--kubeconfig and --context choose a cluster, but the live state comes from a dump (--live-dir or sources.live: dump)"
                );
            }
            if !args.resource_types.is_empty() {
                settings.sources.dump_types = args.resource_types.clone();
            }
        }
        LiveKind::Kubernetes => {
            if args.kubeconfig.is_some() {
                settings.kubernetes.kubeconfig = args.kubeconfig.clone();
            }
            if args.context.is_some() {
                settings.kubernetes.context = args.context.clone();
            }
            if !args.resource_types.is_empty() {
                settings.kubernetes.resource_types = args.resource_types.clone();
            }
        }
    }
    Ok(CheckSettings {
        settings,
        config_given: loaded.file.is_some(),
        _git_cache: git_cache,
    })
}

/// The application `--desired` and its Git flags describe.
fn desired_application(
    args: &CheckArgs,
    desired: &str,
    settings: &mut Settings,
    git_cache: &mut Option<tempfile::TempDir>,
) -> anyhow::Result<ApplicationConfig> {
    if desired == STDIN {
        if args.branch.is_some()
            || args.path.is_some()
            || credential_flags_given(args)
            || args.git_cache.is_some()
        {
            bail!(
                "--desired - reads manifests from stdin; --branch, --path and the Git credential flags need a Git repository"
            );
        }
        // A placeholder the check replaces with what stdin holds.
        return Ok(ApplicationConfig::folder(STDIN));
    }
    let git_given = args.branch.is_some() || credential_flags_given(args);
    if git_given && is_local_folder_not_repository(desired) {
        bail!(
            "--desired {desired} is a local folder, not a Git repository; --branch and the Git credential flags need a repository URL or path"
        );
    }
    if !is_git_location(desired, git_given) {
        if let Some(path) = &args.path {
            bail!(
                "--path {} selects a folder inside a Git repository, but --desired {desired} is a local folder; check the folder itself (--desired {}), or give a Git URL or --branch",
                path.display(),
                std::path::Path::new(desired).join(path).display()
            );
        }
        if args.git_cache.is_some() {
            bail!(
                "--git-cache keeps a Git clone, but --desired {desired} is a local folder; leave it out"
            );
        }
        return Ok(ApplicationConfig::folder(desired));
    }
    let git = &mut settings.git;
    git.url = desired.to_owned();
    if let Some(branch) = &args.branch {
        git.branch = branch.clone();
    }
    if credential_flags_given(args) || args.git_username.is_some() {
        git.auth = git_auth(args);
    }
    match &args.git_cache {
        Some(dir) => git.cache_dir = dir.clone(),
        None => {
            let dir = tempfile::tempdir().context("cannot create a folder for the Git clone")?;
            git.cache_dir = dir.path().to_owned();
            *git_cache = Some(dir);
        }
    }
    Ok(ApplicationConfig {
        git: Some(ApplicationGitConfig {
            path: args.path.clone(),
            ..ApplicationGitConfig::default()
        }),
        ..ApplicationConfig::git(None)
    })
}

/// Makes `applications` the applications checked, in the list form: the single-source
/// keys are cleared, since the configuration may not hold both forms.
fn replace_applications(settings: &mut Settings, applications: Vec<ApplicationConfig>) {
    settings.sources.desired = None;
    settings.sources.folder = None;
    settings.git.path = None;
    settings.applications = applications;
}

/// Whether `desired` is a folder on disk that is no Git repository (neither a working
/// tree nor a bare repository).
fn is_local_folder_not_repository(desired: &str) -> bool {
    let path = std::path::Path::new(desired);
    path.is_dir() && !path.join(".git").exists() && !is_bare_repository(path)
}

/// Keeps only the application `--application` names, turning the single-source form into
/// its one application first.
/// Makes the settings describe the one cluster `check` compares: `name` among the
/// configuration's `clusters` (or the only one), as the single-cluster form, with the
/// applications deployed to it.
fn select_cluster(settings: &mut Settings, name: Option<&str>) -> anyhow::Result<()> {
    if settings.clusters.is_empty() {
        if let Some(name) = name.filter(|n| *n != settings.cluster.name) {
            bail!(
                "--cluster {name}: the configuration names one cluster, `{}`",
                settings.cluster.name
            );
        }
        return Ok(());
    }
    let names: Vec<&str> = settings.clusters.iter().map(|c| c.name.as_str()).collect();
    let target = match name {
        Some(name) => settings
            .clusters
            .iter()
            .find(|c| c.name == name)
            .with_context(|| {
                format!(
                    "--cluster {name}: no such cluster; the configuration lists {}",
                    names.join(", ")
                )
            })?,
        None if settings.clusters.len() == 1 => &settings.clusters[0],
        None => bail!(
            "the configuration lists several clusters ({}); check compares one: choose it with --cluster",
            names.join(", ")
        ),
    };
    let only = settings.clusters.len() == 1;
    let target = target.clone();
    settings.kubernetes = target.source_config(&settings.kubernetes);
    settings.cluster.name.clone_from(&target.name);
    settings.clusters.clear();
    settings
        .applications
        .retain(|a| a.cluster.as_deref().map_or(only, |c| c == target.name));
    for application in &mut settings.applications {
        application.cluster = None;
    }
    Ok(())
}

fn select_application(settings: &mut Settings, name: Option<&str>) -> anyhow::Result<()> {
    let Some(name) = name else {
        return Ok(());
    };
    let all = resolve_applications(&settings.sources, &settings.git, &settings.applications)?;
    let names: Vec<&str> = all.iter().map(|a| a.name.as_str()).collect();
    let Some(selected) = all.iter().find(|a| a.name == name) else {
        bail!(
            "--application {name}: no such application; the configuration has {}",
            names.join(", ")
        );
    };
    let selected = selected.clone();
    replace_applications(settings, vec![selected]);
    Ok(())
}

/// `--render`, `--target-namespace` and the Helm flags, applied to every application
/// checked.
fn apply_application_flags(args: &CheckArgs, settings: &mut Settings) -> anyhow::Result<()> {
    let helm_flags =
        args.helm_release.is_some() || !args.helm_values.is_empty() || !args.helm_set.is_empty();
    let any = args.render.is_some() || args.target_namespace.is_some() || helm_flags;
    if !any {
        return Ok(());
    }
    let mut applications =
        resolve_applications(&settings.sources, &settings.git, &settings.applications)?;
    if helm_flags && applications.len() > 1 {
        bail!(
            "--helm-release, --helm-values and --helm-set render one chart; choose the application with --application"
        );
    }
    let mut values = Vec::with_capacity(args.helm_values.len());
    for file in &args.helm_values {
        // Relative to the working directory, as for `helm --values`.
        let path = std::path::absolute(file)
            .with_context(|| format!("--helm-values {}", file.display()))?;
        if !path.is_file() {
            bail!("--helm-values {}: no such file", file.display());
        }
        values.push(path);
    }
    for application in &mut applications {
        if let Some(render) = args.render {
            application.render = render_mode(render);
        }
        if helm_flags
            && matches!(
                application.render,
                RenderMode::Plain | RenderMode::Kustomize
            )
        {
            bail!(
                "--helm-release, --helm-values and --helm-set render a chart; they need --render helm or auto, not {}",
                application.render.as_str()
            );
        }
        if let Some(namespace) = &args.target_namespace {
            application.namespace = Some(namespace.clone());
        }
        if let Some(release) = &args.helm_release {
            application.helm.release = Some(release.clone());
        }
        application.helm.local_values.extend(values.iter().cloned());
        application
            .helm
            .set_expressions
            .extend(args.helm_set.iter().cloned());
    }
    replace_applications(settings, applications);
    Ok(())
}

/// The render mode `--render` names.
pub fn render_mode(render: RenderArg) -> RenderMode {
    match render {
        RenderArg::Auto => RenderMode::Auto,
        RenderArg::Plain => RenderMode::Plain,
        RenderArg::Kustomize => RenderMode::Kustomize,
        RenderArg::Helm => RenderMode::Helm,
    }
}

/// Whether a flag names Git credentials.
fn credential_flags_given(args: &CheckArgs) -> bool {
    args.git_token_env.is_some()
        || args.git_token_file.is_some()
        || args.ssh_key.is_some()
        || args.ssh_agent
}

/// The Git credentials the flags name.
fn git_auth(args: &CheckArgs) -> GitAuth {
    let username = args.git_username.clone();
    if let Some(variable) = &args.git_token_env {
        GitAuth::HttpsToken {
            username,
            token: TokenSource::Env(variable.clone()),
        }
    } else if let Some(file) = &args.git_token_file {
        GitAuth::HttpsToken {
            username,
            token: TokenSource::File(file.clone()),
        }
    } else if let Some(key) = &args.ssh_key {
        GitAuth::SshKey {
            username,
            private_key: key.clone(),
            public_key: None,
            passphrase: args.ssh_passphrase_env.clone().map(TokenSource::Env),
        }
    } else if args.ssh_agent {
        GitAuth::SshAgent { username }
    } else {
        GitAuth::None
    }
}
