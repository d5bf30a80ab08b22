//! What each endpoint answers.

use std::time::Duration;

use chrono::Utc;
use driftguard_core::{
    DriftRecord, DriftStatus, PortError, PortErrorKind, ResourceId, error_chain,
};
use warp::http::StatusCode;
use warp::http::header::CONTENT_TYPE;
use warp::reply::Response;

use super::body::{
    ApplicationBody, ApplicationList, ClusterBody, ClusterList, EventList, NotReadyBody,
    NotReadyComponent, RecordList, StatisticsBody, StatusBody,
};
use super::cursor;
use super::endpoint::Endpoint;
use super::params::{
    CLUSTER_PARAMS, EVENT_PARAMS, LIST_PARAMS, Params, STATUS_LIST_PARAMS, resource_id,
};
use super::reply::{ApiError, json};
use crate::Service;
use crate::readiness::Component;

/// The reason `/ready` gives for every component that is not ready, with access control
/// on.
const WITHHELD_REASON: &str =
    "not ready; the reason is not shown while server.auth is on (see the service log)";

/// How long `/ready` waits for the store to answer its ping.
const STORE_PING_TIMEOUT: Duration = Duration::from_secs(5);

/// The answer of `endpoint` to a request with query string `query`.
pub(crate) async fn answer(endpoint: Endpoint, query: &str, service: &Service) -> Response {
    let result = match endpoint {
        Endpoint::Health => Ok(health()),
        Endpoint::Ready => Ok(ready(service).await),
        Endpoint::Metrics => metrics(service),
        Endpoint::ListRecords => list(service, query, LIST_PARAMS, None).await,
        Endpoint::ActiveRecords => {
            list(
                service,
                query,
                STATUS_LIST_PARAMS,
                Some(DriftStatus::Active),
            )
            .await
        }
        Endpoint::ResolvedRecords => {
            list(
                service,
                query,
                STATUS_LIST_PARAMS,
                Some(DriftStatus::Resolved),
            )
            .await
        }
        Endpoint::Record(segment) => record(service, query, &segment).await,
        Endpoint::RecordEvents(segment) => events(service, query, &segment).await,
        Endpoint::Statistics => statistics(service, query).await,
        Endpoint::Applications => applications(service, query).await,
        Endpoint::Clusters => clusters(service, query).await,
        Endpoint::Analyze => analyze(service, query),
    };
    result.unwrap_or_else(ApiError::into_response)
}

fn health() -> Response {
    json(
        StatusCode::OK,
        &StatusBody {
            status: "healthy",
            message: "Service is running",
        },
    )
}

async fn ready(service: &Service) -> Response {
    let readiness = service.readiness();
    match tokio::time::timeout(STORE_PING_TIMEOUT, service.store().ping()).await {
        Ok(Ok(())) => readiness.succeeded(Component::Store),
        Ok(Err(error)) => readiness.failed(
            Component::Store,
            format!("drift store failed: {}", error_chain(&error)),
            Utc::now(),
        ),
        Err(_) => readiness.failed(
            Component::Store,
            format!(
                "drift store failed: no answer to a ping within {} s",
                STORE_PING_TIMEOUT.as_secs()
            ),
            Utc::now(),
        ),
    }
    let not_ready = readiness.not_ready();
    if not_ready.is_empty() {
        return json(
            StatusCode::OK,
            &StatusBody {
                status: "ready",
                message: "All components ready",
            },
        );
    }
    let names: Vec<&str> = not_ready.iter().map(|n| n.component.as_str()).collect();
    let mut components: Vec<NotReadyComponent> = not_ready.into_iter().map(Into::into).collect();
    if service.access().enabled() {
        // `/ready` stays open to probes: it then names components only, since a reason
        // may name a URL, a host or a path.
        for component in &mut components {
            component.reason = WITHHELD_REASON.to_owned();
        }
    }
    json(
        StatusCode::SERVICE_UNAVAILABLE,
        &NotReadyBody {
            status: "not_ready",
            message: format!("Components not ready: {}", names.join(", ")),
            components,
        },
    )
}

