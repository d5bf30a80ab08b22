//! JSON answers and the API's error answers.

use driftguard_core::PortError;
use serde::Serialize;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

/// The body of every error answer: `{"error": "…"}`, plus the candidate clusters of an
/// ambiguous resource id (`{"error": "…", "clusters": […]}`).
#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    clusters: &'a [String],
    /// The leader of the cluster a standby was asked to analyse, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    leader: Option<&'a str>,
}

/// An error answer: a status and a message naming what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    clusters: Vec<String>,
    leader: Option<String>,
}

/// How much of a client's input an error message repeats.
const ECHO_LIMIT: usize = 80;

/// `input`, cut to a length fit for an error message.
pub(crate) fn echo(input: &str) -> String {
    match input.char_indices().nth(ECHO_LIMIT) {
        Some((cut, _)) => format!("{}…", &input[..cut]),
        None => input.to_owned(),
    }
}

impl ApiError {
    /// 400: the request is malformed; `message` names the parameter and what it must be.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            clusters: Vec::new(),
            leader: None,
        }
    }

    /// 400 for one query parameter.
    pub(crate) fn bad_parameter(name: &str, expected: &str, given: &str) -> Self {
        Self::bad_request(format!(
            "invalid query parameter `{name}`: expected {expected}, got `{}`",
            echo(given)
        ))
    }

    /// An answer with `status`, for the access answers (401, 403, 429), which add their
    /// own headers.
    pub(crate) fn with_status(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            clusters: Vec::new(),
            leader: None,
        }
    }

    /// 404: nothing there.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
            clusters: Vec::new(),
            leader: None,
        }
    }

    /// 405: the path exists, not for this method.
    pub(crate) fn method_not_allowed(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: message.into(),
            clusters: Vec::new(),
            leader: None,
        }
    }

    /// 503: the store failed; retrying later may work.
    pub(crate) fn store_unavailable(error: &PortError) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: format!(
                "the drift store is unavailable: {}",
                driftguard_core::error_chain(error)
            ),
            clusters: Vec::new(),
            leader: None,
        }
    }

    /// 409: a resource id that several clusters have, asked for without `cluster`;
    /// `clusters` lists them so the client can ask again with one.
    pub(crate) fn ambiguous(message: impl Into<String>, clusters: Vec<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            message: message.into(),
            clusters,
            leader: None,
        }
    }

    /// 503: an analysis was asked of an instance that does not lead the cluster;
    /// `leader` names the instance that does, when known.
    pub(crate) fn standby(message: String, leader: Option<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message,
            clusters: Vec::new(),
            leader,
        }
    }

    /// 503: the request took longer than the server allows.
    pub(crate) fn too_slow(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
            clusters: Vec::new(),
            leader: None,
        }
    }

    /// 500: the service itself failed.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
            clusters: Vec::new(),
            leader: None,
        }
    }

    /// The HTTP status of the answer.
    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The message of the answer.
    #[cfg(test)]
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// The answer: the status and `{"error": message}`.
    pub(crate) fn into_response(self) -> Response {
        json(
            self.status,
            &ErrorBody {
                error: &self.message,
                clusters: &self.clusters,
                leader: self.leader.as_deref(),
            },
        )
    }
}

/// A JSON answer with `status`.
pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    warp::reply::with_status(warp::reply::json(body), status).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_input_is_cut_in_messages() {
        let long = "x".repeat(500);
        let echoed = echo(&long);
        assert!(echoed.chars().count() <= ECHO_LIMIT + 1);
        assert!(echoed.ends_with('…'));
        assert_eq!(echo("short"), "short");
        assert_eq!(echo(&"é".repeat(100)).chars().count(), ECHO_LIMIT + 1);
    }
}
