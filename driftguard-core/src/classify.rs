//! Classification: which drift type and severity a differing field has (DESIGN.md §5).
//!
//! The matrix is data: [`Classifier::default`] holds the product's rules and configuration
//! can replace them or change severities.

use serde_json::Value;

use crate::Error;
use crate::drift::{DriftType, Severity};
use crate::path::{FieldPath, PathPattern, Segment};

/// One row of the matrix: fields matching any of `paths` (in objects of `kinds`, or any
/// kind when empty) are of `drift_type` with `severity`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationRule {
    /// The drift type assigned.
    pub drift_type: DriftType,
    /// The severity assigned.
    pub severity: Severity,
    /// Object kinds the rule applies to; empty for all.
    pub kinds: Vec<String>,
    /// Field patterns.
    pub paths: Vec<PathPattern>,
}

impl ClassificationRule {
    /// A rule from pattern strings.
    pub fn new(
        drift_type: DriftType,
        severity: Severity,
        kinds: &[&str],
        paths: &[&str],
    ) -> Result<Self, Error> {
        Ok(Self {
            drift_type,
            severity,
            kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            paths: paths.iter().map(|p| p.parse()).collect::<Result<_, _>>()?,
        })
    }

    fn applies(&self, kind: &str, path: &[Segment]) -> bool {
        (self.kinds.is_empty() || self.kinds.iter().any(|k| k == kind))
            && self.paths.iter().any(|p| p.matches(path))
    }
}

/// Assigns a drift type and severity to each differing field.
#[derive(Debug, Clone, PartialEq)]
pub struct Classifier {
    rules: Vec<ClassificationRule>,
    /// Type and severity of a field no rule names.
    pub fallback: (DriftType, Severity),
    /// Severity of an object declared in Git but absent from the cluster.
    pub missing_severity: Severity,
    /// Severity of an object removed from Git but still in the cluster.
    pub orphaned_severity: Severity,
}

const CONTAINERS: [&str; 3] = ["containers", "initContainers", "ephemeralContainers"];

fn container_paths(suffixes: &[&str]) -> Vec<String> {
    CONTAINERS
        .iter()
        .flat_map(|c| suffixes.iter().map(move |s| format!("**.{c}[].{s}")))
        .collect()
}

fn rule(
    drift_type: DriftType,
    severity: Severity,
    kinds: &[&str],
    paths: &[String],
) -> ClassificationRule {
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    // The built-in patterns are fixed; a parse failure is a bug caught by the unit tests.
    ClassificationRule::new(drift_type, severity, kinds, &refs)
        .unwrap_or_else(|e| panic!("built-in classification rule is invalid: {e}"))
}

fn owned(paths: &[&str]) -> Vec<String> {
    paths.iter().map(|p| (*p).to_owned()).collect()
}

impl Default for Classifier {
    fn default() -> Self {
        use DriftType::*;
        use Severity::*;
        let rules = vec![
            rule(
                SecretChange,
                High,
                &["Secret"],
                &owned(&["data.**", "binaryData.**", "type"]),
            ),
            rule(
                SecretChange,
                High,
                &[],
                &owned(&[
                    "**.secretKeyRef.**",
                    "**.secretRef.**",
                    "**.volumes[].secret.**",
                    "**.sources[].secret.**",
                    "**.imagePullSecrets.**",
                ]),
            ),
            rule(
                SecretChange,
                High,
                &["ServiceAccount"],
                &owned(&["secrets.**"]),
            ),
            rule(
                ConfigMapChange,
                Medium,
                &[],
                &owned(&[
                    "**.configMapKeyRef.**",
                    "**.configMapRef.**",
                    "**.volumes[].configMap.**",
                    "**.sources[].configMap.**",
                ]),
            ),
            rule(VersionChange, High, &[], &container_paths(&["image"])),
            rule(
                ResourceChange,
                Medium,
                &[],
                &container_paths(&["resources.**"]),
            ),
            rule(
                ResourceChange,
                Medium,
                &["PersistentVolumeClaim"],
                &owned(&["spec.resources.**"]),
            ),
            rule(
                ResourceChange,
                Medium,
                &[],
                &owned(&["spec.volumeClaimTemplates[].spec.resources.**"]),
            ),
            rule(
                ConfigurationChange,
                Medium,
                &[],
                &container_paths(&["env.**", "envFrom.**", "args.**", "command.**"]),
            ),
            rule(
                ConfigurationChange,
                Medium,
                &["ConfigMap"],
                &owned(&["data.**", "binaryData.**"]),
            ),
            rule(LabelChange, Low, &[], &owned(&["**.metadata.labels.**"])),
            rule(
                AnnotationChange,
                Low,
                &[],
                &owned(&["**.metadata.annotations.**"]),
            ),
            rule(PortChange, Medium, &[], &container_paths(&["ports.**"])),
            rule(PortChange, Medium, &["Service"], &owned(&["spec.ports.**"])),
            rule(VolumeChange, Medium, &[], &{
                let mut paths = owned(&["**.volumes.**", "spec.volumeClaimTemplates.**"]);
                paths.extend(container_paths(&["volumeMounts.**", "volumeDevices.**"]));
                paths
            }),
            rule(Scaling, Medium, &[], &owned(&["spec.replicas"])),
        ];
        Self {
            rules,
            fallback: (Other, Medium),
            missing_severity: High,
            orphaned_severity: Medium,
        }
    }
}

