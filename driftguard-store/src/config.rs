//! The `database` section of the configuration: which store, and how to reach it.
//!
//! ```yaml
//! database:
//!   type: sqlite            # sqlite (default) | mongodb
//!   path: /var/lib/driftguard/drift.db
//!   connect_timeout: 10s    # seconds as a number, or 500ms / 10s / 2m
//! ```
//! ```yaml
//! database:
//!   type: mongodb
//!   uri: mongodb://driftguard:secret@mongo-0.mongo:27017/?replicaSet=rs0
//!   name: driftguard
//! ```

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::error::Error;
use crate::redact::redact_uri;

/// Where the SQLite store keeps its file when `database.path` is not set.
pub const DEFAULT_SQLITE_PATH: &str = "driftguard.db";
/// The MongoDB database used when `database.name` is not set.
pub const DEFAULT_DATABASE_NAME: &str = "driftguard";
/// How long to wait for a database server when `database.connect_timeout` is not set.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Which database backs the store.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseKind {
    /// An embedded SQLite file; no server to run.
    Sqlite {
        /// The database file (created when missing).
        path: PathBuf,
    },
    /// A MongoDB server or cluster.
    Mongodb {
        /// The connection string (`mongodb://` or `mongodb+srv://`); may hold credentials.
        uri: String,
        /// The database that holds the `drift_records` and `drift_events` collections.
        name: String,
    },
}

/// The store configuration: the `database` section, validated.
///
/// Its `Debug` form hides the credentials of a MongoDB URI, so it can be logged.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawDatabaseConfig")]
pub struct StoreConfig {
    /// The database and where it is.
    pub kind: DatabaseKind,
    /// How long to wait for a database server to answer before reporting it unavailable.
    pub connect_timeout: Duration,
}

impl StoreConfig {
    /// The SQLite store in `path`.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        Self {
            kind: DatabaseKind::Sqlite { path: path.into() },
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// The MongoDB store at `uri`, in database `name`.
    pub fn mongodb(uri: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind: DatabaseKind::Mongodb {
                uri: uri.into(),
                name: name.into(),
            },
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// The same configuration with another connect timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Checks what deserialisation cannot: a usable database name, a positive timeout.
    pub fn validate(&self) -> Result<(), Error> {
        if self.connect_timeout.is_zero() {
            return Err(Error::Config(
                "database.connect_timeout must be greater than zero".to_owned(),
            ));
        }
        match &self.kind {
            DatabaseKind::Sqlite { path } if path.as_os_str().is_empty() => {
                Err(Error::Config("database.path must name a file".to_owned()))
            }
            DatabaseKind::Sqlite { .. } => Ok(()),
            DatabaseKind::Mongodb { uri, name } => {
                if !(uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://")) {
                    return Err(Error::Config(format!(
                        "database.uri `{}` must start with mongodb:// or mongodb+srv://",
                        redact_uri(uri)
                    )));
                }
                validate_database_name(name)
            }
        }
    }
}

impl Default for StoreConfig {
    /// SQLite in `driftguard.db` in the working directory.
    fn default() -> Self {
        Self::sqlite(DEFAULT_SQLITE_PATH)
    }
}

impl fmt::Debug for DatabaseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite { path } => f.debug_struct("Sqlite").field("path", path).finish(),
            Self::Mongodb { uri, name } => f
                .debug_struct("Mongodb")
                .field("uri", &redact_uri(uri))
                .field("name", name)
                .finish(),
        }
    }
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("kind", &self.kind)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

/// MongoDB's rules for database names, checked up front for a clear message.
fn validate_database_name(name: &str) -> Result<(), Error> {
    const FORBIDDEN: &[char] = &['/', '\\', '.', ' ', '"', '$', '\0'];
    if name.is_empty() {
        return Err(Error::Config("database.name must not be empty".to_owned()));
    }
    if name.len() >= 64 {
        return Err(Error::Config(format!(
            "database.name `{name}` is longer than MongoDB's 63 bytes"
        )));
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN.contains(c)) {
        return Err(Error::Config(format!(
            "database.name `{name}` contains `{}`, which MongoDB does not allow in database names",
            c.escape_default()
        )));
    }
    Ok(())
}

/// The `database` keys as written in the configuration file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabaseConfig {
    #[serde(rename = "type")]
    kind: Option<String>,
    path: Option<PathBuf>,
    uri: Option<String>,
    name: Option<String>,
    connect_timeout: Option<TimeoutValue>,
}

/// A timeout as a number of seconds or as text with a unit.
#[derive(Deserialize)]
#[serde(untagged)]
enum TimeoutValue {
    Seconds(f64),
    Text(String),
}

impl TryFrom<RawDatabaseConfig> for StoreConfig {
    type Error = Error;

