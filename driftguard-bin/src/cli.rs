//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// DriftGuard: where your Kubernetes clusters have drifted from Git.
#[derive(Debug, Parser)]
#[command(name = "driftguard", version, about)]
pub struct Cli {
    /// Log more (-v: info, -vv: debug). `check` and `config` log to stderr.
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
    Check(Box<CheckArgs>),
    /// Run the service: analyses on a schedule, on demand and on live changes, and the
    /// REST API with metrics.
    Serve(ServeArgs),
    /// Check or print the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// Arguments of `driftguard check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The configuration file `serve` reads: its applications, rendering, ignore rules,
    /// ignored managers, severities, fingerprint key and live source. Flags override it.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Check only this application of the configuration.
    #[arg(long, value_name = "NAME")]
    pub application: Option<String>,
    /// The cluster to check, when the configuration lists several under `clusters`: its
    /// connection and its applications are used.
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
    /// Desired state: a folder (or file) of manifests, a Git repository URL (https://,
    /// ssh://, user@host:path, git://, file://, or a bare repository's path), or `-` for
    /// rendered manifests on stdin (`kustomize build … | driftguard check --desired -`).
    /// Required without `--config`; with it, replaces the configured applications.
    #[arg(long, value_name = "DIR|URL|-", required_unless_present = "config")]
    pub desired: Option<String>,
    /// The Git branch to read (default `main`; makes `--desired` a Git repository).
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// The folder inside the Git repository that holds the manifests.
    #[arg(long, value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Environment variable holding an HTTPS token for the Git remote.
    #[arg(long, value_name = "VAR", conflicts_with_all = ["git_token_file", "ssh_key", "ssh_agent"])]
    pub git_token_env: Option<String>,
    /// File holding an HTTPS token for the Git remote.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["ssh_key", "ssh_agent"])]
    pub git_token_file: Option<PathBuf>,
    /// SSH private key for the Git remote (its passphrase, if any, from
    /// `--ssh-passphrase-env`).
    #[arg(long, value_name = "FILE", conflicts_with = "ssh_agent")]
    pub ssh_key: Option<PathBuf>,
    /// Environment variable holding the passphrase of `--ssh-key`.
    #[arg(long, value_name = "VAR", requires = "ssh_key")]
    pub ssh_passphrase_env: Option<String>,
    /// Authenticate to the Git remote with the keys of ssh-agent.
    #[arg(long)]
    pub ssh_agent: bool,
    /// User name sent with the Git credentials (default: from the URL, else
    /// `x-access-token` for tokens and `git` for SSH).
    #[arg(long, value_name = "NAME")]
    pub git_username: Option<String>,
    /// Where to keep the Git clone between runs; by default a temporary folder removed
    /// after the check.
    #[arg(long, value_name = "DIR")]
    pub git_cache: Option<PathBuf>,
    /// Live state: a folder (or file) of `kubectl get … -o yaml|json` dumps. Without it,
    /// the live state is read from the cluster.
    #[arg(long = "live-dir", value_name = "DIR")]
    pub live_dir: Option<PathBuf>,
    /// The kubeconfig file (default: `KUBECONFIG`, then `~/.kube/config`, then in-cluster).
    #[arg(long, value_name = "FILE", conflicts_with = "live_dir")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: its current context).
    #[arg(long, value_name = "NAME", conflicts_with = "live_dir")]
    pub context: Option<String>,
    /// Resource types (repeatable; plural names such as `deployments` or
    /// `group/version/plural`). From a cluster: the types read (default: deployments,
    /// services, configmaps, secrets). With `--live-dir`: the types the dump holds in full,
    /// so that an absent object of these types is missing (kinds such as `Certificate` are
    /// accepted too); other types count as covered only when the dump holds an object of
    /// them.
    #[arg(long = "resource-type", value_name = "TYPE")]
    pub resource_types: Vec<String>,
    /// Only check resources in this namespace (repeatable). Cluster-scoped resources are
    /// left out when any namespace is given.
    #[arg(long = "namespace", short = 'n', value_name = "NS")]
    pub namespaces: Vec<String>,
    /// How the desired folder becomes manifests: `auto` renders a folder holding a
    /// kustomization with Kustomize and one holding a Chart.yaml with Helm, and reads
    /// anything else as plain manifests.
    /// Default: `auto` (with `--config`, each application's own `render`).
    #[arg(long, value_enum)]
    pub render: Option<RenderArg>,
    /// The destination namespace: namespaced objects without a namespace live there (as
    /// with `kubectl apply -n`, Argo CD's destination or Flux's target namespace); also
    /// Helm's release namespace. Default: `default`.
    #[arg(long, value_name = "NS")]
    pub target_namespace: Option<String>,
    /// The Helm release name (default: the chart folder's name).
    #[arg(long, value_name = "NAME")]
    pub helm_release: Option<String>,
    /// A Helm values file, relative to the working directory as for `helm` (repeatable;
    /// later files win).
    #[arg(long = "helm-values", value_name = "FILE")]
    pub helm_values: Vec<PathBuf>,
    /// A Helm value, `KEY=VALUE`, passed to `helm template --set` as written (repeatable).
    #[arg(long = "helm-set", value_name = "KEY=VALUE")]
    pub helm_set: Vec<String>,
    /// Accept a desired state with no Kubernetes objects, or none in the namespaces
    /// checked, instead of exiting 2.
    #[arg(long)]
    pub allow_empty: bool,
    /// Accept desired resources the live side could not observe (a type or namespace it
    /// does not read, a type a dump does not hold, a namespace RBAC refuses) instead of
    /// exiting 2. They are still listed.
    #[arg(long)]
    pub allow_unobserved: bool,
    /// The lowest severity that fails the check (exit 1); drift below it is still
    /// printed.
    #[arg(long, value_enum, default_value_t = FailOn::Low, ignore_case = true)]
    pub fail_on: FailOn,
    /// Leave in-sync resources out of the table (the summary still counts them).
    #[arg(long)]
    pub only_drifted: bool,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// `--fail-on`: the lowest severity that fails the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Only High drift fails.
    #[value(name = "High")]
    High,
    /// Medium and High drift fail.
    #[value(name = "Medium")]
    Medium,
    /// Any drift fails.
    #[value(name = "Low")]
    Low,
}

/// `--render`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RenderArg {
    /// By what the folder holds.
    Auto,
    /// Manifests as written.
    Plain,
    /// `kustomize build`.
    Kustomize,
    /// `helm template`.
    Helm,
}

/// How `check` prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A readable table.
    Table,
    /// One JSON object.
    Json,
    /// A unified diff per drifted resource, Git (`---`) against the cluster (`+++`).
    Diff,
}

/// Arguments of `driftguard serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file (default: `config.yaml` when present, else built-in defaults).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `driftguard config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and check the configuration; exit 0 when it is valid, 2 otherwise.
    Validate {
        /// The configuration file (default: `config.yaml` when present).
        #[arg(long, short = 'c', value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Print the effective configuration (file, environment and defaults merged) as
    /// YAML, with secrets redacted.
    Show {
        /// The configuration file (default: `config.yaml` when present).
        #[arg(long, short = 'c', value_name = "FILE")]
        config: Option<PathBuf>,
    },
}
