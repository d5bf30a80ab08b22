//! The connections to one SQLite file: a writer and a few read-only readers.
//!
//! In WAL mode readers never block the writer nor each other, so listings served to the
//! API keep answering while an analysis is being saved. Every connection sits behind a
//! mutex; the store runs the blocking calls on tokio's blocking threads.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};
use crate::sqlite::schema;

/// Read-only connections kept open next to the writer.
const READERS: usize = 4;

/// How long a statement waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A writer and a round-robin set of readers on one database file.
#[derive(Debug)]
pub(crate) struct Connections {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

impl Connections {
    /// Opens (creating when missing) and migrates the file, in WAL mode with
    /// `synchronous = FULL`: a commit returns only after the WAL is on disk, so an
    /// acknowledged save survives a process kill and a power cut alike.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let failed = |source| Error::SqliteOpen {
            path: path.to_owned(),
            source,
        };
        let mut writer = Connection::open(path).map_err(failed)?;
        writer.busy_timeout(BUSY_TIMEOUT).map_err(failed)?;
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(failed)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Config(format!(
                "database.path {} cannot use write-ahead logging (SQLite answered \
                 journal_mode={mode}); use a file on a local disk",
                path.display()
            )));
        }
        writer
            .pragma_update(None, "synchronous", "FULL")
            .map_err(failed)?;
        schema::migrate(&mut writer, path)?;

        let readers = (0..READERS)
            .map(|_| {
                let reader = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX
                        | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(failed)?;
                reader.busy_timeout(BUSY_TIMEOUT).map_err(failed)?;
                Ok(Mutex::new(reader))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the writer (blocking).
    pub(crate) fn with_writer<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        f(&mut lock(&self.writer))
    }

    /// Runs `f` on a free reader, or waits for the next one in turn (blocking).
    pub(crate) fn with_reader<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let count = self.readers.len();
        for offset in 0..count {
            if let Ok(mut reader) = self.readers[(start + offset) % count].try_lock() {
                return f(&mut reader);
            }
        }
        f(&mut lock(&self.readers[start % count]))
    }
}

fn lock(mutex: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic mid-statement leaves no open transaction behind (rusqlite rolls back on
    // drop), so the connection is still good to use.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
