//! The middleware every request passes: a request id (taken from `X-Request-Id` when sane), a request scope
//! for logs and the SQL statement counter, a tracing span and HTTP metrics. The static security headers are
//! tower-http layers ([`security_headers`]).
//!
//! The request id stays hand-written: tower-http's `SetRequestId` keeps whatever id a client sends, and an
//! id goes into every log line, so only short ids of letters, digits, `-` and `_` are taken from a request.

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::client::ClientInfo;
use crate::telemetry::RequestScope;

pub const REQUEST_ID: &str = "x-request-id";

fn request_id(req: &Request) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

pub async fn observe(mut req: Request, next: Next) -> Response {
    let id = request_id(&req);
    let client = ClientInfo {
        addr: req
            .extensions()
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
            .or_else(|| {
                req.extensions()
                    .get::<ConnectInfo<super::tls::TlsPeer>>()
                    .map(|c| c.0.0.ip())
            }),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(256)
            .collect(),
    };
    req.extensions_mut().insert(client);
    let route = match req.uri().path() {
        p @ ("/graphql" | "/graphql/ws" | "/healthz" | "/readyz" | "/metrics" | "/graphiql"
        | "/beacon.gif") => p.to_string(),
        p if p.starts_with("/graphiql/") => "/graphiql/*".into(),
        _ => "other".into(),
    };
    let span =
        tracing::info_span!("request", request_id = %id, method = %req.method(), route = %route);
    let started = std::time::Instant::now();
    let mut res = RequestScope::new(id.as_str())
        .run(next.run(req))
        .instrument(span.clone())
        .await;
    let status = res.status().as_u16();
    span.in_scope(|| {
        tracing::debug!(
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "answered"
        );
    });
    metrics::counter!("portico_http_requests_total", "route" => route, "status" => status.to_string()).increment(1);
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}

/// The headers every response carries (HSTS in production only); a route's own `X-Frame-Options` wins.
pub fn security_headers<S>(router: axum::Router<S>, production: bool) -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    use tower_http::set_header::SetResponseHeaderLayer;
    let router = router
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ));
    if production {
        router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        ))
    } else {
        router
    }
}
