//! The Python interpreter of the test virtual environment (kmock, nx-27017).

use std::path::{Path, PathBuf};

/// Environment variable naming the Python interpreter that has the test servers installed.
pub const PYTHON_ENV: &str = "DRIFTGUARD_TEST_PYTHON";

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The interpreter: `DRIFTGUARD_TEST_PYTHON`, else the venv `scripts/test.sh` creates
/// in `target/test-venv`. Panics with instructions when neither exists: tests that need a
/// server must fail loudly, not pass without it.
pub fn python() -> PathBuf {
    if let Some(path) = std::env::var_os(PYTHON_ENV) {
        let path = PathBuf::from(path);
        if path.exists() {
            return path;
        }
        panic!(
            "{PYTHON_ENV}={} does not exist; run scripts/test.sh to create the test environment",
            path.display()
        );
    }
    let default = workspace_root().join("target/test-venv/bin/python");
    if default.exists() {
        return default;
    }
    panic!(
        "the test servers (kmock, nx-27017) are not installed: run scripts/test.sh, \
         which creates target/test-venv, or set {PYTHON_ENV} to a Python that has them"
    );
}

/// A file under `test-support/servers/`, where the Python server wrappers live.
pub fn server_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("servers")
        .join(name)
}
