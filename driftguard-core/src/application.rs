//! Applications: named desired sources, each with its destination namespace, and what the
//! detector last learnt about reading each one.
//!
//! An application is what GitOps tools deploy as one unit (an Argo CD Application, a
//! Flux Kustomization or HelmRelease): a Git folder or chart, how it is rendered, and the
//! namespace its namespace-less objects go to. Records carry the application's name.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::RenderSummary;
use crate::ports::DesiredSource;
use crate::record::DEFAULT_APPLICATION;

/// One application the detector analyses.
#[derive(Clone)]
pub struct Application {
    /// The name records and events carry; unique among the applications.
    pub name: String,
    /// The destination namespace for namespaced objects declared without one; `None`
    /// means `default`, as `kubectl apply` would put them.
    pub namespace: Option<String>,
    /// Where the desired state comes from.
    pub source: Arc<dyn DesiredSource>,
    /// The source for people: a repository URL (credentials removed) with its branch and
    /// folder, or a local folder.
    pub description: String,
}

impl Application {
    /// The single application of an installation with one desired source.
    pub fn single(source: Arc<dyn DesiredSource>, description: impl Into<String>) -> Self {
        Self {
            name: DEFAULT_APPLICATION.to_owned(),
            namespace: None,
            source,
            description: description.into(),
        }
    }
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("name", &self.name)
            .field("namespace", &self.namespace)
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

/// Whether an application's desired state could be produced at the last analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadStatus {
    /// No analysis has read it yet.
    Pending,
    /// Read (and rendered) and analysed.
    Ok,
    /// Fetching, rendering or reading it failed, or it declares a resource twice; its
    /// records were left as they were.
    Failed,
    /// It was read, but it holds no objects or lost too many at once to be believed
    /// (see [`crate::plausibility`]); its records were left as they were.
    HeldBack,
}

impl ReadStatus {
    /// The name used in answers: `pending`, `ok`, `failed` or `held_back`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::HeldBack => "held_back",
        }
    }
}

/// What the last full analysis learnt about one application.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplicationStatus {
    /// The application's name.
    pub name: String,
    /// Its source, as [`Application::description`] gives it.
    pub source: String,
    /// Its destination namespace.
    pub namespace: Option<String>,
    /// The revision of its last successful read that was not held back; `None` for a
    /// folder, or before one.
    pub revision: Option<String>,
    /// How the last read went.
    pub status: ReadStatus,
    /// Why the last read failed or was held back.
    pub error: Option<String>,
    /// What the renderers did at the last successful read; `None` for plain manifests.
    pub render: Option<RenderSummary>,
    /// When the last read was attempted.
    pub checked_at: Option<DateTime<Utc>>,
}

impl ApplicationStatus {
    /// The status of `application` before any read.
    pub fn pending(application: &Application) -> Self {
        Self {
            name: application.name.clone(),
            source: application.description.clone(),
            namespace: application.namespace.clone(),
            revision: None,
            status: ReadStatus::Pending,
            error: None,
            render: None,
            checked_at: None,
        }
    }
}
