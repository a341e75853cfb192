//! One socket's life: initialisation (with its timeout), the operations it runs, legacy keep-alives, the
//! expiry of the access token it was acknowledged with (close 4403, so the client signs in again and resumes),
//! and a clean close (with a code and reason, then the client's close reply) whichever side ends it.
//!
//! The socket is owned by one task. Its operations run in a [`SelectAll`] polled by that task, each wrapped in
//! an [`Abortable`] so `complete`/`stop` ends exactly that operation; a slow client therefore only ever slows
//! itself. Each operation carries a serial number, so nothing from a stopped operation can be mistaken for a
//! later one reusing its id.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::StreamExt;
use futures_util::stream::{AbortHandle, BoxStream, SelectAll, abortable};
use serde_json::{Map, Value};
use tokio::time::{Instant, MissedTickBehavior};

use super::auth::{self, InitRefused, Malformed};
use super::operation::{self, Event, Refused};
use super::protocol::{self, ClientMessage, Close, Invalid, OperationPayload, Protocol, server};
use super::{CONNECTIONS_GAUGE, Gauge};
use crate::error::ErrorCode;
use crate::graphql::viewer::Viewer;
use crate::state::AppState;

/// Operations one socket may run at once.
pub const MAX_OPERATIONS: usize = 100;
/// How often the legacy protocol sends `ka`.
const KEEP_ALIVE: Duration = Duration::from_secs(20);
/// A client that does not take a message in this time is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for the client's close reply after ours.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// What the connection does after handling an input.
enum Flow {
    Continue,
    /// Close with this code and reason.
    Close(Close),
    /// The client closed or vanished: stop without a close frame of our own.
    Gone,
}

/// What woke the connection up.
enum Input {
    Shutdown,
    InitTimeout,
    TokenExpired,
    AccessChanged,
    KeepAlive,
    Frame(Option<Result<Message, axum::Error>>),
    Operation(String, u64, Event),
}

/// An operation in flight.
struct Running {
    serial: u64,
    abort: AbortHandle,
    sent_result: bool,
}

/// One WebSocket connection speaking `protocol`.
pub struct Connection {
    socket: WebSocket,
    state: AppState,
    protocol: Protocol,
    /// The upgrade request's credentials (its `Authorization` header or access cookie), used when
    /// `connection_init` carries none.
    upgrade_token: Result<Option<String>, Malformed>,
    init_received: bool,
    /// Set once the connection is acknowledged.
    viewer: Option<Viewer>,
    /// When the acknowledged access token expires (taken by the run loop to arm its timer).
    expires_at: Option<Instant>,
    /// The token a member's socket was acknowledged with, and the wake-up of its account's access changes
    /// (on any instance): the token is checked again and the socket closed with 4403 when it lost access.
    access: Option<(String, crate::broker::KeyReceiver)>,
    operations: SelectAll<BoxStream<'static, (String, u64, Event)>>,
    running: HashMap<String, Running>,
    serial: u64,
}

impl Connection {
    pub fn new(
        socket: WebSocket,
        state: AppState,
        protocol: Protocol,
        upgrade_token: Result<Option<String>, Malformed>,
    ) -> Connection {
        Connection {
            socket,
            state,
            protocol,
            upgrade_token,
            init_received: false,
            viewer: None,
            expires_at: None,
            access: None,
            operations: SelectAll::new(),
            running: HashMap::new(),
            serial: 0,
        }
    }

    /// Serves the socket until either side ends it or the server shuts down.
    pub async fn run(mut self) {
        let _gauge = Gauge::new(CONNECTIONS_GAUGE);
        let shutdown = self.state.shutdown.clone();
        let init_deadline = tokio::time::sleep(self.state.config.ws_init_timeout);
        tokio::pin!(init_deadline);
        let token_expiry = tokio::time::sleep(Duration::from_secs(365 * 24 * 3600));
        tokio::pin!(token_expiry);
        let mut expiry_armed = false;
        let mut keep_alive = tokio::time::interval_at(Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
        keep_alive.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let acknowledged = self.viewer.is_some();
            if let Some(at) = self.expires_at.take() {
                token_expiry.as_mut().reset(at);
                expiry_armed = true;
            }
            let input = tokio::select! {
                _ = shutdown.cancelled() => Input::Shutdown,
                _ = &mut init_deadline, if !acknowledged => Input::InitTimeout,
                _ = &mut token_expiry, if expiry_armed => Input::TokenExpired,
                _ = async { self.access.as_mut().expect("guarded").1.changed().await }, if self.access.is_some() => {
                    Input::AccessChanged
                }
                _ = keep_alive.tick(), if acknowledged && self.protocol == Protocol::Legacy => {
                    Input::KeepAlive
                }
                frame = self.socket.recv() => Input::Frame(frame),
                Some((id, serial, event)) = self.operations.next(), if !self.operations.is_empty() => {
                    Input::Operation(id, serial, event)
                }
            };
            let flow = match input {
                Input::Shutdown => Flow::Close(Close::shutting_down()),
                Input::InitTimeout => Flow::Close(Close::init_timeout()),
                Input::TokenExpired => Flow::Close(Close::token_expired()),
                Input::AccessChanged => self.on_access_changed().await,
                Input::KeepAlive => self.send(server::keep_alive()).await,
                Input::Frame(frame) => self.on_frame(frame).await,
                Input::Operation(id, serial, event) => self.on_event(id, serial, event).await,
            };
            match flow {
                Flow::Continue => {}
                Flow::Close(close) => return self.close(close).await,
                Flow::Gone => return self.drain().await,
            }
        }
    }

