//! The configuration file's sections and keys, with their defaults.
//!
//! Every struct rejects unknown keys, so a typo (`intervall: 10s`) is a startup error that
//! names the key instead of a silently ignored setting. docs/configuration.md documents
//! every key; keep the two in step.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The HTTP server.
    pub server: ServerSettings,
    /// Log level and format.
    pub logging: LoggingSettings,
    /// Where records and events are stored.
    pub database: DatabaseSettings,
    /// Which adapters provide the desired and the live state.
    pub sources: SourceSettings,
    /// The Kubernetes API (live state, when `sources.live` is `kubernetes`).
    pub kubernetes: KubernetesSettings,
    /// The Git repository (desired state, when `sources.desired` is `git`).
    pub git: GitSettings,
    /// How and when drift is detected.
    pub detection: DetectionSettings,
}

/// `server`: the REST API listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on.
    pub port: u16,
    /// Longest time to read a request's headers.
    #[serde(with = "duration")]
    pub read_timeout: Duration,
    /// Longest time to handle a request and write its answer.
    #[serde(with = "duration")]
    pub write_timeout: Duration,
    /// How long an idle keep-alive connection stays open.
    #[serde(with = "duration")]
    pub idle_timeout: Duration,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".to_owned(),
            port: 8080,
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line (for log collectors).
    #[default]
    Json,
    /// Human-readable lines.
    Text,
}

/// `logging`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingSettings {
    /// `error`, `warn`, `info`, `debug`, `trace`, or a tracing filter such as
    /// `info,driftguard_sources=debug`. `RUST_LOG` overrides it.
    pub level: String,
    /// `json` or `text`.
    pub format: LogFormat,
}

impl Default for LoggingSettings {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
            format: LogFormat::Json,
        }
    }
}

/// Which store keeps the records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseType {
    /// An embedded SQLite file; no server needed.
    #[default]
    Sqlite,
    /// A MongoDB server or replica set.
    Mongodb,
}

/// `database`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite` (default) or `mongodb`.
    #[serde(rename = "type")]
    pub kind: DatabaseType,
    /// The SQLite file (created when missing).
    pub path: PathBuf,
    /// The MongoDB connection string (`mongodb://` or `mongodb+srv://`).
    pub uri: Option<String>,
    /// The MongoDB database name.
    pub name: String,
    /// How long to wait for the database when connecting.
    #[serde(with = "duration")]
    pub connect_timeout: Duration,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            kind: DatabaseType::Sqlite,
            path: PathBuf::from("driftguard-data/driftguard.db"),
            uri: None,
            name: "driftguard".to_owned(),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Where desired state comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DesiredKind {
    /// A Git repository (`git` section).
    #[default]
    Git,
    /// A folder of manifests (`sources.folder`).
    Folder,
}

/// Where live state comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LiveKind {
    /// The Kubernetes API (`kubernetes` section).
    #[default]
    Kubernetes,
    /// A folder of `kubectl get -o yaml|json` dumps (`sources.dump`).
    Dump,
}

/// `sources`: which adapters the service uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceSettings {
    /// `git` (default) or `folder`.
    pub desired: DesiredKind,
    /// `kubernetes` (default) or `dump`.
    pub live: LiveKind,
    /// The manifests folder, when `desired` is `folder`.
    pub folder: Option<PathBuf>,
    /// The dump folder, when `live` is `dump`.
    pub dump: Option<PathBuf>,
}

/// `kubernetes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KubernetesSettings {
    /// A kubeconfig file; unset: `KUBECONFIG`, then `~/.kube/config`, then in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig; unset: its current context.
    pub context: Option<String>,
    /// Namespaces to watch; empty: all of them.
    pub namespaces: Vec<String>,
    /// Resource types to watch: plural names (`deployments`) or `group/version/plural`.
    pub resource_types: Vec<String>,
    /// Leave out `system_namespaces` when watching all namespaces.
    pub exclude_system_namespaces: bool,
    /// What counts as a system namespace.
    pub system_namespaces: Vec<String>,
    /// Objects per list request (`limit`); lists are paged with `continue`.
    pub page_size: u32,
    /// Longest time for one API request.
    #[serde(with = "duration")]
    pub request_timeout: Duration,
}

