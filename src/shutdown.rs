//! Graceful shutdown: the signal that starts it (Ctrl-C or SIGTERM) and the drain that bounds it.
//! Once the signal comes the listener stops accepting, in-flight requests may finish for at most
//! `SHUTDOWN_TIMEOUT`, and whatever still runs then is dropped, so a stuck request never keeps
//! the process (and a rolling deploy) waiting.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

/// How long the pool may take to close once the server has stopped.
const POOL_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Resolves on Ctrl-C or SIGTERM: what `todo-api serve` passes to [`App::run`](crate::app::App::run).
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received: finishing in-flight requests");
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting and lets the
/// requests in flight finish for at most `timeout`, dropping those still running after it.
pub(crate) async fn serve_draining(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    timeout: Duration,
) -> std::io::Result<()> {
    let (draining, drain_started) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = draining.send(());
    };
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .into_future();
    let drain_deadline = async move {
        match drain_started.await {
            Ok(()) => tokio::time::sleep(timeout).await,
            // The server ended on its own (an error): nothing to bound.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = server => served,
        () = drain_deadline => {
            tracing::warn!(timeout = ?timeout, "in-flight requests still running at the shutdown timeout: dropping them");
            Ok(())
        }
    }
}

/// Closes the pool's connections, so the database sees clean disconnects rather than dropped
/// sockets; waits at most [`POOL_CLOSE_TIMEOUT`].
pub(crate) async fn close_pool(db: &DatabaseConnection) {
    if tokio::time::timeout(POOL_CLOSE_TIMEOUT, db.close_by_ref())
        .await
        .is_err()
    {
        tracing::warn!("the database pool did not close within {POOL_CLOSE_TIMEOUT:?}");
    }
}
