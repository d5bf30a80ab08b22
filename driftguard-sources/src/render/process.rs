//! Running one external renderer (`kustomize build`, `kubectl kustomize`, `helm template`)
//! over an untrusted repository, synchronously, with a deadline and an output cap.
//!
//! The child is started without a shell, with an environment made only of what the
//! caller gives, stdin closed, and as the leader of its own process group, so that
//! everything it starts can be killed at once. Its stdout and stderr are read on two
//! threads while a third waits for it, so a child writing a lot to both never blocks on a
//! full pipe. The process group is killed with `SIGKILL` when the deadline passes, when
//! stdout grows past the cap, and also after a normal exit, so that nothing it left behind
//! outlives the render (nor keeps its pipes open).

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitId, WaitIdOptions, kill_process_group, waitid};

/// The most of a child's stderr that is kept, in bytes: the start is kept, because the
/// first lines hold the cause; the rest is read and discarded.
pub(crate) const STDERR_KEPT: usize = 64 * 1024;

/// How long to wait, once the process group has been killed, for the readers and the
/// waiter to report. Killing the group closes every pipe it held, so this is only reached
/// when a process that left the group (a new session) still holds one; such stragglers
/// are then abandoned rather than waited for.
const KILL_GRACE: Duration = Duration::from_millis(500);

/// Size of the buffer stdout is read with.
const READ_CHUNK: usize = 64 * 1024;

/// What to run: never through a shell; the program path is already resolved by the caller.
#[derive(Debug, Clone)]
pub(crate) struct CommandSpec {
    /// The program to execute (a path, not looked up in `PATH`).
    pub(crate) program: PathBuf,
    /// Its arguments, without the program name.
    pub(crate) args: Vec<OsString>,
    /// The directory it runs in.
    pub(crate) current_dir: PathBuf,
    /// The whole environment of the child: the parent's is cleared first.
    pub(crate) env: Vec<(OsString, OsString)>,
}

/// Bounds on one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// How long the child may run before its process group is killed.
    pub(crate) timeout: Duration,
    /// Largest stdout accepted, in bytes.
    pub(crate) max_output_bytes: u64,
}

/// A run that exited with status 0.
#[derive(Debug)]
pub(crate) struct Finished {
    /// Everything the child printed on stdout (at most `max_output_bytes`).
    pub(crate) stdout: Vec<u8>,
    /// The child's stderr as text (lossy UTF-8), at most [`STDERR_KEPT`] bytes (the start is
    /// kept: the first lines hold the cause); renderers print warnings there.
    pub(crate) stderr: String,
    /// How long the run took, from start to the end of its output.
    pub(crate) duration: Duration,
}

/// Why a run did not produce a usable output.
///
/// Its `Display` says what happened to the program, as a phrase meant to follow its name,
/// e.g. "`helm template` did not finish within 90 s and was stopped".
#[derive(Debug)]
pub(crate) enum RunFailure {
    /// It could not be started (not found, not executable, no such directory, or no thread
    /// to watch it could be created).
    Spawn(io::Error),
    /// It was still running (or its output still open) when the timeout passed; its process
    /// group was killed.
    TimedOut {
        /// The timeout that passed.
        after: Duration,
        /// The start of what it printed on stderr.
        stderr: String,
    },
    /// It printed more than the cap on stdout; its process group was killed.
    OutputTooLarge {
        /// The cap, in bytes.
        limit: u64,
        /// The start of what it printed on stderr.
        stderr: String,
    },
    /// It exited with a non-zero status, or was killed by a signal.
    Exited {
        /// How it ended.
        status: ExitStatus,
        /// The start of what it printed on stderr.
        stderr: String,
    },
    /// Reading its output, or waiting for it, failed.
    Io(io::Error),
}

impl RunFailure {
    /// What the program printed on stderr before failing, when it printed anything.
    pub(crate) fn stderr(&self) -> Option<&str> {
        match self {
            Self::TimedOut { stderr, .. }
            | Self::OutputTooLarge { stderr, .. }
            | Self::Exited { stderr, .. } => Some(stderr.as_str()).filter(|s| !s.trim().is_empty()),
            Self::Spawn(_) | Self::Io(_) => None,
        }
    }
}

