//! Start-up and serving: the background jobs, the listener (plain or TLS) and graceful shutdown.

use anyhow::Context;

use crate::config::Config;
use crate::state::AppState;

/// Serves the gateway on the configured address until SIGINT or SIGTERM, then shuts down gracefully:
/// stops accepting, lets in-flight requests finish, and closes WebSockets with 1001.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let addr = config.addr;
    let state = AppState::start(config).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("could not listen on {addr}"))?;
    let local = listener.local_addr()?;
    let tls = match (&state.config.tls_cert, &state.config.tls_key) {
        (Some(cert), Some(key)) => Some(crate::http::tls::server_config(cert, key)?),
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    if state.config.graphiql {
        tracing::info!(
            "Portico is serving GraphQL at {scheme}://{local}/graphql and GraphiQL at {scheme}://{local}/graphiql"
        );
    } else {
        tracing::info!("Portico is serving GraphQL at {scheme}://{local}/graphql");
    }
    let webhooks = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the webhook HTTP client")?;
    let outbox = crate::messaging::start(
        state.pool.clone(),
        state.keys.clone(),
        crate::messaging::sender_from_config(&state.config, webhooks),
        state.broker.clone(),
        state.shutdown.clone(),
    );
    // Every notice goes to its account's push devices (Web Push, FCM, APNs).
    let pushes = crate::realtime::devices::worker::start(
        state.pool.clone(),
        state.keys.clone(),
        state.push.clone(),
        state.broker.clone(),
        state.shutdown.clone(),
        crate::realtime::devices::worker::Settings::default(),
    );
    // High and critical incidents also go out by SMS and email, through the outbox.
    let incident_messages = crate::accounts::incident_messages::start(
        state.pool.clone(),
        state.keys.clone(),
        state.broker.clone(),
        state.config.privacy_job_interval,
        state.shutdown.clone(),
    );
    // Objects of removed images leave storage; uploads never attached within a day are removed.
    let media = crate::media::janitor::start(
        state.pool.clone(),
        state.media.storage().clone(),
        state.broker.clone(),
        state.shutdown.clone(),
    );
    // Views and clicks move from `view_events` into the counters every few seconds.
    let rollup = crate::content::views::start_rollup(state.pool.clone(), state.shutdown.clone());
    // Accounts whose cancellation's cooling-off period has ended are erased.
    let erasure = crate::rights::erasure::start(
        state.pool.clone(),
        state.keys.clone(),
        state.accounts.clock.clone(),
        state.config.privacy_job_interval,
        state.shutdown.clone(),
    );
    // Data exports are built when requested (the request wakes the job through the broker) and in a periodic
    // sweep that also picks up what a crash left pending and drops expired archives.
    let exports = crate::rights::export::start_job(
        state.pool.clone(),
        state.keys.clone(),
        state.config.clone(),
        state.broker.clone(),
        state.accounts.clock.clone(),
        state.shutdown.clone(),
    );
    // Spent codes, ended sessions, delivered messages and old security events are removed when their
    // retention period ends.
    let retention = crate::rights::retention::start(
        state.pool.clone(),
        state.config.retention.clone(),
        state.shutdown.clone(),
    );
    match tls {
        Some(tls) => serve_tls_on(listener, tls, state, shutdown_signal()).await?,
        None => serve_on(listener, state, shutdown_signal()).await?,
    }
    // `serve_on` cancelled `shutdown`; let a delivery pass in progress finish and record its outcomes.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(20), outbox).await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(20), pushes).await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), incident_messages).await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), rollup).await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), media).await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), erasure).await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), exports).await;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), retention).await;
    Ok(())
}

/// Serves `state` on `listener` until `signal` completes.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let token = state.shutdown.clone();
    let router = crate::http::router(state);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        signal.await;
        tracing::info!("shutting down: finishing in-flight requests");
        token.cancel();
    })
    .await?;
    Ok(())
}

/// Serves `state` over HTTPS on `listener` until `signal` completes.
pub async fn serve_tls_on(
    listener: tokio::net::TcpListener,
    tls: std::sync::Arc<rustls::ServerConfig>,
    state: AppState,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let token = state.shutdown.clone();
    let router = crate::http::router(state);
    let listener = crate::http::tls::TlsListener::new(listener, tls)?;
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<crate::http::tls::TlsPeer>(),
    )
    .with_graceful_shutdown(async move {
        signal.await;
        tracing::info!("shutting down: finishing in-flight requests");
        token.cancel();
    })
    .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
