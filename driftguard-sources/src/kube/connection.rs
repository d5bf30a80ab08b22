//! Which cluster to talk to, found in kubectl's order: the kubeconfig named in
//! configuration, then the files in `KUBECONFIG`, then `~/.kube/config`, then the pod's
//! service account.
//!
//! Errors name files and contexts but never quote a kubeconfig: it holds tokens, passwords
//! and client keys.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use ::kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};

use crate::Error;

/// Where the source's cluster configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterConfigOrigin {
    /// The kubeconfig named in configuration (`kubernetes.kubeconfig`, `--kubeconfig`).
    ExplicitFile(PathBuf),
    /// The files listed in the `KUBECONFIG` environment variable, merged as kubectl merges
    /// them (the first file to set a value wins); files that do not exist are skipped.
    EnvironmentFiles(Vec<PathBuf>),
    /// `~/.kube/config`.
    DefaultFile(PathBuf),
    /// The service account of the pod DriftGuard runs in.
    InCluster,
    /// A client built by the caller, handed to
    /// [`KubeLiveSource::from_client`](crate::kube::KubeLiveSource::from_client).
    Client,
}

impl fmt::Display for ClusterConfigOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ExplicitFile(path) => write!(f, "kubeconfig {}", path.display()),
            Self::EnvironmentFiles(paths) => {
                let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                write!(f, "KUBECONFIG ({})", names.join(", "))
            }
            Self::DefaultFile(path) => write!(f, "kubeconfig {}", path.display()),
            Self::InCluster => f.write_str("in-cluster service account"),
            Self::Client => f.write_str("client given by the caller"),
        }
    }
}

/// The parts of the process environment that decide where cluster configuration comes
/// from. Kept apart from the process so the order can be checked without touching it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigEnvironment {
    /// The value of `KUBECONFIG`.
    pub kubeconfig: Option<OsString>,
    /// The home directory, where `.kube/config` is looked for.
    pub home: Option<PathBuf>,
    /// Whether `KUBERNETES_SERVICE_HOST` is set, as it is in every pod.
    pub in_cluster: bool,
}

impl ConfigEnvironment {
    /// The environment of this process.
    pub fn from_process() -> Self {
        Self {
            kubeconfig: std::env::var_os("KUBECONFIG"),
            home: std::env::home_dir(),
            in_cluster: std::env::var_os("KUBERNETES_SERVICE_HOST").is_some_and(|v| !v.is_empty()),
        }
    }

    /// Where the configuration comes from, given an explicit kubeconfig (or none).
    pub fn resolve(&self, explicit: Option<&Path>) -> Result<ClusterConfigOrigin, Error> {
        if let Some(path) = explicit {
            if !path.is_file() {
                return Err(Error::KubeConfig {
                    reason: format!("kubeconfig {} does not exist", path.display()),
                });
            }
            return Ok(ClusterConfigOrigin::ExplicitFile(path.to_owned()));
        }
        if let Some(value) = &self.kubeconfig {
            let listed: Vec<PathBuf> = std::env::split_paths(value)
                .filter(|p| !p.as_os_str().is_empty())
                .collect();
            if !listed.is_empty() {
                let existing: Vec<PathBuf> =
                    listed.iter().filter(|p| p.is_file()).cloned().collect();
                if existing.is_empty() {
                    let names: Vec<String> =
                        listed.iter().map(|p| p.display().to_string()).collect();
                    return Err(Error::KubeConfig {
                        reason: format!(
                            "KUBECONFIG names {} but none of these files exists",
                            names.join(", ")
                        ),
                    });
                }
                return Ok(ClusterConfigOrigin::EnvironmentFiles(existing));
            }
        }
        if let Some(home) = &self.home {
            let default = home.join(".kube").join("config");
            if default.is_file() {
                return Ok(ClusterConfigOrigin::DefaultFile(default));
            }
        }
        if self.in_cluster {
            return Ok(ClusterConfigOrigin::InCluster);
        }
        Err(Error::KubeConfig {
            reason: "no cluster configuration found: set kubernetes.kubeconfig (--kubeconfig) \
                     or KUBECONFIG, create ~/.kube/config, or run in a pod with a service account"
                .to_owned(),
        })
    }
}

