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
    /// A configuration value outside the detection rules is invalid (the message names
    /// its key).
    #[error("{0}")]
    InvalidConfig(String),
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
    #[error("desired state unavailable")]
    Desired(#[source] PortError),
    /// The live source failed; nothing was changed.
    #[error("live state unavailable")]
    Live(#[source] PortError),
    /// The store failed.
    #[error("drift store failed")]
    Store(#[source] PortError),
}

/// `error` and each of its causes, joined by `: `, on one line.
///
/// Errors here follow kube-runtime's habit: an error's own message does not repeat its
/// `#[source]`, so this is how an error is shown whole, in logs, API answers and on
/// the command line.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let part = inner.to_string();
        if !part.is_empty() {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::PortErrorKind;

    #[test]
    fn the_chain_names_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot list pods")]
        struct Listing(#[source] std::io::Error);
        let io = std::io::Error::other("connection refused");
        let port = PortError::from_error(PortErrorKind::Unavailable, Listing(io));
        assert!(port.cause.is_some());
        let error = Error::Live(port);
        assert_eq!(error.to_string(), "live state unavailable");
        assert_eq!(
            error_chain(&error),
            "live state unavailable: cannot list pods: connection refused"
        );
    }
}