impl Default for KubernetesSettings {
    fn default() -> Self {
        Self {
            kubeconfig: None,
            context: None,
            namespaces: Vec::new(),
            resource_types: ["deployments", "services", "configmaps", "secrets"]
                .map(str::to_owned)
                .to_vec(),
            exclude_system_namespaces: true,
            system_namespaces: ["kube-system", "kube-public", "kube-node-lease"]
                .map(str::to_owned)
                .to_vec(),
            page_size: 500,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// How DriftGuard authenticates to the Git remote.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitAuthSettings {
    /// `none` (default), `token` (HTTPS), `ssh` (a key file) or `ssh-agent`.
    #[serde(rename = "type")]
    pub kind: GitAuthKind,
    /// User name for HTTPS tokens (default `x-access-token`) or SSH (default `git`).
    pub username: Option<String>,
    /// Environment variable holding the HTTPS token.
    pub token_env: Option<String>,
    /// File holding the HTTPS token.
    pub token_file: Option<PathBuf>,
    /// SSH private key file.
    pub ssh_key: Option<PathBuf>,
    /// SSH public key file, when not next to the private key.
    pub ssh_public_key: Option<PathBuf>,
    /// Environment variable holding the SSH key's passphrase.
    pub ssh_passphrase_env: Option<String>,
    /// File holding the SSH key's passphrase.
    pub ssh_passphrase_file: Option<PathBuf>,
}

/// `git.auth.type`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GitAuthKind {
    /// Anonymous access.
    #[default]
    None,
    /// An HTTPS token.
    Token,
    /// An SSH key file.
    Ssh,
    /// Keys from ssh-agent.
    SshAgent,
}

/// `git`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitSettings {
    /// Repository URL: https://, ssh://, `user@host:path`, git://, file:// or a local path.
    pub url: String,
    /// Branch to follow.
    pub branch: String,
    /// Folder inside the repository holding the manifests; unset: the whole repository.
    pub path: Option<PathBuf>,
    /// Where the clone is kept between analyses.
    pub cache_dir: PathBuf,
    /// Longest time for the first clone.
    #[serde(with = "duration")]
    pub clone_timeout: Duration,
    /// Longest time for each fetch.
    #[serde(with = "duration")]
    pub pull_timeout: Duration,
    /// Follow a branch whose history was rewritten (force-pushed) instead of reporting an error.
    pub allow_force_push: bool,
    /// Credentials.
    pub auth: GitAuthSettings,
}

impl Default for GitSettings {
    fn default() -> Self {
        Self {
            url: String::new(),
            branch: "main".to_owned(),
            path: None,
            cache_dir: PathBuf::from("driftguard-data/git-cache"),
            clone_timeout: Duration::from_secs(120),
            pull_timeout: Duration::from_secs(30),
            allow_force_push: false,
            auth: GitAuthSettings::default(),
        }
    }
}

/// One classification rule added in front of the built-in matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassificationRuleSettings {
    /// The drift type to assign (`Scaling`, `VersionChange`, …).
    pub drift_type: String,
    /// `Low`, `Medium` or `High`.
    pub severity: String,
    /// Kinds the rule applies to; empty: all.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Field patterns (`spec.paused`, `**.containers[].image`, `/spec/replicas`).
    pub paths: Vec<String>,
}

/// One ignore rule: differences at these paths are not drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreRuleSettings {
    /// Kinds the rule applies to; empty: all.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Field patterns (`/spec/replicas`, `metadata.annotations["example.com/x"]`).
    pub paths: Vec<String>,
}

/// `detection`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectionSettings {
    /// Time between full analyses.
    #[serde(with = "duration")]
    pub interval: Duration,
    /// Run a full analysis every `interval`.
    pub periodic: bool,
    /// Analyse a resource as soon as the live source reports a change to it.
    pub watch: bool,
    /// Severity per drift type, replacing the built-in one (`LabelChange: Medium`).
    pub severities: BTreeMap<String, String>,
    /// Classification rules tried before the built-in matrix.
    pub classification: Vec<ClassificationRuleSettings>,
    /// Differences that are known and accepted.
    pub ignore: Vec<IgnoreRuleSettings>,
    /// Field managers whose writes are never drift (an autoscaler, say).
    pub ignore_managers: Vec<String>,
    /// Field managers that apply manifests from Git (a deploy tool of your own), in addition
    /// to the built-in ones; their writes are not hand edits.
    pub appliers: Vec<String>,
    /// Field managers that are controllers writing into objects (an operator), in addition
    /// to the built-in ones; their writes are not hand edits.
    pub controllers: Vec<String>,
    /// Annotations to drop before comparing, in addition to the built-in controller ones
    /// (a trailing `*` matches a prefix).
    pub ignored_annotations: Vec<String>,
    /// Labels to drop before comparing, in addition to the built-in ones.
    pub ignored_labels: Vec<String>,
    /// Key material for Secret fingerprints. Unset: a key is generated once and kept in
    /// `fingerprint_key_file`.
    pub fingerprint_key: Option<String>,
    /// Where the generated fingerprint key is kept.
    pub fingerprint_key_file: PathBuf,
}

impl Default for DetectionSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30),
            periodic: true,
            watch: true,
            severities: BTreeMap::new(),
            classification: Vec::new(),
            ignore: Vec::new(),
            ignore_managers: Vec::new(),
            appliers: Vec::new(),
            controllers: Vec::new(),
            ignored_annotations: Vec::new(),
            ignored_labels: Vec::new(),
            fingerprint_key: None,
            fingerprint_key_file: PathBuf::from("driftguard-data/fingerprint.key"),
        }
    }
}
