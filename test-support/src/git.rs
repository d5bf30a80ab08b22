//! Real Git remotes for tests, on 127.0.0.1: a repository built with the `git` command
//! line ([`TestRepo`]), served by `git daemon` ([`GitDaemon`], `git://`) or by
//! `git http-backend` behind a small HTTP server ([`GitHttpServer`], smart HTTP, with an
//! optional token check), plus remotes that misbehave: one that accepts connections and
//! never answers ([`SilentServer`]) and an address whose connection attempts are never
//! answered ([`BlackholeAddress`]). Everything stops when dropped.
//!
//! Panics carry the failing command and its output: these are test helpers.

mod http;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use http::{GitHttpServer, HttpRequest};

use crate::process::{ChildGuard, free_port, stop_accept_loop};

/// A `git` command isolated from the machine's and the user's configuration, with a fixed
/// identity, so tests behave the same everywhere.
pub fn git_command() -> Command {
    let mut command = Command::new("git");
    command
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .args([
            "-c",
            "user.name=DriftGuard Tests",
            "-c",
            "user.email=tests@driftguard.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "core.autocrlf=false",
        ]);
    command
}

/// Runs `git args…` in `dir` and returns its standard output, trimmed; panics with the
/// command's output when it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = git_command()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run git {args:?}: {e} (is git installed?)"));
    if !output.status.success() {
        panic!(
            "git {args:?} in {} failed with {}:\n{}{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A Git repository with a working tree, built by a test and served as it is: commits,
/// branch changes and history rewrites are immediately what a remote would show.
///
/// It lives at `<base>/<name>` in a temporary folder; serve `base` with [`GitDaemon`]
/// or [`GitHttpServer`] and ask them for the URL of `name`.
#[derive(Debug)]
pub struct TestRepo {
    dir: tempfile::TempDir,
    name: String,
}

impl TestRepo {
    /// An empty repository named `manifests` on branch `main`.
    pub fn new() -> Self {
        Self::named("manifests")
    }

    /// An empty repository named `name` on branch `main`.
    pub fn named(name: &str) -> Self {
        let dir = tempfile::tempdir().expect("create a temporary folder for a repository");
        let repo = Self {
            dir,
            name: name.to_owned(),
        };
        std::fs::create_dir_all(repo.work_dir()).expect("create the repository folder");
        git(
            &repo.work_dir(),
            &["init", "--quiet", "--initial-branch=main"],
        );
        repo
    }

    /// The folder to serve: it holds the repository under [`TestRepo::name`].
    pub fn base_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The repository's name under the served folder.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The working tree.
    pub fn work_dir(&self) -> PathBuf {
        self.dir.path().join(&self.name)
    }

    /// A `file://` URL of the repository.
    pub fn file_url(&self) -> String {
        format!("file://{}", self.work_dir().display())
    }

    /// Runs `git args…` in the working tree and returns its output.
    pub fn git(&self, args: &[&str]) -> String {
        git(&self.work_dir(), args)
    }

    /// Writes `content` to the repository-relative `path`, creating folders.
    pub fn write(&self, path: &str, content: &str) {
        let path = self.work_dir().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create folders in the repository");
        }
        std::fs::write(&path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    /// Copies every file under `source` (a folder of the workspace, say a render fixture)
    /// into the work tree under `prefix`.
    pub fn copy_tree(&self, source: &Path, prefix: &str) {
        crate::files::copy_tree(source, &self.work_dir().join(prefix));
    }

    /// Removes the repository-relative `path`.
    pub fn remove(&self, path: &str) {
        let path = self.work_dir().join(path);
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
    }

    /// Commits everything in the working tree and returns the new commit's SHA.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "--allow-empty", "-m", message]);
        self.head()
    }

    /// Writes one file and commits it; returns the commit's SHA.
    pub fn commit_file(&self, path: &str, content: &str, message: &str) -> String {
        self.write(path, content);
        self.commit(message)
    }

    /// The SHA of `HEAD`.
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// The SHA `revision` (a branch, `HEAD~1`, …) names.
    pub fn rev_parse(&self, revision: &str) -> String {
        self.git(&["rev-parse", revision])
    }

    /// Creates `branch` at `HEAD` and switches to it.
    pub fn switch_new(&self, branch: &str) {
        self.git(&["switch", "--quiet", "-c", branch]);
    }

    /// Switches to an existing branch.
    pub fn switch(&self, branch: &str) {
        self.git(&["switch", "--quiet", branch]);
    }

    /// Deletes `branch` (not the one checked out), as `git push --delete` would remotely.
    pub fn delete_branch(&self, branch: &str) {
        self.git(&["branch", "--quiet", "-D", branch]);
    }

    /// Rewrites history as a force push does: drops the last commit of the current
    /// branch and commits `path` with `content` in its place. Returns the new SHA.
    pub fn force_push_replacing_head(&self, path: &str, content: &str, message: &str) -> String {
        self.git(&["reset", "--quiet", "--hard", "HEAD~1"]);
        self.commit_file(path, content, message)
    }
}

impl Default for TestRepo {
    fn default() -> Self {
        Self::new()
    }
}

/// `git daemon` serving a folder's repositories over `git://` on 127.0.0.1.
#[derive(Debug)]
pub struct GitDaemon {
    _child: ChildGuard,
    port: u16,
}

impl GitDaemon {
    /// Serves every repository under `base` (read-only); waits until it accepts.
    pub fn serve(base: &Path) -> Self {
        // The port is free when chosen but may be taken before the daemon binds it;
        // try a few.
        let mut last_failure = String::new();
        for _ in 0..5 {
            let port = free_port();
            let child = git_command()
                .arg("daemon")
                .arg("--reuseaddr")
                .arg("--export-all")
                .arg("--informative-errors")
                .arg(format!("--base-path={}", base.display()))
                .arg("--listen=127.0.0.1")
                .arg(format!("--port={port}"))
                .arg(base)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start git daemon: {e} (is git installed?)"));
            let mut child = child;
            match wait_until_listening(&mut child, port, Duration::from_secs(20)) {
                Ok(()) => {
                    if let Some(stderr) = child.stderr.take() {
                        forward_lines("git daemon", stderr);
                    }
                    return Self {
                        _child: ChildGuard::new("git daemon", child),
                        port,
                    };
                }
                Err(failure) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_failure = failure;
                }
            }
        }
        panic!("git daemon did not start: {last_failure}");
    }

    /// The `git://` URL of repository `name`.
    pub fn url(&self, name: &str) -> String {
        format!("git://127.0.0.1:{}/{name}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }
}

/// Copies a server's diagnostics to the test output, so its pipe never fills up.
fn forward_lines(name: &'static str, pipe: impl std::io::Read + Send + 'static) {
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            eprintln!("[{name}] {line}");
        }
    });
}

