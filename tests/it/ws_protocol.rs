//! GraphQL over WebSocket at `/graphql/ws`, with a real client (tokio-tungstenite) against a real server:
//! graphql-transport-ws as graphql-ws's PROTOCOL.md says it (every close code, ping/pong, queries, errors),
//! the legacy graphql-ws protocol, origin and subprotocol checks, and closing with 1001 on shutdown.

use std::time::Duration;

use diesel_async::RunQueryDsl;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::harness::{TestApp, TestServer};

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

const TRANSPORT: &str = "graphql-transport-ws";
const LEGACY: &str = "graphql-ws";
const POLICY_SUBSCRIPTION: &str = "subscription { privacyPolicy { version } }";

/// Opens a socket with these request headers (no subprotocol unless one is given).
pub(crate) async fn open(
    server: &TestServer,
    headers: &[(&'static str, &str)],
) -> Result<Ws, WsError> {
    let mut req = server.ws_url().into_client_request().unwrap();
    for (name, value) in headers {
        req.headers_mut().insert(*name, value.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

/// Opens a socket speaking `protocol`.
pub(crate) async fn connect(server: &TestServer, protocol: &str) -> Ws {
    open(server, &[("sec-websocket-protocol", protocol)])
        .await
        .expect("the upgrade succeeds")
}

/// Opens a graphql-transport-ws socket and has it acknowledged.
pub(crate) async fn connect_acked(server: &TestServer) -> Ws {
    let mut ws = connect(server, TRANSPORT).await;
    send(&mut ws, json!({ "type": "connection_init" })).await;
    assert_eq!(recv(&mut ws).await, json!({ "type": "connection_ack" }));
    ws
}

pub(crate) async fn send(ws: &mut Ws, message: Value) {
    send_text(ws, &message.to_string()).await;
}

pub(crate) async fn send_text(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.expect("send");
}

/// The next JSON message (WebSocket-level pings and pongs skipped).
pub(crate) async fn recv(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message in time")
            .expect("the socket is open")
            .expect("a readable frame");
        match frame {
            Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// The close frame's code and reason; fails on any other message first.
async fn closed(ws: &mut Ws) -> (u16, String) {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a close frame in time")
            .expect("a close frame before the end")
            .expect("a readable frame");
        match frame {
            Message::Close(Some(frame)) => return (frame.code.into(), frame.reason.to_string()),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

pub(crate) fn subscribe(id: &str, query: &str) -> Value {
    json!({ "type": "subscribe", "id": id, "payload": { "query": query } })
}

/// Publishes policy version `version` straight in SQL and announces it as writers do.
async fn publish_policy(app: &TestApp, version: &str) {
    let mut conn = app.db.conn().await;
    diesel::sql_query(format!(
        "WITH v AS (
             INSERT INTO policy_versions (version, body, published_at)
             VALUES ('{version}', 'Policy text, version {version}.',
                     GREATEST(now(), (SELECT max(published_at) FROM policy_versions) + interval '1 second'))
             RETURNING id)
         SELECT pg_notify('portico', 'policy:' || v.id) FROM v"
    ))
    .execute(&mut conn)
    .await
    .expect("a new policy version");
}

/// After `complete`/`error`, nothing more arrives for an operation: the next message answers a later ping.
async fn assert_quiet(ws: &mut Ws) {
    send(ws, json!({ "type": "ping", "payload": { "probe": true } })).await;
    assert_eq!(
        recv(ws).await,
        json!({ "type": "pong", "payload": { "probe": true } })
    );
}

#[tokio::test]
async fn subscription_streams_new_policy_versions_until_completed() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let mut ws = connect_acked(&server).await;
    send(&mut ws, subscribe("1", POLICY_SUBSCRIPTION)).await;
    assert_eq!(
        recv(&mut ws).await,
        json!({ "type": "next", "id": "1", "payload": { "data": { "privacyPolicy": { "version": "1" } } } })
    );
    publish_policy(&app, "2").await;
    assert_eq!(
        recv(&mut ws).await,
        json!({ "type": "next", "id": "1", "payload": { "data": { "privacyPolicy": { "version": "2" } } } })
    );
    // The client completes: the server stops the operation and says nothing more about it.
    send(&mut ws, json!({ "type": "complete", "id": "1" })).await;
    assert_quiet(&mut ws).await;
    publish_policy(&app, "3").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_quiet(&mut ws).await;
    // The id is free again.
    send(&mut ws, subscribe("1", POLICY_SUBSCRIPTION)).await;
    assert_eq!(
        recv(&mut ws).await["payload"]["data"]["privacyPolicy"]["version"],
        "3"
    );
}

#[tokio::test]
async fn query_over_the_socket_is_one_next_then_complete() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let mut ws = connect_acked(&server).await;
    send(
        &mut ws,
        json!({ "type": "subscribe", "id": "q", "payload": {
            "query": "query Policy($x: Boolean!) { privacyPolicy @include(if: $x) { version } }",
            "variables": { "x": true },
            "operationName": "Policy",
        } }),
    )
    .await;
    assert_eq!(
        recv(&mut ws).await,
        json!({ "type": "next", "id": "q", "payload": { "data": { "privacyPolicy": { "version": "1" } } } })
    );
    assert_eq!(
        recv(&mut ws).await,
        json!({ "type": "complete", "id": "q" })
    );
}

#[tokio::test]
async fn refused_operations_get_error_and_no_complete() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let mut ws = connect_acked(&server).await;
    let cases = [
        ("v", "subscription { nope }", "GRAPHQL_VALIDATION_FAILED"),
        ("p", "subscription {", "GRAPHQL_PARSE_FAILED"),
        ("i", "{ __typename }", ""),
    ];
    for (id, query, code) in cases {
        send(&mut ws, subscribe(id, query)).await;
        let message = recv(&mut ws).await;
        if code.is_empty() {
            // A control: a valid query completes.
            assert_eq!(message["type"], "next", "{message}");
            assert_eq!(recv(&mut ws).await, json!({ "type": "complete", "id": id }));
            continue;
        }
        assert_eq!(message["type"], "error", "{message}");
        assert_eq!(message["id"], id);
        let errors = message["payload"].as_array().expect("an array of errors");
        assert_eq!(errors[0]["extensions"]["code"], code, "{message}");
        assert!(errors[0]["message"].is_string());
        assert_quiet(&mut ws).await;
    }
    // After an error the id is free again.
    send(&mut ws, subscribe("v", "{ __typename }")).await;
    assert_eq!(recv(&mut ws).await["type"], "next");
    assert_eq!(
        recv(&mut ws).await,
        json!({ "type": "complete", "id": "v" })
    );
}

#[tokio::test]
async fn init_timeout_closes_4408() {
    let app = TestApp::with_config(|c| c.ws_init_timeout = Duration::from_millis(200)).await;
    let server = app.serve().await;
    let mut ws = connect(&server, TRANSPORT).await;
    assert_eq!(
        closed(&mut ws).await,
        (4408, "Connection initialisation timeout".into())
    );
}

#[tokio::test]
async fn second_init_closes_4429() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let mut ws = connect_acked(&server).await;
    send(&mut ws, json!({ "type": "connection_init" })).await;
    assert_eq!(
        closed(&mut ws).await,
        (4429, "Too many initialisation requests".into())
    );
}

#[tokio::test]
async fn subscribe_before_ack_closes_4401() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let mut ws = connect(&server, TRANSPORT).await;
    send(&mut ws, subscribe("1", POLICY_SUBSCRIPTION)).await;
    assert_eq!(closed(&mut ws).await, (4401, "Unauthorized".into()));
}

#[tokio::test]
async fn duplicate_id_closes_4409() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let mut ws = connect_acked(&server).await;
    send(&mut ws, subscribe("abc", POLICY_SUBSCRIPTION)).await;
    assert_eq!(recv(&mut ws).await["type"], "next");
    send(&mut ws, subscribe("abc", POLICY_SUBSCRIPTION)).await;
    assert_eq!(
        closed(&mut ws).await,
        (4409, "Subscriber for abc already exists".into())
    );
}

#[tokio::test]
async fn long_duplicate_id_gets_a_reason_that_fits_a_close_frame() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let mut ws = connect_acked(&server).await;
    let id = "x".repeat(300);
    send(&mut ws, subscribe(&id, POLICY_SUBSCRIPTION)).await;
    assert_eq!(recv(&mut ws).await["type"], "next");
    send(&mut ws, subscribe(&id, POLICY_SUBSCRIPTION)).await;
    let (code, reason) = closed(&mut ws).await;
    assert_eq!(code, 4409);
    assert_eq!(reason.len(), 122);
    assert!(reason.starts_with("Subscriber for xxx"), "{reason}");
}

#[tokio::test]
async fn non_json_closes_4400() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let mut ws = connect(&server, TRANSPORT).await;
    send_text(&mut ws, "this is not JSON").await;
    assert_eq!(
        closed(&mut ws).await,
        (
            4400,
            "Invalid message received: expected a JSON object".into()
        )
    );
}

