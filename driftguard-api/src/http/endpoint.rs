//! The routes: which endpoint a request is for, matched with warp's path and method filters.

use warp::filters::BoxedFilter;
use warp::reject::MethodNotAllowed;
use warp::{Filter, Rejection};

/// One endpoint of the API, with what its path carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `GET /health`
    Health,
    /// `GET /ready`
    Ready,
    /// `GET /metrics`
    Metrics,
    /// `GET /api/v1/drift-records`
    ListRecords,
    /// `GET /api/v1/drift-records/active`
    ActiveRecords,
    /// `GET /api/v1/drift-records/resolved`
    ResolvedRecords,
    /// `GET /api/v1/drift-records/{resource_id}`, with the raw (still encoded) id.
    Record(String),
    /// `GET /api/v1/drift-records/{resource_id}/events`, with the raw id.
    RecordEvents(String),
    /// `GET /api/v1/statistics`
    Statistics,
    /// `GET /api/v1/statistics/timeline`
    Timeline,
    /// `GET /api/v1/applications`
    Applications,
    /// `GET /api/v1/clusters`
    Clusters,
    /// `POST /api/v1/analyze`
    Analyze,
    /// `GET /api/v1/stream`
    Stream,
    /// The dashboard: `GET /ui/` and its files, and the redirects of `/` and `/ui` to it.
    /// Not part of the API document (docs/openapi.yaml).
    Ui(crate::ui::UiRequest),
}

impl Endpoint {
    /// The route template: the `route` label of request metrics, whose values must stay
    /// few whatever ids clients ask for.
    pub(crate) fn template(&self) -> &'static str {
        match self {
            Self::Health => "/health",
            Self::Ready => "/ready",
            Self::Metrics => "/metrics",
            Self::ListRecords => "/api/v1/drift-records",
            Self::ActiveRecords => "/api/v1/drift-records/active",
            Self::ResolvedRecords => "/api/v1/drift-records/resolved",
            Self::Record(_) => "/api/v1/drift-records/{resource_id}",
            Self::RecordEvents(_) => "/api/v1/drift-records/{resource_id}/events",
            Self::Statistics => "/api/v1/statistics",
            Self::Timeline => "/api/v1/statistics/timeline",
            Self::Applications => "/api/v1/applications",
            Self::Clusters => "/api/v1/clusters",
            Self::Analyze => "/api/v1/analyze",
            Self::Stream => "/api/v1/stream",
            Self::Ui(request) => request.template(),
        }
    }
}

#[cfg(test)]
impl Endpoint {
    /// One endpoint of each kind of the API (the dashboard's files, [`Endpoint::Ui`], are
    /// not API operations).
    fn every() -> Vec<Endpoint> {
        vec![
            Self::Health,
            Self::Ready,
            Self::Metrics,
            Self::ListRecords,
            Self::ActiveRecords,
            Self::ResolvedRecords,
            Self::Record(String::new()),
            Self::RecordEvents(String::new()),
            Self::Statistics,
            Self::Timeline,
            Self::Applications,
            Self::Clusters,
            Self::Analyze,
            Self::Stream,
        ]
    }

    /// The method the endpoint answers.
    fn method(&self) -> &'static str {
        match self {
            Self::Analyze => "post",
            _ => "get",
        }
    }
}

/// The `route` label of requests that match no endpoint.
pub(crate) const UNMATCHED_ROUTE: &str = "unmatched";

/// Why a request matched no endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unmatched {
    /// No endpoint has this path.
    NotFound,
    /// An endpoint has this path, for another method.
    MethodNotAllowed,
}

impl Unmatched {
    fn of(rejection: &Rejection) -> Self {
        if rejection.find::<MethodNotAllowed>().is_some() {
            Self::MethodNotAllowed
        } else {
            Self::NotFound
        }
    }
}

/// Matches a request to its endpoint, or says why none matched. Never rejects.
pub(crate) fn endpoint() -> BoxedFilter<(Result<Endpoint, Unmatched>,)> {
    use warp::{path, post};

    // HEAD is GET without a body (hyper drops it), as HTTP asks of every GET resource.
    let get = || warp::get().or(warp::head()).unify();
    let health = path!("health").and(get()).map(|| Endpoint::Health);
    let ready = path!("ready").and(get()).map(|| Endpoint::Ready);
    let metrics = path!("metrics").and(get()).map(|| Endpoint::Metrics);
    let list = path!("api" / "v1" / "drift-records")
        .and(get())
        .map(|| Endpoint::ListRecords);
    let active = path!("api" / "v1" / "drift-records" / "active")
        .and(get())
        .map(|| Endpoint::ActiveRecords);
    let resolved = path!("api" / "v1" / "drift-records" / "resolved")
        .and(get())
        .map(|| Endpoint::ResolvedRecords);
    let record = path!("api" / "v1" / "drift-records" / String)
        .and(get())
        .map(Endpoint::Record);
    let events = path!("api" / "v1" / "drift-records" / String / "events")
        .and(get())
        .map(Endpoint::RecordEvents);
    let statistics = path!("api" / "v1" / "statistics")
        .and(get())
        .map(|| Endpoint::Statistics);
    let timeline = path!("api" / "v1" / "statistics" / "timeline")
        .and(get())
        .map(|| Endpoint::Timeline);
    let applications = path!("api" / "v1" / "applications")
        .and(get())
        .map(|| Endpoint::Applications);
    let clusters = path!("api" / "v1" / "clusters")
        .and(get())
        .map(|| Endpoint::Clusters);
    let analyze = path!("api" / "v1" / "analyze")
        .and(post())
        .map(|| Endpoint::Analyze);
    let stream = path!("api" / "v1" / "stream")
        .and(get())
        .map(|| Endpoint::Stream);
    let ui = crate::ui::request().and(get()).map(Endpoint::Ui);

    health
        .or(ready)
        .unify()
        .or(metrics)
        .unify()
        .or(list)
        .unify()
        .or(active)
        .unify()
        .or(resolved)
        .unify()
        .or(record)
        .unify()
        .or(events)
        .unify()
        .or(statistics)
        .unify()
        .or(timeline)
        .unify()
        .or(applications)
        .unify()
        .or(clusters)
        .unify()
        .or(analyze)
        .unify()
        .or(stream)
        .unify()
        .or(ui)
        .unify()
        .map(Ok)
        .or_else(|rejection: Rejection| async move {
            Ok::<_, std::convert::Infallible>((Err(Unmatched::of(&rejection)),))
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// docs/openapi.yaml describes exactly the routes served, no more, no fewer.
    #[test]
    fn the_openapi_document_lists_exactly_the_served_routes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.yaml");
        let text = std::fs::read_to_string(path).expect("docs/openapi.yaml is readable");
        let document: serde_json::Value =
            serde_saphyr::from_str(&text).expect("docs/openapi.yaml is YAML");
        let documented: BTreeSet<(String, String)> = document["paths"]
            .as_object()
            .expect("a paths map")
            .iter()
            .flat_map(|(path, operations)| {
                operations
                    .as_object()
                    .expect("an operations map")
                    .keys()
                    .map(move |method| (method.clone(), path.clone()))
            })
            .collect();
        let served: BTreeSet<(String, String)> = Endpoint::every()
            .iter()
            .map(|e| (e.method().to_owned(), e.template().to_owned()))
            .collect();
        assert_eq!(documented, served);
    }
}