fn metrics(service: &Service) -> Result<Response, ApiError> {
    let text = service
        .metrics()
        .render()
        .map_err(|e| ApiError::internal(format!("cannot render metrics: {e}")))?;
    let mut response = Response::new(text.into());
    response.headers_mut().insert(
        CONTENT_TYPE,
        warp::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// Passes a store result through, keeping the store's readiness up to date.
fn from_store<T>(service: &Service, result: Result<T, PortError>) -> Result<T, ApiError> {
    match result {
        Ok(value) => {
            service.readiness().succeeded(Component::Store);
            Ok(value)
        }
        Err(error) => {
            let text = error_chain(&error);
            tracing::error!(
                error = text,
                "❌ drift store failed to answer an API request: {text}"
            );
            service.readiness().failed(
                Component::Store,
                format!("drift store failed: {text}"),
                Utc::now(),
            );
            Err(ApiError::store_unavailable(&error))
        }
    }
}

async fn list(
    service: &Service,
    query: &str,
    accepted: &[&str],
    status: Option<DriftStatus>,
) -> Result<Response, ApiError> {
    let filter = Params::parse(query, accepted)?.record_filter(status)?;
    let records = from_store(service, service.store().list(&filter).await)?;
    Ok(json(
        StatusCode::OK,
        &RecordList {
            count: records.len(),
            drift_records: records,
        },
    ))
}

/// The record of `id` in `cluster`; without a cluster, the one record of `id` in
/// whichever cluster has it: 404 when none has, 409 naming them when several have.
async fn find_record(
    service: &Service,
    cluster: Option<&str>,
    id: &ResourceId,
) -> Result<DriftRecord, ApiError> {
    if let Some(cluster) = cluster {
        return from_store(service, service.store().get(cluster, id).await)?.ok_or_else(|| {
            ApiError::not_found(format!("no drift record for `{id}` in cluster `{cluster}`"))
        });
    }
    let mut records = from_store(service, service.store().lookup(id).await)?;
    match records.len() {
        0 => Err(ApiError::not_found(format!("no drift record for `{id}`"))),
        1 => Ok(records.remove(0)),
        _ => {
            let clusters: Vec<String> = records.into_iter().map(|r| r.cluster).collect();
            Err(ApiError::ambiguous(
                format!(
                    "`{id}` has a drift record in several clusters ({}); name one with ?cluster=",
                    clusters.join(", ")
                ),
                clusters,
            ))
        }
    }
}

async fn record(service: &Service, query: &str, segment: &str) -> Result<Response, ApiError> {
    let id = resource_id(segment)?;
    let cluster = Params::parse(query, CLUSTER_PARAMS)?.cluster()?;
    let record = find_record(service, cluster.as_deref(), &id).await?;
    Ok(json(StatusCode::OK, &record))
}

async fn events(service: &Service, query: &str, segment: &str) -> Result<Response, ApiError> {
    let id = resource_id(segment)?;
    let params = Params::parse(query, EVENT_PARAMS)?;
    let cluster = params.cluster()?;
    // Checked before the store is asked for anything.
    params.event_filter(String::new(), id.clone())?;
    let record = find_record(service, cluster.as_deref(), &id).await?;
    let filter = params.event_filter(record.cluster, id.clone())?;
    let page = match service.store().events(&filter).await {
        // The store is fine; the cursor is not one of its positions.
        Err(error) if error.kind == PortErrorKind::InvalidRequest => {
            return Err(params.refused_cursor());
        }
        result => from_store(service, result)?,
    };
    Ok(json(
        StatusCode::OK,
        &EventList {
            resource_id: id.to_string(),
            count: page.events.len(),
            events: page.events,
            next: page.next.as_ref().map(cursor::encode),
        },
    ))
}

async fn statistics(service: &Service, query: &str) -> Result<Response, ApiError> {
    let cluster = Params::parse(query, CLUSTER_PARAMS)?.cluster()?;
    let statistics = from_store(
        service,
        service.store().statistics(cluster.as_deref()).await,
    )?;
    Ok(json(StatusCode::OK, &StatisticsBody { statistics }))
}

async fn applications(service: &Service, query: &str) -> Result<Response, ApiError> {
    Params::parse(query, &[])?;
    let counts = from_store(service, service.store().application_counts().await)?;
    let applications: Vec<ApplicationBody> = service
        .detector()
        .application_statuses()
        .into_iter()
        .map(|status| {
            let counts = counts.get(&status.name).copied().unwrap_or_default();
            ApplicationBody::new(status, counts)
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &ApplicationList {
            count: applications.len(),
            applications,
        },
    ))
}

/// The clusters in the store, and this instance's own even before it stored a record.
/// Only the own cluster's last analysis, readiness and leadership are known here (this
/// instance analyses it, and without leader election it leads it); the others' are
/// `null`.
async fn clusters(service: &Service, query: &str) -> Result<Response, ApiError> {
    Params::parse(query, &[])?;
    let mut counts = from_store(service, service.store().cluster_counts().await)?;
    let own = service.cluster();
    counts.entry(own.to_owned()).or_default();
    let clusters: Vec<ClusterBody> = counts
        .into_iter()
        .map(|(name, counts)| {
            let is_own = name == own;
            ClusterBody {
                last_analysis: service.last_analysis().get().filter(|_| is_own),
                ready: is_own.then(|| service.readiness().not_ready().is_empty()),
                leader: is_own.then_some(true),
                counts,
                name,
            }
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &ClusterList {
            count: clusters.len(),
            clusters,
        },
    ))
}

fn analyze(service: &Service, query: &str) -> Result<Response, ApiError> {
    Params::parse(query, &[])?;
    service.request_analysis();
    Ok(json(
        StatusCode::ACCEPTED,
        &StatusBody {
            message: "Analysis triggered",
            status: "started",
        },
    ))
}