impl fmt::Display for RunFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Spawn(_) => f.write_str("could not be started"),
            Self::TimedOut { after, .. } => write!(
                f,
                "did not finish within {} and was stopped",
                HumanDuration(*after)
            ),
            Self::OutputTooLarge { limit, .. } => {
                write!(f, "printed more than {limit} bytes and was stopped")
            }
            Self::Exited { status, .. } => {
                if let Some(code) = status.code() {
                    write!(f, "exited with status {code}")
                } else if let Some(signal) = status.signal() {
                    write!(f, "was killed by signal {signal}")?;
                    if status.core_dumped() {
                        f.write_str(" (core dumped)")?;
                    }
                    Ok(())
                } else {
                    write!(f, "ended abnormally ({status})")
                }
            }
            Self::Io(_) => f.write_str("could not be read from"),
        }
    }
}

impl std::error::Error for RunFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Spawn(error) | Self::Io(error) => Some(error),
            Self::TimedOut { .. } | Self::OutputTooLarge { .. } | Self::Exited { .. } => None,
        }
    }
}

/// A duration written for people: "90 s", "250 ms", "1.5 s".
struct HumanDuration(Duration);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.subsec_nanos() == 0 {
            write!(f, "{} s", d.as_secs())
        } else if d < Duration::from_secs(1) && d.subsec_nanos().is_multiple_of(1_000_000) {
            write!(f, "{} ms", d.as_millis())
        } else {
            write!(f, "{:.1} s", d.as_secs_f64())
        }
    }
}

/// Runs `spec` to completion within `limits`, and returns its stdout when it exits with
/// status 0 (warnings on stderr do not make it fail).
///
/// Blocks the calling thread until the child and everything it started have ended, at
/// most about `limits.timeout` (plus half a second of grace if a process that escaped the
/// process group still holds a pipe open).
pub(crate) fn run(spec: &CommandSpec, limits: &Limits) -> Result<Finished, RunFailure> {
    let start = Instant::now();
    let (events, received) = mpsc::channel::<Event>();

    // The helper threads are started before the child, so that failing to start one
    // leaves no process behind; each gets what it works on through a hand-off channel.
    let (stdout_handoff, stdout_pipe) = mpsc::channel::<ChildStdout>();
    let (stderr_handoff, stderr_pipe) = mpsc::channel::<ChildStderr>();
    let (child_handoff, child_to_wait) = mpsc::channel::<(Child, Arc<ProcessGroup>)>();
    let limit = limits.max_output_bytes;
    let stdout_reader = helper("render-stdout", &events, move |events| {
        if let Ok(pipe) = stdout_pipe.recv() {
            let _ = events.send(Event::Stdout(read_stdout(pipe, limit)));
        }
    })
    .map_err(RunFailure::Spawn)?;
    let stderr_reader = helper("render-stderr", &events, move |events| {
        if let Ok(pipe) = stderr_pipe.recv() {
            let _ = events.send(Event::Stderr(read_stderr(pipe)));
        }
    })
    .map_err(RunFailure::Spawn)?;
    let waiter = helper("render-wait", &events, move |events| {
        if let Ok((child, group)) = child_to_wait.recv() {
            let _ = events.send(Event::Exited(wait_and_reap(child, &group)));
        }
    })
    .map_err(RunFailure::Spawn)?;
    // Only the helpers hold senders now: if they all stop, the receiver says so.
    drop(events);

    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .current_dir(&spec.current_dir)
        .env_clear()
        .envs(spec.env.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = command.spawn().map_err(RunFailure::Spawn)?;
    let group = Arc::new(ProcessGroup::of(&child));
    tracing::debug!(
        program = %spec.program.display(),
        pid = child.id(),
        "started renderer"
    );

    if let Err(error) = hand_off(&mut child, stdout_handoff, stderr_handoff) {
        group.kill();
        let _ = child.wait();
        return Err(RunFailure::Io(error));
    }
    if let Err(mpsc::SendError((mut child, group))) =
        child_handoff.send((child, Arc::clone(&group)))
    {
        group.kill();
        let _ = child.wait();
        return Err(RunFailure::Io(io::Error::other(
            "the thread waiting for the renderer stopped",
        )));
    }

    let outcome = collect(&received, &group, start, limits.timeout);
    for (reported, handle) in [
        (outcome.stdout_done, stdout_reader),
        (outcome.stderr_done, stderr_reader),
        (outcome.exited, waiter),
    ] {
        // A helper that reported has nothing left to do; one that did not is blocked on a
        // pipe held by a process that left the group, and is abandoned.
        if reported {
            let _ = handle.join();
        }
    }
    let duration = start.elapsed();
    let stderr = outcome
        .stderr
        .as_deref()
        .map(stderr_text)
        .unwrap_or_default();
    tracing::debug!(
        program = %spec.program.display(),
        duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        status = ?outcome.status,
        stopped = ?outcome.stop,
        "renderer ended"
    );

    match (outcome.stop, outcome.status, outcome.stdout) {
        (Some(Stop::TimedOut), _, _) => Err(RunFailure::TimedOut {
            after: limits.timeout,
            stderr,
        }),
        (Some(Stop::TooLarge), _, _) => Err(RunFailure::OutputTooLarge { limit, stderr }),
        (Some(Stop::Failed(error)), _, _) => Err(RunFailure::Io(error)),
        (None, Some(status), _) if !status.success() => Err(RunFailure::Exited { status, stderr }),
        (None, Some(_), Some(stdout)) => Ok(Finished {
            stdout,
            stderr,
            duration,
        }),
        // Not reached: without a stop, every helper reported a success.
        (None, _, _) => Err(RunFailure::Io(io::Error::other(
            "the renderer's end was not observed",
        ))),
    }
}

/// Gives the child's pipes to their readers.
fn hand_off(
    child: &mut Child,
    stdout: Sender<ChildStdout>,
    stderr: Sender<ChildStderr>,
) -> io::Result<()> {
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(io::Error::other("the renderer's output was not piped"));
    };
    let stopped = || io::Error::other("a thread reading the renderer's output stopped");
    stdout.send(out).map_err(|_| stopped())?;
    stderr.send(err).map_err(|_| stopped())?;
    Ok(())
}

