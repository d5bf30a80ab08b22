//! `driftguard check`: one comparison, a report, and an exit code for CI.
//!
//! The flags are an overlay on the configuration types `serve` reads: they build the same
//! `Settings`, checked by the same rules and wired by the same code.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use driftguard_core::DesiredSnapshot;
use driftguard_core::analysis::{
    AnalysisOutcome, ApplicationDesired, analyze_applications, is_deploy_hook,
};
use driftguard_sources::{
    ApplicationConfig, ApplicationGitConfig, GitAuth, KubeLiveSource, LiveKind, RenderMode,
    TokenSource,
};
use tracing::Dispatch;
use tracing::dispatcher::{self, DefaultGuard};

use crate::cli::{CheckArgs, OutputFormat, RenderArg};
use crate::config::{self, Settings};
use crate::fingerprint::key_from_env;
use crate::report;
use crate::wiring::{self, is_git_location};

/// Exit code when every desired resource is in sync.
pub const EXIT_IN_SYNC: u8 = 0;
/// Exit code when any resource drifted or is missing.
pub const EXIT_DRIFT: u8 = 1;
/// Exit code when the check could not run.
pub const EXIT_ERROR: u8 = 2;

/// Runs the check with the process's stdout and stderr (see [`run_to`]).
pub fn run(args: &CheckArgs) -> ExitCode {
    ExitCode::from(run_to(args, &mut std::io::stdout(), &mut std::io::stderr()))
}

thread_local! {
    /// On a thread of [`run_to`]'s runtime: its caller's subscriber, the default there
    /// for as long as the thread runs.
    static CALLER_LOGS: RefCell<Option<DefaultGuard>> = const { RefCell::new(None) };
}

/// Runs the check: the report goes to `out`; warnings, and an error as one line, go to
/// `err`. Returns the exit code: [`EXIT_IN_SYNC`], [`EXIT_DRIFT`] or [`EXIT_ERROR`].
///
/// It logs through `tracing` to the subscriber that is current where it is called, from
/// its runtime's threads too (so that a scoped subscriber also sees what the sources log
/// while they read files), and installs none.
pub fn run_to(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let caller_logs = dispatcher::get_default(Dispatch::clone);
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_start(move || {
            let guard = dispatcher::set_default(&caller_logs);
            CALLER_LOGS.with(|logs| *logs.borrow_mut() = Some(guard));
        })
        .on_thread_stop(|| CALLER_LOGS.with(|logs| drop(logs.borrow_mut().take())))
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(analyse(args, err)));
    match outcome {
        Ok(outcome) => {
            let printed = match args.output {
                OutputFormat::Json => report::print_json(&outcome, out),
                OutputFormat::Table => report::print_table(&outcome, out),
            };
            if let Err(error) = printed {
                let _ = writeln!(err, "driftguard: cannot write the report: {error}");
                return EXIT_ERROR;
            }
            if outcome.summary.has_drift() {
                EXIT_DRIFT
            } else {
                EXIT_IN_SYNC
            }
        }
        Err(error) => {
            let _ = writeln!(
                err,
                "driftguard: error: {}",
                crate::error_text::one_line(&error)
            );
            EXIT_ERROR
        }
    }
}

