//! The state shared by the API and the analysis loop.

use std::sync::Arc;

use chrono::Utc;
use driftguard_core::{Detector, DriftStore};

use crate::auth::Access;
use crate::last_analysis::LastAnalysis;
use crate::metrics::Metrics;
use crate::readiness::Readiness;
use crate::tls::Tls;
use crate::trigger::AnalysisTrigger;
use crate::{Error, ServiceSettings};

/// A DriftGuard service: its detector (sources and store), settings, readiness, metrics
/// and analysis trigger. Cheap to clone; clones share everything. Hand it to
/// [`crate::serve`] to run it.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    detector: Detector,
    settings: ServiceSettings,
    metrics: Metrics,
    readiness: Readiness,
    last_analysis: LastAnalysis,
    trigger: AnalysisTrigger,
    tls: Option<Tls>,
    access: Access,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// A service over `detector`, with a metrics registry of its own.
    ///
    /// Fails when a setting is out of range (a zero `interval` or `max_connections`), when
    /// the TLS certificate or key cannot be read or used, when the tokens file of `auth`
    /// cannot be read or is invalid, or when the metrics exporter cannot be set up.
    pub fn new(detector: Detector, settings: ServiceSettings) -> Result<Self, Error> {
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
        let tls = Tls::load(&settings.tls)?;
        let metrics = Metrics::new(&detector.settings().cluster)?;
        let readiness = Readiness::new(metrics.component_ready_gauge(), Utc::now());
        let access = Access::new(&settings.auth, settings.analyze_rate_limit, &metrics)?;
        Ok(Self {
            inner: Arc::new(Inner {
                detector,
                settings,
                metrics,
                readiness,
                last_analysis: LastAnalysis::default(),
                trigger: AnalysisTrigger::default(),
                tls,
                access,
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

    /// Asks for a full analysis, as `POST /api/v1/analyze` does; requests made while an
    /// analysis runs are merged into one analysis after it.
    pub fn request_analysis(&self) {
        self.inner.trigger.request();
    }

    /// The detector the analysis loop runs.
    pub(crate) fn detector(&self) -> &Detector {
        &self.inner.detector
    }

    /// The store the API reads from.
    pub(crate) fn store(&self) -> &Arc<dyn DriftStore> {
        self.inner.detector.store()
    }

    /// The metric instruments.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The last full analysis of this instance.
    pub(crate) fn last_analysis(&self) -> &LastAnalysis {
        &self.inner.last_analysis
    }

    /// The name of the cluster this instance analyses (`cluster.name`).
    pub(crate) fn cluster(&self) -> &str {
        &self.inner.detector.settings().cluster
    }

    /// The readiness of the components.
    pub(crate) fn readiness(&self) -> &Readiness {
        &self.inner.readiness
    }

    /// HTTPS, when configured.
    pub(crate) fn tls(&self) -> Option<&Tls> {
        self.inner.tls.as_ref()
    }

    /// Who may use the API.
    pub(crate) fn access(&self) -> &Access {
        &self.inner.access
    }

    /// The coalescing trigger of full analyses.
    pub(crate) fn trigger(&self) -> &AnalysisTrigger {
        &self.inner.trigger
    }
}
