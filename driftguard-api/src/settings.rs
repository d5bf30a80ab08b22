//! How the service runs its analyses and how long it waits when shutting down.

use std::time::Duration;

use crate::ServerTimeouts;

/// Settings of the running service, built by the caller (the binary reads them from the
/// `detection` and `server` sections of its configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSettings {
    /// Time between two periodic full analyses. Must not be zero.
    pub interval: Duration,
    /// Whether a full analysis runs every `interval`. One full analysis always runs at
    /// start, whatever this says: targeted analyses need the desired state it reads.
    pub periodic: bool,
    /// Whether each live change notification triggers a targeted analysis of that resource.
    pub watch: bool,
    /// How long shutdown waits for a running analysis and for in-flight requests before
    /// abandoning them.
    pub shutdown_grace: Duration,
    /// The HTTP server's read, write and idle timeouts.
    pub timeouts: ServerTimeouts,
}

impl ServiceSettings {
    /// The default time between periodic analyses.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
    /// The default shutdown grace period.
    pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
}

impl Default for ServiceSettings {
    /// A full analysis every 30 s, watch on, 10 s of grace at shutdown, default timeouts.
    fn default() -> Self {
        Self {
            interval: Self::DEFAULT_INTERVAL,
            periodic: true,
            watch: true,
            shutdown_grace: Self::DEFAULT_SHUTDOWN_GRACE,
            timeouts: ServerTimeouts::default(),
        }
    }
}
