//! Small clients for the battery: a WebSocket client (tokio-tungstenite), raw HTTP/1.1 over TCP for bodies
//! the in-process router cannot send (chunked, lying `Content-Length`), and in-process requests from a
//! given client address.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::harness::{TestApp, TestServer, json_body};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub const TRANSPORT: &str = "graphql-transport-ws";

/// Opens `/graphql/ws` speaking graphql-transport-ws, with extra request headers.
pub async fn ws_open(server: &TestServer, headers: &[(&'static str, &str)]) -> Result<Ws, WsError> {
    let mut req = server.ws_url().into_client_request().unwrap();
    req.headers_mut()
        .insert("sec-websocket-protocol", TRANSPORT.parse().unwrap());
    for (name, value) in headers {
        req.headers_mut().insert(*name, value.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

/// The HTTP status of a refused upgrade (`None` when the upgrade succeeded).
pub async fn ws_refusal(server: &TestServer, headers: &[(&'static str, &str)]) -> Option<u16> {
    match ws_open(server, headers).await {
        Ok(_) => None,
        Err(WsError::Http(res)) => Some(res.status().as_u16()),
        Err(other) => panic!("the upgrade failed without an HTTP answer: {other}"),
    }
}

pub async fn ws_send(ws: &mut Ws, message: Value) {
    ws.send(Message::text(message.to_string()))
        .await
        .expect("send");
}

/// What the server said next: a JSON message, or the close frame's code.
#[derive(Debug, PartialEq)]
pub enum Said {
    Json(Value),
    Closed(Option<u16>),
}

pub async fn ws_next(ws: &mut Ws) -> Said {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("the server answers in time");
        match frame {
            Some(Ok(Message::Text(text))) => {
                return Said::Json(serde_json::from_str(&text).expect("JSON"));
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(frame))) => return Said::Closed(frame.map(|f| f.code.into())),
            Some(Ok(other)) => panic!("unexpected frame {other:?}"),
            // The server dropped the connection without a close frame.
            Some(Err(_)) | None => return Said::Closed(None),
        }
    }
}

/// Sends `connection_init` with `payload` and returns what the server said.
pub async fn ws_init(ws: &mut Ws, payload: Value) -> Said {
    ws_send(ws, json!({ "type": "connection_init", "payload": payload })).await;
    ws_next(ws).await
}

/// Opens an acknowledged socket for a visitor.
pub async fn ws_acked(server: &TestServer) -> Ws {
    let mut ws = ws_open(server, &[]).await.expect("the upgrade succeeds");
    assert_eq!(
        ws_init(&mut ws, json!({})).await,
        Said::Json(json!({ "type": "connection_ack" }))
    );
    ws
}

/// Runs one operation on an acknowledged socket and returns the first message about it.
pub async fn ws_run(ws: &mut Ws, id: &str, query: &str) -> Value {
    ws_send(
        ws,
        json!({ "type": "subscribe", "id": id, "payload": { "query": query } }),
    )
    .await;
    match ws_next(ws).await {
        Said::Json(message) => message,
        other => panic!("the socket closed instead of answering: {other:?}"),
    }
}

/// Writes `head` (request line and headers, ending in a blank line) and then `body` in 64 KiB pieces to a
/// real server while reading its answer, and returns the answer's status and the bytes read. The server may
/// answer and close before the whole body is written: write errors then end the writing, not the test.
pub async fn raw_http(
    addr: SocketAddr,
    head: String,
    body: Vec<u8>,
    chunked: bool,
) -> (u16, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let read = tokio::spawn(async move {
        let mut answer = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if let Some(end) = header_end(&answer)
                        && answer.len() >= end + content_length(&answer[..end])
                    {
                        break;
                    }
                }
            }
        }
        String::from_utf8_lossy(&answer).to_string()
    });
    let write = async move {
        writer.write_all(head.as_bytes()).await?;
        for piece in body.chunks(64 * 1024) {
            if chunked {
                writer
                    .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                    .await?;
                writer.write_all(piece).await?;
                writer.write_all(b"\r\n").await?;
            } else {
                writer.write_all(piece).await?;
            }
        }
        if chunked {
            writer.write_all(b"0\r\n\r\n").await?;
        }
        writer.flush().await?;
        // Keep the write half open until the answer is in, so the server is not told the client left.
        tokio::time::sleep(Duration::from_secs(3)).await;
        Ok::<_, std::io::Error>(())
    };
    let writer = tokio::spawn(write);
    let answer = tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("the server answers in time")
        .unwrap();
    writer.abort();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {answer:?}"));
    (status, answer)
}

/// The `Content-Length` of a response head (0 when absent).
fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}

fn header_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
}

/// POSTs a GraphQL operation as JSON from client address `ip`, as the real server would see it.
pub async fn graphql_from(
    app: &TestApp,
    ip: [u8; 4],
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let body = json!({ "query": query, "variables": variables });
    let mut req = Request::post("/graphql")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 40_000))));
    let res = app.request(req).await;
    let status = res.status().as_u16();
    (status, json_body(res).await)
}
