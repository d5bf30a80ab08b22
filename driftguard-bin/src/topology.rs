//! Which clusters this instance analyses, from the configuration's two forms: the
//! `clusters` list, or the single-cluster form (`cluster.name` and the `kubernetes`
//! section) as a one-item list. Also which applications go to which cluster, and whether
//! the store and leader election fit together.

use std::collections::HashSet;

use anyhow::bail;
use driftguard_core::config::ClusterConfig;
use driftguard_sources::{ApplicationConfig, KubeSourceConfig, LiveKind, resolve_applications};
use driftguard_store::DatabaseKind;

use crate::config::Settings;

/// One cluster to analyse: its name, how to reach it, and its applications.
#[derive(Debug, Clone)]
pub struct ClusterPlan {
    /// The name its records carry.
    pub name: String,
    /// The `kubernetes` settings that reach it.
    pub kubernetes: KubeSourceConfig,
    /// The applications deployed to it, in configuration order.
    pub applications: Vec<ApplicationConfig>,
}

/// The clusters the configuration asks this instance to analyse; none for a hub
/// (`detection.enabled: false`). Fails, naming the keys, when the two forms are mixed,
/// a name is invalid or used twice, an application names no cluster (with several) or
/// one not listed, a cluster has no application, or the store cannot be shared the way
/// leader election needs.
pub fn plan(settings: &Settings) -> anyhow::Result<Vec<ClusterPlan>> {
    check_store_fits(settings)?;
    if !settings.detection.enabled {
        return Ok(Vec::new());
    }
    let applications =
        resolve_applications(&settings.sources, &settings.git, &settings.applications)?;
    if settings.clusters.is_empty() {
        settings.cluster.validate()?;
        if let Some(app) = applications.iter().find(|a| {
            a.cluster
                .as_deref()
                .is_some_and(|c| c != settings.cluster.name)
        }) {
            bail!(
                "applications: `{}` names cluster `{}`, but this instance analyses only `{}` (cluster.name); list the clusters under `clusters`",
                app.name,
                app.cluster.as_deref().unwrap_or_default(),
                settings.cluster.name
            );
        }
        return Ok(vec![ClusterPlan {
            name: settings.cluster.name.clone(),
            kubernetes: settings.kubernetes.clone(),
            applications,
        }]);
    }
    check_one_form(settings)?;
    if settings.sources.live != LiveKind::Kubernetes {
        bail!(
            "clusters: each listed cluster is read over its Kubernetes API; set sources.live: kubernetes (a dump describes one cluster: use the single-cluster form with cluster.name)"
        );
    }
    if settings.applications.is_empty() {
        bail!(
            "clusters: with a list of clusters, list the applications too, each naming its `cluster`"
        );
    }
    let mut names = HashSet::new();
    for (index, target) in settings.clusters.iter().enumerate() {
        ClusterConfig {
            name: target.name.clone(),
        }
        .validate()
        .map_err(|e| anyhow::anyhow!("clusters[{index}]: {e}"))?;
        if !names.insert(target.name.as_str()) {
            bail!("clusters: `{}` is listed twice", target.name);
        }
    }
    let only = (settings.clusters.len() == 1).then(|| settings.clusters[0].name.as_str());
    for app in &applications {
        match (app.cluster.as_deref(), only) {
            (None, Some(_)) => {}
            (None, None) => bail!(
                "applications: `{}` names no cluster; with several clusters each application sets `cluster` to one of: {}",
                app.name,
                cluster_names(settings)
            ),
            (Some(name), _) if !names.contains(name) => bail!(
                "applications: `{}` names cluster `{name}`, which `clusters` does not list ({})",
                app.name,
                cluster_names(settings)
            ),
            (Some(_), _) => {}
        }
    }
    settings
        .clusters
        .iter()
        .map(|target| {
            let own: Vec<ApplicationConfig> = applications
                .iter()
                .filter(|a| a.cluster.as_deref().or(only) == Some(target.name.as_str()))
                .cloned()
                .collect();
            if own.is_empty() {
                bail!(
                    "clusters: `{}` has no application; name it as the `cluster` of one, or remove it",
                    target.name
                );
            }
            Ok(ClusterPlan {
                name: target.name.clone(),
                kubernetes: target.source_config(&settings.kubernetes),
                applications: own,
            })
        })
        .collect()
}

fn cluster_names(settings: &Settings) -> String {
    settings
        .clusters
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Refuses `clusters` beside the single form's keys: two answers to "which cluster".
fn check_one_form(settings: &Settings) -> anyhow::Result<()> {
    let mut single = Vec::new();
    if settings.cluster != ClusterConfig::default() {
        single.push("cluster.name");
    }
    if settings.kubernetes.kubeconfig.is_some() {
        single.push("kubernetes.kubeconfig");
    }
    if settings.kubernetes.context.is_some() {
        single.push("kubernetes.context");
    }
    if settings.kubernetes.in_cluster {
        single.push("kubernetes.in_cluster");
    }
    if !single.is_empty() {
        bail!(
            "the configuration lists `clusters` and also sets {}: use one form (in the list form each entry has its name, kubeconfig, context or in_cluster; the rest of `kubernetes` applies to all)",
            single.join(" and ")
        );
    }
    Ok(())
}

/// Leader election needs a store every replica shares, and something to elect for.
fn check_store_fits(settings: &Settings) -> anyhow::Result<()> {
    let election = &settings.leader_election;
    if !election.enabled {
        return Ok(());
    }
    election.validate()?;
    if election.lease_name.is_some() && settings.clusters.len() > 1 {
        bail!(
            "leader_election.lease_name names one Lease, but `clusters` lists {}: leave it unset so each cluster gets its own (driftguard-<cluster>)",
            settings.clusters.len()
        );
    }
    if let DatabaseKind::Sqlite { .. } = settings.database.kind {
        bail!(
            "leader_election.enabled needs a store the replicas share: set database.type: mongodb (SQLite is a file on one machine, so a standby would serve stale records and a new leader would start from nothing)"
        );
    }
    if !settings.detection.enabled {
        bail!(
            "leader_election.enabled with detection.enabled: false: a hub analyses nothing, so there is nothing to elect a leader for; every hub replica serves the store"
        );
    }
    Ok(())
}
