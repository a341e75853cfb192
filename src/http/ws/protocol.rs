//! The two GraphQL-over-WebSocket subprotocols on the wire: reading client messages, writing server messages,
//! and the close codes.
//!
//! `graphql-transport-ws` is graphql-ws's `PROTOCOL.md`; `graphql-ws` is the legacy subscriptions-transport-ws
//! protocol (`start`/`data`/`stop`, `ka` keep-alives). Both share one vocabulary here: a client message becomes
//! a [`ClientMessage`], whatever its spelling.

use serde_json::{Map, Value, json};

/// A negotiated subprotocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `graphql-transport-ws`, as graphql-ws's `PROTOCOL.md` specifies it.
    TransportWs,
    /// `graphql-ws`, the legacy subscriptions-transport-ws protocol.
    Legacy,
}

impl Protocol {
    /// The subprotocol names the server accepts, most preferred first.
    pub const NAMES: [&'static str; 2] = ["graphql-transport-ws", "graphql-ws"];

    /// The protocol a `Sec-WebSocket-Protocol` token names.
    pub fn from_name(name: &str) -> Option<Protocol> {
        match name {
            "graphql-transport-ws" => Some(Protocol::TransportWs),
            "graphql-ws" => Some(Protocol::Legacy),
            _ => None,
        }
    }
}

/// What a client asked for, in either protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// `connection_init`, with its payload when it has one.
    Init(Option<Map<String, Value>>),
    /// `ping` (graphql-transport-ws), with the payload the `pong` echoes.
    Ping(Option<Value>),
    /// `pong` (graphql-transport-ws): nothing to do.
    Pong,
    /// `subscribe` (graphql-transport-ws) or `start` (legacy): run an operation under `id`.
    Subscribe {
        id: String,
        payload: OperationPayload,
    },
    /// `complete` (graphql-transport-ws) or `stop` (legacy): stop the operation `id`.
    Complete { id: String },
    /// `connection_terminate` (legacy): the client is leaving.
    Terminate,
}

/// The operation a `subscribe`/`start` carries (`extensions` is accepted and ignored).
#[derive(Debug, Clone, PartialEq)]
pub struct OperationPayload {
    pub query: String,
    pub variables: Map<String, Value>,
    pub operation_name: Option<String>,
}

/// Why a client message was not understood; the text becomes the close reason (or the legacy
/// `connection_error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

fn invalid(detail: impl std::fmt::Display) -> Invalid {
    Invalid(format!("Invalid message received: {detail}"))
}

/// Reads one client message of `protocol`. Never panics, whatever the bytes.
pub fn parse(protocol: Protocol, bytes: &[u8]) -> Result<ClientMessage, Invalid> {
    let Ok(Value::Object(mut message)) = serde_json::from_slice::<Value>(bytes) else {
        return Err(invalid("expected a JSON object"));
    };
    let ty = match message.get("type") {
        Some(Value::String(ty)) => ty.clone(),
        _ => return Err(invalid("\"type\" must be a string")),
    };
    use Protocol::{Legacy, TransportWs};
    match (protocol, ty.as_str()) {
        (_, "connection_init") => Ok(ClientMessage::Init(optional_object(
            message.remove("payload"),
            "payload",
        )?)),
        (TransportWs, "ping") => Ok(ClientMessage::Ping(
            optional_object(message.remove("payload"), "payload")?.map(Value::Object),
        )),
        (TransportWs, "pong") => {
            optional_object(message.remove("payload"), "payload")?;
            Ok(ClientMessage::Pong)
        }
        (TransportWs, "subscribe") | (Legacy, "start") => Ok(ClientMessage::Subscribe {
            id: id(&message)?,
            payload: operation(message.remove("payload"))?,
        }),
        (TransportWs, "complete") | (Legacy, "stop") => {
            Ok(ClientMessage::Complete { id: id(&message)? })
        }
        (Legacy, "connection_terminate") => Ok(ClientMessage::Terminate),
        (_, other) => Err(invalid(format_args!(
            "unexpected type \"{}\"",
            truncate(other, 32)
        ))),
    }
}

fn id(message: &Map<String, Value>) -> Result<String, Invalid> {
    match message.get("id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        _ => Err(invalid("\"id\" must be a non-empty string")),
    }
}

/// An optional field that must be an object when present (`null` counts as absent).
fn optional_object(
    value: Option<Value>,
    name: &str,
) -> Result<Option<Map<String, Value>>, Invalid> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(invalid(format_args!("\"{name}\" must be an object"))),
    }
}

fn operation(payload: Option<Value>) -> Result<OperationPayload, Invalid> {
    let Some(Value::Object(mut payload)) = payload else {
        return Err(invalid("\"payload\" must be an object"));
    };
    let query = match payload.remove("query") {
        Some(Value::String(query)) => query,
        _ => return Err(invalid("\"payload.query\" must be a string")),
    };
    let variables =
        optional_object(payload.remove("variables"), "payload.variables")?.unwrap_or_default();
    let operation_name = match payload.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => return Err(invalid("\"payload.operationName\" must be a string")),
    };
    optional_object(payload.remove("extensions"), "payload.extensions")?;
    Ok(OperationPayload {
        query,
        variables,
        operation_name,
    })
}

/// The server's messages, as JSON text.
pub mod server {
    use super::{Protocol, Value, json};

    /// `connection_ack`.
    pub fn ack() -> String {
        json!({ "type": "connection_ack" }).to_string()
    }

    /// `pong`, echoing the ping's payload.
    pub fn pong(payload: Option<Value>) -> String {
        match payload {
            Some(payload) => json!({ "type": "pong", "payload": payload }).to_string(),
            None => json!({ "type": "pong" }).to_string(),
        }
    }

