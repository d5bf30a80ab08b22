//! How folders are rendered: the process-wide `render` section (tools, time and output
//! limits) and each application's own settings (mode, Kustomize and Helm options).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;

/// `render`: the tools DriftGuard runs and the limits it runs them under. The commands come
/// from here only, never from a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RenderConfig {
    /// Longest one render may run before its process group is killed (Argo CD's default).
    #[serde(with = "driftguard_core::config::duration")]
    pub timeout: Duration,
    /// Largest output accepted from one render, in bytes.
    pub max_output_bytes: u64,
    /// Renders that may run at the same time.
    pub max_concurrent: usize,
    /// The `kustomize` binary. Unset: `kustomize` on `PATH`, else `kubectl kustomize`.
    pub kustomize_command: Option<PathBuf>,
    /// The `kubectl` binary used for `kubectl kustomize` when there is no `kustomize`.
    pub kubectl_command: PathBuf,
    /// The `helm` binary (also handed to Kustomize for `helmCharts`).
    pub helm_command: PathBuf,
}

impl RenderConfig {
    /// The default render timeout, Argo CD's repo-server default.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(90);
    /// The default output cap: 256 MiB.
    pub const DEFAULT_MAX_OUTPUT_BYTES: u64 = 256 * 1024 * 1024;
    /// The default number of renders at once.
    pub const DEFAULT_MAX_CONCURRENT: usize = 4;

    /// Checks the limits; the first problem names its key.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |reason: &str| {
            Err(Error::RenderConfig {
                reason: reason.to_owned(),
            })
        };
        if self.timeout.is_zero() {
            return invalid("render.timeout must be longer than zero");
        }
        if self.max_output_bytes == 0 {
            return invalid("render.max_output_bytes must be at least 1");
        }
        if self.max_concurrent == 0 {
            return invalid("render.max_concurrent must be at least 1");
        }
        for (key, path) in [
            ("render.kubectl_command", Some(&self.kubectl_command)),
            ("render.helm_command", Some(&self.helm_command)),
            ("render.kustomize_command", self.kustomize_command.as_ref()),
        ] {
            if path.is_some_and(|p| p.as_os_str().is_empty()) {
                return invalid(&format!("{key} is empty"));
            }
        }
        Ok(())
    }
}

impl Default for RenderConfig {
    fn default() -> Self {
        Self {
            timeout: Self::DEFAULT_TIMEOUT,
            max_output_bytes: Self::DEFAULT_MAX_OUTPUT_BYTES,
            max_concurrent: Self::DEFAULT_MAX_CONCURRENT,
            kustomize_command: None,
            kubectl_command: PathBuf::from("kubectl"),
            helm_command: PathBuf::from("helm"),
        }
    }
}

/// How an application's folder becomes manifests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RenderMode {
    /// By what the folder holds: a kustomization → Kustomize, a `Chart.yaml` → Helm,
    /// anything else → plain manifests, with kustomizations and charts inside rendered
    /// as units of their own.
    #[default]
    Auto,
    /// Every `*.yaml`, `*.yml` and `*.json` file, recursively, as written.
    Plain,
    /// `kustomize build` of the folder.
    Kustomize,
    /// `helm template` of the chart in the folder.
    Helm,
}

impl RenderMode {
    /// The name used in configuration and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Plain => "plain",
            Self::Kustomize => "kustomize",
            Self::Helm => "helm",
        }
    }
}

/// An application's `kustomize` settings: what an untrusted kustomization may do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KustomizeOptions {
    /// Let `helmCharts` inflate charts (`--enable-helm`, with `render.helm_command`).
    pub enable_helm: bool,
    /// Let kustomizations load remote bases (Git or HTTP URLs). Off: such a reference is
    /// refused before Kustomize runs, and Kustomize gets no usable network proxy or Git
    /// transport.
    pub allow_remote_bases: bool,
}

