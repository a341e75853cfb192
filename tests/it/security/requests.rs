//! Requests a browser or a script can forge: mutations over GET, mutations through simple (CSRF-able) POSTs,
//! batches of 100 operations, and oversized bodies over real TCP and WebSocket.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use std::time::Duration;

use super::client::{Said, raw_http, ws_acked, ws_next};
use crate::harness::{TestApp, code, json_body};

/// A mutation with a visible side effect: it writes one `verification_codes` row.
fn code_request(phone: &str) -> String {
    format!(
        "mutation M {{ requestVerificationCode(input: {{channel: SMS, destination: \"{phone}\", purpose: REGISTER}}) {{ retryAfterSeconds }} }}"
    )
}

const CODES: &str = "SELECT count(*) AS n FROM verification_codes";

fn get(query: &str, operation_name: Option<&str>, accept: &str) -> Request<Body> {
    let mut pairs = vec![("query", query)];
    if let Some(name) = operation_name {
        pairs.push(("operationName", name));
    }
    let qs = serde_urlencoded::to_string(&pairs).unwrap();
    Request::get(format!("/graphql?{qs}"))
        .header("accept", accept)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn mutations_over_get_are_refused_and_change_nothing() {
    let app = TestApp::new().await;
    let mutation = code_request("+8613900139000");
    let mixed = format!("query Q {{ __typename }} {mutation}");
    for (query, name, accept) in [
        (mutation.as_str(), None, "application/json"),
        (
            mutation.as_str(),
            Some("M"),
            "application/graphql-response+json",
        ),
        // A document holding a query too: the operation that would run is what counts.
        (mixed.as_str(), Some("M"), "application/json"),
    ] {
        let res = app.request(get(query, name, accept)).await;
        assert_eq!(res.status(), 405, "{query}");
        assert_eq!(res.headers()["allow"], "POST");
        let body = json_body(res).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert!(body.get("data").is_none(), "{body}");
    }
    // The query of the mixed document still runs over GET.
    let res = app
        .request(get(&mixed, Some("Q"), "application/json"))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.count(CODES).await, 0, "a refused mutation wrote a row");
    // Control: the same mutation over a JSON POST does write.
    let (status, body) = app.graphql(&mutation, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.count(CODES).await, 1);
}

#[tokio::test]
async fn mutations_through_simple_cross_site_posts_are_refused() {
    let app = TestApp::new().await;
    let (token, _) = app.register("csrf", "+8613900139001").await;
    let cookie = format!("__Host-portico-access={token}");
    let before = app.count(CODES).await;
    let json_body_text = json!({ "query": code_request("+8613900139002") }).to_string();
    let logout = json!({ "query": "mutation { logout }" }).to_string();
    let form = serde_urlencoded::to_string([("query", code_request("+8613900139002"))]).unwrap();
    let multipart = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"query\"\r\n\r\n{}\r\n--XyZ--\r\n",
        code_request("+8613900139002")
    );
    // What a page on another site can make a browser send without a preflight: these three content types
    // (or none), with the victim's cookies attached.
    let cases: Vec<(Option<&str>, &str)> = vec![
        (Some("text/plain"), &json_body_text),
        (Some("text/plain;charset=UTF-8"), &json_body_text),
        (Some("text/plain"), &logout),
        (Some("application/x-www-form-urlencoded"), &form),
        (Some("multipart/form-data; boundary=XyZ"), &multipart),
        (None, &json_body_text),
        (None, &logout),
    ];
    for (content_type, body) in cases {
        let mut req = Request::post("/graphql")
            .header("origin", "https://evil.example")
            .header("cookie", &cookie);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let res = app
            .request(req.body(Body::from(body.to_string())).unwrap())
            .await;
        assert_eq!(res.status(), 415, "{content_type:?}: {body}");
        let answer = json_body(res).await;
        assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
        assert!(answer.get("data").is_none(), "{answer}");
    }
    assert_eq!(
        app.count(CODES).await,
        before,
        "a forged mutation wrote a row"
    );
    // The forged logouts did not end the session.
    let (status, me) = app
        .graphql_as(&token, "{ viewer { username } }", json!({}))
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["data"]["viewer"]["username"], "csrf");
}

fn batch(items: impl IntoIterator<Item = String>) -> Request<Body> {
    let items: Vec<Value> = items.into_iter().map(|q| json!({ "query": q })).collect();
    Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from(Value::Array(items).to_string()))
        .unwrap()
}

