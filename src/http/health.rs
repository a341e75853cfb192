//! `/healthz` (the process answers), `/readyz` (the database answers and its migrations are current) and
//! `/metrics` (Prometheus text format).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

pub async fn healthz() -> Response {
    (StatusCode::OK, axum::Json(json!({ "status": "ok" }))).into_response()
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    let check = async {
        let mut conn = state.pool.get().await.ok()?;
        Some(crate::db::migrations::is_current(&mut conn, &state.migrations).await)
    };
    let (database, migrations) =
        match tokio::time::timeout(std::time::Duration::from_secs(2), check).await {
            Ok(Some(current)) => (true, current),
            _ => (false, false),
        };
    let ready = database && migrations;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "database": database,
        "migrationsCurrent": migrations,
        "listener": state.broker.is_connected(),
    });
    (status, axum::Json(body)).into_response()
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    crate::db::record_pool_metrics(&state.pool);
    let handle = crate::telemetry::metrics_handle();
    handle.run_upkeep();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}