    async fn on_frame(&mut self, frame: Option<Result<Message, axum::Error>>) -> Flow {
        let bytes = match frame {
            Some(Ok(Message::Text(text))) => Bytes::from(text),
            // Binary frames are read the same way; anything but a JSON object is refused.
            Some(Ok(Message::Binary(bytes))) => bytes,
            // Pings are answered by the WebSocket layer itself.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => return Flow::Continue,
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Flow::Gone,
        };
        match protocol::parse(self.protocol, &bytes) {
            Ok(message) => self.on_message(message).await,
            Err(invalid) => self.on_invalid(invalid).await,
        }
    }

    /// graphql-transport-ws closes with 4400; the legacy protocol reports `connection_error` and carries on.
    async fn on_invalid(&mut self, Invalid(reason): Invalid) -> Flow {
        match self.protocol {
            Protocol::TransportWs => Flow::Close(Close::bad_message(&reason)),
            Protocol::Legacy => self.send(server::connection_error(&reason)).await,
        }
    }

    async fn on_message(&mut self, message: ClientMessage) -> Flow {
        match message {
            ClientMessage::Init(payload) => self.on_init(payload).await,
            ClientMessage::Ping(payload) => self.send(server::pong(payload)).await,
            ClientMessage::Pong => Flow::Continue,
            ClientMessage::Subscribe { id, payload } => self.on_subscribe(id, payload).await,
            ClientMessage::Complete { id } => self.on_complete(&id).await,
            ClientMessage::Terminate => Flow::Close(Close::normal()),
        }
    }

    /// The account's access changed somewhere: close with 4403 when this socket's token no longer gives it.
    async fn on_access_changed(&mut self) -> Flow {
        let Some((token, _)) = &self.access else {
            return Flow::Continue;
        };
        match auth::still_valid(&self.state, token).await {
            Some(false) => Flow::Close(Close::access_revoked()),
            Some(true) | None => Flow::Continue,
        }
    }

    async fn on_init(&mut self, payload: Option<Map<String, Value>>) -> Flow {
        if std::mem::replace(&mut self.init_received, true) {
            return Flow::Close(Close::too_many_inits());
        }
        let refused =
            match auth::authenticate(&self.state, payload.as_ref(), &self.upgrade_token).await {
                Ok(ack) => {
                    if let (Some(token), Some(signed_in)) = (ack.token, &ack.viewer.account) {
                        let watch = self.state.access.watch(signed_in.account_id);
                        self.access = Some((token, watch));
                    }
                    self.viewer = Some(ack.viewer);
                    self.expires_at = ack.expires_at.map(instant_of);
                    None
                }
                Err(InitRefused::Forbidden) => Some(("Forbidden", Close::forbidden())),
                Err(InitRefused::Internal) => Some(("Internal server error", Close::internal())),
            };
        if let Some((message, close)) = refused {
            if self.protocol == Protocol::Legacy
                && let Flow::Gone = self.send(server::connection_error(message)).await
            {
                return Flow::Gone;
            }
            return Flow::Close(close);
        }
        match self.send(server::ack()).await {
            Flow::Continue if self.protocol == Protocol::Legacy => {
                self.send(server::keep_alive()).await
            }
            flow => flow,
        }
    }

