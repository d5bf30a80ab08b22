//! What the instance that analyses a cluster publishes about it, so that every instance
//! sharing the store (its standbys, a hub) can answer for that cluster: the status
//! documents of a cluster and of each of its applications, and who leads the analyses.
//!
//! Only the instance that analyses a cluster (the leader of its replicas) writes that
//! cluster's documents; every other instance reads them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::application::ReadStatus;

/// Whether this instance analyses a cluster now, as leader election decides it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Leadership {
    /// This instance holds the cluster's lease (or no election runs): it analyses and
    /// writes the cluster's records.
    Leader,
    /// Another instance holds the lease, or nobody has taken it yet: this one serves the
    /// API from the store and analyses nothing.
    Standby {
        /// The identity of the instance holding the lease, when one does.
        leader: Option<String>,
    },
}

impl Leadership {
    /// Whether this instance may analyse and write.
    pub fn is_leader(&self) -> bool {
        matches!(self, Self::Leader)
    }
}

/// How a full analysis ended, as the `outcome` label of `driftguard_analyses_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisResult {
    /// It compared and stored the cluster's records.
    Success,
    /// A source or the store failed: the records stayed as they were.
    Failure,
}

impl AnalysisResult {
    /// `success` or `failure`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// One finished full analysis: `{"at": …, "outcome": "success" | "failure"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalysisNote {
    /// When it started.
    pub at: DateTime<Utc>,
    /// How it ended.
    pub outcome: AnalysisResult,
}

/// One part of a cluster's analysis that is failing, with why and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailingComponent {
    /// `desired_source`, `live_source` or `store`.
    pub component: String,
    /// What went wrong (errors carry no Secret value and no URL credentials).
    pub reason: String,
    /// When it started failing.
    pub since: DateTime<Utc>,
}

/// The status document of one application of one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationStatusDocument {
    /// The cluster the application is deployed to.
    pub cluster: String,
    /// The application's name.
    pub name: String,
    /// Its source for people (a repository URL without credentials, a folder).
    pub source: String,
    /// Its destination namespace.
    pub namespace: Option<String>,
    /// The revision of its last read that was used; `None` for a folder, or before one.
    pub revision: Option<String>,
    /// How the last read (fetch and render) went.
    pub status: ReadStatus,
    /// Why the last read failed or was held back.
    pub error: Option<String>,
    /// Seconds its renderers took at the last successful read; `None` for plain
    /// manifests or before the first read.
    pub render_seconds: Option<f64>,
    /// When the last read was attempted.
    pub checked_at: Option<DateTime<Utc>>,
}

/// The status document of one cluster, written by the instance analysing it after each
/// full analysis and whenever its leadership changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatusDocument {
    /// The cluster's name.
    pub cluster: String,
    /// The identity of the instance that wrote this document: the cluster's leader.
    pub leader: String,
    /// The last full analysis, when one has ended.
    pub last_analysis: Option<AnalysisNote>,
    /// What is failing; empty when the last analysis read every source and the store.
    pub failing: Vec<FailingComponent>,
    /// Desired resources the last successful full analysis compared.
    pub resources: u64,
    /// When it was written.
    pub updated_at: DateTime<Utc>,
    /// After this time without a newer document, readers treat the cluster as not
    /// ready: its leader stopped reporting (it died, or lost the store).
    pub expires_at: DateTime<Utc>,
    /// Its applications, in configuration order.
    pub applications: Vec<ApplicationStatusDocument>,
}

impl ClusterStatusDocument {
    /// Whether, at `now`, the document says the cluster is analysed without failures.
    pub fn is_ready(&self, now: DateTime<Utc>) -> bool {
        self.failing.is_empty()
            && now <= self.expires_at
            && self
                .applications
                .iter()
                .all(|a| !matches!(a.status, ReadStatus::Failed | ReadStatus::HeldBack))
    }
}
