//! Internal failures answer a generic `internal error` with `INTERNAL` and the request id: no SQL, no table
//! names, no stack, no file names, over HTTP and WebSocket.

use axum::body::Body;
use axum::http::Request;
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use super::client::{ws_acked, ws_run};
use crate::harness::{TestApp, code, json_body};

/// Words that would betray internals in an answer.
const LEAKS: [&str; 12] = [
    "works_hidden",
    "relation",
    "does not exist",
    "diesel",
    "postgres",
    "SQL",
    "SELECT",
    "src/",
    ".rs",
    "panicked",
    "backtrace",
    "pool",
];

fn assert_generic(body: &Value) {
    let error = &body["errors"][0];
    assert_eq!(error["message"], "internal error", "{body}");
    assert_eq!(error["extensions"]["code"], "INTERNAL", "{body}");
    let text = body.to_string();
    for leak in LEAKS {
        assert!(!text.contains(leak), "`{leak}` leaked: {body}");
    }
}

const WORKS: &str = "{ works(first: 3) { edges { node { id title } } } }";

async fn post_with_request_id(app: &TestApp, query: &str, request_id: &str) -> (u16, Value) {
    let req = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("x-request-id", request_id)
        .body(Body::from(json!({ "query": query }).to_string()))
        .unwrap();
    let res = app.request(req).await;
    let status = res.status().as_u16();
    assert_eq!(res.headers()["x-request-id"], request_id);
    (status, json_body(res).await)
}

#[tokio::test]
async fn a_broken_statement_answers_a_generic_error_with_the_request_id() {
    let app = TestApp::new().await;
    // Control: the query works before the table goes away.
    let (status, body) = app.graphql(WORKS, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    let mut conn = app.db.conn().await;
    diesel::sql_query("ALTER TABLE works RENAME TO works_hidden")
        .execute(&mut conn)
        .await
        .unwrap();
    let (status, body) = post_with_request_id(&app, WORKS, "battery-broken-1").await;
    assert_eq!(status, 200, "{body}");
    assert_generic(&body);
    assert_eq!(
        body["errors"][0]["extensions"]["requestId"],
        "battery-broken-1"
    );
    // A mutation that meets the same failure, and the same query over WebSocket.
    let (token, _) = app.register("broken", "+8613800138100").await;
    let (_, body) = app
        .graphql_as(
            &token,
            "mutation { publishWork(input: {title: \"t\", category: \"painting\", tags: [], images: [{url: \"https://img.example.com/1.jpg\", width: 10, height: 10}]}) { id } }",
            json!({}),
        )
        .await;
    assert_generic(&body);
    assert!(body["errors"][0]["extensions"]["requestId"].is_string());
    let server = app.serve().await;
    let mut ws = ws_acked(&server).await;
    let answer = ws_run(&mut ws, "w", WORKS).await;
    // `works` is non-null, so its failure nulls `data`: the socket answers `error` (an array of errors)
    // rather than `next`, which graphql-transport-ws allows for errors during execution.
    match answer["type"].as_str() {
        Some("error") => assert_generic(&json!({ "errors": answer["payload"] })),
        Some("next") => assert_generic(&answer["payload"]),
        _ => panic!("unexpected answer {answer}"),
    }
}

#[tokio::test]
async fn a_closed_pool_answers_a_generic_error() {
    let app = TestApp::new().await;
    app.state.pool.close();
    let (status, body) = post_with_request_id(&app, WORKS, "battery-closed-1").await;
    assert_eq!(status, 200, "{body}");
    assert_generic(&body);
    assert_eq!(
        body["errors"][0]["extensions"]["requestId"],
        "battery-closed-1"
    );
    // Readiness tells operators what clients are not told.
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 503);
    // Signing in needs the database too: still generic, never a hint about the account.
    let (_, body) = app
        .graphql(
            "mutation { login(input: {identifier: \"nobody\", password: \"whatever it is 42\"}) { accessToken } }",
            json!({}),
        )
        .await;
    assert_generic(&body);
    assert_eq!(code(&body), "INTERNAL");
}