    fn try_from(raw: RawDatabaseConfig) -> Result<Self, Error> {
        let connect_timeout = match raw.connect_timeout {
            None => DEFAULT_CONNECT_TIMEOUT,
            Some(TimeoutValue::Seconds(seconds)) => seconds_to_duration(seconds)?,
            Some(TimeoutValue::Text(text)) => parse_duration(&text)?,
        };
        let kind = match raw.kind.as_deref().map(str::trim) {
            None if raw.uri.is_some() => {
                return Err(Error::Config(
                    "database.uri is set but database.type is not; database.type defaults to \
                     sqlite, so set `type: mongodb` to use MongoDB"
                        .to_owned(),
                ));
            }
            None | Some("sqlite") => DatabaseKind::Sqlite {
                path: raw
                    .path
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_SQLITE_PATH)),
            },
            Some("mongodb") => DatabaseKind::Mongodb {
                uri: raw.uri.ok_or_else(|| {
                    Error::Config(
                        "database.uri is required when database.type is mongodb".to_owned(),
                    )
                })?,
                name: raw.name.unwrap_or_else(|| DEFAULT_DATABASE_NAME.to_owned()),
            },
            Some(other) => {
                return Err(Error::Config(format!(
                    "database.type `{other}` is unknown; expected sqlite or mongodb"
                )));
            }
        };
        let config = Self {
            kind,
            connect_timeout,
        };
        config.validate()?;
        Ok(config)
    }
}

fn seconds_to_duration(seconds: f64) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        Error::Config(format!(
            "database.connect_timeout {seconds} is not a usable number of seconds"
        ))
    })
}

/// `250ms`, `10s`, `2m`, or a plain number of seconds.
fn parse_duration(text: &str) -> Result<Duration, Error> {
    let text = text.trim();
    let invalid = || {
        Error::Config(format!(
            "database.connect_timeout `{text}` is not a duration; write e.g. 10s, 500ms or 2m"
        ))
    };
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        _ => return Err(invalid()),
    };
    seconds_to_duration(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> Result<StoreConfig, String> {
        serde_json::from_value(json).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_to_sqlite_in_the_working_directory() {
        let config = parse(serde_json::json!({})).expect("valid");
        assert_eq!(config, StoreConfig::default());
        assert_eq!(config.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    }

    #[test]
    fn reads_every_key() {
        let config = parse(serde_json::json!({
            "type": "mongodb", "uri": "mongodb://db:27017/", "name": "drift",
            "connect_timeout": "2500ms"
        }))
        .expect("valid");
        assert_eq!(
            config.kind,
            DatabaseKind::Mongodb {
                uri: "mongodb://db:27017/".to_owned(),
                name: "drift".to_owned()
            }
        );
        assert_eq!(config.connect_timeout, Duration::from_millis(2500));
        let sqlite =
            parse(serde_json::json!({"type": "sqlite", "path": "/tmp/x.db", "connect_timeout": 3}))
                .expect("valid");
        assert_eq!(
            sqlite.kind,
            DatabaseKind::Sqlite {
                path: "/tmp/x.db".into()
            }
        );
        assert_eq!(sqlite.connect_timeout, Duration::from_secs(3));
    }

    #[test]
    fn rejects_bad_settings_with_the_key_in_the_message() {
        for (json, expected) in [
            (
                serde_json::json!({"type": "postgres"}),
                "database.type `postgres`",
            ),
            (
                serde_json::json!({"type": "mongodb"}),
                "database.uri is required",
            ),
            (
                serde_json::json!({"uri": "mongodb://db/"}),
                "set `type: mongodb`",
            ),
            (
                serde_json::json!({"type": "mongodb", "uri": "http://db/"}),
                "must start with mongodb://",
            ),
            (
                serde_json::json!({"type": "mongodb", "uri": "mongodb://db/", "name": "a.b"}),
                "database.name `a.b`",
            ),
            (
                serde_json::json!({"connect_timeout": "soon"}),
                "database.connect_timeout `soon`",
            ),
            (
                serde_json::json!({"connect_timeout": 0}),
                "greater than zero",
            ),
            (serde_json::json!({"colour": "blue"}), "unknown field"),
        ] {
            let error = parse(json.clone()).expect_err("invalid");
            assert!(error.contains(expected), "{json}: {error}");
        }
    }

    #[test]
    fn debug_output_hides_credentials() {
        let config = StoreConfig::mongodb("mongodb://admin:hunter2@db:27017/", "drift");
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains("admin"), "{debug}");
        let error =
            parse(serde_json::json!({"type": "mongodb", "uri": "http://admin:hunter2@db/"}))
                .expect_err("invalid scheme");
        assert!(!error.contains("hunter2"), "{error}");
    }
}
