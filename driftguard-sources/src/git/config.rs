//! What the Git source reads and how: the repository URL, branch and sub-path, the local
//! clone cache, the network time limits, and the credentials.
//!
//! Secrets are never stored here: [`TokenSource`] names where a token or passphrase is
//! read from (an environment variable or a file), and it is read only when a remote asks
//! for it, so the configuration can be logged and debug-printed safely.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Error;

/// Where a secret (an HTTPS token, an SSH key passphrase) is read from.
///
/// The value is read again for every clone or fetch, so a rotated token (a re-mounted
/// Kubernetes Secret) is picked up without a restart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TokenSource {
    /// The value of this environment variable.
    Env(String),
    /// The content of this file, without surrounding whitespace (a mounted Secret).
    File(PathBuf),
}

impl TokenSource {
    /// Where the secret comes from, for messages: never the secret itself.
    pub fn describe(&self) -> String {
        match self {
            Self::Env(name) => format!("environment variable {name}"),
            Self::File(path) => format!("file {}", path.display()),
        }
    }
}

/// How DriftGuard authenticates to the Git remote.
///
/// In the configuration file it is the flat `auth` mapping (`type`, `username`,
/// `token_env`, `token_file`, `ssh_key`, `ssh_public_key`, `ssh_passphrase_env`,
/// `ssh_passphrase_file`); see [`GitAuthFields`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "GitAuthFields", into = "GitAuthFields")]
pub enum GitAuth {
    /// No credentials: public repositories, `git://`, `file://` and local paths.
    #[default]
    None,
    /// HTTP(S) basic authentication with a personal access or deploy token as password.
    HttpsToken {
        /// The user name sent with the token; from the URL when unset, else
        /// `x-access-token` (GitHub, GitLab and Gitea accept any non-empty name with a
        /// token; Bitbucket wants the account name).
        username: Option<String>,
        /// Where the token is read from.
        token: TokenSource,
    },
    /// An SSH private key file.
    SshKey {
        /// The user name; from the URL (`git@host:…`) when unset, else `git`.
        username: Option<String>,
        /// The private key file (OpenSSH or PEM format).
        private_key: PathBuf,
        /// The matching public key file, when the private key alone is not enough.
        public_key: Option<PathBuf>,
        /// Where the key's passphrase is read from, for an encrypted key.
        passphrase: Option<TokenSource>,
    },
    /// Keys held by a running ssh-agent (`SSH_AUTH_SOCK`).
    SshAgent {
        /// The user name; from the URL when unset, else `git`.
        username: Option<String>,
    },
}

impl GitAuth {
    /// A one-line description for messages, naming where secrets come from but never
    /// holding one.
    pub fn describe(&self) -> String {
        match self {
            Self::None => "no credentials (git.auth is not set)".to_owned(),
            Self::HttpsToken { token, .. } => format!("HTTPS token from {}", token.describe()),
            Self::SshKey { private_key, .. } => {
                format!("SSH key {}", private_key.display())
            }
            Self::SshAgent { .. } => "ssh-agent".to_owned(),
        }
    }
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

/// [`GitAuth`] as the configuration file writes it: one flat mapping.
///
/// Without `type`, the type follows from what is set: `token_env` or `token_file` mean
/// `token`, `ssh_key` means `ssh`, nothing means `none`. Settings that contradict the
/// type (a token for `type: ssh`) are refused rather than silently ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitAuthFields {
    /// `none`, `token` (HTTPS), `ssh` (a key file) or `ssh-agent`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<GitAuthKind>,
    /// User name for HTTPS tokens (default `x-access-token`) or SSH (default `git`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Environment variable holding the HTTPS token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// File holding the HTTPS token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// SSH private key file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh_key: Option<PathBuf>,
    /// SSH public key file, when not next to the private key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh_public_key: Option<PathBuf>,
    /// Environment variable holding the SSH key's passphrase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh_passphrase_env: Option<String>,
    /// File holding the SSH key's passphrase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh_passphrase_file: Option<PathBuf>,
}

impl TryFrom<GitAuthFields> for GitAuth {
    type Error = String;

