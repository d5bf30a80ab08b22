//! The store's error type, and how it maps onto the port's [`PortError`].
//!
//! MongoDB failures keep a scrubbed message instead of the driver's error value: the
//! driver's text can echo parts of the connection string, and credentials must never
//! reach a log line or an API answer.

use std::path::PathBuf;

use driftguard_core::{PortError, PortErrorKind};

/// Everything that can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `database` configuration is invalid.
    #[error("invalid database configuration: {0}")]
    Config(String),

    /// The `retention` configuration is invalid.
    #[error("invalid retention configuration: {0}")]
    Retention(String),

    /// The SQLite file cannot be opened or set up.
    #[error("cannot open the SQLite database {}", path.display())]
    SqliteOpen {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// The folder of the SQLite file cannot be created.
    #[error("cannot create the folder {} for the SQLite database", path.display())]
    CreateFolder {
        /// The folder.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },

    /// The SQLite file was written by a newer DriftGuard, with a schema this one does not know.
    #[error(
        "the SQLite database {} has schema version {found}, but this DriftGuard knows versions \
         up to {supported}; run a newer DriftGuard or point database.path at another file",
        path.display()
    )]
    SchemaTooNew {
        /// The file.
        path: PathBuf,
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },

    /// A SQLite statement failed.
    #[error("SQLite {operation} failed")]
    Sqlite {
        /// What the store was doing, e.g. `saving records`.
        operation: &'static str,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// The MongoDB connection string cannot be used.
    #[error("invalid MongoDB URI `{uri}`: {message}")]
    MongoUri {
        /// The URI with its credentials redacted.
        uri: String,
        /// Why, with any credentials removed.
        message: String,
    },

    /// A MongoDB operation failed.
    #[error("MongoDB {operation} at {uri} failed: {message}")]
    Mongo {
        /// What the store was doing, e.g. `saving records`.
        operation: &'static str,
        /// The server's URI with its credentials redacted.
        uri: String,
        /// The driver's or server's account, with any credentials removed.
        message: String,
        /// How the caller can act on it (unavailable, conflict, …).
        kind: PortErrorKind,
    },

    /// Stored data cannot be read back as a record or event.
    #[error("stored {what} is malformed: {reason}")]
    Malformed {
        /// Which record or event, e.g. `record Deployment:shop:web`.
        what: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A record or event cannot be stored as it is.
    #[error("cannot store {what}: {reason}")]
    Unstorable {
        /// Which record or event.
        what: String,
        /// Why.
        reason: String,
    },

    /// An event query starts after a position this store did not make (a paging cursor
    /// of another store, or a forged one).
    #[error("invalid event position: {reason}")]
    InvalidPosition {
        /// What is wrong with it.
        reason: String,
    },

    /// The thread that runs blocking SQLite calls failed.
    #[error("the SQLite worker thread failed")]
    Worker(#[source] tokio::task::JoinError),
}

/// Results with the store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// How the detector and the API should treat this failure.
    pub fn kind(&self) -> PortErrorKind {
        match self {
            Self::SqliteOpen { .. } | Self::CreateFolder { .. } => PortErrorKind::Unavailable,
            Self::Sqlite { source, .. } => sqlite_kind(source),
            Self::Mongo { kind, .. } => *kind,
            Self::Malformed { .. } | Self::Unstorable { .. } => PortErrorKind::InvalidData,
            Self::InvalidPosition { .. } => PortErrorKind::InvalidRequest,
            Self::Config(_)
            | Self::Retention(_)
            | Self::SchemaTooNew { .. }
            | Self::MongoUri { .. }
            | Self::Worker(_) => PortErrorKind::Other,
        }
    }
}

fn sqlite_kind(error: &rusqlite::Error) -> PortErrorKind {
    use rusqlite::ErrorCode;
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => PortErrorKind::Unavailable,
        Some(ErrorCode::CannotOpen | ErrorCode::SystemIoFailure | ErrorCode::DiskFull) => {
            PortErrorKind::Unavailable
        }
        Some(ErrorCode::ConstraintViolation) => PortErrorKind::Conflict,
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => PortErrorKind::InvalidData,
        _ => PortErrorKind::Other,
    }
}

impl From<Error> for PortError {
    /// The whole account goes into the message (API answers and logs show only that).
    fn from(error: Error) -> Self {
        PortError::from_error(error.kind(), error)
    }
}
