//! The `detection` section: when analyses run, how differences are classified, which are
//! accepted, and the key of Secret fingerprints.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;
use crate::analysis::DetectionSettings;
use crate::classify::ClassificationRule;
use crate::ignore::IgnoreRule;
use crate::plausibility::{DEFAULT_MAX_DROP, Plausibility};
use crate::{DriftType, Error, Severity};

/// One classification rule added in front of the built-in matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassificationRuleConfig {
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
pub struct IgnoreRuleConfig {
    /// Kinds the rule applies to; empty: all.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Field patterns (`/spec/replicas`, `metadata.annotations["example.com/x"]`).
    pub paths: Vec<String>,
}

/// `detection`: how and when drift is detected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectionConfig {
    /// Whether this instance analyses clusters at all. `false` makes a hub: it reads
    /// every cluster's records and status documents from a shared store and serves them,
    /// with no cluster or Git credentials.
    pub enabled: bool,
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
    pub classification: Vec<ClassificationRuleConfig>,
    /// Differences that are known and accepted.
    pub ignore: Vec<IgnoreRuleConfig>,
    /// Field managers whose writes are never drift (an autoscaler, say).
    pub ignore_managers: Vec<String>,
    /// Field managers that apply manifests from Git (a deploy tool of your own), in addition
    /// to the built-in ones; their writes are not hand edits.
    pub appliers: Vec<String>,
    /// Field managers that are controllers writing into objects, in addition to the
    /// built-in ones; their writes are not hand edits. A manager no list names already
    /// counts as an operator: list one here only when its name looks like a hand-edit
    /// tool's (`kubectl-*`).
    pub controllers: Vec<String>,
    /// Field managers of tools people edit objects with by hand (an in-house console), in
    /// addition to the built-in ones (`kubectl-*` but the appliers, `kubectl` updates,
    /// dashboards, default client names). A field Git never declares is drift when one of
    /// these wrote it.
    pub hand_editors: Vec<String>,
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
    /// Accept a desired state that holds no objects. Off, an empty desired state (a wrong
    /// path, a render that printed nothing) is held back and the application's records
    /// stay as they are.
    pub allow_empty: bool,
    /// The largest share (0.0 to 1.0) of its objects an application's desired state may
    /// lose in one revision, measured against the last accepted one; a state that loses
    /// more is held back. `1.0` turns the check off.
    pub max_desired_drop: f64,
}

impl Default for DetectionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: Duration::from_secs(30),
            periodic: true,
            watch: true,
            severities: BTreeMap::new(),
            classification: Vec::new(),
            ignore: Vec::new(),
            ignore_managers: Vec::new(),
            appliers: Vec::new(),
            controllers: Vec::new(),
            hand_editors: Vec::new(),
            ignored_annotations: Vec::new(),
            ignored_labels: Vec::new(),
            fingerprint_key: None,
            fingerprint_key_file: PathBuf::from("driftguard-data/fingerprint.key"),
            allow_empty: false,
            max_desired_drop: DEFAULT_MAX_DROP,
        }
    }
}

/// `Low`, `Medium` or `High` (any case); the error names `key`.
pub fn parse_severity(text: &str, key: &str) -> Result<Severity, Error> {
    match text.to_ascii_lowercase().as_str() {
        "low" => Ok(Severity::Low),
        "medium" => Ok(Severity::Medium),
        "high" => Ok(Severity::High),
        _ => Err(Error::InvalidRule(format!(
            "{key}: `{text}` is not a severity (Low, Medium or High)"
        ))),
    }
}

fn parse_drift_type(text: &str, key: &str) -> Result<DriftType, Error> {
    text.parse::<DriftType>().map_err(|_| {
        let names: Vec<&str> = DriftType::ALL.iter().map(|t| t.as_str()).collect();
        Error::InvalidRule(format!(
            "{key}: `{text}` is not a drift type (one of {})",
            names.join(", ")
        ))
    })
}

impl DetectionConfig {
    /// Checks every key; the first problem found is the error, naming its key.
    pub fn validate(&self) -> Result<(), Error> {
        if self.interval.is_zero() {
            return Err(Error::InvalidRule(
                "detection.interval must be longer than zero".to_owned(),
            ));
        }
        if let Some(key) = &self.fingerprint_key
            && key.trim().is_empty()
        {
            return Err(Error::InvalidRule(
                "detection.fingerprint_key is empty".to_owned(),
            ));
        }
        self.detection_settings(&[]).map(|_| ())
    }

