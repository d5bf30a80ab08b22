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

impl GitAuthKind {
    /// The name `auth.type` gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Token => "token",
            Self::Ssh => "ssh",
            Self::SshAgent => "ssh-agent",
        }
    }
}

/// `auth.a`, `auth.a and auth.b`, `auth.a, auth.b and auth.c`: the keys a message names.
fn key_list(keys: &[&str]) -> String {
    let keys: Vec<String> = keys.iter().map(|key| format!("auth.{key}")).collect();
    match keys.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

impl TryFrom<GitAuthFields> for GitAuth {
    type Error = String;

    /// Reads the flat mapping: the type as given, or inferred from the keys that are set;
    /// every key that the type would not use is refused, with what to change.
    fn try_from(fields: GitAuthFields) -> Result<Self, String> {
        let token_keys: Vec<&str> = [
            ("token_env", fields.token_env.is_some()),
            ("token_file", fields.token_file.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect();
        let ssh_keys: Vec<&str> = [
            ("ssh_key", fields.ssh_key.is_some()),
            ("ssh_public_key", fields.ssh_public_key.is_some()),
            ("ssh_passphrase_env", fields.ssh_passphrase_env.is_some()),
            ("ssh_passphrase_file", fields.ssh_passphrase_file.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect();
        if token_keys.len() > 1 {
            return Err(
                "set only one of auth.token_env and auth.token_file: the token is read from one place"
                    .to_owned(),
            );
        }
        if fields.ssh_passphrase_env.is_some() && fields.ssh_passphrase_file.is_some() {
            return Err(
                "set only one of auth.ssh_passphrase_env and auth.ssh_passphrase_file: the passphrase is read from one place"
                    .to_owned(),
            );
        }
        let kind = match fields.kind {
            Some(kind) => kind,
            None if !token_keys.is_empty() && !ssh_keys.is_empty() => {
                return Err(format!(
                    "auth sets both a token ({}) and an SSH key ({}); keep only the settings of the credential the remote takes",
                    key_list(&token_keys),
                    key_list(&ssh_keys)
                ));
            }
            None if !token_keys.is_empty() => GitAuthKind::Token,
            None if !ssh_keys.is_empty() => GitAuthKind::Ssh,
            None if fields.username.is_some() => {
                return Err(
                    "auth.username is set but no credential is: add auth.token_env or auth.token_file (an HTTPS token), auth.ssh_key (an SSH key), or set auth.type: ssh-agent"
                        .to_owned(),
                );
            }
            None => GitAuthKind::None,
        };
        let stated = fields.kind.is_some();
        // Keys of another type than the stated one (an inferred type has none): name
        // them, and the two ways out.
        let foreign = |keys: &[&str], owner: GitAuthKind, own: &[&str]| {
            let listed = key_list(keys);
            let verb = if keys.len() > 1 { "are" } else { "is" };
            let and_remove = if own.is_empty() {
                String::new()
            } else {
                format!(" and remove {}", key_list(own))
            };
            format!(
                "auth.type is {} but {listed} {verb} set, which only auth.type: {} uses; remove {listed}, or set auth.type: {}{and_remove}",
                kind.as_str(),
                owner.as_str(),
                owner.as_str()
            )
        };
        let username = fields.username;
        let passphrase = match (fields.ssh_passphrase_env, fields.ssh_passphrase_file) {
            (Some(name), _) => Some(TokenSource::Env(name)),
            (None, Some(path)) => Some(TokenSource::File(path)),
            (None, None) => None,
        };
        let token = match (fields.token_env, fields.token_file) {
            (Some(name), _) => Some(TokenSource::Env(name)),
            (None, Some(path)) => Some(TokenSource::File(path)),
            (None, None) => None,
        };
        match kind {
            GitAuthKind::None | GitAuthKind::SshAgent => {
                if !token_keys.is_empty() {
                    return Err(foreign(&token_keys, GitAuthKind::Token, &[]));
                }
                if !ssh_keys.is_empty() {
                    return Err(foreign(&ssh_keys, GitAuthKind::Ssh, &[]));
                }
                if kind == GitAuthKind::SshAgent {
                    return Ok(Self::SshAgent { username });
                }
                if username.is_some() {
                    return Err(
                        "auth.type is none but auth.username is set; remove auth.username, or give the credential it goes with"
                            .to_owned(),
                    );
                }
                Ok(Self::None)
            }
            GitAuthKind::Token => {
                if !ssh_keys.is_empty() {
                    return Err(foreign(&ssh_keys, GitAuthKind::Ssh, &token_keys));
                }
                let token = token.ok_or_else(|| {
                    "auth.type is token but no token is named: set auth.token_env (an environment variable) or auth.token_file (a file) holding it"
                        .to_owned()
                })?;
                Ok(Self::HttpsToken { username, token })
            }
            GitAuthKind::Ssh => {
                if !token_keys.is_empty() {
                    return Err(foreign(&token_keys, GitAuthKind::Token, &ssh_keys));
                }
                let private_key = fields.ssh_key.ok_or_else(|| {
                    if stated {
                        "auth.type is ssh but auth.ssh_key is not set: set it to the private key file (or use auth.type: ssh-agent)"
                            .to_owned()
                    } else {
                        format!(
                            "{} {} set without auth.ssh_key: set auth.ssh_key to the private key file, or remove {}",
                            key_list(&ssh_keys),
                            if ssh_keys.len() > 1 { "are" } else { "is" },
                            if ssh_keys.len() > 1 { "them" } else { "it" }
                        )
                    }
                })?;
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
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GitSourceConfig {
    /// The repository: `https://…`, `http://…`, `ssh://…`, `user@host:path` (scp-like),
    /// `git://…`, `file://…` or a local path. Credentials in the URL (user information,
    /// secret query parameters) are never logged, nor shown by `Debug`.
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

impl std::fmt::Debug for GitSourceConfig {
    /// Every field, the URL redacted: a configuration printed with `{:?}` (in a panic, a
    /// debug log line) keeps the URL's credentials to itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitSourceConfig")
            .field("url", &super::redact_url(&self.url))
            .field("branch", &self.branch)
            .field("path", &self.path)
            .field("cache_dir", &self.cache_dir)
            .field("clone_timeout", &self.clone_timeout)
            .field("pull_timeout", &self.pull_timeout)
            .field("allow_force_push", &self.allow_force_push)
            .field("auth", &self.auth)
            .finish()
    }
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
                    return invalid("git.auth.ssh_key is empty".to_owned());
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

    /// `auth` as the configuration file writes it.
    fn auth(yaml: &str) -> Result<GitAuth, String> {
        serde_saphyr::from_str::<GitAuth>(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn the_auth_type_follows_from_the_keys_set() {
        assert_eq!(
            auth("token_env: GIT_TOKEN\n"),
            Ok(GitAuth::HttpsToken {
                username: None,
                token: TokenSource::Env("GIT_TOKEN".to_owned()),
            })
        );
        assert_eq!(
            auth("username: oauth2\ntoken_file: /run/secrets/git-token\n"),
            Ok(GitAuth::HttpsToken {
                username: Some("oauth2".to_owned()),
                token: TokenSource::File(PathBuf::from("/run/secrets/git-token")),
            })
        );
        assert_eq!(
            auth("ssh_key: /etc/ssh/id_ed25519\nssh_passphrase_env: KEY_PASS\n"),
            Ok(GitAuth::SshKey {
                username: None,
                private_key: PathBuf::from("/etc/ssh/id_ed25519"),
                public_key: None,
                passphrase: Some(TokenSource::Env("KEY_PASS".to_owned())),
            })
        );
        assert_eq!(auth("{}\n"), Ok(GitAuth::None));
        assert_eq!(
            auth("type: ssh-agent\nusername: deploy\n"),
            Ok(GitAuth::SshAgent {
                username: Some("deploy".to_owned())
            })
        );
        // A stated type that matches the keys is the same as an inferred one.
        assert_eq!(
            auth("type: token\ntoken_env: GIT_TOKEN\n"),
            auth("token_env: GIT_TOKEN\n")
        );
    }

    #[test]
    fn contradictory_auth_keys_are_refused_with_the_fix() {
        for (yaml, expected) in [
            (
                "token_env: A\ntoken_file: /b\n",
                "set only one of auth.token_env and auth.token_file",
            ),
            (
                "ssh_key: /k\nssh_passphrase_env: P\nssh_passphrase_file: /p\n",
                "set only one of auth.ssh_passphrase_env and auth.ssh_passphrase_file",
            ),
            (
                "token_env: A\nssh_key: /k\n",
                "auth sets both a token (auth.token_env) and an SSH key (auth.ssh_key); keep only the settings of the credential the remote takes",
            ),
            (
                "type: none\ntoken_env: A\n",
                "auth.type is none but auth.token_env is set, which only auth.type: token uses; remove auth.token_env, or set auth.type: token",
            ),
            (
                "type: none\nssh_key: /k\n",
                "auth.type is none but auth.ssh_key is set, which only auth.type: ssh uses; remove auth.ssh_key, or set auth.type: ssh",
            ),
            (
                "type: none\nusername: bob\n",
                "auth.type is none but auth.username is set",
            ),
            (
                "type: token\ntoken_env: A\nssh_key: /k\nssh_public_key: /k.pub\n",
                "auth.type is token but auth.ssh_key and auth.ssh_public_key are set, which only auth.type: ssh uses; remove auth.ssh_key and auth.ssh_public_key, or set auth.type: ssh and remove auth.token_env",
            ),
            ("type: token\n", "auth.type is token but no token is named"),
            (
                "type: ssh\nssh_key: /k\ntoken_file: /t\n",
                "auth.type is ssh but auth.token_file is set, which only auth.type: token uses; remove auth.token_file, or set auth.type: token and remove auth.ssh_key",
            ),
            (
                "type: ssh\n",
                "auth.type is ssh but auth.ssh_key is not set",
            ),
            (
                "type: ssh-agent\nssh_key: /k\n",
                "auth.type is ssh-agent but auth.ssh_key is set",
            ),
            (
                "type: ssh-agent\ntoken_env: A\n",
                "auth.type is ssh-agent but auth.token_env is set",
            ),
            (
                "ssh_passphrase_env: P\n",
                "auth.ssh_passphrase_env is set without auth.ssh_key",
            ),
            (
                "username: bob\n",
                "auth.username is set but no credential is",
            ),
            ("ssh_agent: true\n", "unknown field `ssh_agent`"),
        ] {
            let error = auth(yaml).expect_err(yaml);
            assert!(
                error.contains(expected),
                "{yaml}: expected {expected:?} in {error}"
            );
        }
    }

    #[test]
    fn auth_reads_back_as_written_with_its_type_stated() {
        for original in [
            GitAuth::None,
            GitAuth::HttpsToken {
                username: Some("oauth2".to_owned()),
                token: TokenSource::File(PathBuf::from("/run/secrets/git-token")),
            },
            GitAuth::SshKey {
                username: None,
                private_key: PathBuf::from("/k"),
                public_key: Some(PathBuf::from("/k.pub")),
                passphrase: Some(TokenSource::Env("P".to_owned())),
            },
            GitAuth::SshAgent { username: None },
        ] {
            let yaml = serde_saphyr::to_string(&original).expect("serialisable");
            assert_eq!(auth(&yaml).as_ref(), Ok(&original), "{yaml}");
            if original != GitAuth::None {
                assert!(yaml.contains("type: "), "{yaml}");
            }
        }
    }

    #[test]
    fn an_applications_auth_is_inferred_the_same_way() {
        let own: crate::ApplicationGitConfig =
            serde_saphyr::from_str("path: apps/shop\nauth: {token_file: /run/secrets/t}\n")
                .expect("valid");
        let resolved = own.over(&config());
        assert_eq!(
            resolved.auth,
            GitAuth::HttpsToken {
                username: None,
                token: TokenSource::File(PathBuf::from("/run/secrets/t")),
            }
        );
        let error = serde_saphyr::from_str::<crate::ApplicationGitConfig>(
            "path: apps/shop\nauth: {type: none, token_env: T}\n",
        )
        .expect_err("contradictory");
        assert!(error.to_string().contains("auth.type is none"), "{error}");
    }

    #[test]
    fn an_empty_key_file_is_named_by_its_key() {
        let config = GitSourceConfig {
            auth: GitAuth::SshKey {
                username: None,
                private_key: PathBuf::new(),
                public_key: None,
                passphrase: None,
            },
            ..config()
        };
        let error = config.validate().expect_err("empty key path");
        assert!(
            error.to_string().contains("git.auth.ssh_key is empty"),
            "{error}"
        );
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

    #[test]
    fn debug_output_redacts_the_url() {
        let config = GitSourceConfig::new(
            "https://bot:s3cr3t@git.example.com/x.git?private_token=SEKRIT",
            "/tmp/cache",
        );
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("s3cr3t") && !shown.contains("SEKRIT"),
            "{shown}"
        );
        assert!(
            shown.contains("https://***@git.example.com/x.git?private_token=***"),
            "{shown}"
        );
    }
}