/// Starts a named helper thread that reports on its own clone of `events`.
fn helper(
    name: &str,
    events: &Sender<Event>,
    work: impl FnOnce(Sender<Event>) + Send + 'static,
) -> io::Result<JoinHandle<()>> {
    let events = events.clone();
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || work(events))
}

/// What a helper thread reports.
enum Event {
    /// The stdout reader ended: the whole output, or why it stopped.
    Stdout(Result<Vec<u8>, ReadStop>),
    /// The stderr reader ended: the start of stderr, or why reading it failed.
    Stderr(io::Result<Vec<u8>>),
    /// The child was reaped (its process group killed just before).
    Exited(io::Result<ExitStatus>),
}

/// Why the stdout reader stopped before the end of the output.
enum ReadStop {
    /// The output passed the cap.
    TooLarge,
    /// Reading failed.
    Failed(io::Error),
}

/// Why a run was cut short.
#[derive(Debug)]
enum Stop {
    /// The timeout passed.
    TimedOut,
    /// Stdout passed the cap.
    TooLarge,
    /// Reading the output or waiting for the child failed.
    Failed(io::Error),
}

/// What `collect` gathered.
#[derive(Default)]
struct Outcome {
    /// Whether the stdout reader reported.
    stdout_done: bool,
    /// The whole stdout, when it was read to its end within the cap.
    stdout: Option<Vec<u8>>,
    /// Whether the stderr reader reported.
    stderr_done: bool,
    /// The start of stderr, when it was read to its end.
    stderr: Option<Vec<u8>>,
    /// Whether the waiter reported.
    exited: bool,
    /// How the child ended, when waiting for it succeeded.
    status: Option<ExitStatus>,
    /// Why the run was cut short, if it was.
    stop: Option<Stop>,
}

impl Outcome {
    /// Whether every helper reported.
    fn complete(&self) -> bool {
        self.stdout_done && self.stderr_done && self.exited
    }
}

