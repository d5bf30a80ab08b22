//! The service's metrics: OpenTelemetry instruments exported to a Prometheus registry.
//!
//! The exporter is configured so that the names in `/metrics` are exactly the documented
//! ones: no unit suffixes, no `otel_scope_*` labels and no `target_info` family. Counters
//! get their `_total` suffix from the exporter.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge, Histogram, MeterProvider};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use prometheus::{Registry, TextEncoder};

use crate::Error;
use crate::active::ActiveCounts;

/// Bucket bounds (seconds) of the analysis duration histogram: from a few milliseconds
/// (a targeted analysis) to minutes (a large cluster over a slow link).
const SYNC_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// Bucket bounds (seconds) of the render duration histogram: from a small kustomization
/// to a chart near the 90 s render timeout.
const RENDER_BUCKETS: [f64; 12] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 90.0,
];

/// Bucket bounds (seconds) of the API request duration histogram.
const REQUEST_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Which kind of analysis a measurement belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnalysisMode {
    /// Both snapshots, every desired resource.
    Full,
    /// One resource after a live change.
    Targeted,
}

impl AnalysisMode {
    /// The `mode` label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Targeted => "targeted",
        }
    }
}

/// The metric instruments of one service, and the registry `/metrics` renders.
pub(crate) struct Metrics {
    registry: Registry,
    /// Kept alive for as long as the instruments are used; never read.
    _provider: SdkMeterProvider,
    drift: DriftInstruments,
    request_duration: Histogram<f64>,
    component_ready: Gauge<u64>,
    connections: ConnectionMetrics,
    streams: Gauge<u64>,
    tls_reloads: Counter<u64>,
    tokens_file_valid: Gauge<u64>,
}