#[tokio::test]
async fn unknown_type_closes_4400() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let mut ws = connect_acked(&server).await;
    send(&mut ws, json!({ "type": "bogus", "id": "1" })).await;
    assert_eq!(
        closed(&mut ws).await,
        (
            4400,
            "Invalid message received: unexpected type \"bogus\"".into()
        )
    );
}

#[tokio::test]
async fn subscribe_with_bad_payload_closes_4400() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let mut ws = connect_acked(&server).await;
    send(
        &mut ws,
        json!({ "type": "subscribe", "id": "1", "payload": { "query": "{ __typename }", "variables": [1] } }),
    )
    .await;
    assert_eq!(
        closed(&mut ws).await,
        (
            4400,
            "Invalid message received: \"payload.variables\" must be an object".into()
        )
    );
}

#[tokio::test]
async fn rejected_init_closes_4403() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let mut ws = connect(&server, TRANSPORT).await;
    send(
        &mut ws,
        json!({ "type": "connection_init", "payload": { "authorization": "Bearer bad" } }),
    )
    .await;
    assert_eq!(closed(&mut ws).await, (4403, "Forbidden".into()));
    // The capitalised key and the upgrade request's header are read too.
    let mut ws = connect(&server, TRANSPORT).await;
    send(
        &mut ws,
        json!({ "type": "connection_init", "payload": { "Authorization": "Bearer bad" } }),
    )
    .await;
    assert_eq!(closed(&mut ws).await, (4403, "Forbidden".into()));
    let mut ws = open(
        &server,
        &[
            ("sec-websocket-protocol", TRANSPORT),
            ("authorization", "Bearer bad"),
        ],
    )
    .await
    .unwrap();
    send(&mut ws, json!({ "type": "connection_init" })).await;
    assert_eq!(closed(&mut ws).await, (4403, "Forbidden".into()));
}

