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
    /// The listener handed to [`crate::serve`] has no usable local address.
    #[error("cannot use the listener")]
    Listener(#[source] std::io::Error),
    /// The analysis loop ended on its own (it panicked) instead of at shutdown.
    #[error("the analysis loop stopped unexpectedly: {0}")]
    AnalysisLoop(String),
}

/// Results with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
