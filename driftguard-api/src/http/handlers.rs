//! What each endpoint answers.

use std::time::Duration;

use chrono::Utc;
use driftguard_core::{
    DriftRecord, DriftStatus, Leadership, PortError, PortErrorKind, ResourceId, error_chain,
};
use warp::http::StatusCode;
use warp::http::header::CONTENT_TYPE;
use warp::reply::Response;

use super::body::{
    ApplicationBody, ApplicationList, ClusterBody, ClusterList, EventList, FailingApplication,
    NotReadyComponent, ReadyBody, ReadyCluster, RecordList, StatisticsBody, StatusBody,
    TimelineBody,
};
use super::cursor;
use super::endpoint::Endpoint;
use super::params::{
    CLUSTER_PARAMS, EVENT_PARAMS, LIST_PARAMS, Params, STATUS_LIST_PARAMS, TIMELINE_PARAMS,
    resource_id,
};
use super::reply::{ApiError, json};
use super::views::{self, ClusterView};
use crate::Service;
use crate::cluster::ClusterRuntime;
use crate::connection;

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
        Endpoint::Timeline => timeline(service, query).await,
        Endpoint::Applications => applications(service, query).await,
        Endpoint::Clusters => clusters(service, query).await,
        Endpoint::Analyze => analyze(service, query),
        Endpoint::Stream => stream(service, query),
        Endpoint::Ui(request) => Ok(request.answer()),
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