/// Runs `{ viewer { username } }` on an acknowledged socket and returns the username (null for visitors).
async fn viewer_username(ws: &mut Ws) -> Value {
    send(ws, subscribe("me", "{ viewer { username } }")).await;
    let next = recv(ws).await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(recv(ws).await, json!({ "type": "complete", "id": "me" }));
    next["payload"]["data"]["viewer"]["username"].clone()
}

#[tokio::test]
async fn init_authenticates_from_payload_header_or_cookie() {
    let app = TestApp::new().await;
    let (token, _) = app.register("sockets", "+8613100131000").await;
    let server = app.serve().await;
    // No credentials: a visitor.
    let mut ws = connect_acked(&server).await;
    assert_eq!(viewer_username(&mut ws).await, Value::Null);
    // The connection_init payload.
    let mut ws = connect(&server, TRANSPORT).await;
    send(
        &mut ws,
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } }),
    )
    .await;
    assert_eq!(recv(&mut ws).await, json!({ "type": "connection_ack" }));
    assert_eq!(viewer_username(&mut ws).await, "sockets");
    // The upgrade request's Authorization header, then its access cookie.
    let bearer = format!("Bearer {token}");
    let cookie = format!("__Host-portico-access={token}");
    for header in [
        ("authorization", bearer.as_str()),
        ("cookie", cookie.as_str()),
    ] {
        let mut ws = open(&server, &[("sec-websocket-protocol", TRANSPORT), header])
            .await
            .unwrap();
        send(&mut ws, json!({ "type": "connection_init" })).await;
        assert_eq!(recv(&mut ws).await, json!({ "type": "connection_ack" }));
        assert_eq!(viewer_username(&mut ws).await, "sockets", "{header:?}");
    }
    // A bad cookie is refused like a bad header.
    let mut ws = open(
        &server,
        &[
            ("sec-websocket-protocol", TRANSPORT),
            ("cookie", "__Host-portico-access=bad"),
        ],
    )
    .await
    .unwrap();
    send(&mut ws, json!({ "type": "connection_init" })).await;
    assert_eq!(closed(&mut ws).await, (4403, "Forbidden".into()));
}

#[tokio::test]
async fn ping_is_answered_with_pong() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    // Before initialisation too.
    let mut ws = connect(&server, TRANSPORT).await;
    send(&mut ws, json!({ "type": "ping" })).await;
    assert_eq!(recv(&mut ws).await, json!({ "type": "pong" }));
    send(&mut ws, json!({ "type": "ping", "payload": { "t": 42 } })).await;
    assert_eq!(
        recv(&mut ws).await,
        json!({ "type": "pong", "payload": { "t": 42 } })
    );
    // A pong from the client is ignored.
    send(&mut ws, json!({ "type": "pong" })).await;
    send(&mut ws, json!({ "type": "connection_init" })).await;
    assert_eq!(recv(&mut ws).await, json!({ "type": "connection_ack" }));
}

#[tokio::test]
async fn operations_per_socket_are_bounded() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let mut ws = connect_acked(&server).await;
    let max = portico::http::ws::MAX_OPERATIONS;
    for i in 0..=max {
        send(&mut ws, subscribe(&i.to_string(), POLICY_SUBSCRIPTION)).await;
    }
    let over = max.to_string();
    let mut nexts = 0;
    loop {
        let message = recv(&mut ws).await;
        if message["type"] == "error" {
            assert_eq!(message["id"], over.as_str(), "{message}");
            assert_eq!(message["payload"][0]["extensions"]["code"], "RATE_LIMITED");
            break;
        }
        assert_eq!(message["type"], "next", "{message}");
        nexts += 1;
    }
    while nexts < max {
        assert_eq!(recv(&mut ws).await["type"], "next");
        nexts += 1;
    }
}