/// The instruments whose series carry a `cluster` label, shared by every
/// [`ClusterMetrics`].
#[derive(Clone)]
struct DriftInstruments {
    drift_events: Counter<u64>,
    drift_resolutions: Counter<u64>,
    resources_watched: Gauge<u64>,
    drift_score: Gauge<f64>,
    sync_duration: Histogram<f64>,
    analyses: Counter<u64>,
    last_success: Gauge<f64>,
    render_duration: Histogram<f64>,
    render_failures: Counter<u64>,
    desired_held_back: Counter<u64>,
    component_ready: Gauge<u64>,
    active_drifts: Gauge<u64>,
    active_drift_types: Gauge<u64>,
    leader: Gauge<u64>,
    cluster_ready: Gauge<u64>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Instruments exported to a fresh registry of their own. Drift and analysis series
    /// are recorded through [`Metrics::cluster`], which labels them with their cluster.
    pub(crate) fn new() -> Result<Self, Error> {
        let registry = Registry::new();
        let exporter = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .without_units()
            .without_target_info()
            .scope_info_enabled(false)
            .build()
            .map_err(|e| Error::Metrics(e.to_string()))?;
        let provider = SdkMeterProvider::builder().with_reader(exporter).build();
        let meter = provider.meter("driftguard");
        let component_ready = meter
            .u64_gauge("driftguard_component_ready")
            .with_description(
                "1 when a component is ready, else 0: the store (no cluster label), and each \
                 cluster's desired_source, live_source and store as its analyses found them \
                 (1 on a standby, which analyses nothing)",
            )
            .build();
        let drift = DriftInstruments {
            drift_events: meter
                .u64_counter("driftguard_drift_events")
                .with_description(
                    "Drift events: one per drift type of each detected drift, and per type \
                     newly added to a drift that was already active",
                )
                .build(),
            drift_resolutions: meter
                .u64_counter("driftguard_drift_resolutions")
                .with_description("Resolved drift: one per drift type of each resolution")
                .build(),
            resources_watched: meter
                .u64_gauge("driftguard_resources_watched")
                .with_description("Desired resources analysed by the last full analysis")
                .build(),
            drift_score: meter
                .f64_gauge("driftguard_drift_score")
                .with_description(
                    "Weighted active drift per namespace: High 10, Medium 3, Low 1 per active record",
                )
                .build(),
            sync_duration: meter
                .f64_histogram("driftguard_sync_duration_seconds")
                .with_description("Duration of analyses in seconds, by mode and outcome")
                .with_boundaries(SYNC_BUCKETS.to_vec())
                .build(),
            analyses: meter
                .u64_counter("driftguard_analyses")
                .with_description("Analyses run, by mode and outcome")
                .build(),
            last_success: meter
                .f64_gauge("driftguard_last_successful_analysis_timestamp_seconds")
                .with_description("Unix time of the last successful full analysis")
                .build(),
            render_duration: meter
                .f64_histogram("driftguard_render_duration_seconds")
                .with_description(
                    "Time spent rendering an application's folders (Kustomize, Helm) in \
                     seconds; an unchanged revision is not rendered again and adds nothing",
                )
                .with_boundaries(RENDER_BUCKETS.to_vec())
                .build(),
            render_failures: meter
                .u64_counter("driftguard_render_failures")
                .with_description(
                    "Analyses in which an application's desired state could not be produced \
                     (Git, a renderer, or its manifests); its records were left as they were",
                )
                .build(),
            desired_held_back: meter
                .u64_counter("driftguard_desired_held_back")
                .with_description(
                    "Analyses in which an application's desired state was held back: it held \
                     no objects, or lost more than detection.max_desired_drop of them at once; \
                     its records were left as they were",
                )
                .build(),
            component_ready: component_ready.clone(),
            active_drifts: meter
                .u64_gauge("driftguard_active_drifts")
                .with_description("Active drift records by namespace and severity")
                .build(),
            active_drift_types: meter
                .u64_gauge("driftguard_active_drift_types")
                .with_description(
                    "Active drift records by namespace, drift type and the highest severity \
                     of that type; a record counts once for each of its types",
                )
                .build(),
            leader: meter
                .u64_gauge("driftguard_leader")
                .with_description(
                    "1 while this instance leads a cluster's analyses (holds its Lease, or no \
                     election runs), 0 while it is a standby",
                )
                .build(),
            cluster_ready: meter
                .u64_gauge("driftguard_cluster_ready")
                .with_description(
                    "1 when a cluster's last analysis read every source and application and \
                     its status is current, else 0; a hub publishes it for every cluster from \
                     the status documents",
                )
                .build(),
        };
        Ok(Self {
            drift,
            component_ready,
            request_duration: meter
                .f64_histogram("driftguard_api_request_duration_seconds")
                .with_description(
                    "Duration of API requests in seconds, by route template and status",
                )
                .with_boundaries(REQUEST_BUCKETS.to_vec())
                .build(),
            connections: ConnectionMetrics {
                open: meter
                    .u64_gauge("driftguard_http_connections")
                    .with_description("Open connections to the API server")
                    .build(),
                refused: meter
                    .u64_counter("driftguard_http_connections_refused")
                    .with_description(
                        "Connections closed at once because server.max_connections were open \
                         and none was idle",
                    )
                    .build(),
                evicted: meter
                    .u64_counter("driftguard_http_connections_evicted")
                    .with_description(
                        "Idle connections closed to make room for a new one at \
                         server.max_connections",
                    )
                    .build(),
            },
            streams: meter
                .u64_gauge("driftguard_http_streams")
                .with_description("Open event streams (GET /api/v1/stream)")
                .build(),
            tls_reloads: meter
                .u64_counter("driftguard_tls_certificate_reloads")
                .with_description(
                    "Renewed TLS certificate files read, by outcome: success (new connections \
                     use them) or failure (invalid or unreadable; the previous pair keeps serving)",
                )
                .build(),
            tokens_file_valid: meter
                .u64_gauge("driftguard_auth_tokens_file_valid")
                .with_description(
                    "With server.auth: 1 when the tokens file in place is the one in force, 0 \
                     while an unreadable or invalid file is ignored and the last good tokens \
                     stay in force",
                )
                .build(),
            registry,
            _provider: provider,
        })
    }

    /// The registry `/metrics` renders; embedders may register collectors of their own.
    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The gauge that mirrors component readiness.
    pub(crate) fn component_ready_gauge(&self) -> Gauge<u64> {
        self.component_ready.clone()
    }

    /// The drift and analysis instruments of one cluster: every series they record
    /// carries `cluster="<name>"`, so the series of several clusters (in one instance, or
    /// aggregated over several instances) stay apart.
    pub(crate) fn cluster(&self, name: &str) -> ClusterMetrics {
        ClusterMetrics {
            instruments: self.drift.clone(),
            cluster: KeyValue::new("cluster", name.to_owned()),
            scored_namespaces: Mutex::new(BTreeSet::new()),
            counted_active: Mutex::new(ActiveCounts::default()),
        }
    }