/// The settings the flags describe, and the temporary Git cache they use (removed when
/// dropped) when `--git-cache` is not given.
fn settings(args: &CheckArgs) -> anyhow::Result<(Settings, Option<tempfile::TempDir>)> {
    let mut settings = Settings::default();
    let git_given = args.branch.is_some()
        || args.path.is_some()
        || args.git_token_env.is_some()
        || args.git_token_file.is_some()
        || args.ssh_key.is_some()
        || args.ssh_agent;
    let mut temporary = None;
    let mut application = if is_git_location(&args.desired, git_given) {
        let git = &mut settings.git;
        git.url = args.desired.clone();
        if let Some(branch) = &args.branch {
            git.branch = branch.clone();
        }
        git.auth = git_auth(args);
        git.cache_dir = match &args.git_cache {
            Some(dir) => dir.clone(),
            None => {
                let dir =
                    tempfile::tempdir().context("cannot create a folder for the Git clone")?;
                let path = dir.path().to_owned();
                temporary = Some(dir);
                path
            }
        };
        ApplicationConfig {
            git: Some(ApplicationGitConfig {
                path: args.path.clone(),
                ..ApplicationGitConfig::default()
            }),
            ..ApplicationConfig::git(None)
        }
    } else {
        ApplicationConfig::folder(&args.desired)
    };
    application.render = match args.render {
        RenderArg::Auto => RenderMode::Auto,
        RenderArg::Plain => RenderMode::Plain,
        RenderArg::Kustomize => RenderMode::Kustomize,
        RenderArg::Helm => RenderMode::Helm,
    };
    let helm_flags =
        args.helm_release.is_some() || !args.helm_values.is_empty() || !args.helm_set.is_empty();
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
    application.namespace = args.target_namespace.clone();
    application.helm.release = args.helm_release.clone();
    for values in &args.helm_values {
        // Relative to the working directory, as for `helm --values`.
        let path = std::path::absolute(values)
            .with_context(|| format!("--helm-values {}", values.display()))?;
        if !path.is_file() {
            bail!("--helm-values {}: no such file", values.display());
        }
        application.helm.local_values.push(path);
    }
    application.helm.set_expressions = args.helm_set.clone();
    settings.applications = vec![application];
    settings.kubernetes.namespaces = args.namespaces.clone();
    match &args.live_dir {
        Some(dir) => {
            settings.sources.live = LiveKind::Dump;
            settings.sources.dump = Some(dir.clone());
        }
        None => {
            settings.kubernetes.kubeconfig = args.kubeconfig.clone();
            settings.kubernetes.context = args.context.clone();
            if !args.resource_types.is_empty() {
                settings.kubernetes.resource_types = args.resource_types.clone();
            }
        }
    }
    Ok((settings, temporary))
}

/// The analysis the flags describe; warnings go to `err` as they come.
async fn analyse(args: &CheckArgs, err: &mut dyn Write) -> anyhow::Result<AnalysisOutcome> {
    let key = key_from_env()?;
    let (settings, _git_cache) = settings(args)?;
    config::validate(&settings)?;
    let detection = wiring::detection_settings(&settings)?;
    // The live state is read first: a cluster that cannot be reached fails fast, before
    // a clone that may take a while.
    let (live, capabilities) = match settings.sources.live {
        LiveKind::Kubernetes => {
            let source = std::sync::Arc::new(
                KubeLiveSource::connect(settings.kubernetes.clone(), key.clone()).await?,
            );
            let snapshot = source.read().await?;
            for warning in source.warnings() {
                let _ = writeln!(err, "driftguard: warning: {warning}");
            }
            let capabilities: std::sync::Arc<dyn driftguard_sources::CapabilitiesSource> = source;
            (snapshot, Some(capabilities))
        }
        LiveKind::Dump => {
            let (source, _) = wiring::live_source(&settings, &key, false).await?;
            (source.snapshot().await?, None)
        }
    };
    let applications = wiring::applications(&settings, &key, capabilities)?;
    let mut desired = Vec::with_capacity(applications.len());
    for application in &applications {
        let snapshot = application.source.snapshot().await?;
        if !args.allow_empty {
            refuse_empty(&snapshot, &application.description, args.render)?;
        }
        desired.push(ApplicationDesired {
            name: application.name.clone(),
            namespace: application.namespace.clone(),
            snapshot,
        });
    }
    let outcome = analyze_applications(
        desired,
        &[],
        live,
        &HashMap::new(),
        &detection,
        chrono::Utc::now(),
    );
    if let Some(error) = outcome.applications.iter().find_map(|a| a.error.as_ref()) {
        bail!("{error}");
    }
    for warning in &outcome.warnings {
        let _ = writeln!(err, "driftguard: warning: {warning}");
    }
    Ok(outcome)
}

/// An empty desired state is an error: a gate that compared nothing must not pass.
fn refuse_empty(snapshot: &DesiredSnapshot, folder: &str, render: RenderArg) -> anyhow::Result<()> {
    if snapshot.resources.iter().any(|r| !is_deploy_hook(r)) {
        return Ok(());
    }
    let how = match render {
        RenderArg::Plain => "read as plain manifests (--render plain)",
        RenderArg::Kustomize => "built with Kustomize (--render kustomize)",
        RenderArg::Helm => "rendered with Helm (--render helm)",
        RenderArg::Auto => "read by what it holds (--render auto)",
    };
    bail!(
        "no Kubernetes objects found in {folder} (application default): it was {how} and holds nothing to compare (deploy hooks are not tracked); check --desired and --path, choose --render kustomize or --render helm for a folder that needs rendering, or pass --allow-empty to accept an empty desired state"
    )
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