    /// The comparison and classification settings these keys describe, analysing the
    /// given namespaces (empty: all).
    pub fn detection_settings(&self, namespaces: &[String]) -> Result<DetectionSettings, Error> {
        if !(0.0..=1.0).contains(&self.max_desired_drop) {
            return Err(Error::InvalidRule(format!(
                "detection.max_desired_drop: {} is not a share between 0.0 and 1.0 (0.5 holds back a desired state that lost more than half its objects; 1.0 turns the check off)",
                self.max_desired_drop
            )));
        }
        let mut core = DetectionSettings {
            namespaces: namespaces.to_vec(),
            plausibility: Plausibility {
                allow_empty: self.allow_empty,
                max_drop: self.max_desired_drop,
            },
            ..DetectionSettings::default()
        };
        let compare = &mut core.compare;
        let mut seen = BTreeSet::new();
        for (name, severity) in &self.severities {
            let key = format!("detection.severities.{name}");
            let drift_type = parse_drift_type(name, &key)?;
            if !seen.insert(drift_type) {
                return Err(Error::InvalidRule(format!(
                    "{key}: {drift_type} is given twice (names are not case-sensitive, and an environment override such as DRIFTGUARD__DETECTION__SEVERITIES__LABELCHANGE adds a lower-case key next to the file's)"
                )));
            }
            compare
                .classifier
                .set_severity(drift_type, parse_severity(severity, &key)?);
        }
        // Rules are put in front one by one; reversing keeps the file's order of precedence.
        for (i, rule) in self.classification.iter().enumerate().rev() {
            let key = format!("detection.classification[{i}]");
            let drift_type = parse_drift_type(&rule.drift_type, &format!("{key}.drift_type"))?;
            let severity = parse_severity(&rule.severity, &format!("{key}.severity"))?;
            if rule.paths.is_empty() {
                return Err(Error::InvalidRule(format!("{key}.paths is empty")));
            }
            let kinds: Vec<&str> = rule.kinds.iter().map(String::as_str).collect();
            let paths: Vec<&str> = rule.paths.iter().map(String::as_str).collect();
            let parsed = ClassificationRule::new(drift_type, severity, &kinds, &paths)
                .map_err(|e| Error::InvalidRule(format!("{key}.paths: {e}")))?;
            compare.classifier.prepend(parsed);
        }
        for (i, rule) in self.ignore.iter().enumerate() {
            let key = format!("detection.ignore[{i}].paths");
            if rule.paths.is_empty() {
                return Err(Error::InvalidRule(format!("{key} is empty")));
            }
            let paths = rule
                .paths
                .iter()
                .map(|p| p.parse())
                .collect::<Result<Vec<_>, Error>>()
                .map_err(|e| Error::InvalidRule(format!("{key}: {e}")))?;
            compare.ignore.rules.push(IgnoreRule {
                kinds: rule.kinds.clone(),
                paths,
            });
        }
        compare
            .ignore
            .managers
            .extend(self.ignore_managers.iter().cloned());
        compare.managers.add_appliers(self.appliers.iter().cloned());
        compare
            .managers
            .add_controllers(self.controllers.iter().cloned());
        compare
            .managers
            .add_hand_editors(self.hand_editors.iter().cloned());
        compare
            .canonical
            .ignored_annotations
            .extend(self.ignored_annotations.iter().cloned());
        compare
            .canonical
            .ignored_labels
            .extend(self.ignored_labels.iter().cloned());
        Ok(core)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_checked_with_the_key_named() {
        let mut config = DetectionConfig::default();
        config
            .severities
            .insert("LabelChange".to_owned(), "Critical".to_owned());
        let error = config.validate().expect_err("unknown severity");
        assert!(
            error
                .to_string()
                .contains("detection.severities.LabelChange"),
            "{error}"
        );
        let mut config = DetectionConfig::default();
        config.ignore.push(IgnoreRuleConfig {
            kinds: Vec::new(),
            paths: Vec::new(),
        });
        let error = config.validate().expect_err("empty paths");
        assert!(
            error.to_string().contains("detection.ignore[0].paths"),
            "{error}"
        );
        assert!(DetectionConfig::default().validate().is_ok());
    }

    #[test]
    fn the_desired_drop_is_a_share() {
        for bad in [-0.1, 1.5, f64::NAN] {
            let config = DetectionConfig {
                max_desired_drop: bad,
                ..DetectionConfig::default()
            };
            let error = config.validate().expect_err("not a share");
            assert!(
                error.to_string().contains("detection.max_desired_drop"),
                "{error}"
            );
        }
        let config = DetectionConfig {
            allow_empty: true,
            max_desired_drop: 1.0,
            ..DetectionConfig::default()
        };
        let settings = config.detection_settings(&[]).expect("valid");
        assert_eq!(
            settings.plausibility,
            Plausibility {
                allow_empty: true,
                max_drop: 1.0
            }
        );
        assert_eq!(
            DetectionConfig::default()
                .detection_settings(&[])
                .expect("valid")
                .plausibility,
            Plausibility::default()
        );
    }

    #[test]
    fn a_zero_interval_is_refused() {
        let config = DetectionConfig {
            interval: Duration::ZERO,
            ..DetectionConfig::default()
        };
        assert!(config.validate().is_err());
    }
}
