//! Configuration: a YAML file (optional) overlaid with `DRIFTGUARD__SECTION__KEY`
//! environment variables, checked as a whole before anything starts.

mod settings;
mod show;
mod validate;
mod yaml;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use config::{Config, Environment, File};

pub use settings::*;
pub use show::redacted;
pub use validate::validate;

/// The file `serve` reads when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "config.yaml";

/// Prefix of environment overrides: `DRIFTGUARD__SERVER__PORT=9090` sets `server.port`.
pub const ENV_PREFIX: &str = "DRIFTGUARD";

/// Keys whose environment override is a comma-separated list.
const LIST_KEYS: &[&str] = &[
    "kubernetes.namespaces",
    "kubernetes.resource_types",
    "kubernetes.system_namespaces",
    "detection.ignore_managers",
    "detection.appliers",
    "detection.controllers",
    "detection.ignored_annotations",
    "detection.ignored_labels",
];

/// Settings and where they came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The effective settings.
    pub settings: Settings,
    /// The file read; `None` when only built-in defaults (and the environment) apply.
    pub file: Option<PathBuf>,
}

/// Loads the configuration.
///
/// `explicit` is `--config`: it must exist. Without it, `config.yaml` in the working
/// directory is read when present, and built-in defaults apply otherwise.
pub fn load(explicit: Option<&Path>) -> anyhow::Result<Loaded> {
    let file = match explicit {
        Some(path) => {
            if !path.exists() {
                bail!("the configuration file {} does not exist", path.display());
            }
            Some(path.to_owned())
        }
        None => {
            let default = PathBuf::from(DEFAULT_CONFIG_FILE);
            default.exists().then_some(default)
        }
    };
    let mut builder = Config::builder();
    if let Some(path) = &file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        builder = builder.add_source(File::from_str(&text, yaml::Yaml));
    }
    let mut environment = Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .list_separator(",");
    for key in LIST_KEYS {
        environment = environment.with_list_parse_key(key);
    }
    let where_ = file
        .as_ref()
        .map_or_else(|| "the environment".to_owned(), |p| p.display().to_string());
    let settings: Settings = builder
        .add_source(environment)
        .build()
        .and_then(Config::try_deserialize)
        .with_context(|| format!("invalid configuration in {where_}"))?;
    Ok(Loaded { settings, file })
}
