//! GraphiQL, served with its assets from the gateway itself (no CDN), under a strict Content-Security-Policy.

use axum::Router;

use crate::app::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}
