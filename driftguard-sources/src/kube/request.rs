//! Sending requests to the API server: a deadline on every call, and errors that name the
//! request and say whether retrying may help.
//!
//! List and get answers are read as text and parsed here, not by kube's typed helpers:
//! those log the whole body when it does not parse, and a Secret's body must never reach
//! a log.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use ::kube::api::{GetParams, ListParams};
use ::kube::core::Request;

use crate::Error;

/// Pauses before the retries of an answer that asks the client to come back later.
const RETRY_DELAYS: &[Duration] = &[Duration::from_millis(250), Duration::from_millis(750)];

/// A kube client with the source's request timeout and a name for the server in messages.
#[derive(Clone)]
pub(crate) struct ApiCaller {
    client: ::kube::Client,
    timeout: Duration,
    server: Option<String>,
}

impl ApiCaller {
    /// Wraps `client`; `server` (the cluster URL, when known) is added to error messages.
    pub fn new(client: ::kube::Client, timeout: Duration, server: Option<String>) -> Self {
        Self {
            client,
            timeout,
            server,
        }
    }

    /// The underlying client, for the watcher.
    pub fn client(&self) -> &::kube::Client {
        &self.client
    }

    /// A request description for messages: what was asked, and of which server.
    pub fn describe(&self, what: impl std::fmt::Display) -> String {
        match &self.server {
            Some(server) => format!("{what} ({server})"),
            None => what.to_string(),
        }
    }

    /// Runs one kube call under the request timeout, mapping its failure.
    ///
    /// Answers that ask the client to come back (429, 503, 504) are retried twice, after
    /// [`RETRY_DELAYS`], while the timeout allows; then the server's answer is the error.
    pub async fn call<T, F, Fut>(&self, what: &str, mut call: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ::kube::Error>>,
    {
        let deadline = Instant::now() + self.timeout;
        let mut delays = RETRY_DELAYS.iter();
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let error = match tokio::time::timeout(remaining, call()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) => error,
                Err(_elapsed) => {
                    return Err(Error::KubeTimeout {
                        request: self.describe(what),
                        timeout: self.timeout,
                    });
                }
            };
            let retry_after = match &error {
                ::kube::Error::Api(status) if matches!(status.code, 429 | 503 | 504) => {
                    delays.next().copied()
                }
                _ => None,
            };
            match retry_after {
                Some(delay) if Instant::now() + delay < deadline => {
                    tracing::debug!(request = what, ?delay, "the API server asked to retry");
                    tokio::time::sleep(delay).await;
                }
                _ => return Err(classify(error, self.describe(what))),
            }
        }
    }

    /// One page of a list, as the raw JSON text.
    pub async fn list_page(
        &self,
        url_path: &str,
        params: &ListParams,
        what: &str,
    ) -> Result<String, Error> {
        let collection = Request::new(url_path);
        self.call(what, || async {
            let request = collection
                .list(params)
                .map_err(::kube::Error::BuildRequest)?;
            self.client.request_text(request).await
        })
        .await
    }

    /// One object, as raw JSON text; `None` when the server answers 404.
    pub async fn get_object(
        &self,
        url_path: &str,
        name: &str,
        what: &str,
    ) -> Result<Option<String>, Error> {
        let collection = Request::new(url_path);
        if collection.get(name, &GetParams::default()).is_err() {
            // A name the API cannot even address names no object.
            return Ok(None);
        }
        let fetch = || async {
            let request = collection
                .get(name, &GetParams::default())
                .map_err(::kube::Error::BuildRequest)?;
            self.client.request_text(request).await
        };
        match self.call(what, fetch).await {
            Ok(text) => Ok(Some(text)),
            Err(Error::KubeStatus { code: 404, .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// The messages of an error and its sources, joined, without repeats.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// Maps a kube error to this crate's error for `request`.
///
/// Answers with an HTTP status keep their code (callers treat 403, 404 and 410 specially);
/// transport failures are "unreachable"; bodies that do not parse are reported by position
/// only, so no object content reaches the message.
pub(crate) fn classify(error: ::kube::Error, request: String) -> Error {
    match error {
        ::kube::Error::Api(status) => Error::KubeStatus {
            request,
            code: status.code,
            reason: if status.reason.is_empty() {
                "(no reason)".to_owned()
            } else {
                status.reason.clone()
            },
            message: status.message.clone(),
        },
        ::kube::Error::SerdeError(e) => Error::KubeInvalidResponse {
            request,
            reason: json_error(&e),
        },
        ::kube::Error::FromUtf8(_) => Error::KubeInvalidResponse {
            request,
            reason: "the answer is not UTF-8 text".to_owned(),
        },
        error @ (::kube::Error::Auth(_)
        | ::kube::Error::RustlsTls(_)
        | ::kube::Error::TlsRequired
        | ::kube::Error::InferKubeconfig(_)
        | ::kube::Error::InferConfig(_)) => Error::KubeConfig {
            reason: format!("{request}: {}", error_chain(&error)),
        },
        error => Error::KubeUnreachable {
            request,
            reason: error_chain(&error),
        },
    }
}

/// Where a JSON answer stopped parsing, without quoting any of it.
pub(crate) fn json_error(error: &serde_json::Error) -> String {
    let what = match error.classify() {
        serde_json::error::Category::Io => "could not be read",
        serde_json::error::Category::Syntax => "is not valid JSON",
        serde_json::error::Category::Data => "does not have the expected shape",
        serde_json::error::Category::Eof => "ends early",
    };
    format!(
        "the answer {what} (line {}, column {})",
        error.line(),
        error.column()
    )
}
