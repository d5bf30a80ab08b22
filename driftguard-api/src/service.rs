//! The state shared by the API and the analysis loop.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Utc;
use driftguard_core::{Detector, DriftStore};

use crate::auth::Access;
use crate::cluster::{ClusterAnalysis, ClusterRuntime};
use crate::metrics::Metrics;
use crate::readiness::{Component, StoreHealth};
use crate::stream::Streams;
use crate::tls::Tls;
use crate::{Error, ServiceSettings};

/// A DriftGuard service: the clusters it analyses (each a detector over its sources and
/// the shared store), the store, settings, readiness and metrics. With no cluster it is
/// a hub: it serves what other instances wrote to the shared store. Cheap to clone; clones
/// share everything. Hand it to [`crate::serve`] to run it.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn DriftStore>,
    clusters: Vec<ClusterRuntime>,
    settings: ServiceSettings,
    metrics: Metrics,
    store_health: StoreHealth,
    tls: Option<Tls>,
    access: Access,
    streams: Streams,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// A service analysing one cluster with `detector`, always as its leader, with a
    /// metrics registry of its own.
    ///
    /// Fails as [`Service::with_clusters`] does.
    pub fn new(detector: Detector, settings: ServiceSettings) -> Result<Self, Error> {
        let store = Arc::clone(detector.store());
        Self::with_clusters(store, vec![ClusterAnalysis::new(detector)], settings)
    }

    /// A service analysing `clusters`, whose detectors write to `store`; with none, a hub
    /// that serves every cluster's records and status documents from `store`.
    ///
    /// Fails when two clusters share a name, when a setting is out of range (a zero
    /// `interval` or `max_connections`), when the TLS certificate or key cannot be read or
    /// used, when the tokens file of `auth` cannot be read or is invalid, or when the
    /// metrics exporter cannot be set up.
    pub fn with_clusters(
        store: Arc<dyn DriftStore>,
        clusters: Vec<ClusterAnalysis>,
        settings: ServiceSettings,
    ) -> Result<Self, Error> {
        let mut names = HashSet::new();
        if let Some(twice) = clusters.iter().find(|c| !names.insert(c.name().to_owned())) {
            return Err(Error::Settings(format!(
                "the cluster `{}` is analysed twice",
                twice.name()
            )));
        }
        if settings.interval.is_zero() {
            return Err(Error::Settings(
                "interval must be longer than zero".to_owned(),
            ));
        }
        if settings.max_connections == 0 {
            return Err(Error::Settings(
                "max_connections must be at least 1".to_owned(),
            ));
        }
        if settings.stream_keep_alive.is_zero() {
            return Err(Error::Settings(
                "stream_keep_alive must be longer than zero".to_owned(),
            ));
        }
        let tls = Tls::load(&settings.tls)?;
        let metrics = Metrics::new()?;
        let now = Utc::now();
        let store_health = StoreHealth::new(metrics.component_ready_gauge(), now);
        let clusters = clusters
            .into_iter()
            .map(|cluster| ClusterRuntime::new(cluster, &metrics, now))
            .collect();
        let access = Access::new(&settings.auth, settings.analyze_rate_limit, &metrics)?;
        let streams = Streams::new(metrics.streams_gauge());
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                clusters,
                settings,
                metrics,
                store_health,
                tls,
                access,
                streams,
            }),
        })
    }

    /// The settings the service runs with.
    pub fn settings(&self) -> &ServiceSettings {
        &self.inner.settings
    }

    /// The Prometheus registry `/metrics` renders. Embedders may register collectors of
    /// their own on it (process metrics, for example).
    pub fn metrics_registry(&self) -> &prometheus::Registry {
        self.inner.metrics.registry()
    }

    /// Asks for a full analysis of every cluster this instance leads, as
    /// `POST /api/v1/analyze` does; requests made while an analysis runs are merged into
    /// one analysis after it. A standby ignores it.
    pub fn request_analysis(&self) {
        for cluster in &self.inner.clusters {
            cluster.trigger().request();
        }
    }

    /// The clusters this instance analyses (leads or stands by for), in configuration
    /// order; empty for a hub.
    pub(crate) fn clusters(&self) -> &[ClusterRuntime] {
        &self.inner.clusters
    }

    /// The store the API reads from and the analyses write to.
    pub(crate) fn store(&self) -> &Arc<dyn DriftStore> {
        &self.inner.store
    }

    /// Whether the store answers.
    pub(crate) fn store_health(&self) -> &StoreHealth {
        &self.inner.store_health
    }

    /// Records that the store answered: the instance's store health, and each cluster's
    /// store component, which a failed write of an analysis may have left not ready.
    pub(crate) fn store_answered(&self) {
        self.inner.store_health.succeeded();
        for cluster in &self.inner.clusters {
            cluster.readiness().succeeded(Component::Store);
        }
    }

    /// The metric instruments.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The cluster this instance analyses named `name`.
    pub(crate) fn cluster(&self, name: &str) -> Option<&ClusterRuntime> {
        self.inner.clusters.iter().find(|c| c.name() == name)
    }

    /// HTTPS, when configured.
    pub(crate) fn tls(&self) -> Option<&Tls> {
        self.inner.tls.as_ref()
    }

    /// Who may use the API.
    pub(crate) fn access(&self) -> &Access {
        &self.inner.access
    }

    /// Where analyses are published to the open event streams.
    pub(crate) fn streams(&self) -> &Streams {
        &self.inner.streams
    }
}
