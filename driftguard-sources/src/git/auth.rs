//! Answers libgit2's credential requests from [`GitAuth`], reading tokens and passphrases
//! only when asked, and turning a refused credential into a clear error instead of the
//! endless retry loop libgit2 would otherwise run.

use git2::{Cred, CredentialType};

use super::config::{GitAuth, TokenSource};

/// The user name sent with an HTTPS token when neither the configuration nor the URL
/// gives one.
const HTTPS_DEFAULT_USERNAME: &str = "x-access-token";

/// The SSH user name when neither the configuration nor the URL gives one.
const SSH_DEFAULT_USERNAME: &str = "git";

/// Credential state for one clone or fetch.
pub(crate) struct Credentials<'a> {
    auth: &'a GitAuth,
    attempts: u32,
    failure: Option<String>,
    secrets: Vec<String>,
}

impl<'a> Credentials<'a> {
    /// Credentials from `auth`, for one network operation.
    pub(crate) fn new(auth: &'a GitAuth) -> Self {
        Self {
            auth,
            attempts: 0,
            failure: None,
            secrets: Vec::new(),
        }
    }

    /// Why credentials could not be given, when that is what ended the operation.
    pub(crate) fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// The secrets read so far, to scrub from messages.
    pub(crate) fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// The credential callback: a credential of an allowed type, or an error that says
    /// what is missing. A second request for a secret means the remote refused the first.
    pub(crate) fn provide(
        &mut self,
        username_from_url: Option<&str>,
        allowed: CredentialType,
    ) -> Result<Cred, git2::Error> {
        match self.answer(username_from_url, allowed) {
            Ok(cred) => Ok(cred),
            Err(reason) => {
                let error = git2::Error::from_str(&reason);
                self.failure = Some(reason);
                Err(error)
            }
        }
    }

    fn answer(
        &mut self,
        username_from_url: Option<&str>,
        allowed: CredentialType,
    ) -> Result<Cred, String> {
        let user = |configured: &Option<String>, default: &str| -> String {
            configured
                .as_deref()
                .or(username_from_url)
                .unwrap_or(default)
                .to_owned()
        };
        // SSH asks for the user name on its own first when the URL has none; that is
        // not an attempt with a secret.
        if allowed == CredentialType::USERNAME {
            let configured = match self.auth {
                GitAuth::SshAgent { username } | GitAuth::SshKey { username, .. } => username,
                _ => &None,
            };
            return Cred::username(&user(configured, SSH_DEFAULT_USERNAME))
                .map_err(|e| e.message().to_owned());
        }
        self.attempts += 1;
        if self.attempts > 1 {
            return Err(format!(
                "the remote refused the credentials ({})",
                self.auth.describe()
            ));
        }
        let unsupported = || {
            format!(
                "the remote asks for {} but git.auth is {}",
                describe_allowed(allowed),
                self.auth.describe()
            )
        };
        match self.auth {
            GitAuth::None => Err(format!(
                "the remote requires authentication ({}) and git.auth is not set",
                describe_allowed(allowed)
            )),
            GitAuth::HttpsToken { username, token } => {
                if !allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
                    return Err(unsupported());
                }
                let token = read_secret(token)?;
                self.secrets.push(token.clone());
                Cred::userpass_plaintext(&user(username, HTTPS_DEFAULT_USERNAME), &token)
                    .map_err(|_| "the HTTPS token cannot be used as a credential".to_owned())
            }
            GitAuth::SshKey {
                username,
                private_key,
                public_key,
                passphrase,
            } => {
                if !allowed.contains(CredentialType::SSH_KEY) {
                    return Err(unsupported());
                }
                if !private_key.is_file() {
                    return Err(format!(
                        "the SSH private key file {} does not exist",
                        private_key.display()
                    ));
                }
                let passphrase = passphrase.as_ref().map(read_secret).transpose()?;
                if let Some(passphrase) = &passphrase {
                    self.secrets.push(passphrase.clone());
                }
                Cred::ssh_key(
                    &user(username, SSH_DEFAULT_USERNAME),
                    public_key.as_deref(),
                    private_key,
                    passphrase.as_deref(),
                )
                .map_err(|_| {
                    format!(
                        "the SSH key {} cannot be loaded (wrong passphrase or format?)",
                        private_key.display()
                    )
                })
            }
            GitAuth::SshAgent { username } => {
                if !allowed.contains(CredentialType::SSH_KEY) {
                    return Err(unsupported());
                }
                Cred::ssh_key_from_agent(&user(username, SSH_DEFAULT_USERNAME))
                    .map_err(|e| format!("ssh-agent cannot be used: {}", e.message()))
            }
        }
    }
}

