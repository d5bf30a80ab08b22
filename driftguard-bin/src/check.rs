//! `driftguard check`: one comparison, a report, and an exit code for CI.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use driftguard_core::analysis::{AnalysisOutcome, DetectionSettings, analyze};
use driftguard_core::secret::FingerprintKey;
use driftguard_core::{DesiredSnapshot, DesiredSource as _, LiveSnapshot, LiveSource as _};
use driftguard_sources::{
    DumpLiveSource, FolderDesiredSource, GitAuth, GitDesiredSource, GitSourceConfig,
    KubeLiveSource, KubeSourceConfig, TokenSource,
};

use crate::cli::{CheckArgs, OutputFormat};
use crate::fingerprint::key_from_env;
use crate::report;
use crate::wiring::is_git_location;

/// Exit code when every desired resource is in sync.
pub const EXIT_IN_SYNC: u8 = 0;
/// Exit code when any resource drifted or is missing.
pub const EXIT_DRIFT: u8 = 1;
/// Exit code when the check could not run.
pub const EXIT_ERROR: u8 = 2;

/// Runs the check and prints the report; errors go to stderr as one line.
pub fn run(args: &CheckArgs) -> ExitCode {
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(analyse(args)));
    match outcome {
        Ok(outcome) => {
            let printed = match args.output {
                OutputFormat::Json => report::print_json(&outcome),
                OutputFormat::Table => report::print_table(&outcome),
            };
            if let Err(error) = printed {
                eprintln!("driftguard: cannot write the report: {error}");
                return ExitCode::from(EXIT_ERROR);
            }
            if outcome.summary.has_drift() {
                ExitCode::from(EXIT_DRIFT)
            } else {
                ExitCode::from(EXIT_IN_SYNC)
            }
        }
        Err(error) => {
            eprintln!("driftguard: error: {}", crate::error_text::one_line(&error));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

async fn analyse(args: &CheckArgs) -> anyhow::Result<AnalysisOutcome> {
    let key = key_from_env()?;
    // The live state is read first: a cluster that cannot be reached fails fast, before
    // a clone that may take a while.
    let live = read_live(args, &key).await?;
    let desired = read_desired(args, &key).await?;
    if desired.resources.is_empty() {
        tracing::warn!(desired = %args.desired, "no Kubernetes objects found in the desired state; nothing to compare");
    }
    let settings = DetectionSettings {
        namespaces: args.namespaces.clone(),
        ..DetectionSettings::default()
    };
    Ok(analyze(
        desired,
        live,
        &HashMap::new(),
        &settings,
        chrono::Utc::now(),
    )?)
}

async fn read_desired(args: &CheckArgs, key: &FingerprintKey) -> anyhow::Result<DesiredSnapshot> {
    let git_given = args.branch.is_some()
        || args.path.is_some()
        || args.git_token_env.is_some()
        || args.git_token_file.is_some()
        || args.ssh_key.is_some()
        || args.ssh_agent;
    if !is_git_location(&args.desired, git_given) {
        return Ok(FolderDesiredSource::new(&args.desired, key.clone()).read()?);
    }
    // Without --git-cache the clone lives in a temporary folder removed after the check.
    let temporary;
    let cache_dir: PathBuf = match &args.git_cache {
        Some(dir) => dir.clone(),
        None => {
            temporary = tempfile::tempdir().context("cannot create a folder for the Git clone")?;
            temporary.path().to_owned()
        }
    };
    let mut config = GitSourceConfig::new(args.desired.clone(), cache_dir);
    if let Some(branch) = &args.branch {
        config.branch = branch.clone();
    }
    config.path = args.path.clone();
    config.auth = git_auth(args);
    let source = GitDesiredSource::new(config, key.clone())?;
    source.snapshot().await.map_err(|e| anyhow!("{e}"))
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

async fn read_live(args: &CheckArgs, key: &FingerprintKey) -> anyhow::Result<LiveSnapshot> {
    if let Some(dir) = &args.live_dir {
        return Ok(DumpLiveSource::new(dir, key.clone()).read()?);
    }
    let mut config = KubeSourceConfig {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        namespaces: args.namespaces.clone(),
        ..KubeSourceConfig::default()
    };
    if !args.resource_types.is_empty() {
        config.resource_types = args.resource_types.clone();
    }
    let source = KubeLiveSource::connect(config, key.clone()).await?;
    let snapshot = source.snapshot().await.map_err(|e| anyhow!("{e}"))?;
    for warning in source.warnings() {
        eprintln!("driftguard: warning: {warning}");
    }
    Ok(snapshot)
}
