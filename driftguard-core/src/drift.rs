//! What a drift is: its type, its severity, and one differing field.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How much a drift matters. Ordered: `Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    /// Cosmetic or metadata-only (labels, annotations).
    Low,
    /// Behaviour changes that rarely break things at once.
    Medium,
    /// Changes to what runs or to credentials.
    High,
}

impl Severity {
    /// The name as it appears in records and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "Low",
            Self::Medium => "Medium",
            Self::High => "High",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of a difference between desired and live state.
///
/// Variants are declared in alphabetical order so that the derived `Ord`
/// sorts a record's `drift_types` by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DriftType {
    /// `metadata.annotations` or template annotations.
    AnnotationChange,
    /// References to ConfigMaps: `configMapKeyRef`, `configMapRef`, configMap volumes.
    ConfigMapChange,
    /// Container env, args and command; ConfigMap data.
    ConfigurationChange,
    /// `metadata.labels` or template labels.
    LabelChange,
    /// Declared in Git, absent from the cluster.
    Missing,
    /// Removed from Git, still in the cluster.
    Orphaned,
    /// A field no rule names.
    Other,
    /// Container ports or Service ports.
    PortChange,
    /// Container resource requests and limits.
    ResourceChange,
    /// `spec.replicas`.
    Scaling,
    /// Secret data, `secretKeyRef`, `secretRef`, secret volumes.
    SecretChange,
    /// A container image.
    VersionChange,
    /// Volumes and volume mounts.
    VolumeChange,
}

impl DriftType {
    /// Every drift type, in name order.
    pub const ALL: [DriftType; 13] = [
        Self::AnnotationChange,
        Self::ConfigMapChange,
        Self::ConfigurationChange,
        Self::LabelChange,
        Self::Missing,
        Self::Orphaned,
        Self::Other,
        Self::PortChange,
        Self::ResourceChange,
        Self::Scaling,
        Self::SecretChange,
        Self::VersionChange,
        Self::VolumeChange,
    ];

    /// The name as it appears in records and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AnnotationChange => "AnnotationChange",
            Self::ConfigMapChange => "ConfigMapChange",
            Self::ConfigurationChange => "ConfigurationChange",
            Self::LabelChange => "LabelChange",
            Self::Missing => "Missing",
            Self::Orphaned => "Orphaned",
            Self::Other => "Other",
            Self::PortChange => "PortChange",
            Self::ResourceChange => "ResourceChange",
            Self::Scaling => "Scaling",
            Self::SecretChange => "SecretChange",
            Self::VersionChange => "VersionChange",
            Self::VolumeChange => "VolumeChange",
        }
    }
}

impl fmt::Display for DriftType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DriftType {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| crate::Error::InvalidRule(format!("unknown drift type `{s}`")))
    }
}

/// One field that differs between desired and live state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftDetail {
    /// Where, e.g. `spec.template.spec.containers[name=web].image`; empty for a missing or
    /// an orphaned object.
    pub path: String,
    /// What kind of change this is.
    pub drift_type: DriftType,
    /// How much it matters.
    pub severity: Severity,
    /// The value Git declares, or `null` when Git does not set the field.
    pub desired: Option<Value>,
    /// The value in the cluster, or `null` when the field is absent there.
    pub live: Option<Value>,
    /// The field manager that wrote the live value, as `metadata.managedFields` records
    /// it (a hand-edit tool first, when several own it).
    pub manager: Option<String>,
    /// Whether that manager is a tool people edit objects with by hand.
    #[serde(default, skip_serializing_if = "is_false")]
    pub hand_edit: bool,
    /// Whether the object records field ownership but no manager wrote the live value:
    /// admission (a mutating webhook, a policy) did, or the field is missing.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unowned: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}
