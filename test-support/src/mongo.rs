//! A MongoDB server for tests: nx-27017 (PyPI, the MongoDB wire protocol over SQLite)
//! started on 127.0.0.1, or the server named by `DRIFTGUARD_TEST_MONGODB_URI`.
//!
//! nx-27017 keeps each logical database in its own SQLite file under the server's data
//! folder, so tests share one server and isolate themselves by database name
//! ([`unique_database_name`]). Tests that stop and restart a server start their own
//! with [`MongoServer::start_at`], on a port and folder they keep.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

use crate::process::{ChildGuard, free_port, wait_for_port};
use crate::python::{python, server_script};

/// Environment variable naming a MongoDB server (a `mongodb://` URI) to run the tests
/// against instead of nx-27017.
pub const MONGODB_URI_ENV: &str = "DRIFTGUARD_TEST_MONGODB_URI";

/// How long nx-27017 may take to import and open its port on a slow, shared machine.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// A MongoDB server the tests can reach.
#[derive(Debug)]
pub struct MongoServer {
    uri: String,
    port: Option<u16>,
    data_dir: Option<PathBuf>,
    child: Option<ChildGuard>,
    _owned_dir: Option<TempDir>,
}

impl MongoServer {
    /// The server named by `DRIFTGUARD_TEST_MONGODB_URI` when it is set, else a new
    /// nx-27017 on a free port with its data in a new temporary folder.
    pub fn from_env_or_start() -> Self {
        match std::env::var(MONGODB_URI_ENV) {
            Ok(uri) if !uri.trim().is_empty() => Self {
                uri,
                port: None,
                data_dir: None,
                child: None,
                _owned_dir: None,
            },
            _ => Self::start(),
        }
    }

    /// A new nx-27017 on a free port of 127.0.0.1, with its data in a new temporary
    /// folder that is removed when the server is dropped.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("driftguard-nx27017-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a data folder for nx-27017: {e}"));
        let mut server = Self::launch(free_port(), dir.path(), true);
        server._owned_dir = Some(dir);
        server
    }

    /// nx-27017 on `127.0.0.1:port` with its data in `data_dir` (created if missing).
    /// Starting again on the same folder finds the data written before.
    ///
    /// Panics with instructions when the server cannot be started: a test that needs
    /// MongoDB must fail loudly rather than pass without it.
    pub fn start_at(port: u16, data_dir: &Path) -> Self {
        Self::launch(port, data_dir, false)
    }

    /// Starts the server; with `remove_data_dir`, the server deletes its data folder when
    /// it exits because the test process ended (a server in a static is never dropped).
    fn launch(port: u16, data_dir: &Path, remove_data_dir: bool) -> Self {
        std::fs::create_dir_all(data_dir).unwrap_or_else(|e| {
            panic!(
                "cannot create the nx-27017 data folder {}: {e}",
                data_dir.display()
            )
        });
        let python = python();
        check_installed(&python);
        let log_path = data_dir.join(format!("nx-27017-{port}.log"));
        let log = File::create(&log_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log_path.display()));
        let log_err = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot reuse {}: {e}", log_path.display()));
        let child = Command::new(&python)
            .arg(server_script("nx_27017_server.py"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--data-dir")
            .arg(data_dir)
            .args(remove_data_dir.then_some("--remove-data-dir-on-exit"))
            // The server exits when this pipe closes, i.e. when the test process ends.
            .stdin(Stdio::piped())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start nx-27017 with {}: {e}; run scripts/test.sh to create the \
                     test environment",
                    python.display()
                )
            });
        let mut child = ChildGuard::new(
            format!("nx-27017 on port {port} (log: {})", log_path.display()),
            child,
        );
        wait_for_port(&mut child, port, START_TIMEOUT);
        Self {
            uri: format!("mongodb://127.0.0.1:{port}/?directConnection=true"),
            port: Some(port),
            data_dir: Some(data_dir.to_owned()),
            child: Some(child),
            _owned_dir: None,
        }
    }

    /// The connection string, e.g. `mongodb://127.0.0.1:41234/?directConnection=true`.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The port of a server started here; `None` for a server from the environment.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The data folder of a server started here.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    /// Whether this is the server from `DRIFTGUARD_TEST_MONGODB_URI`, not one started here.
    pub fn is_external(&self) -> bool {
        self.child.is_none()
    }

    /// Kills a server started here at once, as a crash would. Its data folder stays.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill();
        }
    }
}

/// One server for a whole test binary: the environment's, or nx-27017 started on first
/// use. It stops when the test process exits (nx-27017 watches its stdin).
pub fn shared() -> &'static MongoServer {
    static SERVER: OnceLock<MongoServer> = OnceLock::new();
    SERVER.get_or_init(MongoServer::from_env_or_start)
}

/// A database name no other test of any run uses: `prefix`, the process id, a counter
/// and the time, within MongoDB's 63-byte limit.
pub fn unique_database_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let prefix: String = prefix
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(32)
        .collect();
    format!("{prefix}_{}_{n}_{nanos:x}", std::process::id())
}

fn check_installed(python: &Path) {
    let status = Command::new(python)
        .args(["-c", "import nx_27017, neosqlite"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status {
        Ok(status) if status.success() => {}
        _ => panic!(
            "nx-27017 is not installed for {}: run scripts/test.sh (it installs \
             scripts/test-requirements.txt into target/test-venv), or set {MONGODB_URI_ENV} \
             to a MongoDB server",
            python.display()
        ),
    }
}