/// Waits for the three helpers to report, killing the process group when the deadline
/// passes or when a report means the run is over (output too large, a failed read).
fn collect(
    received: &Receiver<Event>,
    group: &ProcessGroup,
    start: Instant,
    timeout: Duration,
) -> Outcome {
    let mut outcome = Outcome::default();
    // `None` when the timeout is too large to be represented: no deadline.
    let mut deadline = start.checked_add(timeout);
    while !outcome.complete() {
        let event = match deadline {
            Some(deadline) => {
                received.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            }
            None => received
                .recv()
                .map_err(|mpsc::RecvError| RecvTimeoutError::Disconnected),
        };
        let stop = match event {
            Ok(Event::Stdout(read)) => {
                outcome.stdout_done = true;
                match read {
                    Ok(stdout) => {
                        outcome.stdout = Some(stdout);
                        None
                    }
                    Err(ReadStop::TooLarge) => Some(Stop::TooLarge),
                    Err(ReadStop::Failed(error)) => Some(Stop::Failed(error)),
                }
            }
            Ok(Event::Stderr(read)) => {
                outcome.stderr_done = true;
                match read {
                    Ok(stderr) => {
                        outcome.stderr = Some(stderr);
                        None
                    }
                    Err(error) => Some(Stop::Failed(error)),
                }
            }
            Ok(Event::Exited(waited)) => {
                outcome.exited = true;
                match waited {
                    Ok(status) => {
                        outcome.status = Some(status);
                        None
                    }
                    Err(error) => Some(Stop::Failed(error)),
                }
            }
            Err(RecvTimeoutError::Timeout) if outcome.stop.is_some() => {
                // The grace is over: abandon what is still blocked.
                group.kill();
                break;
            }
            Err(RecvTimeoutError::Timeout) => Some(Stop::TimedOut),
            Err(RecvTimeoutError::Disconnected) => {
                // Every helper is gone without reporting: only a panic does that.
                group.kill();
                if outcome.stop.is_none() {
                    outcome.stop = Some(Stop::Failed(io::Error::other(
                        "a thread watching the renderer stopped",
                    )));
                }
                break;
            }
        };
        if let Some(stop) = stop
            && outcome.stop.is_none()
        {
            group.kill();
            outcome.stop = Some(stop);
            deadline = Instant::now().checked_add(KILL_GRACE);
        }
    }
    outcome
}