    /// `ka` (legacy keep-alive).
    pub fn keep_alive() -> String {
        json!({ "type": "ka" }).to_string()
    }

    /// `connection_error` (legacy): the connection is refused or a message was not understood.
    pub fn connection_error(message: &str) -> String {
        json!({ "type": "connection_error", "payload": { "message": message } }).to_string()
    }

    /// `next` (graphql-transport-ws) or `data` (legacy): one execution result.
    pub fn next(protocol: Protocol, id: &str, result: Value) -> String {
        let ty = match protocol {
            Protocol::TransportWs => "next",
            Protocol::Legacy => "data",
        };
        json!({ "type": ty, "id": id, "payload": result }).to_string()
    }

    /// `error`: the operation failed before producing a result; `errors` is an array of GraphQL errors.
    pub fn error(id: &str, errors: Value) -> String {
        json!({ "type": "error", "id": id, "payload": errors }).to_string()
    }

    /// `complete`: the operation is over.
    pub fn complete(id: &str) -> String {
        json!({ "type": "complete", "id": id }).to_string()
    }
}

/// A close code and its reason (at most [`MAX_REASON_BYTES`] bytes, as a close frame requires).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: String,
}

/// Close reasons stay under 123 bytes so the whole close frame payload fits in 125.
pub const MAX_REASON_BYTES: usize = 122;

impl Close {
    pub fn new(code: u16, reason: &str) -> Close {
        Close {
            code,
            reason: truncate(reason, MAX_REASON_BYTES).to_string(),
        }
    }

    /// 1000: the client asked to leave.
    pub fn normal() -> Close {
        Close::new(1000, "Normal closure")
    }

    /// 1001: the server is going away.
    pub fn shutting_down() -> Close {
        Close::new(1001, "Server shutting down")
    }

    /// 4400: a message the protocol does not allow.
    pub fn bad_message(reason: &str) -> Close {
        Close::new(4400, reason)
    }

    /// 4401: `subscribe` before the connection was acknowledged.
    pub fn unauthorized() -> Close {
        Close::new(4401, "Unauthorized")
    }

    /// 4403: `connection_init` was refused.
    pub fn forbidden() -> Close {
        Close::new(4403, "Forbidden")
    }

    /// 4403: the access token the connection was acknowledged with expired; the client signs in again and
    /// resumes its subscriptions (`notifications(after:)` from its last cursor).
    pub fn token_expired() -> Close {
        Close::new(4403, "Forbidden: the access token expired")
    }

    /// 4403: the account lost access while the socket was open (signed out, session revoked, password
    /// changed, account erased); the client signs in again.
    pub fn access_revoked() -> Close {
        Close::new(4403, "Forbidden: access revoked")
    }

    /// 4500: the server could not check `connection_init`.
    pub fn internal() -> Close {
        Close::new(4500, "Internal server error")
    }

    /// 4408: no `connection_init` in time.
    pub fn init_timeout() -> Close {
        Close::new(4408, "Connection initialisation timeout")
    }

    /// 4409: `subscribe` with an id still in flight.
    pub fn duplicate(id: &str) -> Close {
        Close::new(4409, &format!("Subscriber for {id} already exists"))
    }

    /// 4429: a second `connection_init`.
    pub fn too_many_inits() -> Close {
        Close::new(4429, "Too many initialisation requests")
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(text: &str) -> Result<ClientMessage, Invalid> {
        parse(Protocol::TransportWs, text.as_bytes())
    }

    #[test]
    fn reads_both_spellings() {
        let sub = r#"{"id":"1","payload":{"query":"{ a }","variables":null,"operationName":null}}"#;
        let expected = ClientMessage::Subscribe {
            id: "1".into(),
            payload: OperationPayload {
                query: "{ a }".into(),
                variables: Map::new(),
                operation_name: None,
            },
        };
        let with_type = |ty: &str| format!(r#"{{"type":"{ty}",{}"#, &sub[1..]);
        assert_eq!(transport(&with_type("subscribe")), Ok(expected.clone()));
        assert_eq!(
            parse(Protocol::Legacy, with_type("start").as_bytes()),
            Ok(expected)
        );
        assert!(transport(&with_type("start")).is_err());
        assert_eq!(
            parse(Protocol::Legacy, br#"{"type":"stop","id":"1"}"#),
            Ok(ClientMessage::Complete { id: "1".into() })
        );
    }

    #[test]
    fn refuses_malformed_messages() {
        for bad in [
            "not json",
            "[]",
            r#"{"type":1}"#,
            r#"{"type":"subscribe","payload":{"query":"{ a }"}}"#,
            r#"{"type":"subscribe","id":"","payload":{"query":"{ a }"}}"#,
            r#"{"type":"subscribe","id":"1","payload":{"query":1}}"#,
            r#"{"type":"subscribe","id":"1","payload":{"query":"{ a }","variables":[]}}"#,
            r#"{"type":"connection_init","payload":"token"}"#,
            r#"{"type":"next","id":"1","payload":{}}"#,
        ] {
            let Err(Invalid(reason)) = transport(bad) else {
                panic!("{bad} was accepted");
            };
            assert!(reason.len() <= MAX_REASON_BYTES, "{reason}");
        }
    }

    #[test]
    fn close_reasons_fit_a_frame() {
        let close = Close::duplicate(&"é".repeat(200));
        assert!(close.reason.len() <= MAX_REASON_BYTES);
        assert!(close.reason.starts_with("Subscriber for é"));
        assert_eq!(truncate("abc", 2), "ab");
    }
}
