//! Realtime notifications and security incidents, with real WebSocket clients (tokio-tungstenite) against real
//! servers over a real PostgreSQL: replay and live streaming, concurrency, reconnects, two gateway instances, a
//! database restart, slow subscribers, token expiry, set-based incident declaration, and bad input.

mod access;
mod incidents;
mod list;
mod refused;
mod restart;
mod security;
mod stream;

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use diesel_async::AsyncPgConnection;
use futures_util::{SinkExt, StreamExt};
use portico::realtime::service::{NewNotice, NoticeKind, cursor, post_notice};
use portico::state::AppState;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tower::ServiceExt;

use crate::harness::{TestApp, TestServer, json_body};

/// The subscription exactly as the mobile clients send it (`client-operations.graphql`).
pub const NOTIFICATIONS: &str = "subscription Notifications($after: String) {
  notifications(after: $after) {
    id cursor kind title body createdAt
    incident {
      id severity status dataCategories cause possibleHarm remedialMeasures userActions contact
    }
  }
}";

pub const DECLARE: &str = "mutation Declare($input: DeclareIncidentInput!) { declareIncident(input: $input) { id status affectedCount } }";

/// A graphql-transport-ws client.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Opens a socket to `url` and sends `connection_init` (with `token` as a bearer credential when given).
    pub async fn open(url: &str, token: Option<&str>) -> Client {
        let mut req = url.into_client_request().unwrap();
        req.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (ws, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("the upgrade succeeds");
        let mut client = Client { ws };
        let payload = match token {
            Some(t) => json!({ "authorization": format!("Bearer {t}") }),
            None => json!({}),
        };
        client
            .send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        client
    }

    /// Opens a socket and waits for `connection_ack`.
    pub async fn connect(server: &TestServer, token: Option<&str>) -> Client {
        let mut client = Client::open(&server.ws_url(), token).await;
        assert_eq!(client.message().await, json!({ "type": "connection_ack" }));
        client
    }

    pub async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .expect("send");
    }

    /// Starts `notifications(after:)` under operation id `id`.
    pub async fn subscribe(&mut self, id: &str, after: Option<&str>) {
        self.send(json!({
            "type": "subscribe",
            "id": id,
            "payload": { "query": NOTIFICATIONS, "variables": { "after": after } }
        }))
        .await;
    }

    /// The next JSON message within `wait` (WebSocket pings skipped); `None` when none came or the socket closed.
    pub async fn message_within(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let frame = match tokio::time::timeout(wait, self.ws.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => return None,
                Ok(Some(Ok(frame))) => frame,
            };
            match frame {
                Message::Text(text) => return Some(serde_json::from_str(&text).expect("JSON")),
                Message::Ping(_) | Message::Pong(_) => continue,
                Message::Close(frame) => {
                    return Some(json!({
                        "type": "__closed",
                        "code": frame.as_ref().map(|f| u16::from(f.code)),
                        "reason": frame.as_ref().map(|f| f.reason.to_string()),
                    }));
                }
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// The next JSON message (a close frame becomes `{"type": "__closed", "code": ...}`).
    pub async fn message(&mut self) -> Value {
        self.message_within(Duration::from_secs(20))
            .await
            .expect("a message in time")
    }

    /// The next notification of operation `id`.
    pub async fn notice(&mut self, id: &str) -> Value {
        let message = self.message().await;
        assert_eq!(
            message["type"], "next",
            "expected a notification: {message}"
        );
        assert_eq!(message["id"], id, "{message}");
        assert!(message["payload"]["errors"].is_null(), "{message}");
        message["payload"]["data"]["notifications"].clone()
    }

    /// The next `n` notifications of operation `id`.
    pub async fn notices(&mut self, id: &str, n: usize) -> Vec<Value> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.notice(id).await);
        }
        out
    }

    /// True when nothing arrives within `wait`.
    pub async fn quiet_for(&mut self, wait: Duration) -> bool {
        match self.message_within(wait).await {
            None => true,
            Some(message) => panic!("expected silence, got {message}"),
        }
    }

    /// The close frame's code and reason.
    pub async fn closed(&mut self) -> (u16, String) {
        let message = self.message().await;
        assert_eq!(message["type"], "__closed", "expected a close: {message}");
        (
            message["code"].as_u64().unwrap() as u16,
            message["reason"].as_str().unwrap_or("").to_string(),
        )
    }
}

/// The notification id inside a notification's global id.
pub fn notice_id(notice: &Value) -> i64 {
    let (kind, key) = portico::graphql::ids::decode(notice["id"].as_str().unwrap()).unwrap();
    assert_eq!(kind, "Notification");
    key.parse().unwrap()
}

/// The ids of a list of notifications.
pub fn ids_of(notices: &[Value]) -> Vec<i64> {
    notices.iter().map(notice_id).collect()
}

/// (account id, session id) of an access token.
pub fn account_of(state: &AppState, token: &str) -> (i64, i64) {
    state.accounts.tokens.verify(token).unwrap()
}

/// Writes `n` social notices to an account, each in its own transaction (as writers do); returns their ids.
pub async fn post(conn: &mut AsyncPgConnection, account_id: i64, n: usize) -> Vec<i64> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let notice = NewNotice {
            account_id,
            kind: NoticeKind::Social,
            title: format!("Notice {i}"),
            body: format!("Body of notice {i}"),
            refs: json!({}),
        };
        ids.push(post_notice(conn, &notice).await.unwrap());
    }
    ids
}

/// The cursor of notification id `id`.
pub fn cursor_of(id: i64) -> String {
    cursor(id)
}

/// POSTs a GraphQL operation to `state`'s router (another gateway instance) as `token`.
pub async fn graphql_on(state: &AppState, token: &str, query: &str, variables: Value) -> Value {
    let body = json!({ "query": query, "variables": variables });
    let req = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = portico::http::router(state.clone())
        .oneshot(req)
        .await
        .unwrap();
    json_body(res).await
}

/// Registers `username` and makes it staff; returns its access token.
pub async fn staff(app: &TestApp, username: &str, phone: &str) -> String {
    app.staff(username, phone).await
}

/// A declaration input with `scope`.
pub fn incident_input(title: &str, scope: Value) -> Value {
    json!({
        "title": title,
        "description": "An unauthorised party read a backup of the profile database.",
        "severity": "HIGH",
        "dataCategories": ["phone", "profile"],
        "cause": "A misconfigured storage bucket exposed one nightly backup.",
        "possibleHarm": "Unsolicited calls and messages to the phone numbers involved.",
        "remedialMeasures": "The bucket was closed and the backup keys were rotated.",
        "userActions": "Be wary of calls claiming to be from us; we never ask for codes.",
        "contact": "privacy@example.com",
        "scope": scope
    })
}

/// The error code of the first error in a GraphQL response.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error: {body}"))
}
