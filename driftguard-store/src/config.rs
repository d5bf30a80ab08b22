//! The `database` section of the configuration: which store, and how to reach it.
//!
//! ```yaml
//! database:
//!   type: sqlite            # sqlite (default) | mongodb
//!   path: /var/lib/driftguard/drift.db   # default: driftguard-data/driftguard.db
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

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::redact::redact_uri;

/// Where the SQLite store keeps its file when `database.path` is not set, relative to the
/// working directory.
pub const DEFAULT_SQLITE_PATH: &str = "driftguard-data/driftguard.db";
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
/// It reads and writes the section's flat keys (`type`, `path`, `uri`, `name`,
/// `connect_timeout`), so the binary's settings embed it as it is and print it back.
/// Its `Debug` form hides the credentials of a MongoDB URI, so it can be logged; its
/// serialised form keeps the URI as given, for a configuration that reads back the same.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawDatabaseConfig", into = "RawDatabaseConfig")]
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
    /// SQLite in [`DEFAULT_SQLITE_PATH`] under the working directory.
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

/// The `database` keys as written in the configuration file, and as [`StoreConfig`] is
/// written back: the keys of the chosen type only, the timeout as text (`10s`).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabaseConfig {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connect_timeout: Option<Timeout>,
}

/// A timeout in the duration format the whole configuration shares: a number of seconds
/// or text such as `500ms`, `10s` or `2m`.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct Timeout(#[serde(with = "driftguard_core::config::duration")] Duration);

impl TryFrom<RawDatabaseConfig> for StoreConfig {
    type Error = Error;

    fn try_from(raw: RawDatabaseConfig) -> Result<Self, Error> {
        let connect_timeout = raw
            .connect_timeout
            .map_or(DEFAULT_CONNECT_TIMEOUT, |Timeout(timeout)| timeout);
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

impl From<StoreConfig> for RawDatabaseConfig {
    /// The keys that read back as `config`. A MongoDB URI is written as given, credentials
    /// included: whoever prints the result redacts it.
    fn from(config: StoreConfig) -> Self {
        let connect_timeout = Some(Timeout(config.connect_timeout));
        match config.kind {
            DatabaseKind::Sqlite { path } => Self {
                kind: Some("sqlite".to_owned()),
                path: Some(path),
                uri: None,
                name: None,
                connect_timeout,
            },
            DatabaseKind::Mongodb { uri, name } => Self {
                kind: Some("mongodb".to_owned()),
                path: None,
                uri: Some(uri),
                name: Some(name),
                connect_timeout,
            },
        }
    }
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
        assert_eq!(
            config.kind,
            DatabaseKind::Sqlite {
                path: "driftguard-data/driftguard.db".into()
            }
        );
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
        for (written, expected) in [
            (serde_json::json!("10s"), Duration::from_secs(10)),
            (serde_json::json!("2m"), Duration::from_secs(120)),
            (serde_json::json!("1m 30s"), Duration::from_secs(90)),
            (serde_json::json!("45"), Duration::from_secs(45)),
            (serde_json::json!(0.25), Duration::from_millis(250)),
        ] {
            let config = parse(serde_json::json!({ "connect_timeout": written.clone() }))
                .unwrap_or_else(|e| panic!("{written}: {e}"));
            assert_eq!(config.connect_timeout, expected, "{written}");
        }
    }

    #[test]
    fn writes_the_keys_it_reads() {
        assert_eq!(
            serde_json::to_value(StoreConfig::default()).expect("serialisable"),
            serde_json::json!({
                "type": "sqlite", "path": "driftguard-data/driftguard.db", "connect_timeout": "10s"
            })
        );
        let mongodb = StoreConfig::mongodb("mongodb://admin:hunter2@db:27017/?w=majority", "drift")
            .with_connect_timeout(Duration::from_millis(2500));
        assert_eq!(
            serde_json::to_value(&mongodb).expect("serialisable"),
            serde_json::json!({
                "type": "mongodb", "uri": "mongodb://admin:hunter2@db:27017/?w=majority",
                "name": "drift", "connect_timeout": "2s 500ms"
            })
        );
    }

    #[test]
    fn round_trips_through_json_and_yaml() {
        for config in [
            StoreConfig::default(),
            StoreConfig::sqlite("/var/lib/driftguard/drift db.sqlite")
                .with_connect_timeout(Duration::from_millis(500)),
            StoreConfig::mongodb(
                "mongodb://driftguard:s3cr3t@mongo-0:27017,mongo-1:27017/?replicaSet=rs0&w=1",
                "driftguard_prod",
            )
            .with_connect_timeout(Duration::from_secs(150)),
            StoreConfig::mongodb("mongodb+srv://cluster0.example.net/", "drift")
                .with_connect_timeout(Duration::from_nanos(1_500_000_001)),
        ] {
            let json = serde_json::to_value(&config).expect("serialisable");
            assert_eq!(parse(json.clone()).as_ref(), Ok(&config), "{json}");

            let yaml = serde_saphyr::to_string(&config).expect("serialisable");
            let read: StoreConfig =
                serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
            assert_eq!(read, config, "{yaml}");
        }
    }

    #[test]
    fn reads_yaml_as_written_by_hand() {
        let config: StoreConfig =
            serde_saphyr::from_str("type: mongodb\nuri: mongodb://db:27017/\nconnect_timeout: 5\n")
                .expect("valid");
        assert_eq!(
            config,
            StoreConfig::mongodb("mongodb://db:27017/", DEFAULT_DATABASE_NAME)
                .with_connect_timeout(Duration::from_secs(5))
        );
        let error = serde_saphyr::from_str::<StoreConfig>("path: a.db\ncolour: blue\n")
            .expect_err("unknown key");
        assert!(error.to_string().contains("colour"), "{error}");
    }

    #[test]
    fn rejects_bad_settings_with_a_clear_message() {
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
                "`soon` is not a duration",
            ),
            (
                serde_json::json!({"connect_timeout": -3}),
                "cannot be negative",
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