/// At most this many leaf paths of a differing subtree are looked at.
const MAX_PROBES: usize = 256;

impl Classifier {
    /// A classifier with these rules, tried in order.
    pub fn new(rules: Vec<ClassificationRule>) -> Self {
        Self {
            rules,
            ..Self::default()
        }
    }

    /// The rules, in the order they are tried.
    pub fn rules(&self) -> &[ClassificationRule] {
        &self.rules
    }

    /// Puts `rule` ahead of the existing ones, so it wins where both match.
    pub fn prepend(&mut self, rule: ClassificationRule) {
        self.rules.insert(0, rule);
    }

    /// Changes the severity of every rule of `drift_type` (and of `Missing`, `Orphaned` or
    /// the fallback).
    pub fn set_severity(&mut self, drift_type: DriftType, severity: Severity) {
        for rule in &mut self.rules {
            if rule.drift_type == drift_type {
                rule.severity = severity;
            }
        }
        match drift_type {
            DriftType::Missing => self.missing_severity = severity,
            DriftType::Orphaned => self.orphaned_severity = severity,
            _ => {}
        }
        if self.fallback.0 == drift_type {
            self.fallback.1 = severity;
        }
    }

    /// The type and severity of a difference at `path` in an object of `kind`.
    ///
    /// When a whole subtree differs (a container or env var added by hand), the leaf
    /// paths inside it are classified too and the most severe match wins, so that an
    /// env var taken from a Secret counts as a Secret change.
    pub fn classify(
        &self,
        kind: &str,
        path: &FieldPath,
        desired: Option<&Value>,
        live: Option<&Value>,
    ) -> (DriftType, Severity) {
        let mut best: Option<(usize, &ClassificationRule)> = None;
        let mut consider = |segments: &[Segment]| {
            if let Some((index, rule)) = self
                .rules
                .iter()
                .enumerate()
                .find(|(_, r)| r.applies(kind, segments))
            {
                let better = match best {
                    None => true,
                    Some((best_index, best_rule)) => {
                        rule.severity > best_rule.severity
                            || (rule.severity == best_rule.severity && index < best_index)
                    }
                };
                if better {
                    best = Some((index, rule));
                }
            }
        };
        consider(path.segments());
        let mut probes = 0;
        for value in [desired, live].into_iter().flatten() {
            if value.is_object() || value.is_array() {
                let mut scratch = path.clone();
                for_each_leaf(value, &mut scratch, &mut probes, &mut |p| consider(p));
            }
        }
        best.map_or(self.fallback, |(_, rule)| (rule.drift_type, rule.severity))
    }
}

