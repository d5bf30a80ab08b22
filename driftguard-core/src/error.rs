//! The core's error type.

use crate::ports::PortError;

/// Everything that can go wrong in the core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A resource id string is not `Kind:namespace:name`.
    #[error("invalid resource id `{id}`: {reason}")]
    InvalidResourceId {
        /// The text given.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A document cannot be a Kubernetes object.
    #[error("{}{reason}", origin.as_ref().map(|o| format!("{o}: ")).unwrap_or_default())]
    InvalidObject {
        /// `file:line` where known.
        origin: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// A classification or ignore rule (or a name in one) is invalid.
    #[error("{0}")]
    InvalidRule(String),
    /// The desired state declares one resource twice.
    #[error("{id} is declared twice: at {} and at {}", first.as_deref().unwrap_or("?"), second.as_deref().unwrap_or("?"))]
    DuplicateResource {
        /// The resource id.
        id: String,
        /// Where it is first declared.
        first: Option<String>,
        /// Where it is declared again.
        second: Option<String>,
    },
    /// The desired source failed; nothing was changed.
    #[error("desired state unavailable: {0}")]
    Desired(#[source] PortError),
    /// The live source failed; nothing was changed.
    #[error("live state unavailable: {0}")]
    Live(#[source] PortError),
    /// The store failed.
    #[error("drift store failed: {0}")]
    Store(#[source] PortError),
}