    fn try_from(fields: GitAuthFields) -> Result<Self, String> {
        let token = match (fields.token_env, fields.token_file) {
            (Some(_), Some(_)) => {
                return Err("set only one of auth.token_env and auth.token_file".to_owned());
            }
            (Some(name), None) => Some(TokenSource::Env(name)),
            (None, Some(path)) => Some(TokenSource::File(path)),
            (None, None) => None,
        };
        let passphrase = match (fields.ssh_passphrase_env, fields.ssh_passphrase_file) {
            (Some(_), Some(_)) => {
                return Err(
                    "set only one of auth.ssh_passphrase_env and auth.ssh_passphrase_file"
                        .to_owned(),
                );
            }
            (Some(name), None) => Some(TokenSource::Env(name)),
            (None, Some(path)) => Some(TokenSource::File(path)),
            (None, None) => None,
        };
        let has_ssh =
            fields.ssh_key.is_some() || fields.ssh_public_key.is_some() || passphrase.is_some();
        let kind = match fields.kind {
            Some(kind) => kind,
            None if token.is_some() && has_ssh => {
                return Err(
                    "auth holds both a token and an SSH key; set auth.type to token or ssh and remove the other"
                        .to_owned(),
                );
            }
            None if token.is_some() => GitAuthKind::Token,
            None if has_ssh => GitAuthKind::Ssh,
            None => GitAuthKind::None,
        };
        let username = fields.username;
        match kind {
            GitAuthKind::None | GitAuthKind::SshAgent => {
                let what = if kind == GitAuthKind::None {
                    "none"
                } else {
                    "ssh-agent"
                };
                if token.is_some() {
                    return Err(format!(
                        "auth.type is {what} but a token (auth.token_env or auth.token_file) is set; set auth.type: token, or remove the token"
                    ));
                }
                if has_ssh {
                    return Err(format!(
                        "auth.type is {what} but an SSH key setting is set; set auth.type: ssh, or remove it"
                    ));
                }
                if kind == GitAuthKind::None {
                    if username.is_some() {
                        return Err("auth.username is set but auth.type is none".to_owned());
                    }
                    Ok(Self::None)
                } else {
                    Ok(Self::SshAgent { username })
                }
            }
            GitAuthKind::Token => {
                if has_ssh {
                    return Err(
                        "auth.type is token but an SSH key setting is set; remove it".to_owned(),
                    );
                }
                let token = token.ok_or_else(|| {
                    "auth.token_env or auth.token_file is required when auth.type is token"
                        .to_owned()
                })?;
                Ok(Self::HttpsToken { username, token })
            }
            GitAuthKind::Ssh => {
                if token.is_some() {
                    return Err(
                        "auth.type is ssh but a token (auth.token_env or auth.token_file) is set; remove it"
                            .to_owned(),
                    );
                }
                let private_key = fields
                    .ssh_key
                    .ok_or_else(|| "auth.ssh_key is required when auth.type is ssh".to_owned())?;
                Ok(Self::SshKey {
                    username,
                    private_key,
                    public_key: fields.ssh_public_key,
                    passphrase,
                })
            }
        }
    }
}

impl From<GitAuth> for GitAuthFields {
    fn from(auth: GitAuth) -> Self {
        let split = |source: Option<TokenSource>| match source {
            Some(TokenSource::Env(name)) => (Some(name), None),
            Some(TokenSource::File(path)) => (None, Some(path)),
            None => (None, None),
        };
        match auth {
            GitAuth::None => Self::default(),
            GitAuth::HttpsToken { username, token } => {
                let (token_env, token_file) = split(Some(token));
                Self {
                    kind: Some(GitAuthKind::Token),
                    username,
                    token_env,
                    token_file,
                    ..Self::default()
                }
            }
            GitAuth::SshKey {
                username,
                private_key,
                public_key,
                passphrase,
            } => {
                let (ssh_passphrase_env, ssh_passphrase_file) = split(passphrase);
                Self {
                    kind: Some(GitAuthKind::Ssh),
                    username,
                    ssh_key: Some(private_key),
                    ssh_public_key: public_key,
                    ssh_passphrase_env,
                    ssh_passphrase_file,
                    ..Self::default()
                }
            }
            GitAuth::SshAgent { username } => Self {
                kind: Some(GitAuthKind::SshAgent),
                username,
                ..Self::default()
            },
        }
    }
}

