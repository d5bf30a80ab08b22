//! Applications as the configuration file declares them, and the desired sources they
//! become.
//!
//! ```yaml
//! applications:
//!   - name: shop
//!     git: {url: https://git.example.com/platform/apps.git, path: apps/shop/overlays/prod}
//!     namespace: shop
//!   - name: billing
//!     git: {url: https://git.example.com/platform/apps.git, path: charts/billing}
//!     helm: {release: billing, values: [values-prod.yaml], set: {image.tag: "2.4.1"}}
//!     namespace: billing
//!   - name: tools
//!     folder: /srv/manifests/tools
//! ```
//!
//! The single-source form of earlier versions (`sources.folder`, or `git.url` with
//! `git.path`) is one application named `default`; the two forms do not mix.

use std::path::PathBuf;
use std::sync::Arc;

use driftguard_core::secret::FingerprintKey;
use driftguard_core::{Application, DEFAULT_APPLICATION};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::files::FolderDesiredSource;
use crate::git::{GitAuth, GitDesiredSource, GitRepositories, GitSourceConfig, redact_url};
use crate::render::{
    ApplicationRender, DesiredReader, HelmOptions, KustomizeOptions, RenderMode, Renderer,
};

/// Where desired state comes from in the single-source form.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DesiredKind {
    /// A Git repository (the `git` section).
    #[default]
    Git,
    /// A folder of manifests (`sources.folder`).
    Folder,
}

/// Where live state comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LiveKind {
    /// The Kubernetes API (the `kubernetes` section).
    #[default]
    Kubernetes,
    /// A folder of `kubectl get -o yaml|json` dumps (`sources.dump`).
    Dump,
}

/// `sources`: which adapters provide the live state, and the desired state of the
/// single-source form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourcesConfig {
    /// `git` (default) or `folder`; single-source form only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired: Option<DesiredKind>,
    /// `kubernetes` (default) or `dump`.
    pub live: LiveKind,
    /// The manifests folder, when `desired` is `folder`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<PathBuf>,
    /// The dump folder, when `live` is `dump`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dump: Option<PathBuf>,
    /// The resource types the dump holds in full (plural names as in
    /// `kubernetes.resource_types`, or kinds such as `Certificate`): a desired object of
    /// such a type that the dump lacks is missing. A kind the dump holds no object of and
    /// that is not listed here is not observed, never missing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dump_types: Vec<String>,
}

impl SourcesConfig {
    /// Checks the live side.
    pub fn validate(&self) -> Result<(), Error> {
        if self.live == LiveKind::Dump && self.dump.is_none() {
            return Err(config_error(
                "sources.dump is required when sources.live is dump",
            ));
        }
        for declared in &self.dump_types {
            crate::dump_coverage::check_declared(declared)?;
        }
        Ok(())
    }
}

/// An application's `git` settings; what is not set comes from the top-level `git`
/// section (the URL too, so applications of one repository need only a `path`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApplicationGitConfig {
    /// The repository; unset: `git.url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The branch; unset: `git.branch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The application's folder in the repository; unset: the whole repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Credentials for this repository; unset: `git.auth`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<GitAuth>,
    /// Follow a force-pushed branch; unset: `git.allow_force_push`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_force_push: Option<bool>,
}

impl ApplicationGitConfig {
    /// The full Git settings: these over `base` (cache, timeouts and what is unset here).
    pub fn over(&self, base: &GitSourceConfig) -> GitSourceConfig {
        let mut config = base.clone();
        if let Some(url) = &self.url {
            config.url = url.clone();
        }
        if let Some(branch) = &self.branch {
            config.branch = branch.clone();
        }
        config.path = self.path.clone();
        if let Some(auth) = &self.auth {
            config.auth = auth.clone();
        }
        if let Some(allow) = self.allow_force_push {
            config.allow_force_push = allow;
        }
        config
    }
}

/// One entry of `applications`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationConfig {
    /// The name records carry: lowercase letters, digits, `-`, `_` and `.`.
    pub name: String,
    /// A folder of a Git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<ApplicationGitConfig>,
    /// A local folder, instead of Git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<PathBuf>,
    /// How the folder becomes manifests: `auto` (default), `plain`, `kustomize`, `helm`.
    #[serde(default)]
    pub render: RenderMode,
    /// The destination namespace of objects that name none (and Helm's release
    /// namespace); unset: `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The cluster it is deployed to: the name of an entry of `clusters`; unset: the only
    /// cluster (with several, every application must name one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// What its kustomizations may do.
    #[serde(default)]
    pub kustomize: KustomizeOptions,
    /// How its chart is rendered.
    #[serde(default)]
    pub helm: HelmOptions,
}

