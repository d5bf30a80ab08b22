//! Resource types that could not be read, reported as warnings instead of failed analyses.
//!
//! A cluster without a CRD, or an RBAC role without `list` on one type, should not stop
//! DriftGuard from checking every other type; the operator still needs to hear about it.

use std::fmt;

/// Why a configured resource type was left out of the live state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypeWarningReason {
    /// The API server does not serve this type (no such group, version or resource).
    NotServed,
    /// RBAC forbids reading it (HTTP 403).
    Forbidden,
    /// The server serves it but not with the verbs DriftGuard needs (`list`, and `watch`
    /// in watch mode).
    MissingVerbs,
}

impl fmt::Display for TypeWarningReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotServed => "not served",
            Self::Forbidden => "forbidden",
            Self::MissingVerbs => "missing verbs",
        })
    }
}

/// One configured resource type (in one namespace, when the refusal was per namespace)
/// that the live state does not include.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TypeWarning {
    /// The type as configured, e.g. `deployments` or `stable.example.com/v1/crontabs`.
    pub resource_type: String,
    /// The namespace the refusal applies to; `None` for the whole type.
    pub namespace: Option<String>,
    /// Why it was left out.
    pub reason: TypeWarningReason,
    /// What the server said, or what was missing.
    pub message: String,
}

impl fmt::Display for TypeWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "resource type `{}`", self.resource_type)?;
        if let Some(namespace) = &self.namespace {
            write!(f, " in namespace {namespace}")?;
        }
        write!(
            f,
            " is left out of the live state ({}): {}",
            self.reason, self.message
        )
    }
}

/// Logs the warnings that were not already reported by the previous pass, so a type that
/// stays forbidden is logged once, not on every analysis.
pub(crate) fn log_new(previous: &[TypeWarning], current: &[TypeWarning]) {
    for warning in current {
        if !previous.contains(warning) {
            tracing::warn!(
                resource_type = %warning.resource_type,
                namespace = warning.namespace.as_deref().unwrap_or(""),
                reason = %warning.reason,
                "{warning}"
            );
        }
    }
}
