//! The pure core of DriftGuard: how desired Kubernetes state is compared with live state.
//!
//! No I/O happens here: no files, no network, no async runtime. Sources hand over
//! snapshots ([`DesiredSnapshot`], [`LiveSnapshot`]); [`analysis::analyze`] pairs them,
//! canonicalises both sides ([`normalize`]), skips equal objects by their BLAKE3 hash
//! ([`hash`]), walks the rest field by field ([`diff`]), classifies each difference
//! ([`classify`]) and moves each resource's record through its lifecycle ([`record`]).
//! [`Detector`] runs the same pass over the ports ([`ports`]) that adapters implement.
//!
//! # Example
//!
//! ```
//! use driftguard_core::analysis::{analyze, DetectionSettings};
//! use driftguard_core::{
//!     DesiredSnapshot, DriftType, LiveSnapshot, Resource, Severity, StoredRecords,
//! };
//! use serde_json::json;
//!
//! let desired = Resource::from_object(json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web", "namespace": "shop"},
//!     "spec": {"replicas": 3, "template": {"spec": {"containers": [
//!         {"name": "web", "image": "nginx:1.25.3",
//!          "resources": {"limits": {"cpu": 0.5}}}]}}}
//! }), None)?;
//! // What the API server returns after someone ran `kubectl scale --replicas=5`:
//! // defaults, status and server metadata added, the quantity respelled.
//! let live = Resource::from_object(json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web", "namespace": "shop", "uid": "5f1c", "generation": 4,
//!                  "resourceVersion": "81723"},
//!     "spec": {"replicas": 5, "revisionHistoryLimit": 10, "template": {"spec": {
//!         "containers": [{"name": "web", "image": "nginx:1.25.3",
//!             "imagePullPolicy": "IfNotPresent", "resources": {"limits": {"cpu": "500m"}}}],
//!         "restartPolicy": "Always"}}},
//!     "status": {"replicas": 5}
//! }), None)?;
//!
//! let outcome = analyze(
//!     DesiredSnapshot { resources: vec![desired], revision: None, render: None },
//!     LiveSnapshot::complete(vec![live]),
//!     StoredRecords::new(),
//!     &DetectionSettings::default(),
//!     chrono::Utc::now(),
//! )?;
//! let record = &outcome.records[0];
//! assert_eq!(record.resource_id.to_string(), "Deployment:shop:web");
//! assert_eq!(record.drift_types, vec![DriftType::Scaling]);
//! assert_eq!(record.severity, Some(Severity::Medium));
//! assert_eq!(record.drifts[0].path, "spec.replicas");
//! # Ok::<(), driftguard_core::Error>(())
//! ```

pub mod analysis;
pub mod application;
pub mod classify;
pub mod compare;
pub mod config;
pub mod desired_index;
pub mod detector;
pub mod diff;
pub mod drift;
mod error;
pub mod hash;
mod id;
pub mod ignore;
pub mod k8s;
mod live_objects;
pub mod managed;
pub mod model;
pub mod normalize;
pub mod object_text;
pub mod path;
pub mod plausibility;
pub mod ports;
pub mod quantity;
pub mod record;
pub mod redact;
pub mod scalar;
pub mod secret;
pub mod stats;
pub mod status;
pub mod stored;
#[cfg(feature = "testing")]
pub mod testing;

pub use application::{Application, ApplicationStatus, ReadStatus};
pub use detector::Detector;
pub use drift::{DriftDetail, DriftType, Severity};
pub use error::{Error, error_chain};
pub use id::ResourceId;
pub use model::{
    DesiredSnapshot, LiveCoverage, LiveSnapshot, Origin, RenderSummary, Resource, Unobserved,
};
pub use object_text::ObjectText;
pub use ports::{
    DesiredSource, DriftStore, LiveChange, LiveChangeKind, LiveChangeStream, LiveSource, PortError,
    PortErrorKind,
};
pub use record::{
    DEFAULT_APPLICATION, DEFAULT_CLUSTER, DriftEvent, DriftRecord, DriftStatus, EventKind,
};
pub use status::{
    AnalysisNote, AnalysisResult, ApplicationStatusDocument, ClusterStatusDocument,
    FailingComponent, Leadership,
};
pub use stored::StoredRecords;

/// Results with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The README's library example, compiled and run as a doc test so it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