/// Reads stdout to its end, keeping at most `limit` bytes; stops (dropping the pipe) as
/// soon as the output passes the cap.
fn read_stdout(mut pipe: ChildStdout, limit: u64) -> Result<Vec<u8>, ReadStop> {
    let mut kept = Vec::new();
    let mut buffer = vec![0_u8; READ_CHUNK];
    loop {
        match pipe.read(&mut buffer) {
            Ok(0) => return Ok(kept),
            Ok(read) => {
                let total = (kept.len() as u64).saturating_add(read as u64);
                if total > limit {
                    return Err(ReadStop::TooLarge);
                }
                kept.extend_from_slice(&buffer[..read]);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(ReadStop::Failed(error)),
        }
    }
}

/// Reads stderr to its end, keeping its first [`STDERR_KEPT`] bytes and discarding the
/// rest (still reading it, so the child never blocks on a full pipe).
fn read_stderr(mut pipe: ChildStderr) -> io::Result<Vec<u8>> {
    let mut kept = Vec::new();
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        match pipe.read(&mut buffer) {
            Ok(0) => return Ok(kept),
            Ok(read) => {
                let room = STDERR_KEPT.saturating_sub(kept.len());
                kept.extend_from_slice(&buffer[..read.min(room)]);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// The kept stderr as text: lossy UTF-8, at most [`STDERR_KEPT`] bytes.
fn stderr_text(kept: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(kept).into_owned();
    if text.len() > STDERR_KEPT {
        // Replacement characters are longer than the bytes they replace.
        let mut end = STDERR_KEPT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// Waits for the child to exit, kills its process group while the child is still a
/// zombie (so the group's id cannot have been reused), then reaps it.
fn wait_and_reap(mut child: Child, group: &ProcessGroup) -> io::Result<ExitStatus> {
    let exited = loop {
        // `NOWAIT` leaves the child waitable: it is reaped below, by `Child::wait`.
        match waitid(
            WaitId::Pid(group.leader),
            WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
        ) {
            Err(errno) if errno == Errno::INTR => {}
            other => break other,
        }
    };
    if let Err(error) = exited {
        tracing::debug!(%error, "waitid on the renderer failed; waiting with std");
        let status = child.wait();
        let mut reaped = group.lock();
        group.kill_now();
        *reaped = true;
        return status;
    }
    let mut reaped = group.lock();
    group.kill_now();
    let status = child.wait();
    *reaped = true;
    status
}

/// The child's process group, which the child leads (`process_group(0)`).
struct ProcessGroup {
    /// The child's pid, which is also the group's id.
    leader: Pid,
    /// Whether the child has been reaped; held while killing, so that the group is never
    /// signalled once its id may have been given to another process.
    reaped: Mutex<bool>,
}

impl ProcessGroup {
    /// The group `child` leads.
    fn of(child: &Child) -> Self {
        Self {
            leader: Pid::from_child(child),
            reaped: Mutex::new(false),
        }
    }

    /// Locks the `reaped` flag.
    fn lock(&self) -> MutexGuard<'_, bool> {
        self.reaped.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Kills every process in the group, unless the child was already reaped (then the
    /// group was killed just before).
    fn kill(&self) {
        let reaped = self.lock();
        if !*reaped {
            self.kill_now();
        }
    }

    /// Sends `SIGKILL` to the group; an empty group (`ESRCH`) is fine.
    fn kill_now(&self) {
        match kill_process_group(self.leader, Signal::KILL) {
            Ok(()) => {}
            Err(errno) if errno == Errno::SRCH => {}
            Err(errno) => tracing::debug!(
                pgid = self.leader.as_raw_nonzero().get(),
                error = %errno,
                "could not kill the renderer's process group"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::path::Path;

    const MIB: u64 = 1024 * 1024;

    fn spec(program: &str, args: &[&str]) -> CommandSpec {
        CommandSpec {
            program: PathBuf::from(program),
            args: args.iter().map(OsString::from).collect(),
            current_dir: PathBuf::from("/"),
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        }
    }

    fn sh(script: &str) -> CommandSpec {
        spec("/bin/sh", &["-c", script])
    }

    fn limits(timeout: Duration, max_output_bytes: u64) -> Limits {
        Limits {
            timeout,
            max_output_bytes,
        }
    }

    fn generous() -> Limits {
        limits(Duration::from_secs(10), 64 * MIB)
    }

    /// Whether `pid` is gone (or a zombie nobody reaps, which is dead all the same).
    fn is_dead(pid: &str) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        }
    }

    fn wait_until_dead(pid: &str) -> bool {
        let until = Instant::now() + Duration::from_millis(500);
        while Instant::now() < until {
            if is_dead(pid) {
                return true;
            }
            thread::sleep(Duration::from_millis(10));
        }
        is_dead(pid)
    }

    fn scratch_file(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("driftguard-process-{}-{name}", std::process::id()))
    }

    #[test]
    fn success_returns_stdout_and_keeps_stderr_warnings() {
        let finished = run(
            &sh("printf 'kind: A\\n'; echo 'warning: deprecated' >&2"),
            &generous(),
        )
        .unwrap();
        assert_eq!(finished.stdout, b"kind: A\n");
        assert_eq!(finished.stderr, "warning: deprecated\n");
        assert!(finished.duration < Duration::from_secs(2));
    }

    #[test]
    fn non_zero_exit_is_exited_with_stderr() {
        let failure = run(
            &sh("echo partial; echo 'Error: no kustomization' >&2; exit 3"),
            &generous(),
        )
        .unwrap_err();
        let RunFailure::Exited { status, stderr } = &failure else {
            panic!("expected Exited, got {failure:?}");
        };
        assert_eq!(status.code(), Some(3));
        assert_eq!(stderr, "Error: no kustomization\n");
        assert_eq!(failure.to_string(), "exited with status 3");
        assert_eq!(failure.stderr(), Some("Error: no kustomization\n"));
    }

    #[test]
    fn death_by_signal_is_exited_and_named() {
        let failure = run(&sh("kill -9 $$"), &generous()).unwrap_err();
        let RunFailure::Exited { status, .. } = &failure else {
            panic!("expected Exited, got {failure:?}");
        };
        assert_eq!(status.signal(), Some(9));
        assert_eq!(failure.to_string(), "was killed by signal 9");
        assert_eq!(failure.stderr(), None);
    }

    #[test]
    fn timeout_kills_the_whole_process_group() {
        let pid_file = scratch_file("timeout-grandchild");
        let script = format!(
            "sleep 60 & echo $! > '{}'; echo started >&2; sleep 60",
            pid_file.display()
        );
        let started = Instant::now();
        let failure = run(&sh(&script), &limits(Duration::from_millis(300), MIB)).unwrap_err();
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
        let RunFailure::TimedOut { after, stderr } = &failure else {
            panic!("expected TimedOut, got {failure:?}");
        };
        assert_eq!(*after, Duration::from_millis(300));
        assert_eq!(stderr, "started\n");
        assert_eq!(
            failure.to_string(),
            "did not finish within 300 ms and was stopped"
        );
        let grandchild = std::fs::read_to_string(&pid_file).unwrap();
        let _ = std::fs::remove_file(&pid_file);
        assert!(
            wait_until_dead(grandchild.trim()),
            "grandchild {grandchild} survived"
        );
    }

    #[test]
    fn a_process_that_left_the_group_cannot_hold_the_run_open() {
        // `setsid` moves the grandchild to a session of its own, out of reach of the group
        // kill, while it keeps stdout open: the run still ends, as timed out.
        if !Path::new("/usr/bin/setsid").exists() {
            return;
        }
        let pid_file = scratch_file("escaped");
        // The child waits until the grandchild has left, or the group kill could win.
        let script = format!(
            "/usr/bin/setsid sh -c 'echo $$ > {file}; exec sleep 5' & \
             while [ ! -s {file} ]; do sleep 0.01; done; exit 0",
            file = pid_file.display()
        );
        let started = Instant::now();
        let failure = run(&sh(&script), &limits(Duration::from_millis(200), MIB)).unwrap_err();
        let elapsed = started.elapsed();
        let escaped = std::fs::read_to_string(&pid_file).unwrap();
        let _ = std::fs::remove_file(&pid_file);
        if let Some(pid) = escaped.trim().parse().ok().and_then(Pid::from_raw) {
            let _ = rustix::process::kill_process(pid, Signal::KILL);
        }
        assert!(
            matches!(failure, RunFailure::TimedOut { .. }),
            "{failure:?}"
        );
        assert!(elapsed < Duration::from_millis(1200), "took {elapsed:?}");
    }

    #[test]
    fn grandchild_holding_stdout_after_a_normal_exit_is_killed() {
        let pid_file = scratch_file("exit-grandchild");
        let script = format!("sleep 60 & echo $! > '{}'; echo done", pid_file.display());
        let started = Instant::now();
        let finished = run(&sh(&script), &generous()).unwrap();
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
        assert_eq!(finished.stdout, b"done\n");
        let grandchild = std::fs::read_to_string(&pid_file).unwrap();
        let _ = std::fs::remove_file(&pid_file);
        assert!(
            wait_until_dead(grandchild.trim()),
            "grandchild {grandchild} survived"
        );
    }

    #[test]
    fn a_gibibyte_of_output_is_stopped_at_the_cap() {
        let started = Instant::now();
        let failure = run(
            &sh("head -c 1073741824 /dev/zero"),
            &limits(Duration::from_secs(10), MIB),
        )
        .unwrap_err();
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_millis(500), "took {elapsed:?}");
        assert!(
            matches!(failure, RunFailure::OutputTooLarge { limit, .. } if limit == MIB),
            "expected OutputTooLarge, got {failure:?}"
        );
        assert_eq!(
            failure.to_string(),
            "printed more than 1048576 bytes and was stopped"
        );
    }

    #[test]
    fn output_exactly_at_the_cap_is_accepted_and_one_more_byte_is_not() {
        let at_cap = run(
            &sh("head -c 100000 /dev/zero"),
            &limits(Duration::from_secs(10), 100_000),
        )
        .unwrap();
        assert_eq!(at_cap.stdout.len(), 100_000);
        let over = run(
            &sh("head -c 100001 /dev/zero"),
            &limits(Duration::from_secs(10), 100_000),
        )
        .unwrap_err();
        assert!(
            matches!(over, RunFailure::OutputTooLarge { limit: 100_000, .. }),
            "{over:?}"
        );
    }

    #[test]
    fn lots_on_both_pipes_does_not_deadlock_and_stderr_keeps_its_start() {
        // Fills stderr well past any pipe buffer before writing stdout, then both at once.
        let script = "echo first-line >&2; head -c 3000000 /dev/zero | tr '\\0' e >&2; \
                      head -c 3000000 /dev/zero & head -c 3000000 /dev/zero >&2; wait";
        let finished = run(&sh(script), &generous()).unwrap();
        assert_eq!(finished.stdout.len(), 3_000_000);
        assert_eq!(finished.stderr.len(), STDERR_KEPT);
        assert!(finished.stderr.starts_with("first-line\neee"));
    }

    #[test]
    fn stderr_text_is_lossy_and_bounded() {
        let kept = vec![0xff_u8; STDERR_KEPT];
        let text = stderr_text(&kept);
        assert!(text.len() <= STDERR_KEPT);
        assert!(text.starts_with('\u{fffd}'));
        assert_eq!(stderr_text(b"warning\n"), "warning\n");
    }

    #[test]
    fn environment_is_only_what_was_given() {
        let mut spec = spec("/usr/bin/env", &[]);
        spec.env = vec![("ONLY".into(), "given".into())];
        let finished = run(&spec, &generous()).unwrap();
        assert_eq!(String::from_utf8_lossy(&finished.stdout), "ONLY=given\n");
    }

    #[test]
    fn runs_in_the_given_directory_with_stdin_closed() {
        let dir = std::env::temp_dir().canonicalize().unwrap();
        let mut spec = sh("pwd; cat; echo end");
        spec.current_dir = dir.clone();
        let finished = run(&spec, &limits(Duration::from_secs(1), MIB)).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&finished.stdout),
            format!("{}\nend\n", dir.display())
        );
    }

    #[test]
    fn child_leads_its_own_process_group() {
        let finished = run(&sh("echo $$; cut -d' ' -f5 /proc/$$/stat"), &generous()).unwrap();
        let text = String::from_utf8_lossy(&finished.stdout).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0], lines[1], "pid and process group differ");
        assert_ne!(
            lines[1],
            rustix::process::getpgrp().as_raw_nonzero().to_string()
        );
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let failure = run(&spec("/nonexistent/kustomize", &["build"]), &generous()).unwrap_err();
        let RunFailure::Spawn(error) = &failure else {
            panic!("expected Spawn, got {failure:?}");
        };
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(driftguard_core::error_chain(&failure).starts_with("could not be started: "));
        assert!(std::error::Error::source(&failure).is_some());
    }

    #[test]
    fn non_executable_program_is_a_spawn_error() {
        let path = scratch_file("not-executable");
        std::fs::write(&path, "#!/bin/sh\necho hi\n").unwrap();
        let failure = run(&spec(path.to_str().unwrap(), &[]), &generous()).unwrap_err();
        let _ = std::fs::remove_file(&path);
        let RunFailure::Spawn(error) = &failure else {
            panic!("expected Spawn, got {failure:?}");
        };
        assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
    }

    #[test]
    fn missing_directory_is_a_spawn_error() {
        let mut spec = sh("true");
        spec.current_dir = Path::new("/nonexistent/repo").to_owned();
        let failure = run(&spec, &generous()).unwrap_err();
        assert!(matches!(failure, RunFailure::Spawn(_)), "{failure:?}");
    }

    #[test]
    fn failures_read_in_words() {
        let timed_out = RunFailure::TimedOut {
            after: Duration::from_secs(90),
            stderr: String::new(),
        };
        assert_eq!(
            timed_out.to_string(),
            "did not finish within 90 s and was stopped"
        );
        assert_eq!(timed_out.stderr(), None);
        let too_large = RunFailure::OutputTooLarge {
            limit: 268_435_456,
            stderr: "Error: boom\n".into(),
        };
        assert_eq!(
            too_large.to_string(),
            "printed more than 268435456 bytes and was stopped"
        );
        assert_eq!(too_large.stderr(), Some("Error: boom\n"));
        let exited = RunFailure::Exited {
            status: ExitStatus::from_raw(1 << 8),
            stderr: String::new(),
        };
        assert_eq!(exited.to_string(), "exited with status 1");
        assert_eq!(
            HumanDuration(Duration::from_millis(1500)).to_string(),
            "1.5 s"
        );
    }
}
