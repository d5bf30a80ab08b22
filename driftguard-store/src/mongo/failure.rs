//! Driver errors to store errors: a kind the service can act on, and a message without
//! credentials.

use driftguard_core::PortErrorKind;
use mongodb::error::{Error as DriverError, ErrorKind, WriteFailure};

use crate::error::Error;
use crate::redact::{redact_uri, scrub};

/// MongoDB's code for a duplicate key.
pub(crate) const DUPLICATE_KEY: i32 = 11000;

/// Server codes meaning "not now": not primary, shutting down, interrupted at shutdown,
/// host unreachable, network timeout, exceeded time limit while electing; and in a
/// transaction, a write conflict or a transaction the server already aborted, which
/// running the transaction again resolves.
const UNAVAILABLE_CODES: &[i32] = &[
    6, 7, 89, 91, 112, 189, 251, 262, 9001, 10107, 11600, 11602, 13435, 13436,
];

/// The store error for a driver error during `operation` against `uri`.
pub(crate) fn failure(operation: &'static str, uri: &str, error: &DriverError) -> Error {
    Error::Mongo {
        operation,
        uri: redact_uri(uri),
        // The kind's text, without the driver's labels and empty source fields.
        message: scrub(&error.kind.to_string(), uri),
        kind: classify(error),
    }
}

/// The store error for a command that answered with write errors.
pub(crate) fn write_errors(operation: &'static str, uri: &str, code: i32, message: &str) -> Error {
    Error::Mongo {
        operation,
        uri: redact_uri(uri),
        message: scrub(&format!("write error {code}: {message}"), uri),
        kind: code_kind(code),
    }
}

fn code_kind(code: i32) -> PortErrorKind {
    if code == DUPLICATE_KEY {
        PortErrorKind::Conflict
    } else if UNAVAILABLE_CODES.contains(&code) {
        PortErrorKind::Unavailable
    } else {
        PortErrorKind::Other
    }
}

fn classify(error: &DriverError) -> PortErrorKind {
    match error.kind.as_ref() {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        | ErrorKind::Shutdown => PortErrorKind::Unavailable,
        ErrorKind::Command(command) => code_kind(command.code),
        ErrorKind::Write(WriteFailure::WriteError(write)) => code_kind(write.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(_)) => PortErrorKind::Unavailable,
        ErrorKind::InsertMany(insert) => insert
            .write_errors
            .iter()
            .flatten()
            .map(|e| code_kind(e.code))
            .next()
            .unwrap_or(PortErrorKind::Unavailable),
        ErrorKind::BulkWrite(bulk) => bulk
            .write_errors
            .values()
            .map(|e| code_kind(e.code))
            .next()
            .unwrap_or(PortErrorKind::Unavailable),
        ErrorKind::BsonDeserialization(_) | ErrorKind::InvalidResponse { .. } => {
            PortErrorKind::InvalidData
        }
        _ => PortErrorKind::Other,
    }
}