/// An error about the configuration of sources and applications.
fn config_error(reason: impl Into<String>) -> Error {
    Error::ApplicationConfig {
        reason: reason.into(),
    }
}

/// Whether `name` can name an application: it appears in URLs, metric labels and logs.
fn is_application_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
}

/// A DNS-1123 label, as namespaces are.
fn is_namespace_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

impl ApplicationConfig {
    /// The single application of a one-source installation, reading a folder.
    pub fn folder(folder: impl Into<PathBuf>) -> Self {
        Self {
            name: DEFAULT_APPLICATION.to_owned(),
            git: None,
            folder: Some(folder.into()),
            render: RenderMode::Auto,
            namespace: None,
            cluster: None,
            kustomize: KustomizeOptions::default(),
            helm: HelmOptions::default(),
        }
    }

    /// The single application of a one-source installation, reading the top-level `git`
    /// section's repository and path.
    pub fn git(path: Option<PathBuf>) -> Self {
        Self {
            git: Some(ApplicationGitConfig {
                path,
                ..ApplicationGitConfig::default()
            }),
            folder: None,
            ..Self::folder(PathBuf::new())
        }
    }

    /// The render settings of the application.
    pub fn render_settings(&self) -> ApplicationRender {
        ApplicationRender {
            mode: self.render,
            kustomize: self.kustomize.clone(),
            helm: self.helm.clone(),
            namespace: self.namespace.clone(),
        }
    }

    /// Checks the application; `key` names it in messages (`applications[1]`), and `git`
    /// is the top-level section its Git settings fall back to.
    pub fn validate(&self, key: &str, git: &GitSourceConfig) -> Result<(), Error> {
        let key = format!("{key} ({})", self.name);
        if !is_application_name(&self.name) {
            return Err(config_error(format!(
                "{key}: the name must be 1 to 63 lowercase letters, digits, `-`, `_` or `.`, starting with a letter or digit"
            )));
        }
        match (&self.git, &self.folder) {
            (Some(_), Some(_)) => {
                return Err(config_error(format!(
                    "{key}: set either git or folder, not both"
                )));
            }
            (None, None) => {
                return Err(config_error(format!(
                    "{key}: set git (a repository folder) or folder (a local folder)"
                )));
            }
            (Some(own), None) => {
                let resolved = own.over(git);
                if resolved.url.trim().is_empty() {
                    return Err(config_error(format!(
                        "{key}: git.url is not set here nor in the top-level git section"
                    )));
                }
                resolved
                    .validate()
                    .map_err(|e| config_error(format!("{key}: {e}")))?;
            }
            (None, Some(folder)) => {
                if folder.as_os_str().is_empty() {
                    return Err(config_error(format!("{key}: folder is empty")));
                }
            }
        }
        if let Some(namespace) = &self.namespace
            && !is_namespace_name(namespace)
        {
            return Err(config_error(format!(
                "{key}: namespace `{namespace}` is not a namespace name (lowercase letters, digits and `-`, at most 63)"
            )));
        }
        self.helm
            .validate(&format!("{key}: helm"))
            .map_err(|e| config_error(e.to_string()))?;
        if !self.helm.is_default()
            && matches!(self.render, RenderMode::Plain | RenderMode::Kustomize)
        {
            return Err(config_error(format!(
                "{key}: helm settings are given but render is {}; remove them or set render: helm",
                self.render.as_str()
            )));
        }
        if self.kustomize != KustomizeOptions::default()
            && matches!(self.render, RenderMode::Plain | RenderMode::Helm)
        {
            return Err(config_error(format!(
                "{key}: kustomize settings are given but render is {}; remove them or set render: kustomize",
                self.render.as_str()
            )));
        }
        Ok(())
    }