/// Everything the Git desired source needs to know: the `git` section of the
/// configuration file, with its defaults.
///
/// Build it with [`GitSourceConfig::new`] and set the public fields that differ from the
/// defaults (branch `main`, whole repository, clone timeout 120 s, pull timeout 30 s, no
/// credentials, force pushes refused).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitSourceConfig {
    /// The repository: `https://…`, `http://…`, `ssh://…`, `user@host:path` (scp-like),
    /// `git://…`, `file://…` or a local path. Credentials in the URL are never logged.
    pub url: String,
    /// The branch whose tip is read.
    pub branch: String,
    /// The folder (or single file) inside the repository that holds the manifests;
    /// `None` reads the whole repository. Relative, without `..`.
    pub path: Option<PathBuf>,
    /// Where clones are kept between analyses, one subfolder per URL and branch.
    pub cache_dir: PathBuf,
    /// The longest a first clone (or a re-clone of a broken cache) may take.
    #[serde(with = "driftguard_core::config::duration")]
    pub clone_timeout: Duration,
    /// The longest a fetch of new commits may take.
    #[serde(with = "driftguard_core::config::duration")]
    pub pull_timeout: Duration,
    /// Follow a branch whose history was rewritten (force-pushed) instead of refusing it.
    pub allow_force_push: bool,
    /// Credentials for the remote.
    pub auth: GitAuth,
}

impl Default for GitSourceConfig {
    /// No repository yet (`url` empty), the cache in `driftguard-data/git-cache`.
    fn default() -> Self {
        Self::new("", Self::DEFAULT_CACHE_DIR)
    }
}

impl GitSourceConfig {
    /// The branch read when none is configured.
    pub const DEFAULT_BRANCH: &'static str = "main";
    /// Where clones are kept when none is configured.
    pub const DEFAULT_CACHE_DIR: &'static str = "driftguard-data/git-cache";
    /// The default limit for a first clone.
    pub const DEFAULT_CLONE_TIMEOUT: Duration = Duration::from_secs(120);
    /// The default limit for a fetch.
    pub const DEFAULT_PULL_TIMEOUT: Duration = Duration::from_secs(30);
    /// The largest timeout libgit2 can be given (its timeouts are C `int` milliseconds).
    pub const MAX_TIMEOUT: Duration = Duration::from_millis(i32::MAX as u64);

    /// A configuration for `url`, cloned under `cache_dir`, with the defaults for
    /// everything else.
    pub fn new(url: impl Into<String>, cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            url: url.into(),
            branch: Self::DEFAULT_BRANCH.to_owned(),
            path: None,
            cache_dir: cache_dir.into(),
            clone_timeout: Self::DEFAULT_CLONE_TIMEOUT,
            pull_timeout: Self::DEFAULT_PULL_TIMEOUT,
            auth: GitAuth::None,
            allow_force_push: false,
        }
    }

    /// Checks the configuration without touching the network or the disk.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |reason: String| Err(Error::GitConfig { reason });
        if self.url.trim().is_empty() {
            return invalid("git.url is empty".to_owned());
        }
        if self.url.chars().any(char::is_control) || self.url.trim() != self.url {
            return invalid("git.url contains whitespace or control characters".to_owned());
        }
        if self.branch.is_empty()
            || self.branch.starts_with('-')
            || !git2::Reference::is_valid_name(&format!("refs/heads/{}", self.branch))
        {
            return invalid(format!(
                "git.branch `{}` is not a valid branch name",
                self.branch
            ));
        }
        if let Some(path) = &self.path {
            sub_path_components(path)?;
        }
        if self.cache_dir.as_os_str().is_empty() {
            return invalid("git.cache_dir is empty".to_owned());
        }
        for (name, value) in [
            ("clone_timeout", self.clone_timeout),
            ("pull_timeout", self.pull_timeout),
        ] {
            if value.is_zero() {
                return invalid(format!("git.{name} must be longer than zero"));
            }
            if value > Self::MAX_TIMEOUT {
                return invalid(format!(
                    "git.{name} is {}s, longer than the {}s maximum",
                    value.as_secs(),
                    Self::MAX_TIMEOUT.as_secs()
                ));
            }
        }
        match &self.auth {
            GitAuth::None | GitAuth::SshAgent { .. } => {}
            GitAuth::HttpsToken { username, token } => {
                if username.as_deref().is_some_and(str::is_empty) {
                    return invalid("git.auth.username is empty".to_owned());
                }
                check_token_source(token)?;
            }
            GitAuth::SshKey {
                username,
                private_key,
                passphrase,
                ..
            } => {
                if username.as_deref().is_some_and(str::is_empty) {
                    return invalid("git.auth.username is empty".to_owned());
                }
                if private_key.as_os_str().is_empty() {
                    return invalid("git.auth.private_key is empty".to_owned());
                }
                if let Some(passphrase) = passphrase {
                    check_token_source(passphrase)?;
                }
            }
        }
        Ok(())
    }

    /// The sub-path as repository-relative components (`deploy/prod` → `deploy`, `prod`);
    /// empty for the whole repository.
    pub(crate) fn sub_path(&self) -> Result<Vec<String>, Error> {
        match &self.path {
            Some(path) => sub_path_components(path),
            None => Ok(Vec::new()),
        }
    }
}