/// An application's `helm` settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HelmOptions {
    /// The release name; unset: the chart folder's name (the chart's own name for a chart
    /// at the repository root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Values files inside the repository, relative to the chart folder, in the order
    /// `helm template --values` takes them (later files win).
    pub values: Vec<PathBuf>,
    /// Values set one by one, by dotted key (`image.tag`), each handed to Helm as
    /// `--set-json KEY=<the value as JSON>`: a string stays a string (`"0123"` is not read
    /// as a number), numbers and booleans keep their type, lists and maps go whole.
    pub set: BTreeMap<String, Value>,
    /// Values files given on the command line, relative to the working directory as for
    /// `helm` itself; they need not lie in the repository. Not a configuration key.
    #[serde(skip)]
    pub local_values: Vec<PathBuf>,
    /// `--set KEY=VALUE` expressions given on the command line, passed to Helm as written.
    /// Not a configuration key.
    #[serde(skip)]
    pub set_expressions: Vec<String>,
}

impl HelmOptions {
    /// Whether anything differs from rendering the chart with its own defaults.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Checks what can be checked without the repository; `key` names the section.
    pub fn validate(&self, key: &str) -> Result<(), Error> {
        let invalid = |reason: String| Err(Error::RenderConfig { reason });
        if let Some(release) = &self.release
            && !is_release_name(release)
        {
            return invalid(format!(
                "{key}.release `{release}` is not a Helm release name (lowercase letters, digits, `-` and `.`, at most 53 characters)"
            ));
        }
        for (i, path) in self.values.iter().enumerate() {
            if let Err(reason) = repository_relative(path) {
                return invalid(format!("{key}.values[{i}] `{}` {reason}", path.display()));
            }
        }
        for (name, value) in &self.set {
            if name.is_empty() || name.contains('=') || name.contains(',') {
                return invalid(format!(
                    "{key}.set: `{name}` is not a value key (a dotted path such as image.tag)"
                ));
            }
            if value.is_null() {
                return invalid(format!(
                    "{key}.set.{name} is empty; give a value or remove the key"
                ));
            }
        }
        Ok(())
    }
}

/// A Helm release name: what `helm` accepts (a DNS-1123 subdomain of at most 53 bytes).
fn is_release_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 53
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Why `path` cannot name a file inside a repository, if it cannot: an absolute path or a
/// URL. `..` is allowed; whether the result stays inside the checkout is checked when the
/// chart is rendered.
pub(crate) fn repository_relative(path: &Path) -> Result<(), &'static str> {
    if path.as_os_str().is_empty() {
        return Err("is empty");
    }
    if path.to_string_lossy().contains("://") {
        return Err("is a URL; values files must be files in the repository");
    }
    if path
        .components()
        .any(|c| matches!(c, Component::RootDir | Component::Prefix(_)))
    {
        return Err("is absolute; name a file in the repository, relative to the chart folder");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert!(RenderConfig::default().validate().is_ok());
        assert!(HelmOptions::default().validate("helm").is_ok());
        assert!(HelmOptions::default().is_default());
    }

    #[test]
    fn values_files_must_be_repository_paths() {
        for bad in ["/etc/passwd", "https://example.com/values.yaml", ""] {
            let options = HelmOptions {
                values: vec![PathBuf::from(bad)],
                ..HelmOptions::default()
            };
            let error = options.validate("applications[0].helm").expect_err(bad);
            assert!(
                error.to_string().contains("applications[0].helm.values[0]"),
                "{error}"
            );
        }
        let options = HelmOptions {
            values: vec![PathBuf::from("../shared/values-prod.yaml")],
            ..HelmOptions::default()
        };
        assert!(options.validate("helm").is_ok());
    }

    #[test]
    fn release_names_follow_helm() {
        assert!(is_release_name("billing"));
        assert!(is_release_name("shop-2.eu"));
        for bad in ["", "Billing", "-x", "x-", &"a".repeat(54)] {
            assert!(!is_release_name(bad), "{bad}");
        }
    }
}
