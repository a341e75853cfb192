//! Cross-site WebSocket hijacking and CORS in production: only same-origin pages and the allowlist may open
//! a socket or read answers; look-alike origins, `null` and loopback pages may not.

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use super::client::{Said, ws_init, ws_open, ws_refusal};
use crate::harness::TestApp;

const ALLOWED: &str = "https://app.example";

async fn production() -> TestApp {
    TestApp::with_config(|c| {
        c.env = portico::config::Environment::Production;
        c.introspection = false;
        c.graphiql = false;
        c.allowed_origins = vec![ALLOWED.to_string()];
    })
    .await
}

#[tokio::test]
async fn websockets_from_foreign_origins_are_refused_in_production() {
    // `ws_protocol::origins_are_checked_before_upgrading` covers development (a foreign origin refused, a
    // loopback page allowed); production allows only the allowlist and same-origin pages.
    let app = production().await;
    let server = app.serve().await;
    let host = server.addr.to_string();
    let same_origin = format!("http://{host}");
    let (token, _) = app.register("victim", "+8613800138400").await;
    let cookie = format!("__Host-portico-access={token}");
    for origin in [
        "https://evil.example",
        "https://app.example.evil.example",
        "https://evil-app.example",
        "http://app.example",
        "https://app.example:8443",
        "null",
        "http://localhost:3000",
        "http://127.0.0.1:8000",
        "file://",
    ] {
        // With the victim's cookie attached, as a browser would send it.
        let status = ws_refusal(&server, &[("origin", origin), ("cookie", cookie.as_str())]).await;
        assert_eq!(status, Some(403), "{origin} was not refused");
    }
    for origin in [ALLOWED, "https://app.example/", same_origin.as_str()] {
        let mut ws = ws_open(&server, &[("origin", origin)])
            .await
            .unwrap_or_else(|e| panic!("{origin} was refused: {e}"));
        assert_eq!(
            ws_init(&mut ws, json!({})).await,
            Said::Json(json!({ "type": "connection_ack" })),
            "{origin}"
        );
    }
    // Mobile apps send no Origin.
    let mut ws = ws_open(&server, &[])
        .await
        .expect("no Origin is not a browser");
    assert_eq!(
        ws_init(&mut ws, json!({})).await,
        Said::Json(json!({ "type": "connection_ack" }))
    );
}

fn preflight(origin: &str) -> Request<Body> {
    Request::options("/graphql")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, authorization",
        )
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn cors_grants_only_the_allowlist() {
    let app = production().await;
    // A JSON POST from another site needs a preflight, and a foreign origin gets no grant.
    for origin in [
        "https://evil.example",
        "https://app.example.evil.example",
        "null",
        "http://localhost:3000",
    ] {
        let res = app.request(preflight(origin)).await;
        assert!(
            !res.headers().contains_key("access-control-allow-origin"),
            "{origin} was granted: {:?}",
            res.headers()
        );
    }
    // Simple GETs are answered (queries only), but a foreign page may not read them.
    let res = app
        .request(
            Request::get("/graphql?query=%7B__typename%7D")
                .header("origin", "https://evil.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(!res.headers().contains_key("access-control-allow-origin"));
    // Control: the allowlisted origin is granted, with credentials.
    let res = app.request(preflight(ALLOWED)).await;
    assert_eq!(res.headers()["access-control-allow-origin"], ALLOWED);
    assert_eq!(res.headers()["access-control-allow-credentials"], "true");
}
