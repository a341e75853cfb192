//! `/graphql/ws`: GraphQL over WebSocket.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;

pub async fn handler(State(_state): State<AppState>) -> Response {
    axum::http::StatusCode::NOT_IMPLEMENTED.into_response()
}