#[tokio::test]
async fn legacy_graphql_ws_round_trip() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let mut ws = connect(&server, LEGACY).await;
    send(&mut ws, json!({ "type": "connection_init", "payload": {} })).await;
    assert_eq!(recv(&mut ws).await, json!({ "type": "connection_ack" }));
    assert_eq!(recv(&mut ws).await, json!({ "type": "ka" }));
    send(
        &mut ws,
        json!({ "type": "start", "id": "1", "payload": { "query": POLICY_SUBSCRIPTION, "variables": {} } }),
    )
    .await;
    assert_eq!(
        recv(&mut ws).await,
        json!({ "type": "data", "id": "1", "payload": { "data": { "privacyPolicy": { "version": "1" } } } })
    );
    publish_policy(&app, "2").await;
    assert_eq!(
        recv(&mut ws).await["payload"]["data"]["privacyPolicy"]["version"],
        "2"
    );
    send(&mut ws, json!({ "type": "stop", "id": "1" })).await;
    assert_eq!(
        recv(&mut ws).await,
        json!({ "type": "complete", "id": "1" })
    );
    // A query completes on its own; a bad one gets `error`.
    send(
        &mut ws,
        json!({ "type": "start", "id": "2", "payload": { "query": "{ privacyPolicy { version } }" } }),
    )
    .await;
    assert_eq!(recv(&mut ws).await["type"], "data");
    assert_eq!(
        recv(&mut ws).await,
        json!({ "type": "complete", "id": "2" })
    );
    send(
        &mut ws,
        json!({ "type": "start", "id": "3", "payload": { "query": "{ nope }" } }),
    )
    .await;
    let error = recv(&mut ws).await;
    assert_eq!(error["type"], "error");
    assert_eq!(
        error["payload"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    send(&mut ws, json!({ "type": "connection_terminate" })).await;
    assert_eq!(closed(&mut ws).await, (1000, "Normal closure".into()));
}

#[tokio::test]
async fn legacy_rejected_init_sends_connection_error() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let mut ws = connect(&server, LEGACY).await;
    send(
        &mut ws,
        json!({ "type": "connection_init", "payload": { "authorization": "Bearer bad" } }),
    )
    .await;
    assert_eq!(
        recv(&mut ws).await,
        json!({ "type": "connection_error", "payload": { "message": "Forbidden" } })
    );
    assert_eq!(closed(&mut ws).await, (4403, "Forbidden".into()));
}

#[tokio::test]
async fn origins_are_checked_before_upgrading() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    match open(
        &server,
        &[
            ("sec-websocket-protocol", TRANSPORT),
            ("origin", "https://evil.example"),
        ],
    )
    .await
    {
        Err(WsError::Http(res)) => assert_eq!(res.status(), 403),
        other => panic!("a foreign origin was not refused: {:?}", other.map(|_| ())),
    }
    let mut ws = open(
        &server,
        &[
            ("sec-websocket-protocol", TRANSPORT),
            ("origin", "http://localhost:3000"),
        ],
    )
    .await
    .expect("a loopback page may connect in development");
    send(&mut ws, json!({ "type": "connection_init" })).await;
    assert_eq!(recv(&mut ws).await, json!({ "type": "connection_ack" }));
}

#[tokio::test]
async fn upgrade_without_an_acceptable_subprotocol_is_refused() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    for headers in [vec![], vec![("sec-websocket-protocol", "graphql-sse")]] {
        match open(&server, &headers).await {
            Err(WsError::Http(res)) => assert_eq!(res.status(), 400),
            other => panic!("the upgrade was not refused: {:?}", other.map(|_| ())),
        }
    }
    // Offering both picks graphql-transport-ws.
    let mut ws = open(
        &server,
        &[("sec-websocket-protocol", "graphql-ws, graphql-transport-ws")],
    )
    .await
    .unwrap();
    send(&mut ws, json!({ "type": "ping" })).await;
    assert_eq!(recv(&mut ws).await, json!({ "type": "pong" }));
}

#[tokio::test]
async fn shutdown_closes_sockets_with_1001() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let mut ws = connect_acked(&server).await;
    send(&mut ws, subscribe("1", POLICY_SUBSCRIPTION)).await;
    assert_eq!(recv(&mut ws).await["type"], "next");
    let reader = tokio::spawn(async move { closed(&mut ws).await });
    tokio::time::timeout(Duration::from_secs(10), server.shutdown())
        .await
        .expect("the server stops in time");
    assert_eq!(reader.await.unwrap(), (1001, "Server shutting down".into()));
}