    /// The instruments of the connection cap.
    pub(crate) fn connections(&self) -> ConnectionMetrics {
        self.connections.clone()
    }

    /// The gauge of open event streams.
    pub(crate) fn streams_gauge(&self) -> Gauge<u64> {
        self.streams.clone()
    }

    /// The counter of TLS certificate reloads.
    pub(crate) fn tls_reloads(&self) -> Counter<u64> {
        self.tls_reloads.clone()
    }

    /// The gauge that says whether the tokens file in place is in force.
    pub(crate) fn tokens_file_valid_gauge(&self) -> Gauge<u64> {
        self.tokens_file_valid.clone()
    }

    /// Records one answered API request under its route template.
    pub(crate) fn request(&self, route: &'static str, status: u16, seconds: f64) {
        self.request_duration.record(
            seconds,
            &[
                KeyValue::new("route", route),
                KeyValue::new("status", status.to_string()),
            ],
        );
    }

    /// Every metric in the Prometheus text exposition format.
    pub(crate) fn render(&self) -> Result<String, prometheus::Error> {
        TextEncoder::new().encode_to_string(&self.registry.gather())
    }
}

/// The drift and analysis instruments of one cluster, with what they remember about it.
pub(crate) struct ClusterMetrics {
    instruments: DriftInstruments,
    /// `cluster="<name>"`, on every series recorded here.
    cluster: KeyValue,
    /// Namespaces that have had a drift score, so a namespace whose drift is gone reads 0.
    scored_namespaces: Mutex<BTreeSet<String>>,
    /// Label sets the active drift gauges have had, so those no longer counted read 0.
    counted_active: Mutex<ActiveCounts>,
}

impl std::fmt::Debug for ClusterMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterMetrics")
            .field("cluster", &self.cluster.value.as_str())
            .finish_non_exhaustive()
    }
}

impl ClusterMetrics {
    /// The readiness gauge, for the cluster's [`crate::readiness::Readiness`].
    pub(crate) fn component_ready_gauge(&self) -> (Gauge<u64>, KeyValue) {
        (
            self.instruments.component_ready.clone(),
            self.cluster.clone(),
        )
    }

    /// Publishes whether this instance leads the cluster's analyses.
    pub(crate) fn leader(&self, leads: bool) {
        self.instruments
            .leader
            .record(u64::from(leads), std::slice::from_ref(&self.cluster));
    }

    /// Publishes whether the cluster is ready.
    pub(crate) fn cluster_ready(&self, ready: bool) {
        self.instruments
            .cluster_ready
            .record(u64::from(ready), std::slice::from_ref(&self.cluster));
    }

    /// Publishes the number of desired resources the cluster's last full analysis
    /// compared (a hub reads it from the status document).
    pub(crate) fn resources_watched(&self, resources: u64) {
        self.instruments
            .resources_watched
            .record(resources, std::slice::from_ref(&self.cluster));
    }

    /// Counts one drift event of one type.
    pub(crate) fn drift_event(&self, drift: &CountedDrift) {
        self.instruments
            .drift_events
            .add(1, &drift.labels(&self.cluster));
    }

    /// Counts one resolved drift type.
    pub(crate) fn drift_resolved(&self, drift: &CountedDrift) {
        self.instruments
            .drift_resolutions
            .add(1, &drift.labels(&self.cluster));
    }

    /// Records one finished analysis.
    pub(crate) fn analysis_finished(&self, mode: AnalysisMode, succeeded: bool, seconds: f64) {
        let labels = [
            KeyValue::new("mode", mode.as_str()),
            KeyValue::new("outcome", if succeeded { "success" } else { "failure" }),
            self.cluster.clone(),
        ];
        self.instruments.sync_duration.record(seconds, &labels);
        self.instruments.analyses.add(1, &labels);
    }

    /// Records the result of a successful full analysis.
    pub(crate) fn full_analysis_succeeded(&self, resources: usize, at: DateTime<Utc>) {
        let labels = [self.cluster.clone()];
        self.instruments
            .resources_watched
            .record(u64::try_from(resources).unwrap_or(u64::MAX), &labels);
        let seconds = at.timestamp_millis() as f64 / 1000.0;
        self.instruments.last_success.record(seconds, &labels);
    }

