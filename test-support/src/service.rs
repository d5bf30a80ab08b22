//! `driftguard serve` as a process on a free loopback port, killed when dropped; its log
//! is printed when the test fails.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http;
use crate::process::free_port;

/// The longest start-up and any awaited condition may take.
const PATIENCE: Duration = Duration::from_secs(120);

/// A running `driftguard serve`.
#[derive(Debug)]
pub struct ServiceProcess {
    child: Child,
    address: SocketAddr,
    log: PathBuf,
}

impl ServiceProcess {
    /// Starts `binary serve --config config` on a free port of 127.0.0.1 (set through
    /// `DRIFTGUARD__SERVER__*`), with `env` added; waits until it accepts connections.
    /// Its output goes to `driftguard.log` next to the configuration file.
    pub fn start(binary: &Path, config: &Path, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = config.with_file_name("driftguard.log");
        let log_file = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let log_err = log_file
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot reuse {}: {e}", log.display()));
        let child = Command::new(binary)
            .args(["serve", "--config"])
            .arg(config)
            .env("DRIFTGUARD__SERVER__PORT", port.to_string())
            .env("DRIFTGUARD__SERVER__HOST", "127.0.0.1")
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} serve: {e}", binary.display()));
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let mut service = Self {
            child,
            address,
            log,
        };
        service.wait_for("driftguard to accept connections", |s| {
            TcpStream::connect_timeout(&s.address, Duration::from_millis(200)).is_ok()
        });
        service
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET path` as JSON.
    pub fn get(&self, path: &str) -> (u16, Value) {
        http::get_json(self.address, path)
    }

    /// The `/metrics` text.
    pub fn metrics(&self) -> String {
        let (status, body) = http::request(self.address, "GET", "/metrics", None);
        assert_eq!(status, 200, "/metrics answered {status}");
        body
    }

    /// `POST /api/v1/analyze`, checking the 202 answer.
    pub fn analyze(&self) {
        let (status, body) = http::request(self.address, "POST", "/api/v1/analyze", None);
        assert_eq!(status, 202, "{body}");
    }

    /// The record of `id` (a 200 answer).
    pub fn record(&self, id: &str) -> Value {
        let (status, record) = self.get(&format!("/api/v1/drift-records/{id}"));
        assert_eq!(status, 200, "{record}");
        record
    }

    /// Waits until the record of `id` satisfies `done`; the last one seen is in the panic.
    pub fn wait_for_record(&self, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let record = self.record(id);
            if done(&record) {
                return record;
            }
            assert!(
                Instant::now() < deadline,
                "gave up waiting for {what}; last record: {record:#}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `done` holds, checking that the process is alive.
    pub fn wait_for(&mut self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("driftguard exited early with {status}:\n{}", self.log());
            }
            if done(self) {
                return;
            }
            assert!(Instant::now() < deadline, "gave up waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn terminate(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
        assert!(sent.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "driftguard did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            status.success(),
            "driftguard exited with {status}:\n{}",
            self.log()
        );
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- driftguard's log ---\n{}", self.log());
        }
    }
}
