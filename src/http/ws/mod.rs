//! `/graphql/ws`: GraphQL over WebSocket, in both subprotocols (`graphql-transport-ws`, preferred, and the
//! legacy `graphql-ws`), written over `Schema::execute_stream` so the protocol rules are ours to keep.
//!
//! The upgrade is refused with 403 for a foreign `Origin` and with 400 when the client offers no subprotocol
//! the server speaks. Sockets use small buffers (a 4 KiB read buffer instead of 128 KiB keeps an idle socket
//! near 13 KB), messages are capped at the HTTP body limit, and every socket closes with 1001 when the server
//! shuts down.
//!
//! - [`protocol`]: the messages of both subprotocols and the close codes;
//! - [`auth`]: who a socket speaks for;
//! - [`operation`]: checking and running one operation;
//! - [`connection`]: one socket's life.

mod auth;
mod connection;
mod operation;
pub mod protocol;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use self::connection::Connection;
use self::protocol::Protocol;
use crate::error::ErrorCode;
use crate::state::AppState;
use crate::telemetry::RequestScope;

pub use self::connection::MAX_OPERATIONS;

/// The gauge of open sockets.
pub const CONNECTIONS_GAUGE: &str = "portico_websocket_connections";
/// The gauge of running subscription operations.
pub const SUBSCRIPTIONS_GAUGE: &str = "portico_subscriptions";
/// Per-socket read buffer (the default 128 KiB is resident for the socket's whole life).
const READ_BUFFER_BYTES: usize = 4096;
/// Per-socket write buffer.
const WRITE_BUFFER_BYTES: usize = 4096;

/// `GET /graphql/ws`: checks the origin and the subprotocol, then hands the socket to a [`Connection`].
pub async fn handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if !super::origin::allowed(&state.config, &headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "this origin may not open a WebSocket to this server",
        );
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade.protocols(Protocol::NAMES),
        Err(rejection) => return rejection.into_response(),
    };
    let Some(protocol) = upgrade
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(Protocol::from_name)
    else {
        return refuse(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            "Subprotocol not acceptable: offer graphql-transport-ws or graphql-ws in Sec-WebSocket-Protocol",
        );
    };
    let upgrade_token = auth::upgrade_credentials(&headers);
    // The socket keeps the upgrade request's id and span in its logs and error labels.
    let scope = RequestScope::current();
    let span = tracing::Span::current();
    let max_message = state.config.limits.max_body_bytes;
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_message_size(max_message)
        .max_frame_size(max_message)
        .on_upgrade(move |socket| {
            let connection = Connection::new(socket, state, protocol, upgrade_token);
            let serve = connection.run().instrument(span);
            async move {
                match scope {
                    Some(scope) => scope.run(serve).await,
                    None => serve.await,
                }
            }
        })
}

/// An upgrade refused with `status` and a GraphQL-style error body.
fn refuse(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let body = crate::error::error_body(code, message);
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    res
}

/// Increments a gauge now and decrements it when dropped, however its owner ends.
pub(crate) struct Gauge(&'static str);

impl Gauge {
    pub(crate) fn new(name: &'static str) -> Gauge {
        metrics::gauge!(name).increment(1.0);
        Gauge(name)
    }
}

impl Drop for Gauge {
    fn drop(&mut self) {
        metrics::gauge!(self.0).decrement(1.0);
    }
}
