//! A hub analyses nothing: it serves what the instances analysing each cluster wrote to the
//! shared store. What it runs instead of analysis loops is this refresh of its metrics
//! from the store, every interval: each cluster's readiness and resource count from its
//! status document, and its active drift gauges from its active records; and an `analysis`
//! event on the event streams for each cluster whose status document reports a newer
//! analysis than at the refresh before.

use std::collections::BTreeMap;

use chrono::Utc;
use driftguard_core::ports::RecordFilter;
use driftguard_core::{DriftRecord, DriftStatus, error_chain};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::Service;
use crate::active::ActiveDrift;
use crate::metrics::ClusterMetrics;
use crate::stream::FollowedAnalyses;

/// Refreshes the hub's metrics at once and then every interval, until `cancel` fires.
pub(crate) async fn run(service: Service, cancel: CancellationToken) {
    tracing::info!("detection is off: serving every cluster's records from the store");
    let mut ticker = tokio::time::interval(service.settings().interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut clusters: BTreeMap<String, ClusterMetrics> = BTreeMap::new();
    let mut analyses = FollowedAnalyses::default();
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        if let Err(reason) = refresh(&service, &mut clusters, &mut analyses).await {
            tracing::error!(
                error = reason,
                "❌ cannot refresh the clusters' metrics: {reason}"
            );
            service.store_health().failed(reason, Utc::now());
        } else {
            service.store_health().succeeded();
        }
    }
    tracing::info!("hub refresh stopped");
}

/// One refresh; the error says what the store failed to answer.
async fn refresh(
    service: &Service,
    clusters: &mut BTreeMap<String, ClusterMetrics>,
    analyses: &mut FollowedAnalyses,
) -> Result<(), String> {
    let store = service.store();
    let failed = |error| format!("drift store failed: {}", error_chain(&error));
    let statuses = store.cluster_statuses().await.map_err(failed)?;
    // Pages on a hub update too: an `analysis` event per newer analysis reported.
    analyses.observe(&statuses, service.streams());
    let active = store
        .list(&RecordFilter {
            drift_status: Some(DriftStatus::Active),
            ..RecordFilter::default()
        })
        .await
        .map_err(failed)?;
    let mut by_cluster: BTreeMap<String, Vec<DriftRecord>> = BTreeMap::new();
    for record in active {
        by_cluster
            .entry(record.cluster.clone())
            .or_default()
            .push(record);
    }
    let now = Utc::now();
    for status in &statuses {
        let metrics = clusters
            .entry(status.cluster.clone())
            .or_insert_with(|| service.metrics().cluster(&status.cluster));
        metrics.cluster_ready(status.is_ready(now));
        metrics.resources_watched(status.resources);
    }
    // Every cluster seen before or now: one whose drift is gone reads 0.
    for name in by_cluster.keys() {
        clusters
            .entry(name.clone())
            .or_insert_with(|| service.metrics().cluster(name));
    }
    for (name, metrics) in clusters.iter() {
        let records = by_cluster.get(name).map(Vec::as_slice).unwrap_or_default();
        let active = ActiveDrift::from_records(records);
        metrics.drift_scores(&active.scores());
        metrics.active_drift(&active.counts());
    }
    Ok(())
}