/// `/ready`: 503 only when the store does not answer (the instance can serve nothing);
/// otherwise 200, `ready` or `degraded`, listing what is failing in each cluster it
/// reports on: its own clusters for an instance that analyses, every cluster for a hub.
async fn ready(service: &Service) -> Response {
    let health = service.store_health();
    let views = match tokio::time::timeout(STORE_PING_TIMEOUT, views::cluster_views(service)).await
    {
        Ok(Ok(views)) => {
            service.store_answered();
            Some(views)
        }
        Ok(Err(error)) => {
            health.failed(
                format!("drift store failed: {}", error_chain(&error)),
                Utc::now(),
            );
            None
        }
        Err(_) => {
            health.failed(
                format!(
                    "drift store failed: no answer within {} s",
                    STORE_PING_TIMEOUT.as_secs()
                ),
                Utc::now(),
            );
            None
        }
    };
    let store_down = health.not_ready();
    let views = views.unwrap_or_else(|| views::configured_views(service));
    let hub = service.clusters().is_empty();
    let views: Vec<ClusterView> = views.into_iter().filter(|v| hub || v.configured).collect();
    let withheld = service.access().enabled();
    let reason = |reason: String| {
        // `/ready` stays open to probes: with access control on it names components only,
        // since a reason may name a URL, a host or a path.
        if withheld {
            WITHHELD_REASON.to_owned()
        } else {
            reason
        }
    };
    let mut components: Vec<NotReadyComponent> = Vec::new();
    if let Some(store) = store_down.clone() {
        let mut store = NotReadyComponent::from(store);
        store.reason = reason(store.reason);
        components.push(store);
    }
    let mut failing_names = Vec::new();
    let clusters: Vec<ReadyCluster> = views
        .into_iter()
        .map(|view| {
            if view.ready != Some(true) {
                failing_names.push(format!("cluster {}", view.name));
            }
            for failing in &view.failing {
                if store_down.is_some() && failing.component == "store" {
                    // Said once, for the instance, above.
                    continue;
                }
                components.push(NotReadyComponent {
                    component: failing.component.clone(),
                    cluster: Some(view.name.clone()),
                    reason: reason(failing.reason.clone()),
                    since: failing.since,
                });
            }
            let failing_applications = view
                .failing_applications()
                .map(|a| FailingApplication {
                    name: a.name.clone(),
                    status: a.status.as_str(),
                    error: a.error.clone().map(&reason),
                })
                .collect();
            ReadyCluster {
                ready: view.ready,
                leader: view.leader,
                leading: view.leads,
                failing_applications,
                name: view.name,
            }
        })
        .collect();
    let (status, code, message) = if store_down.is_some() {
        (
            "not_ready",
            StatusCode::SERVICE_UNAVAILABLE,
            "Components not ready: store".to_owned(),
        )
    } else if failing_names.is_empty() {
        ("ready", StatusCode::OK, "All components ready".to_owned())
    } else {
        (
            "degraded",
            StatusCode::OK,
            format!("Serving; not ready: {}", failing_names.join(", ")),
        )
    };
    json(
        code,
        &ReadyBody {
            status,
            message,
            components,
            clusters,
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
            service.store_answered();
            Ok(value)
        }
        Err(error) => {
            let text = error_chain(&error);
            tracing::error!(
                error = text,
                "❌ drift store failed to answer an API request: {text}"
            );
            service
                .store_health()
                .failed(format!("drift store failed: {text}"), Utc::now());
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
    // A page short of its limit that holds records ends the listing: its total is known
    // without counting.
    let total = if records.len() < filter.limit.unwrap_or(usize::MAX)
        && (!records.is_empty() || filter.offset == 0)
    {
        u64::try_from(filter.offset + records.len()).unwrap_or(u64::MAX)
    } else {
        from_store(service, service.store().count(&filter).await)?
    };
    Ok(json(
        StatusCode::OK,
        &RecordList {
            count: records.len(),
            drift_records: records,
            total,
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

/// `GET /api/v1/statistics/timeline`: lifecycle events per bucket and severity, up to
/// the bucket holding the present.
async fn timeline(service: &Service, query: &str) -> Result<Response, ApiError> {
    let asked = Params::parse(query, TIMELINE_PARAMS)?.timeline(Utc::now())?;
    let timeline = from_store(service, service.store().timeline(&asked.query).await)?;
    Ok(json(
        StatusCode::OK,
        &TimelineBody {
            window: asked.window,
            step: asked.step,
            from: asked.query.from,
            to: asked.query.to(),
            buckets: timeline.buckets,
        },
    ))
}

/// The applications of every cluster this instance knows (`?cluster=` keeps one), from
/// its memory for the clusters it leads and from the status documents for the others.
async fn applications(service: &Service, query: &str) -> Result<Response, ApiError> {
    let cluster = Params::parse(query, CLUSTER_PARAMS)?.cluster()?;
    let counts = from_store(service, service.store().application_counts().await)?;
    let views = from_store(service, views::cluster_views(service).await)?;
    let applications: Vec<ApplicationBody> = views
        .into_iter()
        .filter(|view| cluster.as_deref().is_none_or(|c| c == view.name))
        .flat_map(|view| view.applications)
        .map(|status| {
            let key = (status.cluster.clone(), status.name.clone());
            let counts = counts.get(&key).copied().unwrap_or_default();
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

/// Every cluster with records in the store, a status document, or a place in this
/// instance's configuration, by name.
async fn clusters(service: &Service, query: &str) -> Result<Response, ApiError> {
    Params::parse(query, &[])?;
    let mut counts = from_store(service, service.store().cluster_counts().await)?;
    let views = from_store(service, views::cluster_views(service).await)?;
    for view in &views {
        counts.entry(view.name.clone()).or_default();
    }
    let clusters: Vec<ClusterBody> = counts
        .into_iter()
        .map(|(name, counts)| {
            let view = views.iter().find(|v| v.name == name);
            ClusterBody {
                last_analysis: view.and_then(|v| v.last_analysis),
                ready: view.and_then(|v| v.ready),
                leader: view.and_then(|v| v.leader.clone()),
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

/// Asks for a full analysis of the clusters this instance leads (`?cluster=` names one).
/// An instance that leads none of them answers 503, naming who does: only a leader
/// analyses.
fn analyze(service: &Service, query: &str) -> Result<Response, ApiError> {
    let cluster = Params::parse(query, CLUSTER_PARAMS)?.cluster()?;
    let targets: Vec<&ClusterRuntime> = match cluster.as_deref() {
        Some(name) => vec![service.cluster(name).ok_or_else(|| {
            ApiError::not_found(format!("this instance does not analyse cluster `{name}`"))
        })?],
        None => service.clusters().iter().collect(),
    };
    if targets.is_empty() {
        return Err(ApiError::standby(
            "this instance analyses no cluster (detection.enabled is false); ask the instance \
             that analyses the cluster"
                .to_owned(),
            None,
        ));
    }
    let leading: Vec<&ClusterRuntime> = targets
        .iter()
        .copied()
        .filter(|c| c.leadership().is_leader())
        .collect();
    if leading.is_empty() {
        let standby = targets[0];
        let leader = match standby.leadership() {
            Leadership::Standby { leader } => leader,
            Leadership::Leader => None,
        };
        let message = match &leader {
            Some(leader) => format!(
                "this instance is a standby for cluster `{}`; its leader is {leader}",
                standby.name()
            ),
            None => format!(
                "this instance is a standby for cluster `{}`, which has no leader yet; retry shortly",
                standby.name()
            ),
        };
        return Err(ApiError::standby(message, leader));
    }
    for cluster in leading {
        cluster.trigger().request();
    }
    Ok(json(
        StatusCode::ACCEPTED,
        &StatusBody {
            message: "Analysis triggered",
            status: "started",
        },
    ))
}

/// `GET /api/v1/stream`: Server-Sent Events until the client goes away or its connection
/// is asked to close; 503 when too many streams are open.
fn stream(service: &Service, query: &str) -> Result<Response, ApiError> {
    Params::parse(query, &[])?;
    service.streams().open(service, connection::current())
}