    async fn on_subscribe(&mut self, id: String, payload: OperationPayload) -> Flow {
        let Some(viewer) = self.viewer.clone() else {
            return match self.protocol {
                Protocol::TransportWs => Flow::Close(Close::unauthorized()),
                Protocol::Legacy => {
                    let refused =
                        Refused::new(ErrorCode::Unauthenticated, "send connection_init first");
                    self.send(server::error(&id, refused.errors())).await
                }
            };
        };
        if self.running.contains_key(&id) {
            match self.protocol {
                Protocol::TransportWs => return Flow::Close(Close::duplicate(&id)),
                // subscriptions-transport-ws replaces the operation.
                Protocol::Legacy => {
                    self.stop(&id);
                }
            }
        }
        if self.running.len() >= MAX_OPERATIONS {
            let refused = Refused::new(
                ErrorCode::RateLimited,
                format!("at most {MAX_OPERATIONS} operations may run on one connection"),
            );
            return self.send(server::error(&id, refused.errors())).await;
        }
        match operation::start(&self.state, payload, viewer) {
            Ok(stream) => {
                self.serial += 1;
                let serial = self.serial;
                let (stream, abort) = abortable(stream);
                let tag = id.clone();
                self.operations.push(
                    stream
                        .map(move |event| (tag.clone(), serial, event))
                        .boxed(),
                );
                let running = Running {
                    serial,
                    abort,
                    sent_result: false,
                };
                self.running.insert(id, running);
                Flow::Continue
            }
            Err(refused) => self.send(server::error(&id, refused.errors())).await,
        }
    }

    /// `complete` ends an operation silently; the legacy `stop` is answered with `complete`.
    async fn on_complete(&mut self, id: &str) -> Flow {
        if self.stop(id) && self.protocol == Protocol::Legacy {
            return self.send(server::complete(id)).await;
        }
        Flow::Continue
    }

    /// Stops the operation `id`; false when none runs under that id.
    fn stop(&mut self, id: &str) -> bool {
        match self.running.remove(id) {
            Some(running) => {
                running.abort.abort();
                true
            }
            None => false,
        }
    }

    async fn on_event(&mut self, id: String, serial: u64, event: Event) -> Flow {
        let Some(running) = self.running.get_mut(&id).filter(|r| r.serial == serial) else {
            return Flow::Continue;
        };
        match event {
            Event::Response(response) => {
                let request_level =
                    response.data == async_graphql::Value::Null && !response.errors.is_empty();
                if request_level && !running.sent_result {
                    // `error` ends the operation: no `complete` follows it.
                    self.stop(&id);
                    let errors = serde_json::to_value(&response.errors).unwrap_or_else(|_| {
                        Refused::new(ErrorCode::Internal, "internal error").errors()
                    });
                    return self.send(server::error(&id, errors)).await;
                }
                running.sent_result = true;
                match serde_json::to_value(&*response) {
                    Ok(result) => self.send(server::next(self.protocol, &id, result)).await,
                    Err(e) => {
                        tracing::error!(error = %e, "websocket: a response did not serialise");
                        self.stop(&id);
                        let refused = Refused::new(ErrorCode::Internal, "internal error");
                        self.send(server::error(&id, refused.errors())).await
                    }
                }
            }
            Event::End => {
                self.running.remove(&id);
                self.send(server::complete(&id)).await
            }
        }
    }

    /// Sends one text message; a client that cannot take it in time is dropped.
    async fn send(&mut self, text: String) -> Flow {
        match tokio::time::timeout(SEND_TIMEOUT, self.socket.send(Message::Text(text.into()))).await
        {
            Ok(Ok(())) => Flow::Continue,
            _ => Flow::Gone,
        }
    }

    /// Sends the close frame, then waits briefly for the client's reply so it reads the reason.
    async fn close(mut self, close: Close) {
        tracing::debug!(code = close.code, reason = %close.reason, "websocket: closing");
        let frame = Message::Close(Some(CloseFrame {
            code: close.code,
            reason: close.reason.into(),
        }));
        if let Ok(Ok(())) = tokio::time::timeout(SEND_TIMEOUT, self.socket.send(frame)).await {
            self.drain().await;
        }
    }

    /// Reads (and drops) what is left until the client's close reply, so no unread data turns the TCP close
    /// into a reset.
    async fn drain(mut self) {
        self.operations.clear();
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(_)) = self.socket.recv().await {}
        })
        .await;
    }
}

/// The instant a unix time (seconds) falls on; now when it has passed.
fn instant_of(unix_seconds: i64) -> Instant {
    let left = unix_seconds
        .saturating_sub(chrono::Utc::now().timestamp())
        .max(0);
    Instant::now() + Duration::from_secs(left as u64)
}
