//! The HTTP surface: `/graphql` (GET, POST), `/graphql/ws`, `/graphiql`, `/beacon.gif`, `/healthz`, `/readyz`,
//! `/metrics`, `/privacy/exports/{id}` (data export downloads), `/media/{key}` (uploaded images).

pub mod beacon;
pub mod caching;
pub mod export;
pub mod graphiql;
pub mod graphql;
mod health;
pub mod media;
mod middleware;
pub mod origin;
pub mod params;
pub mod tls;
pub mod ws;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

use crate::state::AppState;

/// The router with every route and the cross-cutting layers.
pub fn router(state: AppState) -> Router {
    crate::telemetry::metrics_handle();
    let limits = &state.config.limits;
    let mut router = Router::new()
        .route(
            "/graphql",
            get(graphql::get)
                .post(graphql::post)
                .fallback(graphql::method_not_allowed),
        )
        .route("/graphql/ws", get(ws::handler))
        .route("/beacon.gif", get(beacon::beacon))
        .route("/privacy/exports/{id}", get(export::download))
        .route("/media/{key}", get(media::get))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics));
    if state.config.graphiql {
        router = router.merge(graphiql::routes());
    }
    let router = router
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(axum::middleware::from_fn(middleware::observe));
    middleware::security_headers(router, state.config.is_production())
        .layer(origin::cors_layer(&state.config))
        .with_state(state)
}
