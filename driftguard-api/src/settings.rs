//! How the service runs its analyses and how long it waits when shutting down.

use std::time::Duration;

use crate::{AuthConfig, RateLimitConfig, ServerTimeouts, TlsConfig};

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
    /// Most connections open at once; at the cap the longest idle one is closed to make
    /// room, and a new connection is refused only when none is idle. Must not be zero.
    pub max_connections: usize,
    /// HTTPS certificate and key; the default serves plain HTTP.
    pub tls: TlsConfig,
    /// Bearer tokens and their scopes; the default leaves the API open.
    pub auth: AuthConfig,
    /// How often each client may ask for an analysis; the default allows 6 a minute.
    pub analyze_rate_limit: RateLimitConfig,
    /// Who this instance is, in the status documents it writes as a cluster's leader and
    /// in the 503 a standby answers: its Lease holder identity with leader election.
    pub identity: String,
    /// Time between two keep-alive comments of a quiet event stream (15 s); shorter in
    /// tests. Not part of the configuration. Must not be zero.
    #[doc(hidden)]
    pub stream_keep_alive: Duration,
}

impl ServiceSettings {
    /// The default time between periodic analyses.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
    /// The default shutdown grace period.
    pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
    /// The default connection cap.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
}

impl Default for ServiceSettings {
    /// A full analysis every 30 s, watch on, 10 s of grace at shutdown, default timeouts,
    /// at most 1024 connections, plain HTTP, no tokens, 6 analysis requests a minute per
    /// client, the identity `driftguard`.
    fn default() -> Self {
        Self {
            interval: Self::DEFAULT_INTERVAL,
            periodic: true,
            watch: true,
            shutdown_grace: Self::DEFAULT_SHUTDOWN_GRACE,
            timeouts: ServerTimeouts::default(),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            tls: TlsConfig::default(),
            auth: AuthConfig::default(),
            analyze_rate_limit: RateLimitConfig::default(),
            identity: "driftguard".to_owned(),
            stream_keep_alive: crate::stream::DEFAULT_KEEP_ALIVE,
        }
    }
}
