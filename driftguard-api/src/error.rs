//! The crate's error type.

/// What can stop the service from starting or make it stop before it was asked to.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is out of range; the message names it.
    #[error("invalid service setting: {0}")]
    Settings(String),
    /// The Prometheus exporter or the metrics registry could not be set up.
    #[error("cannot set up metrics: {0}")]
    Metrics(String),
    /// The TLS certificate or key cannot be read or used; the message names the key and
    /// the file, never their content.
    #[error("cannot serve HTTPS: {0}")]
    Tls(String),
    /// The tokens file of `server.auth` cannot be read or is invalid; `problem` names the
    /// entry at fault, never a token or a digest.
    #[error("server.auth.tokens_file {}: {problem}", file.display())]
    TokensFile {
        /// The tokens file.
        file: std::path::PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The listener handed to [`crate::serve`] has no usable local address.
    #[error("cannot use the listener")]
    Listener(#[source] std::io::Error),
    /// The analysis loop ended on its own (it panicked) instead of at shutdown.
    #[error("the analysis loop stopped unexpectedly: {0}")]
    AnalysisLoop(String),
}

/// Results with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