fn phones(n: usize) -> impl Iterator<Item = String> {
    (0..n).map(|i| code_request(&format!("+86137{i:08}")))
}

#[tokio::test]
async fn a_batch_of_100_operations_is_refused_whole() {
    // Batching off (the default): refused, nothing runs.
    let app = TestApp::new().await;
    let res = app.request(batch(phones(100))).await;
    assert_eq!(res.status(), 400);
    let body = json_body(res).await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("turned off"),
        "{body}"
    );
    assert_eq!(app.count(CODES).await, 0);

    // Batching on with a limit of 10: a batch of 100 is refused before any item runs.
    let app = TestApp::with_config(|c| c.limits.max_batch = 10).await;
    let res = app.request(batch(phones(100))).await;
    assert_eq!(res.status(), 400);
    let body = json_body(res).await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 10"),
        "{body}"
    );
    assert_eq!(app.count(CODES).await, 0, "part of a refused batch ran");
    // Control: a batch within the limit runs every item.
    let res = app.request(batch(phones(10))).await;
    assert_eq!(res.status(), 200);
    let body = json_body(res).await;
    assert_eq!(body.as_array().map(Vec::len), Some(10), "{body}");
    assert_eq!(app.count(CODES).await, 10);
}

#[tokio::test]
async fn oversized_bodies_are_refused_over_real_connections() {
    let app = TestApp::with_config(|c| c.limits.max_body_bytes = 64 * 1024).await;
    let server = app.serve().await;
    let big = json!({ "query": "{ __typename }", "variables": { "pad": "a".repeat(200 * 1024) } })
        .to_string()
        .into_bytes();
    let head = |extra: &str| {
        format!(
            "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n{extra}\r\n",
            server.addr
        )
    };
    // A declared length over the limit.
    let (status, answer) = raw_http(
        server.addr,
        head(&format!("Content-Length: {}\r\n", big.len())),
        big.clone(),
        false,
    )
    .await;
    assert_eq!(status, 413, "{answer}");
    // No declared length: a chunked body is cut off at the limit too.
    let (status, answer) = raw_http(
        server.addr,
        head("Transfer-Encoding: chunked\r\n"),
        big.clone(),
        true,
    )
    .await;
    assert_eq!(status, 413, "{answer}");
    // A declared length that lies (more than the limit, little sent) is refused without waiting for it.
    let started = std::time::Instant::now();
    let (status, answer) = raw_http(
        server.addr,
        head("Content-Length: 1073741824\r\n"),
        b"{\"query\":\"{ __typename }\"}".to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 413, "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Each refusal is a GraphQL error with a code, like every other refusal.
    assert!(
        answer.contains("\"code\":\"QUERY_TOO_COMPLEX\""),
        "{answer}"
    );
    // A WebSocket message over the limit ends that socket.
    let mut ws = ws_acked(&server).await;
    super::client::ws_send(
        &mut ws,
        json!({ "type": "subscribe", "id": "1", "payload": { "query": "{ __typename }", "variables": { "pad": "a".repeat(200 * 1024) } } }),
    )
    .await;
    match ws_next(&mut ws).await {
        Said::Closed(code) => assert!(code.is_none() || code == Some(1009), "closed with {code:?}"),
        Said::Json(message) => panic!("an oversized message was answered: {message}"),
    }
    // The server keeps serving, over a new connection and in-process.
    let small = b"{\"query\":\"{ __typename }\"}".to_vec();
    let (status, answer) = raw_http(
        server.addr,
        head(&format!("Content-Length: {}\r\n", small.len())),
        small,
        false,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn bodies_that_trickle_in_are_cut_off() {
    // A client that declares a small body and never finishes it does not hold the connection for ever.
    let app = TestApp::with_config(|c| c.limits.request_timeout = Duration::from_secs(1)).await;
    let server = app.serve().await;
    let started = std::time::Instant::now();
    let (status, answer) = raw_http(
        server.addr,
        format!(
            "POST /graphql HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
            server.addr
        ),
        b"{\"query\":".to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 408, "{answer}");
    assert!(answer.contains("\"code\":\"BAD_USER_INPUT\""), "{answer}");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_millis(2900),
        "answered after {elapsed:?}"
    );
}
