//! Who may make a request: the path rules, the bearer token, the scope, and the analysis
//! rate limit.
//!
//! The rules are data ([`PUBLIC_PATHS`]): a path they name is open; `/metrics` is open
//! unless `server.auth.protect_metrics`; every other path (all of `/api/`, and any path
//! not yet served) needs a token. Reading (GET, HEAD, OPTIONS) needs the `read` scope,
//! anything else the `analyze` scope. Tokens are read from the `Authorization: Bearer`
//! header only, never from the URL.

use std::convert::Infallible;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use warp::Filter;
use warp::http::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use warp::http::{HeaderMap, Method, StatusCode};
use warp::reply::Response;

use super::Access;
use super::rate_limit::ClientKey;
use super::tokens::Scope;
use crate::http::reply::ApiError;

/// The client's IP address, which each connection puts in its requests' extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientAddress(pub(crate) IpAddr);

/// A path pattern of an access rule.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PathPattern {
    /// This path exactly.
    Exact(&'static str),
    /// Every path starting with this.
    Prefix(&'static str),
}

impl PathPattern {
    fn matches(self, path: &str) -> bool {
        match self {
            Self::Exact(exact) => path == exact,
            Self::Prefix(prefix) => path.starts_with(prefix),
        }
    }
}

/// Paths served without a token: the probes, and the dashboard's static files under
/// `/ui/`, which hold no data (the page sends the token with each API call it makes).
/// `/` is public too: all it answers is a redirect to the public page `/ui/` (and a 405
/// for other methods), so a browser opening the root reaches the token prompt instead of
/// a bare 401.
pub(crate) const PUBLIC_PATHS: &[PathPattern] = &[
    PathPattern::Exact("/health"),
    PathPattern::Exact("/ready"),
    PathPattern::Exact("/"),
    PathPattern::Exact("/ui"),
    PathPattern::Prefix("/ui/"),
];

/// The metrics path, open unless `server.auth.protect_metrics`.
const METRICS_PATH: &str = "/metrics";

/// Query parameters some clients put tokens in; they never authenticate here.
const URL_TOKEN_PARAMETERS: [&str; 2] = ["token", "access_token"];

/// What a request needs to be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// Nothing: the path is public.
    Nothing,
    /// A token with this scope.
    Scope(Scope),
}

/// What a request needs, by its method and path alone.
pub(crate) fn needs(method: &Method, path: &str, protect_metrics: bool) -> Needs {
    if PUBLIC_PATHS.iter().any(|pattern| pattern.matches(path))
        || (path == METRICS_PATH && !protect_metrics)
    {
        return Needs::Nothing;
    }
    if [Method::GET, Method::HEAD, Method::OPTIONS].contains(method) {
        Needs::Scope(Scope::Read)
    } else {
        Needs::Scope(Scope::Analyze)
    }
}

/// What a request presents to be let in: its `Authorization` header and the client's
/// address.
#[derive(Debug, Clone)]
pub(crate) struct Presented {
    authorization: Option<HeaderValue>,
    client: Option<IpAddr>,
}

/// Extracts what a request presents. Never rejects.
pub(crate) fn presented() -> impl Filter<Extract = (Presented,), Error = Infallible> + Clone {
    warp::header::headers_cloned()
        .and(warp::ext::optional::<ClientAddress>())
        .map(
            |headers: HeaderMap, client: Option<ClientAddress>| Presented {
                authorization: headers.get(AUTHORIZATION).cloned(),
                client: client.map(|ClientAddress(ip)| ip),
            },
        )
}

/// A request let in, and by which token.
#[derive(Debug, Clone, Default)]
pub(crate) struct Admitted {
    /// The name of the token presented, when tokens are configured and one was needed.
    pub(crate) token: Option<String>,
}

/// One request, as access control sees it.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    /// Its method.
    pub(crate) method: &'a Method,
    /// Its path, without the query.
    pub(crate) path: &'a str,
    /// Its raw query string.
    pub(crate) query: &'a str,
    /// Whether it asks for an analysis (and so counts against the rate limit).
    pub(crate) analyze: bool,
}