    /// Publishes the drift score of every namespace; namespaces scored before and absent
    /// from `scores` now read 0.
    pub(crate) fn drift_scores(&self, scores: &BTreeMap<String, f64>) {
        let mut scored = self
            .scored_namespaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        scored.extend(scores.keys().cloned());
        for namespace in scored.iter() {
            let score = scores.get(namespace).copied().unwrap_or(0.0);
            self.instruments.drift_score.record(
                score,
                &[
                    KeyValue::new("namespace", namespace.clone()),
                    self.cluster.clone(),
                ],
            );
        }
    }

    /// Publishes the active drift counts; label sets counted before and absent from
    /// `counts` now read 0.
    pub(crate) fn active_drift(&self, counts: &ActiveCounts) {
        let mut counted = self
            .counted_active
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for key in counts.by_severity.keys() {
            counted.by_severity.entry(key.clone()).or_default();
        }
        for key in counts.by_type.keys() {
            counted.by_type.entry(key.clone()).or_default();
        }
        for key @ (namespace, severity) in counted.by_severity.keys() {
            let count = counts.by_severity.get(key).copied().unwrap_or(0);
            self.instruments.active_drifts.record(
                count,
                &[
                    KeyValue::new("namespace", namespace.clone()),
                    KeyValue::new("severity", *severity),
                    self.cluster.clone(),
                ],
            );
        }
        for key @ (namespace, drift_type, severity) in counted.by_type.keys() {
            let count = counts.by_type.get(key).copied().unwrap_or(0);
            self.instruments.active_drift_types.record(
                count,
                &[
                    KeyValue::new("namespace", namespace.clone()),
                    KeyValue::new("type", *drift_type),
                    KeyValue::new("severity", *severity),
                    self.cluster.clone(),
                ],
            );
        }
    }

    /// Records the renders of one application's read.
    pub(crate) fn rendered(&self, application: &str, seconds: f64) {
        self.instruments.render_duration.record(
            seconds,
            &[
                KeyValue::new("application", application.to_owned()),
                self.cluster.clone(),
            ],
        );
    }

    /// Counts one failed read of an application's desired state.
    pub(crate) fn render_failed(&self, application: &str) {
        self.instruments.render_failures.add(
            1,
            &[
                KeyValue::new("application", application.to_owned()),
                self.cluster.clone(),
            ],
        );
    }

    /// Counts one held-back desired state of an application.
    pub(crate) fn desired_held_back(&self, application: &str) {
        self.instruments.desired_held_back.add(
            1,
            &[
                KeyValue::new("application", application.to_owned()),
                self.cluster.clone(),
            ],
        );
    }
}

/// The instruments of the connection cap: open connections, refusals and evictions.
#[derive(Clone)]
pub(crate) struct ConnectionMetrics {
    open: Gauge<u64>,
    refused: Counter<u64>,
    evicted: Counter<u64>,
}

impl ConnectionMetrics {
    /// Publishes every instrument at zero, so that `/metrics` shows them from the start.
    pub(crate) fn init(&self) {
        self.open.record(0, &[]);
        self.refused.add(0, &[]);
        self.evicted.add(0, &[]);
    }

    /// Publishes the number of open connections.
    pub(crate) fn open(&self, count: usize) {
        self.open
            .record(u64::try_from(count).unwrap_or(u64::MAX), &[]);
    }

    /// Counts one refused connection.
    pub(crate) fn refused(&self) {
        self.refused.add(1, &[]);
    }

    /// Counts one idle connection closed to make room.
    pub(crate) fn evicted(&self) {
        self.evicted.add(1, &[]);
    }
}

/// The labels of one counted drift type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct CountedDrift {
    /// The drift type, e.g. `VersionChange`.
    pub(crate) drift_type: &'static str,
    /// The highest severity among the drifts of that type, e.g. `High`.
    pub(crate) severity: &'static str,
    /// The namespace, `""` for cluster-scoped resources.
    pub(crate) namespace: String,
    /// The application whose resource drifted: one of the configured few.
    pub(crate) application: String,
}

impl CountedDrift {
    fn labels(&self, cluster: &KeyValue) -> [KeyValue; 5] {
        [
            KeyValue::new("type", self.drift_type),
            KeyValue::new("severity", self.severity),
            KeyValue::new("namespace", self.namespace.clone()),
            KeyValue::new("application", self.application.clone()),
            cluster.clone(),
        ]
    }
}