/// Waits until `127.0.0.1:port` accepts, or the child exits, or `timeout` passes.
fn wait_until_listening(
    child: &mut std::process::Child,
    port: u16,
    timeout: Duration,
) -> Result<(), String> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            return Err(format!("it exited with {status}: {}", stderr.trim()));
        }
        if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("port {port} did not open within {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A TCP server that accepts every connection and never sends a byte: a hung remote.
#[derive(Debug)]
pub struct SilentServer {
    port: u16,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SilentServer {
    /// Starts listening on a free port of 127.0.0.1.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a silent server");
        let port = listener.local_addr().expect("silent server address").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let accepted = Arc::clone(&accepted);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut held = Vec::new();
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        accepted.fetch_add(1, Ordering::SeqCst);
                        held.push(stream);
                    }
                }
            })
        };
        Self {
            port,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many connections it has accepted (and left unanswered).
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        stop_accept_loop(&self.stop, self.port, self.thread.take());
    }
}

/// An address on 127.0.0.1 where connection attempts are never answered, as with a
/// firewall that drops packets: a listener whose accept queue is full, so the kernel
/// drops further connection requests and the client waits.
#[derive(Debug)]
pub struct BlackholeAddress {
    _listener: socket2::Socket,
    _fillers: Vec<TcpStream>,
    port: u16,
}

impl BlackholeAddress {
    /// Sets the address up and checks that a connection attempt to it does hang.
    pub fn new() -> Self {
        use socket2::{Domain, SockAddr, Socket, Type};
        let listener =
            Socket::new(Domain::IPV4, Type::STREAM, None).expect("create a blackhole socket");
        listener
            .bind(&SockAddr::from(SocketAddr::from(([127, 0, 0, 1], 0))))
            .expect("bind a blackhole socket");
        listener.listen(0).expect("listen on a blackhole socket");
        let address = listener
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .expect("blackhole socket address");
        let mut fillers = Vec::new();
        loop {
            match TcpStream::connect_timeout(&address, Duration::from_millis(500)) {
                Ok(stream) => fillers.push(stream),
                Err(error) if error.kind() == std::io::ErrorKind::TimedOut => break,
                Err(error) => panic!("cannot set up a blackholed address: {error}"),
            }
            assert!(
                fillers.len() < 64,
                "connections to a full accept queue are still answered; cannot simulate a blackholed address here"
            );
        }
        Self {
            _listener: listener,
            _fillers: fillers,
            port: address.port(),
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Default for BlackholeAddress {
    fn default() -> Self {
        Self::new()
    }
}

/// A port on 127.0.0.1 where nothing listens: connections are refused at once.
pub fn refused_port() -> u16 {
    free_port()
}
