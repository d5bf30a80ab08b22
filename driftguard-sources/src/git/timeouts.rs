//! Time limits for clones and fetches, so a hung remote cannot hang DriftGuard.
//!
//! Three mechanisms cover the ways a remote can stall:
//!
//! - libgit2's **connect timeout** ends a connection attempt to a blackholed address;
//! - libgit2's **server timeout** ends a read or write on a socket that stays silent (a
//!   remote that accepts the connection and never answers); both are set to the
//!   operation's limit;
//! - a [`Deadline`] checked from the transfer and side-band progress callbacks cancels
//!   a transfer that keeps trickling data past the limit.
//!
//! libgit2 keeps its two timeouts in process-wide variables, read whenever it opens a
//! socket. [`NetworkSlot`] serialises this crate's network operations behind one lock and
//! sets the variables while holding it, so each operation runs with its own limits and no
//! socket is opened while they change. The async source adds a last guard around the
//! blocking work for what libgit2 cannot time out (DNS resolution).

use std::cell::Cell;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Serialises network operations: libgit2's timeouts are process-wide.
static NETWORK: Mutex<()> = Mutex::new(());

/// The right to run one network operation with the given limit.
pub(crate) struct NetworkSlot {
    _lock: MutexGuard<'static, ()>,
}

impl NetworkSlot {
    /// Waits for any other network operation of this process to end, then sets libgit2's
    /// connect and socket timeouts to `limit`.
    pub(crate) fn acquire(limit: Duration) -> Result<Self, git2::Error> {
        let lock = NETWORK.lock().unwrap_or_else(PoisonError::into_inner);
        let millis = i32::try_from(limit.as_millis()).unwrap_or(i32::MAX).max(1);
        set_libgit2_timeouts(millis)?;
        Ok(Self { _lock: lock })
    }
}

/// Sets libgit2's connect and socket read/write timeouts, in milliseconds.
#[allow(unsafe_code)]
fn set_libgit2_timeouts(millis: i32) -> Result<(), git2::Error> {
    // SAFETY: both setters write a plain C `int` that libgit2 reads only when it creates
    // a socket stream (streams/socket.c, transports/ssh_libssh2.c), that is, inside a
    // clone or fetch. Every clone and fetch of this crate runs while holding `NETWORK`,
    // and this function is only called with that lock held, so no read can race with
    // the write. This crate is DriftGuard's only user of libgit2's network code.
    unsafe {
        git2::opts::set_server_connect_timeout_in_milliseconds(millis)?;
        git2::opts::set_server_timeout_in_milliseconds(millis)?;
    }
    Ok(())
}

/// When a network operation must have finished, checked from progress callbacks.
#[derive(Debug)]
pub(crate) struct Deadline {
    at: Instant,
    expired: Cell<bool>,
}

impl Deadline {
    /// A deadline `limit` from now.
    pub(crate) fn after(limit: Duration) -> Self {
        Self {
            at: Instant::now() + limit,
            expired: Cell::new(false),
        }
    }

    /// Whether the operation may go on; `false` (and remembered) once the time is up.
    /// Progress callbacks return this, which makes libgit2 cancel the transfer.
    pub(crate) fn keep_going(&self) -> bool {
        if Instant::now() >= self.at {
            self.expired.set(true);
        }
        !self.expired.get()
    }

    /// Whether a callback cancelled the operation because the time was up.
    pub(crate) fn expired(&self) -> bool {
        self.expired.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_in_the_past_stops_the_transfer_and_says_so() {
        let deadline = Deadline::after(Duration::ZERO);
        assert!(!deadline.keep_going());
        assert!(deadline.expired());
        let deadline = Deadline::after(Duration::from_secs(3600));
        assert!(deadline.keep_going());
        assert!(!deadline.expired());
    }

    #[test]
    fn slots_set_libgit2_timeouts_for_their_operation() {
        let slot = NetworkSlot::acquire(Duration::from_millis(1500));
        assert!(slot.is_ok());
        #[allow(unsafe_code)]
        // SAFETY: read while holding the network slot, so no setter runs concurrently.
        let (connect, server) = unsafe {
            (
                git2::opts::get_server_connect_timeout_in_milliseconds(),
                git2::opts::get_server_timeout_in_milliseconds(),
            )
        };
        assert_eq!(connect.ok(), Some(1500));
        assert_eq!(server.ok(), Some(1500));
    }
}
