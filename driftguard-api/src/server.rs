//! The embeddable entry point: serve the API and run the analysis loop until shutdown.

use std::future::Future;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{Error, Service, analysis_loop, http};

/// Serves the API of `service` on `listener` and runs its analysis loop, until
/// `shutdown` completes.
///
/// Shutdown is graceful: the listener closes at once, requests in flight are answered,
/// and a running analysis may finish; both get the service's `shutdown_grace` before
/// `serve` stops waiting for them. An abandoned analysis leaves the store as its last complete
/// save left it (each analysis is saved as one batch).
///
/// Fails when the listener has no local address, or when the analysis loop dies on its
/// own (after serving has been stopped cleanly).
pub async fn serve(
    listener: TcpListener,
    service: Service,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let address = listener.local_addr().map_err(Error::Listener)?;
    let grace = service.settings().shutdown_grace;
    let stop = CancellationToken::new();
    let mut analyses = tokio::spawn(analysis_loop::run(service.clone(), stop.clone()));

    let server_stop = stop.clone();
    let server = warp::serve(http::routes(service.clone()))
        .incoming(listener)
        .graceful(async move { server_stop.cancelled().await })
        .run();
    let drain_deadline = async {
        stop.cancelled().await;
        tokio::time::sleep(grace).await;
    };
    let serving = async {
        tokio::select! {
            () = server => {}
            () = drain_deadline => {
                tracing::warn!(
                    "requests still in flight after the shutdown grace period; no longer waiting for them"
                );
            }
        }
    };

    tracing::info!(%address, "DriftGuard is serving");
    let mut loop_failure = None;
    let control = async {
        let mut shutdown = std::pin::pin!(shutdown);
        tokio::select! {
            () = &mut shutdown => tracing::info!("shutting down"),
            ended = &mut analyses => {
                let reason = match ended {
                    Ok(()) => "it returned".to_owned(),
                    Err(error) => error.to_string(),
                };
                tracing::error!("❌ the analysis loop stopped unexpectedly ({reason}); shutting down");
                loop_failure = Some(reason);
            }
        }
        stop.cancel();
    };
    tokio::join!(serving, control);

    if let Some(reason) = loop_failure {
        return Err(Error::AnalysisLoop(reason));
    }
    match analyses.await {
        Ok(()) => {
            tracing::info!("DriftGuard stopped");
            Ok(())
        }
        Err(error) => Err(Error::AnalysisLoop(error.to_string())),
    }
}
