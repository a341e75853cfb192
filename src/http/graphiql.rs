//! GraphiQL, served with its assets from the gateway itself (no CDN), under a strict Content-Security-Policy.
//!
//! The page loads React 18, ReactDOM 18 and GraphiQL 3.8 (their UMD builds, vendored in `assets/graphiql/`
//! with their licences and embedded into the binary) and `init.js`, which points GraphiQL at `/graphql`
//! and `/graphql/ws` beside the page. Asset URLs carry a digest of their content, so browsers may cache
//! them for a year and still never run a stale file after an upgrade.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// The page may load and connect to nothing but the gateway. GraphiQL (CodeMirror, its popovers) sets
/// inline `style` attributes and injects `<style>` elements, hence `'unsafe-inline'` for styles only; its
/// stylesheet embeds its fonts and icons as `data:` URLs. WebSocket URLs are listed because older browsers
/// do not let `'self'` match `ws:`/`wss:`.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
    connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// One embedded file under `/graphiql/assets/`.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!(concat!("../../assets/graphiql/", $name)),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("react.production.min.js", JS),
    asset!("react-dom.production.min.js", JS),
    asset!("graphiql.min.js", JS),
    asset!("graphiql.min.css", CSS),
    asset!("init.js", JS),
    asset!("init.css", CSS),
    asset!("LICENSE.graphiql", TEXT),
    asset!("LICENSE.react", TEXT),
    asset!("LICENSE.react-dom", TEXT),
];

/// Each asset's entity tag: the start of its SHA-256, computed once on first use.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let digest = Sha256::digest(a.bytes);
            hex::encode(&digest[..8])
        })
        .collect()
});

/// The page, with digest-stamped asset URLs (relative, so a path prefix added by a proxy is kept).
static PAGE: LazyLock<String> = LazyLock::new(|| {
    let url = |name: &str| {
        let i = ASSETS
            .iter()
            .position(|a| a.name == name)
            .expect("the page names only embedded assets");
        format!("graphiql/assets/{name}?v={}", ETAGS[i])
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Portico · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{graphiql_css}">
<link rel="stylesheet" href="{init_css}">
<script defer src="{react}"></script>
<script defer src="{react_dom}"></script>
<script defer src="{graphiql}"></script>
<script defer src="{init}"></script>
</head>
<body>
<div id="graphiql"><p class="portico-loading">Loading GraphiQL…</p></div>
<noscript><p class="portico-loading">GraphiQL needs JavaScript. The API itself is at <code>/graphql</code>.</p></noscript>
</body>
</html>
"#,
        graphiql_css = url("graphiql.min.css"),
        init_css = url("init.css"),
        react = url("react.production.min.js"),
        react_dom = url("react-dom.production.min.js"),
        graphiql = url("graphiql.min.js"),
        init = url("init.js"),
    )
});

/// `GET /graphiql` and `GET /graphiql/assets/{file}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/graphiql", get(page))
        .route("/graphiql/assets/{file}", get(asset))
}

async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            // The page is tiny and names the current asset digests: always revalidate it.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE.as_str(),
    )
        .into_response()
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.name == file) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, TEXT)],
            "no such GraphiQL asset\n",
        )
            .into_response();
    };
    let asset = &ASSETS[i];
    let etag = format!("\"{}\"", ETAGS[i]);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.bytes,
        )
            .into_response()
    };
    let h = res.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex is a valid header value"),
    );
    res
}
