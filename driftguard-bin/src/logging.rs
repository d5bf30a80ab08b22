//! Logs to stderr, so stdout carries only the command's result.

use tracing_subscriber::EnvFilter;

/// Installs the subscriber: warnings by default, more with `-v`, or `RUST_LOG`.
pub fn init(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