/// Why a request was not let in; its answer is 401, 403 or 429.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No usable token: 401, with the RFC 6750 error code when a token was sent.
    Unauthorized {
        message: &'static str,
        code: Option<&'static str>,
    },
    /// A known token without `scope`: 403.
    Forbidden { scope: Scope, message: String },
    /// Over the analysis rate limit: 429, allowed again after the wait.
    TooManyRequests(Duration),
}

impl Refusal {
    /// The answer: the status, its headers, and the JSON error body.
    pub(crate) fn into_response(self) -> Response {
        match self {
            Self::Unauthorized { message, code } => unauthorized(message, code),
            Self::Forbidden { scope, message } => forbidden(scope, message),
            Self::TooManyRequests(wait) => too_many_requests(wait),
        }
    }
}

/// Lets `request` in, or says why not.
pub(crate) fn admit(
    access: &Access,
    request: &Request<'_>,
    presented: &Presented,
) -> Result<Admitted, Refusal> {
    let admitted = authenticate(access, request, presented)?;
    if request.analyze
        && let Some(limiter) = access.analyze_limit()
    {
        let client = match (&admitted.token, presented.client) {
            (Some(name), _) => ClientKey::Token(name.clone()),
            (None, Some(ip)) => ClientKey::Address(ip),
            (None, None) => ClientKey::Unknown,
        };
        if let Err(wait) = limiter.check(client, Instant::now()) {
            tracing::info!(
                token = admitted.token.as_deref(),
                "analysis request refused: over server.analyze_rate_limit"
            );
            return Err(Refusal::TooManyRequests(wait));
        }
    }
    Ok(admitted)
}

fn authenticate(
    access: &Access,
    request: &Request<'_>,
    presented: &Presented,
) -> Result<Admitted, Refusal> {
    let Some(tokens) = access.tokens() else {
        return Ok(Admitted::default());
    };
    let Needs::Scope(scope) = needs(request.method, request.path, access.protect_metrics()) else {
        return Ok(Admitted::default());
    };
    let Some(header) = &presented.authorization else {
        if has_url_token(request.query) {
            tracing::info!(
                "request refused: it carries a token in its URL, which is never accepted"
            );
            return Err(Refusal::Unauthorized {
                message: "a token in the URL is never accepted; send it in the Authorization header (Authorization: Bearer <token>)",
                code: None,
            });
        }
        return Err(Refusal::Unauthorized {
            message: "authentication required: send Authorization: Bearer <token>",
            code: None,
        });
    };
    let Some(token) = bearer(header) else {
        return Err(Refusal::Unauthorized {
            message: "the Authorization header must be `Bearer <token>`",
            code: Some("invalid_request"),
        });
    };
    let tokens = tokens.current();
    let Some(known) = tokens.find(token) else {
        tracing::info!("request refused: unknown bearer token");
        return Err(Refusal::Unauthorized {
            message: "the bearer token is not valid",
            code: Some("invalid_token"),
        });
    };
    if !known.allows(scope) {
        tracing::info!(
            token = known.name(),
            scope = scope.as_str(),
            "request refused: the token lacks the scope"
        );
        return Err(Refusal::Forbidden {
            scope,
            message: format!(
                "this token does not have the `{}` scope, which {} {} needs",
                scope.as_str(),
                request.method,
                crate::http::reply::echo(request.path)
            ),
        });
    }
    Ok(Admitted {
        token: Some(known.name().to_owned()),
    })
}

/// The token of an `Authorization: Bearer <token>` header (scheme in any case).
fn bearer(header: &HeaderValue) -> Option<&str> {
    let text = header.to_str().ok()?;
    let (scheme, token) = text.split_once(' ')?;
    let token = token.trim_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Whether `query` has a parameter clients put tokens in.
fn has_url_token(query: &str) -> bool {
    query
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(name, _)| name))
        .any(|name| {
            URL_TOKEN_PARAMETERS
                .iter()
                .any(|p| name.eq_ignore_ascii_case(p))
        })
}

