//! Configuration: a YAML file (optional) overlaid with `DRIFTGUARD__SECTION__KEY`
//! environment variables, checked as a whole before anything starts.

mod load_error;
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
    "sources.dump_types",
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

/// Loads the configuration for `serve` and `config`.
///
/// `explicit` is `--config`: it must exist. Without it, `config.yaml` in the working
/// directory is read when present, and built-in defaults apply otherwise.
pub fn load(explicit: Option<&Path>) -> anyhow::Result<Loaded> {
    let file = match explicit {
        Some(_) => explicit,
        None => Some(Path::new(DEFAULT_CONFIG_FILE)).filter(|default| default.exists()),
    };
    load_from(file)
}

/// Loads the configuration for `check`: `explicit` (`--config`) when given, else
/// built-in defaults; the environment overrides either, as for `serve`. Unlike `serve`,
/// `check` never reads a `config.yaml` it was not pointed at: a CI job runs in a
/// repository whose `config.yaml` may be anything.
pub fn load_for_check(explicit: Option<&Path>) -> anyhow::Result<Loaded> {
    load_from(explicit)
}

/// Reads `file` (which must exist) or only the defaults, overlaid with the environment.
fn load_from(file: Option<&Path>) -> anyhow::Result<Loaded> {
    if let Some(path) = file
        && !path.exists()
    {
        bail!("the configuration file {} does not exist", path.display());
    }
    let mut builder = Config::builder();
    if let Some(path) = file {
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
    let overridden = std::env::vars_os().any(|(name, _)| {
        name.to_str()
            .is_some_and(|n| n.starts_with(&format!("{ENV_PREFIX}__")))
    });
    let where_ = match file {
        None => "the environment".to_owned(),
        Some(path) if overridden => format!(
            "{} or its {ENV_PREFIX}__… environment overrides",
            path.display()
        ),
        Some(path) => path.display().to_string(),
    };
    let mut settings: Settings = builder
        .add_source(environment)
        .build()
        .and_then(Config::try_deserialize)
        .map_err(load_error::explain)
        .with_context(|| format!("invalid configuration in {where_}"))?;
    apply_key_alias(&mut settings, std::env::var(FINGERPRINT_KEY_ALIAS).ok())?;
    Ok(Loaded {
        settings,
        file: file.map(Path::to_owned),
    })
}

/// The older name of `DRIFTGUARD__DETECTION__FINGERPRINT_KEY`, still read by both
/// commands: the key material for Secret fingerprints.
pub const FINGERPRINT_KEY_ALIAS: &str = "DRIFTGUARD_FINGERPRINT_KEY";

/// Fills `detection.fingerprint_key` from the alias variable's `value` when the key is
/// not set otherwise; two different keys under both names are an error, since either
/// choice would be a guess.
fn apply_key_alias(settings: &mut Settings, value: Option<String>) -> anyhow::Result<()> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    match &settings.detection.fingerprint_key {
        None => settings.detection.fingerprint_key = Some(value),
        Some(key) if *key == value => {}
        Some(_) => bail!(
            "{FINGERPRINT_KEY_ALIAS} and detection.fingerprint_key (DRIFTGUARD__DETECTION__FINGERPRINT_KEY) hold different keys; keep one: {FINGERPRINT_KEY_ALIAS} is the older name of the same setting"
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alias_fills_an_unset_key_and_must_agree_with_a_set_one() {
        let mut settings = Settings::default();
        apply_key_alias(&mut settings, Some("team key".to_owned())).expect("unset key");
        assert_eq!(
            settings.detection.fingerprint_key.as_deref(),
            Some("team key")
        );
        apply_key_alias(&mut settings, Some("team key".to_owned())).expect("same key");
        let error = apply_key_alias(&mut settings, Some("other".to_owned())).expect_err("two keys");
        assert!(error.to_string().contains("different keys"), "{error}");
        assert!(!error.to_string().contains("team key"), "{error}");
        let mut untouched = Settings::default();
        apply_key_alias(&mut untouched, Some(String::new())).expect("empty alias");
        assert_eq!(untouched.detection.fingerprint_key, None);
    }
}
