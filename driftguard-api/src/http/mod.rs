//! The REST API on warp: routes, parameters, answers and request metrics.

mod body;
mod cursor;
mod endpoint;
mod handlers;
mod params;
pub(crate) mod reply;
mod views;

use std::convert::Infallible;
use std::time::Instant;

use warp::Filter;
use warp::http::Method;
use warp::path::FullPath;
use warp::reply::Response;

use self::endpoint::{Endpoint, UNMATCHED_ROUTE, Unmatched, endpoint};
use self::reply::{ApiError, echo};
use crate::Service;
use crate::auth;
use crate::auth::filter::Presented;

/// The whole API of `service` as one warp filter, for embedding it in a larger warp
/// application; [`crate::serve`] serves exactly this.
///
/// Every request gets an answer (the filter never rejects): unknown paths get a 404 and
/// known paths with another method a 405, both with a JSON `{"error": …}` body. Access
/// control applies as the service's settings say (401, 403, 429 before any of these); the
/// tokens file is re-read on change only while [`crate::serve`] runs.
pub fn routes(
    service: Service,
) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone + Send + Sync + 'static {
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::any()
        .map(Instant::now)
        .and(warp::method())
        .and(warp::path::full())
        .and(endpoint())
        .and(query)
        .and(auth::filter::presented())
        .and(warp::any().map(move || service.clone()))
        .then(respond)
        .recover(|rejection: warp::Rejection| async move {
            // Only the query or service filters above could reject, and they do not;
            // answer anyway rather than let warp pick a plain-text body.
            tracing::debug!(?rejection, "request rejected");
            let error = ApiError::bad_request("the request cannot be read");
            Ok::<_, Infallible>(error.into_response())
        })
        .unify()
}

/// Answers one request, once access control lets it in, and records its duration under
/// its route template.
async fn respond(
    started: Instant,
    method: Method,
    path: FullPath,
    matched: Result<Endpoint, Unmatched>,
    query: String,
    presented: Presented,
    service: Service,
) -> Response {
    let request = auth::filter::Request {
        method: &method,
        path: path.as_str(),
        query: &query,
        analyze: matched == Ok(Endpoint::Analyze),
    };
    let admitted = auth::filter::admit(service.access(), &request, &presented);
    let token = admitted.as_ref().ok().and_then(|a| a.token.clone());
    let route = matched.as_ref().map_or(UNMATCHED_ROUTE, Endpoint::template);
    let mut response = match (matched, admitted) {
        (_, Err(refused)) => refused.into_response(),
        (Ok(endpoint), Ok(_)) => handlers::answer(endpoint, &query, &service).await,
        (Err(unmatched), Ok(_)) => unmatched_answer(unmatched, &method, &path),
    };
    if crate::ui::covers(path.as_str()) {
        // The dashboard's paths, an unknown file's 404 included.
        crate::ui::harden(&mut response);
    }
    let status = response.status().as_u16();
    let took = started.elapsed();
    service.metrics().request(route, status, took.as_secs_f64());
    tracing::debug!(
        method = %method,
        route,
        status,
        token,
        duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        "request answered"
    );
    response
}

fn unmatched_answer(unmatched: Unmatched, method: &Method, path: &FullPath) -> Response {
    let path = echo(path.as_str());
    match unmatched {
        Unmatched::NotFound => ApiError::not_found(format!("no route for {method} {path}")),
        Unmatched::MethodNotAllowed => {
            ApiError::method_not_allowed(format!("method {method} is not allowed on {path}"))
        }
    }
    .into_response()
}