    /// The application as the detector runs it: its desired source, reading through
    /// `repositories` (shared clones) and `renderer` (shared tools).
    pub fn build(
        &self,
        git: &GitSourceConfig,
        repositories: &GitRepositories,
        renderer: &Arc<Renderer>,
        key: &FingerprintKey,
    ) -> Result<Application, Error> {
        let reader = DesiredReader::new(Arc::clone(renderer), self.render_settings(), key.clone());
        let (source, description): (Arc<dyn driftguard_core::DesiredSource>, String) =
            match (&self.git, &self.folder) {
                (Some(own), _) => {
                    let config = own.over(git);
                    let repository = repositories.get(&config)?;
                    let description = describe_git(&config);
                    let source =
                        GitDesiredSource::for_application(repository, config.path.clone(), reader)?;
                    (Arc::new(source), description)
                }
                (None, Some(folder)) => (
                    Arc::new(FolderDesiredSource::with_reader(folder, reader)),
                    folder.display().to_string(),
                ),
                (None, None) => {
                    return Err(config_error(format!(
                        "application {}: set git or folder",
                        self.name
                    )));
                }
            };
        Ok(Application {
            name: self.name.clone(),
            namespace: self.namespace.clone(),
            source,
            description,
        })
    }
}

/// `URL (branch B, path P)`, credentials removed.
fn describe_git(config: &GitSourceConfig) -> String {
    let mut text = format!("{} (branch {}", redact_url(&config.url), config.branch);
    if let Some(path) = &config.path {
        text.push_str(&format!(", path {}", path.display()));
    }
    text.push(')');
    text
}