fn check_token_source(source: &TokenSource) -> Result<(), Error> {
    let empty = match source {
        TokenSource::Env(name) => name.is_empty() || name.contains('='),
        TokenSource::File(path) => path.as_os_str().is_empty(),
    };
    if empty {
        return Err(Error::GitConfig {
            reason: format!("git.auth: {} is not a usable source", source.describe()),
        });
    }
    Ok(())
}

/// Splits a repository sub-path into its folder names, refusing absolute paths and `..`.
fn sub_path_components(path: &Path) -> Result<Vec<String>, Error> {
    let mut components = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::Normal(name) => match name.to_str() {
                Some(name) => components.push(name.to_owned()),
                None => {
                    return Err(Error::GitConfig {
                        reason: format!("git.path `{}` is not UTF-8", path.display()),
                    });
                }
            },
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(Error::GitConfig {
                    reason: format!(
                        "git.path `{}` must be relative to the repository root, without `..`",
                        path.display()
                    ),
                });
            }
        }
    }
    Ok(components)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> GitSourceConfig {
        GitSourceConfig::new("https://example.com/team/manifests.git", "/tmp/cache")
    }

    #[test]
    fn defaults_are_main_and_the_documented_timeouts() {
        let config = config();
        assert_eq!(config.branch, "main");
        assert_eq!(config.clone_timeout, Duration::from_secs(120));
        assert_eq!(config.pull_timeout, Duration::from_secs(30));
        assert_eq!(config.auth, GitAuth::None);
        assert!(!config.allow_force_push);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn refuses_bad_branches_paths_and_timeouts() {
        for branch in ["", "-x", "a..b", "with space", "end.lock", "a~1"] {
            let config = GitSourceConfig {
                branch: branch.to_owned(),
                ..config()
            };
            assert!(
                matches!(config.validate(), Err(Error::GitConfig { .. })),
                "branch {branch:?} accepted"
            );
        }
        for path in ["/etc", "../other", "deploy/../../x"] {
            let config = GitSourceConfig {
                path: Some(PathBuf::from(path)),
                ..config()
            };
            assert!(
                matches!(config.validate(), Err(Error::GitConfig { .. })),
                "path {path:?} accepted"
            );
        }
        let config = GitSourceConfig {
            pull_timeout: Duration::ZERO,
            ..config()
        };
        let error = config.validate().expect_err("zero timeout accepted");
        assert!(error.to_string().contains("git.pull_timeout"), "{error}");
    }

    #[test]
    fn sub_paths_are_split_into_folder_names() {
        let config = GitSourceConfig {
            path: Some(PathBuf::from("./deploy/prod/")),
            ..config()
        };
        assert_eq!(
            config.sub_path().ok(),
            Some(vec!["deploy".into(), "prod".into()])
        );
        assert_eq!(GitSourceConfig::new("x", "y").sub_path().ok(), Some(vec![]));
    }

    #[test]
    fn descriptions_name_the_source_of_a_secret_not_the_secret() {
        let auth = GitAuth::HttpsToken {
            username: None,
            token: TokenSource::Env("GIT_TOKEN".to_owned()),
        };
        assert_eq!(
            auth.describe(),
            "HTTPS token from environment variable GIT_TOKEN"
        );
    }
}