/// A kubeconfig error in words that quote nothing from the file.
fn kubeconfig_error(error: KubeconfigError, origin: &ClusterConfigOrigin) -> Error {
    let reason = match error {
        KubeconfigError::Parse(parse) => match parse.location() {
            Some(location) => format!(
                "{origin} is not a valid kubeconfig (YAML error at line {}, column {})",
                location.line(),
                location.column()
            ),
            None => format!("{origin} is not a valid kubeconfig"),
        },
        KubeconfigError::LoadContext(context) => {
            format!("{origin} has no context `{context}`")
        }
        KubeconfigError::CurrentContextNotSet => {
            format!(
                "{origin} sets no current-context; name one with kubernetes.context (--context)"
            )
        }
        KubeconfigError::ReadConfig(io, path) => {
            format!("cannot read kubeconfig {}: {io}", path.display())
        }
        other => format!("{origin}: {other}"),
    };
    Error::KubeConfig { reason }
}

/// Loads the client configuration from `origin`, using `context` when given.
pub(crate) async fn load_config(
    origin: &ClusterConfigOrigin,
    context: Option<&str>,
) -> Result<::kube::Config, Error> {
    let files: Vec<PathBuf> = match origin {
        ClusterConfigOrigin::ExplicitFile(path) | ClusterConfigOrigin::DefaultFile(path) => {
            vec![path.clone()]
        }
        ClusterConfigOrigin::EnvironmentFiles(paths) => paths.clone(),
        ClusterConfigOrigin::InCluster => {
            if let Some(context) = context {
                return Err(Error::KubeConfig {
                    reason: format!(
                        "context `{context}` was asked for, but no kubeconfig was found and \
                         the in-cluster service account has no contexts"
                    ),
                });
            }
            return ::kube::Config::incluster().map_err(|e| Error::KubeConfig {
                reason: format!("in-cluster service account: {e}"),
            });
        }
        ClusterConfigOrigin::Client => {
            return Err(Error::KubeConfig {
                reason: "a caller-built client has no configuration to load".to_owned(),
            });
        }
    };
    let mut merged = Kubeconfig::default();
    for file in &files {
        let single = ClusterConfigOrigin::ExplicitFile(file.clone());
        let kubeconfig = Kubeconfig::read_from(file).map_err(|e| kubeconfig_error(e, &single))?;
        merged = merged
            .merge(kubeconfig)
            .map_err(|e| kubeconfig_error(e, origin))?;
    }
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        cluster: None,
        user: None,
    };
    ::kube::Config::from_custom_kubeconfig(merged, &options)
        .await
        .map_err(|e| kubeconfig_error(e, origin))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn kubeconfig(dir: &Path, file: &str, server: &str) -> PathBuf {
        let path = dir.join(file);
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: main\n\
                 clusters:\n- name: main\n  cluster:\n    server: {server}\n\
                 - name: other\n  cluster:\n    server: {server}/other\n\
                 contexts:\n- name: main\n  context:\n    cluster: main\n    user: me\n    namespace: shop\n\
                 - name: second\n  context:\n    cluster: other\n    user: me\n\
                 users:\n- name: me\n  user:\n    token: super-secret-token-value\n"
            ),
        )
        .unwrap();
        path
    }

    struct Files {
        dir: tempfile::TempDir,
        explicit: PathBuf,
        env_a: PathBuf,
        env_b: PathBuf,
    }

    fn files() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let explicit = kubeconfig(dir.path(), "explicit.yaml", "https://explicit.example:6443");
        let env_a = kubeconfig(dir.path(), "env-a.yaml", "https://env-a.example:6443");
        let env_b = kubeconfig(dir.path(), "env-b.yaml", "https://env-b.example:6443");
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".kube")).unwrap();
        kubeconfig(&home.join(".kube"), "config", "https://home.example:6443");
        Files {
            dir,
            explicit,
            env_a,
            env_b,
        }
    }

    fn env(files: &Files, kubeconfig: Option<Vec<&Path>>, in_cluster: bool) -> ConfigEnvironment {
        ConfigEnvironment {
            kubeconfig: kubeconfig.map(|paths| std::env::join_paths(paths).unwrap()),
            home: Some(files.dir.path().join("home")),
            in_cluster,
        }
    }

    async fn server_of(environment: &ConfigEnvironment, explicit: Option<&Path>) -> String {
        let origin = environment.resolve(explicit).unwrap();
        load_config(&origin, None)
            .await
            .unwrap()
            .cluster_url
            .to_string()
    }

    #[tokio::test]
    async fn an_explicit_kubeconfig_wins_over_everything() {
        let f = files();
        let environment = env(&f, Some(vec![&f.env_a]), true);
        assert_eq!(
            server_of(&environment, Some(&f.explicit)).await,
            "https://explicit.example:6443/"
        );
    }

    #[tokio::test]
    async fn kubeconfig_variable_comes_next_and_its_files_merge_first_wins() {
        let f = files();
        let missing = f.dir.path().join("missing.yaml");
        let environment = env(&f, Some(vec![&missing, &f.env_b, &f.env_a]), true);
        assert_eq!(
            environment.resolve(None).unwrap(),
            ClusterConfigOrigin::EnvironmentFiles(vec![f.env_b.clone(), f.env_a.clone()])
        );
        assert_eq!(
            server_of(&environment, None).await,
            "https://env-b.example:6443/"
        );
    }

    #[tokio::test]
    async fn home_kubeconfig_comes_after_the_variable() {
        let f = files();
        let environment = env(&f, None, true);
        assert_eq!(
            server_of(&environment, None).await,
            "https://home.example:6443/"
        );
        let empty_variable = ConfigEnvironment {
            kubeconfig: Some(OsString::new()),
            ..environment
        };
        assert_eq!(
            server_of(&empty_variable, None).await,
            "https://home.example:6443/"
        );
    }

    #[test]
    fn in_cluster_is_last_and_nothing_at_all_is_a_clear_error() {
        let nowhere = ConfigEnvironment {
            kubeconfig: None,
            home: Some(PathBuf::from("/nonexistent-home-for-driftguard-tests")),
            in_cluster: true,
        };
        assert_eq!(
            nowhere.resolve(None).unwrap(),
            ClusterConfigOrigin::InCluster
        );
        let error = ConfigEnvironment {
            in_cluster: false,
            ..nowhere
        }
        .resolve(None)
        .unwrap_err()
        .to_string();
        assert!(error.contains("no cluster configuration found"), "{error}");
    }

    #[tokio::test]
    async fn a_context_selects_its_cluster_and_namespace() {
        let f = files();
        let origin = ClusterConfigOrigin::ExplicitFile(f.explicit.clone());
        let main = load_config(&origin, None).await.unwrap();
        assert_eq!(main.default_namespace, "shop");
        let second = load_config(&origin, Some("second")).await.unwrap();
        assert_eq!(
            second.cluster_url.to_string(),
            "https://explicit.example:6443/other"
        );
    }

    #[tokio::test]
    async fn errors_name_the_problem_without_quoting_the_file() {
        let f = files();
        let origin = ClusterConfigOrigin::ExplicitFile(f.explicit.clone());
        let error = load_config(&origin, Some("nope"))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("no context `nope`"), "{error}");

        let missing = f.dir.path().join("absent.yaml");
        let error = env(&f, None, false)
            .resolve(Some(&missing))
            .unwrap_err()
            .to_string();
        assert!(error.contains("does not exist"), "{error}");

        let listed_but_missing = env(&f, Some(vec![&missing]), false);
        let error = listed_but_missing.resolve(None).unwrap_err().to_string();
        assert!(error.contains("KUBECONFIG names"), "{error}");

        let broken = f.dir.path().join("broken.yaml");
        std::fs::write(
            &broken,
            "users:\n- name: me\n  user:\n    token: [super-secret-token-value\n",
        )
        .unwrap();
        let origin = ClusterConfigOrigin::ExplicitFile(broken);
        let error = load_config(&origin, None).await.unwrap_err().to_string();
        assert!(error.contains("not a valid kubeconfig"), "{error}");
        assert!(!error.contains("super-secret-token-value"), "{error}");

        let error = load_config(&ClusterConfigOrigin::InCluster, Some("main"))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("context `main`"), "{error}");
    }
}