/// The applications a configuration describes: `applications` as given, or the one
/// application of the single-source form. Refuses a configuration that mixes the two,
/// naming what to remove, and names given twice.
pub fn resolve_applications(
    sources: &SourcesConfig,
    git: &GitSourceConfig,
    applications: &[ApplicationConfig],
) -> Result<Vec<ApplicationConfig>, Error> {
    if applications.is_empty() {
        let single = match (sources.desired.unwrap_or_default(), &sources.folder) {
            (DesiredKind::Folder, Some(folder)) => ApplicationConfig::folder(folder),
            (DesiredKind::Folder, None) => {
                return Err(config_error(
                    "sources.folder is required when sources.desired is folder",
                ));
            }
            (DesiredKind::Git, _) => {
                if git.url.trim().is_empty() {
                    return Err(config_error(
                        "git.url is required when sources.desired is git (or set sources.desired: folder and sources.folder, or list applications)",
                    ));
                }
                ApplicationConfig::git(git.path.clone())
            }
        };
        single.validate("sources", git)?;
        return Ok(vec![single]);
    }
    let mut mixed = Vec::new();
    if sources.folder.is_some() {
        mixed.push("sources.folder");
    }
    if sources.desired.is_some() {
        mixed.push("sources.desired");
    }
    if git.path.is_some() {
        mixed.push("git.path");
    }
    if !mixed.is_empty() {
        return Err(config_error(format!(
            "the configuration lists applications and also sets {}; remove {} (each application names its own folder or git.path)",
            mixed.join(" and "),
            if mixed.len() == 1 { "it" } else { "them" }
        )));
    }
    let mut names = std::collections::BTreeSet::new();
    // Repository and branch → the first application reading it, and its settings.
    let mut repositories: std::collections::BTreeMap<(String, String), (usize, GitSourceConfig)> =
        std::collections::BTreeMap::new();
    for (i, application) in applications.iter().enumerate() {
        application.validate(&format!("applications[{i}]"), git)?;
        if !names.insert(application.name.as_str()) {
            return Err(config_error(format!(
                "applications[{i}]: the name `{}` is used twice",
                application.name
            )));
        }
        if let Some(own) = &application.git {
            let mut config = own.over(git);
            config.path = None;
            let key = (config.url.clone(), config.branch.clone());
            match repositories.get(&key) {
                Some((first, shared)) if *shared != config => {
                    return Err(config_error(format!(
                        "applications[{first}] ({}) and applications[{i}] ({}) read {} (branch {}) with different git.auth or git.allow_force_push; they share one clone and one fetch, so give them the same",
                        applications[*first].name,
                        application.name,
                        redact_url(&config.url),
                        config.branch
                    )));
                }
                Some(_) => {}
                None => {
                    repositories.insert(key, (i, config));
                }
            }
        }
    }
    Ok(applications.to_vec())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn git() -> GitSourceConfig {
        GitSourceConfig::new("https://git.example.com/apps.git", "/tmp/cache")
    }

    fn app(name: &str, path: &str) -> ApplicationConfig {
        ApplicationConfig {
            name: name.to_owned(),
            ..ApplicationConfig::git(Some(PathBuf::from(path)))
        }
    }

    #[test]
    fn the_single_source_form_is_one_application_named_default() {
        let mut git = git();
        git.path = Some(PathBuf::from("clusters/eu"));
        let apps = resolve_applications(&SourcesConfig::default(), &git, &[]).unwrap();
        assert_eq!(apps.len(), 1);
        assert_eq!(apps[0].name, "default");
        assert_eq!(
            apps[0].git.as_ref().unwrap().over(&git).path,
            Some(PathBuf::from("clusters/eu"))
        );
        let sources = SourcesConfig {
            desired: Some(DesiredKind::Folder),
            folder: Some(PathBuf::from("manifests")),
            ..SourcesConfig::default()
        };
        let apps = resolve_applications(&sources, &GitSourceConfig::default(), &[]).unwrap();
        assert_eq!(apps[0].folder, Some(PathBuf::from("manifests")));
    }

    #[test]
    fn the_two_forms_do_not_mix() {
        let mut git = git();
        git.path = Some(PathBuf::from("clusters/eu"));
        let sources = SourcesConfig {
            folder: Some(PathBuf::from("manifests")),
            ..SourcesConfig::default()
        };
        let error = resolve_applications(&sources, &git, &[app("shop", "apps/shop")]).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("sources.folder and git.path"), "{message}");
        assert!(message.contains("remove them"), "{message}");
    }

    #[test]
    fn applications_are_checked_by_name_and_position() {
        let error = resolve_applications(
            &SourcesConfig::default(),
            &git(),
            &[app("shop", "a"), app("shop", "b")],
        )
        .unwrap_err();
        assert!(error.to_string().contains("used twice"), "{error}");
        let mut bad = app("Shop", "a");
        let error =
            resolve_applications(&SourcesConfig::default(), &git(), &[bad.clone()]).unwrap_err();
        assert!(
            error.to_string().contains("applications[0] (Shop)"),
            "{error}"
        );
        bad.name = "shop".to_owned();
        bad.render = RenderMode::Kustomize;
        bad.helm.release = Some("shop".to_owned());
        let error = resolve_applications(&SourcesConfig::default(), &git(), &[bad]).unwrap_err();
        assert!(error.to_string().contains("helm settings"), "{error}");
        let mut no_url = app("shop", "a");
        no_url.git.as_mut().unwrap().url = None;
        let error = resolve_applications(
            &SourcesConfig::default(),
            &GitSourceConfig::default(),
            &[no_url],
        )
        .unwrap_err();
        assert!(error.to_string().contains("git.url is not set"), "{error}");
    }

    #[test]
    fn applications_of_one_repository_must_fetch_it_the_same_way() {
        let mut forced = app("billing", "charts/billing");
        forced.git.as_mut().unwrap().allow_force_push = Some(true);
        let error = resolve_applications(
            &SourcesConfig::default(),
            &git(),
            &[app("shop", "apps/shop"), forced],
        )
        .unwrap_err();
        let message = error.to_string();
        assert!(
            message.contains("applications[0] (shop) and applications[1] (billing)"),
            "{message}"
        );
        let mut other_branch = app("billing", "charts/billing");
        other_branch.git.as_mut().unwrap().branch = Some("release".to_owned());
        other_branch.git.as_mut().unwrap().allow_force_push = Some(true);
        assert!(
            resolve_applications(
                &SourcesConfig::default(),
                &git(),
                &[app("shop", "apps/shop"), other_branch],
            )
            .is_ok()
        );
    }

    #[test]
    fn git_settings_fall_back_to_the_top_level_section() {
        let mut base = git();
        base.auth = GitAuth::SshAgent { username: None };
        let own = ApplicationGitConfig {
            branch: Some("release".to_owned()),
            path: Some(PathBuf::from("apps/shop")),
            ..ApplicationGitConfig::default()
        };
        let config = own.over(&base);
        assert_eq!(config.url, base.url);
        assert_eq!(config.branch, "release");
        assert_eq!(config.auth, base.auth);
        assert_eq!(config.cache_dir, base.cache_dir);
    }
}
