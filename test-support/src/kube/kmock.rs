//! kmock 0.8 behind `servers/kmock_server.py`, started on 127.0.0.1 for one test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use super::write_kubeconfig;
use crate::process::ChildGuard;
use crate::python::{python, server_script};

/// How long the emulator may take to import and open its port on a slow, shared machine.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// A kmock Kubernetes API emulator on 127.0.0.1, killed when dropped.
#[derive(Debug)]
pub struct KmockServer {
    child: ChildGuard,
    port: u16,
    dir: TempDir,
    kubeconfig: PathBuf,
}

impl KmockServer {
    /// Starts the emulator with `seed` stored before it opens its port (see
    /// `servers/kmock_server.py`: `{"resources": {...}, "objects": [...]}`).
    ///
    /// Panics with instructions when kmock is not installed or the server does not start:
    /// a test that needs it must fail loudly rather than pass without it.
    pub fn start(seed: &Value) -> Self {
        let python = python();
        check_installed(&python);
        let dir = tempfile::Builder::new()
            .prefix("driftguard-kmock-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a folder for kmock: {e}"));
        let seed_path = dir.path().join("seed.json");
        std::fs::write(&seed_path, seed.to_string())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", seed_path.display()));
        let log_path = dir.path().join("kmock.log");
        let log = std::fs::File::create(&log_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log_path.display()));
        let mut child = Command::new(&python)
            .arg(server_script("kmock_server.py"))
            .args(["--host", "127.0.0.1", "--port", "0", "--seed"])
            .arg(&seed_path)
            // The server exits when this pipe closes, i.e. when the test process ends.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start kmock with {}: {e}; run scripts/test.sh to create the test \
                     environment",
                    python.display()
                )
            });
        let stdout = child.stdout.take().expect("kmock's standard output");
        let mut child = ChildGuard::new(format!("kmock (log: {})", log_path.display()), child);
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = sender.send(first);
            }
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let first = match receiver.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                child.assert_running();
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("kmock did not start within {START_TIMEOUT:?}:\n{log}");
            }
        };
        let port = first
            .rsplit(':')
            .next()
            .and_then(|p| p.trim().parse::<u16>().ok())
            .unwrap_or_else(|| panic!("kmock announced no port: {first:?}"));
        let url = format!("http://127.0.0.1:{port}");
        let kubeconfig = write_kubeconfig(dir.path(), "kubeconfig.yaml", &[("kmock", &url)]);
        Self {
            child,
            port,
            dir,
            kubeconfig,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A kubeconfig whose current context `kmock` points at this server.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A folder that lives as long as the server, for more kubeconfigs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What the server logged so far (requests that failed inside kmock show here).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("kmock.log")).unwrap_or_default()
    }

    /// Panics when the server has exited.
    pub fn assert_running(&mut self) {
        self.child.assert_running();
    }
}

fn check_installed(python: &Path) {
    let output = Command::new(python)
        .args([
            "-c",
            "import kmock, sys; sys.stdout.write(kmock.__version__)",
        ])
        .output();
    match output {
        Ok(output) if output.status.success() => {
            let version = String::from_utf8_lossy(&output.stdout);
            assert!(
                version.starts_with("0.8"),
                "kmock 0.8 is required, {} has {version}: run scripts/test.sh",
                python.display()
            );
        }
        _ => panic!(
            "kmock is not installed for {}: run scripts/test.sh (it installs \
             scripts/test-requirements.txt into target/test-venv)",
            python.display()
        ),
    }
}