/// Reads a secret. Errors name the source and never contain its content.
pub(crate) fn read_secret(source: &TokenSource) -> Result<String, String> {
    let value = match source {
        TokenSource::Env(name) => std::env::var(name).map_err(|error| match error {
            std::env::VarError::NotPresent => format!("environment variable {name} is not set"),
            std::env::VarError::NotUnicode(_) => {
                format!("environment variable {name} is not UTF-8 text")
            }
        })?,
        TokenSource::File(path) => {
            let bytes = std::fs::read(path).map_err(|error| {
                format!(
                    "cannot read the secret file {}: {}",
                    path.display(),
                    error.kind()
                )
            })?;
            String::from_utf8(bytes)
                .map_err(|_| format!("the secret file {} is not UTF-8 text", path.display()))?
        }
    };
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{} is empty", source.describe()));
    }
    Ok(value.to_owned())
}

/// The credential types a remote accepts, in words.
fn describe_allowed(allowed: CredentialType) -> String {
    let names = [
        (
            CredentialType::USER_PASS_PLAINTEXT,
            "a user name and password or token",
        ),
        (CredentialType::SSH_KEY, "an SSH key"),
        (CredentialType::SSH_MEMORY, "an SSH key"),
        (CredentialType::SSH_INTERACTIVE, "interactive SSH login"),
        (CredentialType::SSH_CUSTOM, "a custom SSH signature"),
        (CredentialType::DEFAULT, "single sign-on (Negotiate/NTLM)"),
    ];
    let mut words: Vec<&str> = names
        .iter()
        .filter(|(flag, _)| allowed.contains(*flag))
        .map(|(_, name)| *name)
        .collect();
    words.dedup();
    if words.is_empty() {
        "credentials".to_owned()
    } else {
        words.join(" or ")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::PathBuf;

    use super::*;

    fn token_file(content: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, content).unwrap();
        (dir, path)
    }

    #[test]
    fn a_token_file_is_read_without_its_newline() {
        let (_dir, path) = token_file("abc123\n");
        assert_eq!(read_secret(&TokenSource::File(path)).unwrap(), "abc123");
    }

    #[test]
    fn unreadable_or_empty_secrets_say_where_they_came_from() {
        let (_dir, path) = token_file("  \n");
        let error = read_secret(&TokenSource::File(path.clone())).unwrap_err();
        assert!(error.contains(&path.display().to_string()), "{error}");
        assert!(error.contains("empty"), "{error}");
        let error = read_secret(&TokenSource::Env(
            "DRIFTGUARD_TEST_UNSET_VARIABLE_8271".into(),
        ))
        .unwrap_err();
        assert_eq!(
            error,
            "environment variable DRIFTGUARD_TEST_UNSET_VARIABLE_8271 is not set"
        );
    }

    #[test]
    fn a_token_is_offered_once_then_refusal_is_reported_without_it() {
        let (_dir, path) = token_file("s3cr3t-token");
        let auth = GitAuth::HttpsToken {
            username: None,
            token: TokenSource::File(path),
        };
        let mut credentials = Credentials::new(&auth);
        let cred = credentials
            .provide(None, CredentialType::USER_PASS_PLAINTEXT)
            .unwrap();
        assert!(cred.has_username());
        assert_eq!(credentials.secrets(), ["s3cr3t-token".to_owned()]);
        assert!(
            credentials
                .provide(None, CredentialType::USER_PASS_PLAINTEXT)
                .is_err()
        );
        let failure = credentials.failure().unwrap();
        assert!(failure.contains("refused"), "{failure}");
        assert!(!failure.contains("s3cr3t-token"), "{failure}");
    }

    #[test]
    fn missing_or_mismatched_auth_is_explained() {
        let mut credentials = Credentials::new(&GitAuth::None);
        assert!(
            credentials
                .provide(None, CredentialType::USER_PASS_PLAINTEXT)
                .is_err()
        );
        assert!(
            credentials
                .failure()
                .unwrap()
                .contains("git.auth is not set")
        );

        let auth = GitAuth::SshAgent { username: None };
        let mut credentials = Credentials::new(&auth);
        assert!(
            credentials
                .provide(None, CredentialType::USER_PASS_PLAINTEXT)
                .is_err()
        );
        let failure = credentials.failure().unwrap();
        assert!(failure.contains("user name and password"), "{failure}");
        assert!(failure.contains("ssh-agent"), "{failure}");
    }

    #[test]
    fn a_missing_ssh_key_file_is_named() {
        let auth = GitAuth::SshKey {
            username: None,
            private_key: PathBuf::from("/nonexistent/id_ed25519"),
            public_key: None,
            passphrase: None,
        };
        let mut credentials = Credentials::new(&auth);
        assert!(
            credentials
                .provide(Some("git"), CredentialType::SSH_KEY)
                .is_err()
        );
        assert!(
            credentials
                .failure()
                .unwrap()
                .contains("/nonexistent/id_ed25519")
        );
    }

    #[test]
    fn the_user_name_alone_is_not_an_attempt() {
        let auth = GitAuth::SshAgent {
            username: Some("deploy".into()),
        };
        let mut credentials = Credentials::new(&auth);
        let cred = credentials.provide(None, CredentialType::USERNAME).unwrap();
        assert!(cred.has_username());
        assert!(credentials.failure().is_none());
    }
}
