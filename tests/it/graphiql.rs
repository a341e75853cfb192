//! GraphiQL: the page, its Content-Security-Policy, the embedded assets, and GraphiQL turned off.

use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};

use crate::harness::TestApp;

async fn get(app: &TestApp, uri: &str) -> Response<Body> {
    app.get(uri).await
}

async fn text(res: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).expect("utf-8 body")
}

fn header_str(res: &Response<Body>, name: header::HeaderName) -> &str {
    res.headers()
        .get(&name)
        .unwrap_or_else(|| panic!("missing {name}"))
        .to_str()
        .unwrap()
}

/// The asset URLs a page references (`src="..."` and `href="..."`), without their query strings.
fn referenced_assets(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attr) {
            let rest = &html[at + attr.len()..];
            let url = &rest[..rest.find('"').unwrap()];
            if url.starts_with("data:") {
                continue;
            }
            out.push(url.split('?').next().unwrap().to_string());
        }
    }
    out
}

#[tokio::test]
async fn page_is_served_with_a_strict_csp_and_no_external_urls() {
    let app = TestApp::new().await;
    let res = get(&app, "/graphiql").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header_str(&res, header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    let csp = header_str(&res, header::CONTENT_SECURITY_POLICY).to_string();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "CSP lacks {directive}: {csp}");
    }
    let script_src = csp
        .split(';')
        .find(|d| d.trim().starts_with("script-src"))
        .unwrap();
    assert_eq!(
        script_src.trim(),
        "script-src 'self'",
        "no inline or eval'd script"
    );
    assert!(!csp.contains("http:") && !csp.contains("https:"), "{csp}");
    let html = text(res).await;
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    // No inline script: every <script> has a src and an empty body.
    for (at, _) in html.match_indices("<script") {
        let tag = &html[at..at + html[at..].find("</script>").unwrap()];
        assert!(
            tag.contains(" src=\"") && tag.ends_with('>'),
            "inline script: {tag}"
        );
    }
    let handler = html.match_indices(" on").any(|(at, _)| {
        let name: String = html[at + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        html[at + 1 + name.len()..].starts_with('=')
    });
    assert!(!handler, "no inline event handlers: {html}");
    // Every referenced asset is the gateway's own, relative to the page, and is served.
    let assets = referenced_assets(&html);
    assert_eq!(assets.len(), 6, "{assets:?}");
    for path in assets {
        assert!(path.starts_with("graphiql/assets/"), "{path}");
        let res = get(&app, &format!("/{path}")).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn bootstrap_script_derives_endpoints_from_the_location() {
    let app = TestApp::new().await;
    let js = text(get(&app, "/graphiql/assets/init.js").await).await;
    assert!(
        !js.contains("http://") && !js.contains("https://"),
        "no absolute URLs in init.js"
    );
    assert!(js.contains("window.location.href"), "{js}");
    assert!(js.contains("subscriptionUrl"), "{js}");
    assert!(js.contains("'wss:'") && js.contains("'ws:'"), "{js}");
    let css = text(get(&app, "/graphiql/assets/init.css").await).await;
    assert!(
        !css.contains("http://") && !css.contains("https://"),
        "{css}"
    );
}

#[tokio::test]
async fn assets_are_served_with_their_content_types_and_long_caching() {
    let app = TestApp::new().await;
    const JS: &str = "text/javascript; charset=utf-8";
    const CSS: &str = "text/css; charset=utf-8";
    const TEXT: &str = "text/plain; charset=utf-8";
    for (file, content_type, needle) in [
        ("graphiql.min.js", JS, "GraphiQL"),
        ("graphiql.min.css", CSS, ".graphiql-container"),
        ("react.production.min.js", JS, "React"),
        ("react-dom.production.min.js", JS, "react-dom"),
        ("init.js", JS, "createFetcher"),
        ("init.css", CSS, "#graphiql"),
        ("LICENSE.graphiql", TEXT, "MIT License"),
        ("LICENSE.react", TEXT, "MIT License"),
        ("LICENSE.react-dom", TEXT, "MIT License"),
    ] {
        let res = get(&app, &format!("/graphiql/assets/{file}?v=ignored")).await;
        assert_eq!(res.status(), StatusCode::OK, "{file}");
        assert_eq!(
            header_str(&res, header::CONTENT_TYPE),
            content_type,
            "{file}"
        );
        let cache = header_str(&res, header::CACHE_CONTROL);
        assert!(cache.contains("max-age=31536000"), "{file}: {cache}");
        assert_eq!(header_str(&res, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        let etag = header_str(&res, header::ETAG).to_string();
        let body = text(res).await;
        assert!(body.contains(needle), "{file} lacks {needle}");

        // A revalidation with the entity tag is answered without the body.
        let res = app
            .request(
                Request::get(format!("/graphiql/assets/{file}"))
                    .header(header::IF_NONE_MATCH, &etag)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{file}");
        assert!(text(res).await.is_empty());
    }
}

#[tokio::test]
async fn asset_urls_change_with_their_content() {
    let app = TestApp::new().await;
    let html = text(get(&app, "/graphiql").await).await;
    let res = get(&app, "/graphiql/assets/graphiql.min.js").await;
    let etag = header_str(&res, header::ETAG).trim_matches('"').to_string();
    assert!(
        html.contains(&format!("graphiql/assets/graphiql.min.js?v={etag}")),
        "{html}"
    );
}

#[tokio::test]
async fn unknown_assets_are_not_found() {
    let app = TestApp::new().await;
    for uri in [
        "/graphiql/assets/nope.js",
        "/graphiql/assets/graphiql.min.js.map",
        "/graphiql/assets/..%2F..%2FCargo.toml",
        "/graphiql/assets/",
        "/graphiql/assets/init.js/x",
    ] {
        let res = get(&app, uri).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{uri}");
    }
}

#[tokio::test]
async fn graphiql_off_serves_nothing() {
    let app = TestApp::with_config(|c| c.graphiql = false).await;
    for uri in [
        "/graphiql",
        "/graphiql/assets/graphiql.min.js",
        "/graphiql/assets/init.js",
    ] {
        let res = get(&app, uri).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{uri}");
    }
    // The API itself is still there.
    let (status, body) = app
        .graphql("{ privacyPolicy { version } }", serde_json::json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
}
