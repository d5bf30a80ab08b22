//! `driftguard serve`: configuration, wiring and the signal that stops the service.

use std::process::ExitCode;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use driftguard_api::{ClusterAnalysis, Service, ServiceSettings};
use driftguard_core::secret::FingerprintKey;
use driftguard_core::{Detector, DriftStore};
use driftguard_sources::lease::PodEnvironment;
use driftguard_sources::{GitRepositories, LeaseElection};
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use crate::config::{self, Settings};
use crate::topology::{self, ClusterPlan};
use crate::{fingerprint, logging, retention, wiring};

/// How long shutdown waits for the elections to release their Leases.
const LEASE_RELEASE_WAIT: Duration = Duration::from_secs(3);

/// Runs the service until SIGTERM or SIGINT; exit code 2 when it cannot start or fails.
pub fn run(args: &ServeArgs, verbose: u8) -> ExitCode {
    let loaded = match config::load(args.config.as_deref()).and_then(|loaded| {
        config::validate(&loaded.settings)
            .and_then(|()| wiring::detection_settings(&loaded.settings).map(|_| ()))
            .map_err(|error| match &loaded.file {
                Some(_) => error,
                None => error.context(format!(
                    "no {} in the working directory and no --config: using built-in defaults and DRIFTGUARD__* variables",
                    config::DEFAULT_CONFIG_FILE
                )),
            })
            .map(|()| loaded)
    }) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("driftguard: error: {}", crate::error_text::one_line(&error));
            return ExitCode::from(2);
        }
    };
    let settings = &loaded.settings;
    logging::init_for_service(&settings.logging.level, settings.logging.format, verbose);
    match &loaded.file {
        Some(file) => tracing::info!(file = %file.display(), "configuration loaded"),
        None => tracing::info!(
            "no configuration file ({} not found); using built-in defaults and DRIFTGUARD__* variables",
            config::DEFAULT_CONFIG_FILE
        ),
    }
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(serve(settings)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("❌ {error:#}");
            eprintln!("driftguard: error: {}", crate::error_text::one_line(&error));
            ExitCode::from(2)
        }
    }
}

async fn serve(settings: &Settings) -> anyhow::Result<()> {
    let plans = topology::plan(settings)?;
    let store = wiring::store(settings).await?;
    let elections = CancellationToken::new();
    let election = match settings.leader_election.enabled {
        true => Some(
            LeaseElection::connect(&settings.leader_election)
                .await
                .context("leader_election")?,
        ),
        false => None,
    };
    let identity = match &election {
        Some(election) => election.identity().to_owned(),
        None => {
            PodEnvironment::from_process().identity(settings.leader_election.identity.as_deref())
        }
    };
    let mut clusters = Vec::new();
    let mut leaderships = Vec::new();
    if plans.is_empty() {
        tracing::info!(
            "detection.enabled is false: this instance serves the store and analyses nothing"
        );
    } else {
        let key = fingerprint::key_for_service(settings)?;
        let repositories = GitRepositories::default();
        for plan in &plans {
            let analysis = cluster_analysis(settings, plan, &store, &repositories, &key)
                .await
                .with_context(|| format!("cluster {}", plan.name))?;
            let analysis = match &election {
                Some(election) => {
                    let leadership = election.spawn(&plan.name, elections.clone());
                    leaderships.push(leadership.clone());
                    analysis.with_leadership(leadership)
                }
                None => analysis,
            };
            clusters.push(analysis);
        }
    }
    let service_settings = ServiceSettings {
        interval: settings.detection.interval,
        periodic: settings.detection.periodic,
        watch: settings.detection.watch,
        timeouts: settings.server.timeouts(),
        max_connections: settings.server.max_connections,
        tls: settings.server.tls.clone(),
        auth: settings.server.auth.clone(),
        analyze_rate_limit: settings.server.analyze_rate_limit,
        identity,
        ..ServiceSettings::default()
    };
    let service = Service::with_clusters(Arc::clone(&store), clusters, service_settings)?;
    let pruning = retention::spawn(
        store,
        settings.retention.clone(),
        service.metrics_registry(),
    )?;
    let address = settings.server.address()?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let served = driftguard_api::serve(listener, service, shutdown_signal()).await;
    pruning.abort();
    release_leases(&elections, leaderships).await;
    Ok(served?)
}

/// The analyses of one planned cluster: its live source (watching when configured), its
/// applications and a detector writing to `store`.
async fn cluster_analysis(
    settings: &Settings,
    plan: &ClusterPlan,
    store: &Arc<dyn DriftStore>,
    repositories: &GitRepositories,
    key: &FingerprintKey,
) -> anyhow::Result<ClusterAnalysis> {
    let detection = wiring::detection_settings_for(settings, &plan.name)?;
    let (live, capabilities) =
        wiring::live_source_for(settings, &plan.kubernetes, key, settings.detection.watch).await?;
    let applications = wiring::build_applications(
        settings,
        &plan.applications,
        repositories,
        key,
        capabilities,
    )?;
    for application in &applications {
        tracing::info!(
            cluster = %plan.name,
            application = %application.name,
            source = %application.description,
            namespace = application.namespace.as_deref().unwrap_or("default"),
            "application configured"
        );
    }
    let detector = Detector::with_applications(applications, live, Arc::clone(store), detection);
    Ok(ClusterAnalysis::new(detector))
}

/// Ends the elections once the analyses have stopped, and waits (briefly) for each to
/// release its Lease, so that a standby takes over at once instead of after the lease
/// duration.
async fn release_leases(
    elections: &CancellationToken,
    leaderships: Vec<tokio::sync::watch::Receiver<driftguard_core::Leadership>>,
) {
    elections.cancel();
    // Every election was cancelled at once: waiting for them in turn takes as long as
    // the slowest. An election's sender is dropped when it has released its Lease.
    let released = async {
        for mut leadership in leaderships {
            while leadership.changed().await.is_ok() {}
        }
    };
    if tokio::time::timeout(LEASE_RELEASE_WAIT, released)
        .await
        .is_err()
    {
        tracing::warn!("a Lease was not released in time; a standby takes over when it expires");
    }
}

/// Completes on SIGTERM (what Kubernetes sends) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => tracing::info!("SIGTERM received"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