/// 401 with `WWW-Authenticate: Bearer` (and an RFC 6750 error code when a token was
/// sent).
fn unauthorized(message: &str, error: Option<&str>) -> Response {
    let challenge = match error {
        Some(code) => format!("Bearer realm=\"driftguard\", error=\"{code}\""),
        None => "Bearer realm=\"driftguard\"".to_owned(),
    };
    with_header(
        ApiError::with_status(StatusCode::UNAUTHORIZED, message).into_response(),
        WWW_AUTHENTICATE,
        &challenge,
    )
}

/// 403: a known token without the scope the request needs.
fn forbidden(scope: Scope, message: String) -> Response {
    let challenge = format!(
        "Bearer realm=\"driftguard\", error=\"insufficient_scope\", scope=\"{}\"",
        scope.as_str()
    );
    with_header(
        ApiError::with_status(StatusCode::FORBIDDEN, message).into_response(),
        WWW_AUTHENTICATE,
        &challenge,
    )
}

/// 429 with `Retry-After` in whole seconds (rounded up, at least 1).
fn too_many_requests(wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let message =
        format!("too many analysis requests (server.analyze_rate_limit); retry in {seconds} s");
    with_header(
        ApiError::with_status(StatusCode::TOO_MANY_REQUESTS, message).into_response(),
        RETRY_AFTER,
        &seconds.to_string(),
    )
}

fn with_header(
    mut response: Response,
    name: warp::http::header::HeaderName,
    value: &str,
) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_paths_and_scopes_follow_the_rules() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(needs(&get, "/health", true), Needs::Nothing);
        assert_eq!(needs(&get, "/ready", true), Needs::Nothing);
        assert_eq!(needs(&get, "/ui/", true), Needs::Nothing);
        assert_eq!(needs(&get, "/ui/app.js", true), Needs::Nothing);
        assert_eq!(needs(&get, "/metrics", false), Needs::Nothing);
        assert_eq!(needs(&get, "/metrics", true), Needs::Scope(Scope::Read));
        assert_eq!(
            needs(&get, "/api/v1/drift-records", false),
            Needs::Scope(Scope::Read)
        );
        assert_eq!(
            needs(&Method::HEAD, "/api/v1/statistics", false),
            Needs::Scope(Scope::Read)
        );
        assert_eq!(
            needs(&post, "/api/v1/analyze", false),
            Needs::Scope(Scope::Analyze)
        );
        assert_eq!(needs(&get, "/", true), Needs::Nothing);
        // Paths nobody listed need a token: a new route is closed until made public.
        assert_eq!(needs(&get, "//", false), Needs::Scope(Scope::Read));
        assert_eq!(needs(&get, "/uix", false), Needs::Scope(Scope::Read));
        assert_eq!(needs(&get, "/health/x", false), Needs::Scope(Scope::Read));
    }

    #[test]
    fn only_bearer_headers_carry_tokens() {
        let value = |text: &str| HeaderValue::from_str(text).expect("a header value");
        assert_eq!(bearer(&value("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&value("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(&value("Basic abc")), None);
        assert_eq!(bearer(&value("Bearer ")), None);
        assert_eq!(bearer(&value("Bearer")), None);
    }

    #[test]
    fn url_tokens_are_recognised_by_parameter_name() {
        assert!(has_url_token("token=abc"));
        assert!(has_url_token("namespace=shop&access_token=abc"));
        assert!(has_url_token("Access_Token"));
        assert!(!has_url_token("namespace=token"));
        assert!(!has_url_token(""));
    }

    #[test]
    fn retry_after_is_rounded_up_to_whole_seconds() {
        let answer = too_many_requests(Duration::from_millis(9_100));
        assert_eq!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(answer.headers()[RETRY_AFTER], "10");
        let answer = too_many_requests(Duration::from_millis(10));
        assert_eq!(answer.headers()[RETRY_AFTER], "1");
    }
}
