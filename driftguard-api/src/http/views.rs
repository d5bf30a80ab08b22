//! What this instance can say about each cluster, for `/ready`, `/api/v1/clusters` and
//! `/api/v1/applications`: from its own memory for a cluster it leads, and from the
//! status document the leader wrote for every other cluster (a standby's, a hub's).

use chrono::{DateTime, TimeDelta, Utc};
use driftguard_core::{
    AnalysisNote, ApplicationStatusDocument, ClusterStatusDocument, FailingComponent, Leadership,
    PortError,
};

use crate::Service;

/// One cluster as this instance sees it.
#[derive(Debug, Clone)]
pub(crate) struct ClusterView {
    /// The cluster's name.
    pub(crate) name: String,
    /// Whether this instance is configured to analyse it (as leader or standby).
    pub(crate) configured: bool,
    /// Whether this instance leads it now.
    pub(crate) leads: bool,
    /// Who leads it, when known.
    pub(crate) leader: Option<String>,
    /// Its last full analysis, when known.
    pub(crate) last_analysis: Option<AnalysisNote>,
    /// Whether it is analysed without failures; `None` when nothing is known of it.
    pub(crate) ready: Option<bool>,
    /// What is failing, and why.
    pub(crate) failing: Vec<FailingComponent>,
    /// Its applications.
    pub(crate) applications: Vec<ApplicationStatusDocument>,
}

impl ClusterView {
    fn from_document(document: ClusterStatusDocument, now: DateTime<Utc>) -> Self {
        let ready = document.is_ready(now);
        let mut failing = document.failing;
        if now > document.expires_at {
            failing.push(FailingComponent {
                component: "status".to_owned(),
                reason: format!(
                    "no status from the cluster's leader {} since {}: it stopped analysing or lost the store",
                    document.leader,
                    document.updated_at.to_rfc3339()
                ),
                since: document.expires_at,
            });
        }
        Self {
            name: document.cluster,
            configured: false,
            leads: false,
            leader: Some(document.leader),
            last_analysis: document.last_analysis,
            ready: Some(ready),
            failing,
            applications: document.applications,
        }
    }

    /// The applications whose last read failed or was held back.
    pub(crate) fn failing_applications(&self) -> impl Iterator<Item = &ApplicationStatusDocument> {
        self.applications.iter().filter(|a| {
            matches!(
                a.status,
                driftguard_core::ReadStatus::Failed | driftguard_core::ReadStatus::HeldBack
            )
        })
    }
}

/// Every cluster this instance knows: those it is configured for, in configuration
/// order, then the others with a status document in the store, by name. Reads the
/// status documents from the store.
pub(crate) async fn cluster_views(service: &Service) -> Result<Vec<ClusterView>, PortError> {
    let documents = service.store().cluster_statuses().await?;
    Ok(views_from(service, documents, Utc::now()))
}

/// The views of the clusters this instance is configured for, from memory alone: what
/// `/ready` can still say when the store does not answer.
pub(crate) fn configured_views(service: &Service) -> Vec<ClusterView> {
    // Without documents, the views are exactly the configured clusters'.
    views_from(service, Vec::new(), Utc::now())
}

fn views_from(
    service: &Service,
    documents: Vec<ClusterStatusDocument>,
    now: DateTime<Utc>,
) -> Vec<ClusterView> {
    let mut documents = documents;
    let mut views = Vec::new();
    for cluster in service.clusters() {
        let document = documents
            .iter()
            .position(|d| d.cluster == cluster.name())
            .map(|index| documents.remove(index));
        let view = match cluster.leadership() {
            Leadership::Leader => {
                let own =
                    cluster.status_document(&service.settings().identity, now, TimeDelta::MAX);
                let mut view = ClusterView::from_document(own, now);
                view.leads = true;
                view
            }
            Leadership::Standby { leader } => {
                let mut view = match document {
                    Some(document) => ClusterView::from_document(document, now),
                    None => ClusterView {
                        name: cluster.name().to_owned(),
                        configured: true,
                        leads: false,
                        leader: None,
                        last_analysis: None,
                        ready: None,
                        failing: Vec::new(),
                        applications: Vec::new(),
                    },
                };
                // The election knows the current holder better than an older document.
                if leader.is_some() {
                    view.leader = leader;
                }
                view
            }
        };
        views.push(ClusterView {
            configured: true,
            ..view
        });
    }
    views.extend(
        documents
            .into_iter()
            .map(|document| ClusterView::from_document(document, now)),
    );
    views
}
