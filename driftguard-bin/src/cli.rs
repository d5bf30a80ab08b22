//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// DriftGuard: where your Kubernetes clusters have drifted from Git.
#[derive(Debug, Parser)]
#[command(name = "driftguard", version, about)]
pub struct Cli {
    /// Log more (-v: info, -vv: debug). Logs go to stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compare desired manifests with live state once; exit 0 in sync, 1 drift, 2 error.
    Check(CheckArgs),
}

/// Arguments of `driftguard check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Desired state: a folder (or file) of manifests.
    #[arg(long, value_name = "DIR")]
    pub desired: PathBuf,
    /// Live state: a folder (or file) of `kubectl get … -o yaml|json` dumps.
    #[arg(long = "live-dir", value_name = "DIR")]
    pub live_dir: PathBuf,
    /// Only check resources in this namespace (repeatable). Cluster-scoped resources are
    /// left out when any namespace is given.
    #[arg(long = "namespace", short = 'n', value_name = "NS")]
    pub namespaces: Vec<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// How `check` prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A readable table.
    Table,
    /// One JSON object.
    Json,
}
