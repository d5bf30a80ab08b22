//! `driftguard serve`: configuration, wiring and the signal that stops the service.

use std::process::ExitCode;

use anyhow::Context as _;
use driftguard_api::{Service, ServiceSettings};
use driftguard_core::Detector;

use crate::cli::ServeArgs;
use crate::config::{self, Settings};
use crate::{fingerprint, logging, retention, wiring};

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
    let detection = wiring::detection_settings(settings)?;
    let key = fingerprint::key_for_service(settings)?;
    let store = wiring::store(settings).await?;
    let pruned_store = std::sync::Arc::clone(&store);
    let (live, capabilities) =
        wiring::live_source(settings, &key, settings.detection.watch).await?;
    let applications = wiring::applications(settings, &key, capabilities)?;
    for application in &applications {
        tracing::info!(
            application = %application.name,
            source = %application.description,
            namespace = application.namespace.as_deref().unwrap_or("default"),
            "application configured"
        );
    }
    let detector = Detector::with_applications(applications, live, store, detection);
    let service_settings = ServiceSettings {
        interval: settings.detection.interval,
        periodic: settings.detection.periodic,
        watch: settings.detection.watch,
        timeouts: settings.server.timeouts(),
        max_connections: settings.server.max_connections,
        tls: settings.server.tls.clone(),
        auth: settings.server.auth.clone(),
        analyze_rate_limit: settings.server.analyze_rate_limit,
        ..ServiceSettings::default()
    };
    let service = Service::new(detector, service_settings)?;
    let pruning = retention::spawn(
        pruned_store,
        settings.retention.clone(),
        service.metrics_registry(),
    )?;
    let address = settings.server.address()?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let served = driftguard_api::serve(listener, service, shutdown_signal()).await;
    pruning.abort();
    Ok(served?)
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
