//! The sources' error type. Messages name the file (and line where there is one) and
//! never quote file content, so a Secret value cannot leak through an error.

use std::path::PathBuf;

use driftguard_core::{PortError, PortErrorKind};

/// Everything that can go wrong while reading desired or live state.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The path does not exist.
    #[error("{}: no such file or directory", path.display())]
    NotFound {
        /// The path.
        path: PathBuf,
    },
    /// Reading failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than the configured limit.
    #[error("{}: the file is {size} bytes, larger than the {limit}-byte limit for manifest files", path.display())]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file is not UTF-8 text.
    #[error("{}: not a text file (binary or not UTF-8)", path.display())]
    NotText {
        /// The path.
        path: PathBuf,
    },
    /// The file is not valid YAML or JSON.
    #[error("{}:{line}:{column}: invalid {format}: {message}", path.display())]
    Syntax {
        /// The path.
        path: PathBuf,
        /// `YAML` or `JSON`.
        format: &'static str,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
        /// What the parser reported.
        message: String,
    },
    /// A document parses but is not a usable Kubernetes object.
    #[error("{}:{line}: {reason}", path.display())]
    InvalidObject {
        /// The path.
        path: PathBuf,
        /// 1-based line where the document starts.
        line: u64,
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    /// The port error kind this maps to.
    pub fn kind(&self) -> PortErrorKind {
        match self {
            Self::NotFound { .. } => PortErrorKind::NotFound,
            Self::Io { .. } => PortErrorKind::Unavailable,
            Self::TooLarge { .. }
            | Self::NotText { .. }
            | Self::Syntax { .. }
            | Self::InvalidObject { .. } => PortErrorKind::InvalidData,
        }
    }
}

impl From<Error> for PortError {
    fn from(error: Error) -> Self {
        PortError::with_source(error.kind(), error.to_string(), error)
    }
}
