//! The `server` section of the configuration file: where the API listens, its timeouts,
//! its connection cap, HTTPS and access control.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use driftguard_core::config::duration;
use serde::{Deserialize, Serialize};

use crate::{AuthConfig, Error, RateLimitConfig, ServerTimeouts, ServiceSettings, TlsConfig};

/// `server`: the REST API listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on (an IP address).
    pub host: String,
    /// Port to listen on.
    pub port: u16,
    /// Longest time to read a request's headers.
    #[serde(with = "duration")]
    pub read_timeout: Duration,
    /// Longest time to handle a request and write its answer.
    #[serde(with = "duration")]
    pub write_timeout: Duration,
    /// How long an idle keep-alive connection stays open.
    #[serde(with = "duration")]
    pub idle_timeout: Duration,
    /// Most connections open at once; at the cap the longest idle one makes room.
    pub max_connections: usize,
    /// HTTPS certificate and key (`server.tls`); unset: plain HTTP.
    #[serde(skip_serializing_if = "TlsConfig::is_default")]
    pub tls: TlsConfig,
    /// Access control (`server.auth`); unset: the API is open.
    pub auth: AuthConfig,
    /// How often each client may ask for an analysis (`server.analyze_rate_limit`).
    pub analyze_rate_limit: RateLimitConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let timeouts = ServerTimeouts::default();
        Self {
            host: "0.0.0.0".to_owned(),
            port: 8080,
            read_timeout: timeouts.read,
            write_timeout: timeouts.write,
            idle_timeout: timeouts.idle,
            max_connections: ServiceSettings::DEFAULT_MAX_CONNECTIONS,
            tls: TlsConfig::default(),
            auth: AuthConfig::default(),
            analyze_rate_limit: RateLimitConfig::default(),
        }
    }
}

impl ServerConfig {
    /// Checks the keys; the first problem names its key.
    pub fn validate(&self) -> Result<(), Error> {
        self.address()?;
        for (key, value) in [
            ("server.read_timeout", self.read_timeout),
            ("server.write_timeout", self.write_timeout),
            ("server.idle_timeout", self.idle_timeout),
        ] {
            if value.is_zero() {
                return Err(Error::Settings(format!("{key} must be longer than zero")));
            }
        }
        if self.max_connections == 0 {
            return Err(Error::Settings(
                "server.max_connections must be at least 1".to_owned(),
            ));
        }
        self.tls.validate()?;
        self.auth.validate()
    }

    /// The address to listen on.
    pub fn address(&self) -> Result<SocketAddr, Error> {
        let ip: IpAddr = self.host.parse().map_err(|_| {
            Error::Settings(format!(
                "server.host `{}` is not an IP address to listen on (0.0.0.0, 127.0.0.1, ::)",
                self.host
            ))
        })?;
        Ok(SocketAddr::new(ip, self.port))
    }

    /// The connection timeouts.
    pub fn timeouts(&self) -> ServerTimeouts {
        ServerTimeouts {
            read: self.read_timeout,
            write: self.write_timeout,
            idle: self.idle_timeout,
        }
    }
}
