//! The embeddable entry point: serve the API and run the analysis loop until shutdown.

use std::future::Future;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::capacity::Capacity;
use crate::{Error, Service, analysis_loop, connection, http};

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
    tokio::spawn({
        let (service, stop) = (service.clone(), stop.clone());
        async move { service.access().watch_tokens(stop).await }
    });

    let server = accept_until_stopped(listener, service.clone(), stop.clone());
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
    service.access().warn_if_exposed(address);
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

/// Accepts connections (held to `max_connections`, over TLS when configured) until `stop`,
/// then closes the listener and waits for the open connections to answer what they are
/// answering and close. The TLS certificate follows its files meanwhile.
async fn accept_until_stopped(listener: TcpListener, service: Service, stop: CancellationToken) {
    let routes = http::routes(service.clone());
    let timeouts = service.settings().timeouts;
    let connections = TaskTracker::new();
    let capacity = Capacity::new(
        service.settings().max_connections,
        service.metrics().connections(),
    );
    let tls = service.tls().map(|tls| tls.acceptor().clone());
    if tls.is_some() {
        let (service, stop) = (service.clone(), stop.clone());
        connections.spawn(async move {
            if let Some(tls) = service.tls() {
                tls.watch(service.metrics().tls_reloads(), stop).await;
            }
        });
    }
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // Refused: closed at once, without an answer.
                    let Some(slot) = capacity.admit(&stop) else { continue };
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection::serve_connection(
                        stream,
                        tls.clone(),
                        routes.clone(),
                        timeouts,
                        slot,
                    ));
                }
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}
