//! GraphQL over HTTP: negotiation, status codes, GET rules, CSRF-safe content types, limits, bad input.

use axum::body::Body;
use axum::http::Request;
use serde_json::json;

use crate::harness::code;
use crate::harness::{TestApp, json_body};

const GQL_RESPONSE: &str = "application/graphql-response+json";

fn post(body: &str, content_type: Option<&str>, accept: Option<&str>) -> Request<Body> {
    let mut b = Request::post("/graphql");
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    if let Some(a) = accept {
        b = b.header("accept", a);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn privacy_policy_is_served_from_the_database() {
    let app = TestApp::new().await;
    let (status, body) = app
        .graphql(
            "{ privacyPolicy { id version publishedAt text purposes { key title description required dataCategories recipients } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let policy = &body["data"]["privacyPolicy"];
    assert_eq!(policy["version"], "1");
    let purposes = policy["purposes"].as_array().unwrap();
    assert_eq!(purposes.len(), 14);
    let required: Vec<_> = purposes
        .iter()
        .filter(|p| p["required"] == true)
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(required, ["account", "security"]);
    let ad = purposes
        .iter()
        .find(|p| p["key"] == "partner-advertising")
        .unwrap();
    assert_eq!(ad["recipients"], json!(["advertising"]));
    // The global id resolves through node(id:).
    let (_, node) = app
        .graphql(
            "query($id: ID!) { node(id: $id) { id ... on PrivacyPolicy { version } } }",
            json!({ "id": policy["id"] }),
        )
        .await;
    assert_eq!(node["data"]["node"]["version"], "1", "{node}");
}

#[tokio::test]
async fn node_handles_unknown_and_malformed_ids() {
    let app = TestApp::new().await;
    let (_, unknown) = app
        .graphql("{ node(id: \"V29yazo5OTk\") { id } }", json!({}))
        .await;
    assert_eq!(
        unknown["data"]["node"],
        serde_json::Value::Null,
        "{unknown}"
    );
    let (_, bad) = app.graphql("{ node(id: \"%%%\") { id } }", json!({})).await;
    assert_eq!(code(&bad), "BAD_USER_INPUT", "{bad}");
}

#[tokio::test]
async fn negotiation_and_document_errors() {
    let app = TestApp::new().await;
    // Parse failure: 400 under the new media type, 200 under legacy JSON; never a data entry.
    let res = app
        .request(post(
            r#"{"query":"{"}"#,
            Some("application/json"),
            Some(GQL_RESPONSE),
        ))
        .await;
    assert_eq!(res.status(), 400);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(GQL_RESPONSE)
    );
    let body = json_body(res).await;
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED");
    let res = app
        .request(post(
            r#"{"query":"{"}"#,
            Some("application/json"),
            Some("application/json"),
        ))
        .await;
    assert_eq!(res.status(), 200);
    // Validation failure.
    let res = app
        .request(post(
            r#"{"query":"{ nope }"}"#,
            Some("application/json"),
            Some(GQL_RESPONSE),
        ))
        .await;
    assert_eq!(res.status(), 400);
    let body = json_body(res).await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
    // Variables of the wrong type.
    let res = app
        .request(post(
            r#"{"query":"query($id: ID!) { node(id: $id) { id } }","variables":{"id":{"x":1}}}"#,
            Some("application/json"),
            Some(GQL_RESPONSE),
        ))
        .await;
    assert_eq!(res.status(), 400);
    // Unknown operation name.
    let res = app
        .request(post(
            r#"{"query":"query A { __typename }","operationName":"B"}"#,
            Some("application/json"),
            Some(GQL_RESPONSE),
        ))
        .await;
    assert_eq!(res.status(), 400);
    // Unacceptable Accept.
    let res = app
        .request(post(
            r#"{"query":"{ __typename }"}"#,
            Some("application/json"),
            Some("text/html"),
        ))
        .await;
    assert_eq!(res.status(), 406);
}

#[tokio::test]
async fn malformed_bodies_and_content_types() {
    let app = TestApp::new().await;
    for (body, ct, status) in [
        ("{", Some("application/json"), 400),
        ("", Some("application/json"), 400),
        ("[]", Some("application/json"), 400),
        (r#"{"query": 3}"#, Some("application/json"), 400),
        (r#"{"query":"{ __typename }"}"#, None, 415),
        (r#"{"query":"{ __typename }"}"#, Some("text/plain"), 415),
        (
            "query=%7B__typename%7D",
            Some("application/x-www-form-urlencoded"),
            415,
        ),
        (
            r#"{"query":"{ __typename }"}"#,
            Some("multipart/form-data; boundary=x"),
            415,
        ),
        (
            r#"{"query":"{ __typename }"}"#,
            Some("application/json; charset=latin1"),
            415,
        ),
        (
            r#"{"query":"{ __typename }"}"#,
            Some("application/json; charset=utf-8"),
            200,
        ),
    ] {
        let res = app.request(post(body, ct, None)).await;
        assert_eq!(res.status(), status, "{body} as {ct:?}");
        let json = json_body(res).await;
        if status != 200 {
            assert!(json["errors"][0]["message"].is_string(), "{json}");
        }
    }
    // Oversized body: 413, and the server keeps serving.
    let big = format!(
        r#"{{"query":"{{ __typename }}","variables":{{"x":"{}"}}}}"#,
        "a".repeat(2 << 20)
    );
    let res = app
        .request(post(&big, Some("application/json"), None))
        .await;
    assert_eq!(res.status(), 413);
    let (status, _) = app.graphql("{ __typename }", json!({})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn get_serves_queries_but_never_mutations() {
    let app = TestApp::new().await;
    let res = app.get("/graphql?query=%7B__typename%7D").await;
    assert_eq!(res.status(), 200);
    assert_eq!(json_body(res).await["data"]["__typename"], "Query");
    let res = app
        .get("/graphql?query=mutation%20M%20%7B__typename%7D")
        .await;
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    let res = app
        .get("/graphql?query=%7B__typename%7D&variables=%7Bbad")
        .await;
    assert_eq!(res.status(), 400);
    let res = app
        .request(Request::put("/graphql").body(Body::empty()).unwrap())
        .await;
    assert_eq!(res.status(), 405);
}

#[tokio::test]
async fn limits_refuse_expensive_queries() {
    let app = TestApp::new().await;
    let aliases: String = (0..101).map(|i| format!("a{i}: __typename ")).collect();
    let (_, body) = app.graphql(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    let directives: String = (0..50).map(|_| "@include(if: true) ").collect();
    let (_, body) = app
        .graphql(&format!("{{ __typename {directives} }}"), json!({}))
        .await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    // Depth: see `introspection.rs` for application queries; introspection does not count towards it, so an
    // `ofType` chain deeper than any real type is answered.
    let of_type = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
        "ofType { ".repeat(12),
        "} ".repeat(12)
    );
    let (_, body) = app.graphql(&of_type, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    let long = format!("{{ __typename }} #{}", "x".repeat(30_000));
    let (_, body) = app.graphql(&long, json!({})).await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    // Batching is off by default.
    let res = app
        .request(post(
            r#"[{"query":"{ __typename }"},{"query":"{ __typename }"}]"#,
            Some("application/json"),
            None,
        ))
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn batches_run_when_enabled_up_to_the_limit() {
    let app = TestApp::with_config(|c| c.limits.max_batch = 3).await;
    let res = app
        .request(post(
            r#"[{"query":"{ __typename }"},{"query":"{ privacyPolicy { version } }"}]"#,
            Some("application/json"),
            None,
        ))
        .await;
    assert_eq!(res.status(), 200);
    let body = json_body(res).await;
    assert_eq!(body[1]["data"]["privacyPolicy"]["version"], "1", "{body}");
    let four = serde_json::to_string(&vec![json!({"query": "{ __typename }"}); 4]).unwrap();
    let res = app
        .request(post(&four, Some("application/json"), None))
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated() {
    let app = TestApp::new().await;
    for auth in ["Bearer not-a-token", "Basic abc", "Bearer "] {
        let req = Request::post("/graphql")
            .header("content-type", "application/json")
            .header("authorization", auth)
            .body(Body::from(r#"{"query":"{ __typename }"}"#))
            .unwrap();
        let res = app.request(req).await;
        assert_eq!(res.status(), 401, "{auth}");
        assert_eq!(code(&json_body(res).await), "UNAUTHENTICATED");
    }
}

#[tokio::test]
async fn production_hides_introspection_and_suggestions() {
    let app = TestApp::with_config(|c| {
        c.env = portico::config::Environment::Production;
        c.introspection = false;
        c.graphiql = false;
    })
    .await;
    let (status, body) = app
        .graphql("{ __schema { types { name } } }", json!({}))
        .await;
    assert_eq!(status, 403);
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, body) = app.graphql("{ privacyPolic { version } }", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "{message}");
    let res = app.get("/graphiql").await;
    assert_eq!(res.status(), 404);
    let res = app.get("/healthz").await;
    assert!(res.headers().contains_key("strict-transport-security"));
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::new().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    assert_eq!(json_body(res).await["migrationsCurrent"], true);
    app.graphql(
        "query PolicyForMetrics { privacyPolicy { version } }",
        json!({}),
    )
    .await;
    // Refusals made before execution (here a parse failure) are counted with the executor's errors.
    let (_, refused) = app.graphql("{ privacyPolicy {", json!({})).await;
    assert_eq!(code(&refused), "GRAPHQL_PARSE_FAILED");
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    let text = String::from_utf8(
        axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    for needle in [
        "portico_graphql_requests_total{operation=\"PolicyForMetrics\",kind=\"query\"}",
        "portico_graphql_request_duration_seconds_bucket{operation=\"PolicyForMetrics\"",
        "portico_sql_statements_total",
        "portico_db_pool_size",
        "portico_http_requests_total",
        "portico_errors_total{code=\"GRAPHQL_PARSE_FAILED\"}",
    ] {
        assert!(text.contains(needle), "{needle} missing from /metrics");
    }
}

#[tokio::test]
async fn readiness_fails_when_migrations_are_missing() {
    let app = TestApp::new().await;
    let mut conn = app.db.conn().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("DELETE FROM __diesel_schema_migrations"),
        &mut conn,
    )
    .await
    .unwrap();
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
}

#[tokio::test]
async fn request_ids_are_echoed_and_generated() {
    let app = TestApp::new().await;
    let res = app
        .request(
            Request::get("/healthz")
                .header("x-request-id", "abc-123")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.headers()["x-request-id"], "abc-123");
    let res = app
        .request(
            Request::get("/healthz")
                .header("x-request-id", "bad id with spaces")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_ne!(res.headers()["x-request-id"], "bad id with spaces");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
}
