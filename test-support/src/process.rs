//! Child processes that die with the test, and waiting for a port to open.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A child process that is killed when dropped, so a failing test leaves no server behind.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
    name: String,
}

impl ChildGuard {
    /// Guards `child`; `name` appears in panic messages.
    pub fn new(name: impl Into<String>, child: Child) -> Self {
        Self {
            child,
            name: name.into(),
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Panics with the server's name when the process has already exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited early with {status}", self.name);
        }
    }

    /// Kills the process now and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port on 127.0.0.1: {e}"))
}

/// Stops a thread that accepts connections on `127.0.0.1:port` in a loop until `stop` is
/// set: sets it, wakes the loop with a connection of its own and waits for the thread.
pub fn stop_accept_loop(stop: &AtomicBool, port: u16, thread: Option<JoinHandle<()>>) {
    stop.store(true, Ordering::SeqCst);
    let _ = TcpStream::connect_timeout(
        &SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(1),
    );
    if let Some(thread) = thread {
        let _ = thread.join();
    }
}

/// Waits until something accepts connections on `127.0.0.1:port`, checking that `child`
/// is still alive; panics after `timeout`.
pub fn wait_for_port(child: &mut ChildGuard, port: u16, timeout: Duration) {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + timeout;
    loop {
        child.assert_running();
        if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            return;
        }
        if Instant::now() > deadline {
            panic!("{} did not open port {port} within {timeout:?}", child.name);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