fn for_each_leaf(
    value: &Value,
    path: &mut FieldPath,
    probes: &mut usize,
    visit: &mut dyn FnMut(&[Segment]),
) {
    if *probes >= MAX_PROBES {
        return;
    }
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                path.push(Segment::Key(key.clone()));
                for_each_leaf(child, path, probes, visit);
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, child) in items.iter().enumerate() {
                path.push(Segment::Index(i));
                for_each_leaf(child, path, probes, visit);
                path.pop();
            }
        }
        _ => {
            *probes += 1;
            visit(path.segments());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(parts: &[Segment]) -> FieldPath {
        let mut p = FieldPath::root();
        for s in parts {
            p.push(s.clone());
        }
        p
    }

    fn key(k: &str) -> Segment {
        Segment::Key(k.to_owned())
    }

    fn named(n: &str) -> Segment {
        Segment::Keyed(vec![("name".to_owned(), json!(n))])
    }

    fn container(rest: &[Segment]) -> FieldPath {
        let mut parts = vec![
            key("spec"),
            key("template"),
            key("spec"),
            key("containers"),
            named("web"),
        ];
        parts.extend_from_slice(rest);
        path(&parts)
    }

    #[test]
    fn matrix_rows() {
        let c = Classifier::default();
        let cases = [
            (
                "Deployment",
                path(&[key("spec"), key("replicas")]),
                DriftType::Scaling,
                Severity::Medium,
            ),
            (
                "Deployment",
                container(&[key("image")]),
                DriftType::VersionChange,
                Severity::High,
            ),
            (
                "Deployment",
                container(&[key("resources"), key("limits"), key("memory")]),
                DriftType::ResourceChange,
                Severity::Medium,
            ),
            (
                "Deployment",
                container(&[key("env"), named("A"), key("value")]),
                DriftType::ConfigurationChange,
                Severity::Medium,
            ),
            (
                "Deployment",
                container(&[key("args")]),
                DriftType::ConfigurationChange,
                Severity::Medium,
            ),
            (
                "ConfigMap",
                path(&[key("data"), key("x")]),
                DriftType::ConfigurationChange,
                Severity::Medium,
            ),
            (
                "Deployment",
                path(&[key("metadata"), key("labels"), key("a")]),
                DriftType::LabelChange,
                Severity::Low,
            ),
            (
                "Deployment",
                path(&[
                    key("spec"),
                    key("template"),
                    key("metadata"),
                    key("annotations"),
                    key("a"),
                ]),
                DriftType::AnnotationChange,
                Severity::Low,
            ),
            (
                "Service",
                path(&[key("spec"), key("ports")]),
                DriftType::PortChange,
                Severity::Medium,
            ),
            (
                "Deployment",
                container(&[key("ports")]),
                DriftType::PortChange,
                Severity::Medium,
            ),
            (
                "Deployment",
                container(&[key("volumeMounts")]),
                DriftType::VolumeChange,
                Severity::Medium,
            ),
            (
                "Secret",
                path(&[key("data"), key("password")]),
                DriftType::SecretChange,
                Severity::High,
            ),
            (
                "Deployment",
                container(&[
                    key("env"),
                    named("P"),
                    key("valueFrom"),
                    key("secretKeyRef"),
                    key("key"),
                ]),
                DriftType::SecretChange,
                Severity::High,
            ),
            (
                "Deployment",
                container(&[
                    key("envFrom"),
                    Segment::Index(0),
                    key("configMapRef"),
                    key("name"),
                ]),
                DriftType::ConfigMapChange,
                Severity::Medium,
            ),
            (
                "ServiceAccount",
                path(&[key("secrets"), named("ci-token")]),
                DriftType::SecretChange,
                Severity::High,
            ),
            (
                "ServiceAccount",
                path(&[key("imagePullSecrets"), named("registry")]),
                DriftType::SecretChange,
                Severity::High,
            ),
            (
                "Deployment",
                path(&[key("spec"), key("minReadySeconds")]),
                DriftType::Other,
                Severity::Medium,
            ),
        ];
        for (kind, p, t, s) in cases {
            assert_eq!(c.classify(kind, &p, None, None), (t, s), "{kind} {p}");
        }
    }

    #[test]
    fn subtrees_take_the_most_severe_leaf() {
        let c = Classifier::default();
        let env = container(&[key("env"), named("DB_PASSWORD")]);
        let value = json!({"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}});
        assert_eq!(
            c.classify("Deployment", &env, None, Some(&value)),
            (DriftType::SecretChange, Severity::High)
        );
        let volume = path(&[
            key("spec"),
            key("template"),
            key("spec"),
            key("volumes"),
            named("cfg"),
        ]);
        let value = json!({"name": "cfg", "configMap": {"name": "app"}});
        assert_eq!(
            c.classify("Deployment", &volume, Some(&value), None),
            (DriftType::ConfigMapChange, Severity::Medium)
        );
    }

    #[test]
    fn severities_can_be_overridden() {
        let mut c = Classifier::default();
        c.set_severity(DriftType::LabelChange, Severity::High);
        let p = path(&[key("metadata"), key("labels"), key("a")]);
        assert_eq!(
            c.classify("X", &p, None, None),
            (DriftType::LabelChange, Severity::High)
        );
        assert_eq!(c.orphaned_severity, Severity::Medium);
        c.set_severity(DriftType::Orphaned, Severity::High);
        assert_eq!(c.orphaned_severity, Severity::High);
        assert_eq!(c.missing_severity, Severity::High);
    }
}
