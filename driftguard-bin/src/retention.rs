//! Pruning while the service runs: once at start, then every `retention.interval`, the
//! store deletes the events and resolved records that `retention` no longer keeps. Each
//! prune is logged with its counts and added to
//! `driftguard_retention_pruned_total{kind="events"|"records"}`.

use std::sync::Arc;

use chrono::Utc;
use driftguard_core::{DriftStore, error_chain};
use driftguard_store::RetentionConfig;
use prometheus::{IntCounterVec, Opts, Registry};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// Starts pruning `store` as `config` says, counting into a metric registered on
/// `registry`. The task runs until the runtime stops; a failed prune is logged and
/// tried again at the next tick.
pub fn spawn(
    store: Arc<dyn DriftStore>,
    config: RetentionConfig,
    registry: &Registry,
) -> anyhow::Result<JoinHandle<()>> {
    let pruned = IntCounterVec::new(
        Opts::new(
            "driftguard_retention_pruned_total",
            "Events and resolved records deleted because retention no longer keeps them",
        ),
        &["kind"],
    )?;
    registry.register(Box::new(pruned.clone()))?;
    Ok(tokio::spawn(run(store, config, pruned)))
}

async fn run(store: Arc<dyn DriftStore>, config: RetentionConfig, pruned: IntCounterVec) {
    // The first tick completes at once: a prune at start.
    let mut ticker = tokio::time::interval(config.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        prune_once(store.as_ref(), &config, &pruned).await;
    }
}

/// One prune at the cutoffs of now, logged and counted.
async fn prune_once(store: &dyn DriftStore, config: &RetentionConfig, pruned: &IntCounterVec) {
    let cutoffs = config.cutoffs(Utc::now());
    match store.prune(cutoffs.events, cutoffs.resolved_records).await {
        Ok(counts) => {
            pruned.with_label_values(&["events"]).inc_by(counts.events);
            pruned
                .with_label_values(&["records"])
                .inc_by(counts.records);
            tracing::info!(
                events = counts.events,
                records = counts.records,
                events_before = %cutoffs.events.to_rfc3339(),
                resolved_before = %cutoffs.resolved_records.to_rfc3339(),
                "🧹 pruned what retention no longer keeps"
            );
        }
        Err(error) => tracing::warn!(
            error = %error_chain(&error),
            "❌ pruning failed; trying again at the next interval"
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;
    use driftguard_core::{DEFAULT_APPLICATION, DriftEvent, EventKind, ResourceId};
    use driftguard_store::SqliteStore;

    use super::*;

    fn event(at: chrono::DateTime<Utc>) -> DriftEvent {
        DriftEvent {
            cluster: "default".to_owned(),
            resource_id: ResourceId::namespaced("Deployment", "shop", "web"),
            application: DEFAULT_APPLICATION.to_owned(),
            kind: EventKind::DriftDetected,
            at,
            drift_types: Vec::new(),
            severity: None,
            git_revision: None,
            message: "drift".to_owned(),
            key: String::new(),
        }
    }

    #[tokio::test]
    async fn prunes_at_start_and_counts_what_it_deleted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn DriftStore> =
            Arc::new(SqliteStore::open(dir.path().join("drift.db")).expect("open"));
        let old = Utc
            .with_ymd_and_hms(2020, 1, 1, 0, 0, 0)
            .single()
            .expect("valid time");
        store
            .save(&[], &[event(old), event(Utc::now())])
            .await
            .expect("save");
        let registry = Registry::new();
        let config = RetentionConfig {
            interval: Duration::from_secs(3_600),
            ..RetentionConfig::default()
        };
        let task = spawn(Arc::clone(&store), config, &registry).expect("metric registers");
        let mut left = usize::MAX;
        for _ in 0..500 {
            left = store
                .events(&Default::default())
                .await
                .expect("events")
                .events
                .len();
            if left == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        task.abort();
        assert_eq!(left, 1, "the old event is pruned at start");
        let text = prometheus::TextEncoder::new()
            .encode_to_string(&registry.gather())
            .expect("metrics encode");
        assert!(
            text.contains("driftguard_retention_pruned_total{kind=\"events\"} 1"),
            "{text}"
        );
    }
}
