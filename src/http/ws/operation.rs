//! One operation on a socket: checked as strictly as over HTTP (length, parse, operation choice, limits), then
//! run through `Schema::execute_stream`. Every response is labelled with its error codes before it leaves.

use std::time::Duration;

use async_graphql::parser::types::OperationType;
use async_graphql::{ErrorExtensionValues, Response, ServerError, Variables};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::Value;

use super::Gauge;
use super::protocol::OperationPayload;
use crate::error::{ErrorCode, label_response};
use crate::graphql::analysis::{Refusal, Rejected};
use crate::graphql::viewer::Viewer;
use crate::state::AppState;

/// What a running operation yields.
pub enum Event {
    /// One labelled execution result.
    Response(Box<Response>),
    /// The operation finished on its own.
    End,
}

/// An operation refused before execution.
#[derive(Debug, Clone)]
pub struct Refused {
    pub code: ErrorCode,
    pub message: String,
}

impl Refused {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Refused {
        Refused {
            code,
            message: message.into(),
        }
    }

    /// The `error` message payload: one GraphQL error with `extensions.code`.
    pub fn errors(&self) -> Value {
        crate::error::error_list(self.code, &self.message)
    }
}

impl From<Rejected> for Refused {
    fn from(rejected: Rejected) -> Refused {
        match rejected {
            Rejected::Parse(message) => Refused::new(ErrorCode::GraphqlParseFailed, message),
            Rejected::Refused(refusal) => refusal.into(),
        }
    }
}

impl From<Refusal> for Refused {
    fn from(refusal: Refusal) -> Refused {
        let code = match refusal {
            Refusal::UnknownOperation(_) => ErrorCode::GraphqlValidationFailed,
            Refusal::OverLimit(_) => ErrorCode::QueryTooComplex,
            Refusal::Introspection => ErrorCode::Forbidden,
        };
        Refused::new(code, refusal.message())
    }
}

/// Checks `payload` and starts it for `viewer`; the stream ends with [`Event::End`] unless dropped first.
pub fn start(
    state: &AppState,
    payload: OperationPayload,
    viewer: Viewer,
) -> Result<BoxStream<'static, Event>, Refused> {
    let limits = &state.config.limits;
    if payload.query.chars().count() > limits.max_query_chars {
        return Err(Refused::new(
            ErrorCode::QueryTooComplex,
            format!(
                "the query is longer than {} characters",
                limits.max_query_chars
            ),
        ));
    }
    let checked = state.documents.check(
        &payload.query,
        payload.operation_name.as_deref(),
        limits,
        state.config.introspection,
    )?;
    let (doc, analysis) = (checked.doc.clone(), checked.analysis.clone());
    let mut request = crate::schema::with_loaders(
        async_graphql::Request::new(payload.query),
        &state.pool,
        &viewer,
    )
    .variables(Variables::from_json(Value::Object(payload.variables)))
    .data(viewer);
    request.operation_name = payload.operation_name;
    request.set_parsed_query(doc);
    let kind = analysis.operation_type;
    metrics::counter!(
        "portico_graphql_requests_total",
        "operation" => metric_label(analysis.operation_name.as_deref()),
        "kind" => kind_name(kind),
    )
    .increment(1);
    let responses = state.schema.execute_stream(request);
    Ok(match kind {
        OperationType::Subscription => subscription(responses),
        OperationType::Query => single(responses, limits.request_timeout, None),
        OperationType::Mutation => single(
            responses,
            limits.request_timeout,
            Some(state.accounts.live.clone()),
        ),
    })
}

/// A subscription: every result, counted in `portico_subscriptions` while it runs.
fn subscription(mut responses: BoxStream<'static, Response>) -> BoxStream<'static, Event> {
    let gauge = Gauge::new(super::SUBSCRIPTIONS_GAUGE);
    async_stream::stream! {
        let _gauge = gauge;
        while let Some(response) = responses.next().await {
            yield labelled(response);
        }
        yield Event::End;
    }
    .boxed()
}

/// A query or mutation: one result, within the request timeout. After a mutation (`sessions`), the sessions
/// this instance remembers are forgotten, as over HTTP: it may have ended one.
fn single(
    mut responses: BoxStream<'static, Response>,
    timeout: Duration,
    sessions: Option<crate::accounts::live_sessions::LiveSessions>,
) -> BoxStream<'static, Event> {
    async_stream::stream! {
        let result = tokio::time::timeout(timeout, responses.next()).await;
        if let Some(sessions) = &sessions {
            sessions.forget_all();
        }
        match result {
            Ok(Some(response)) => yield labelled(response),
            Ok(None) => {}
            Err(_) => yield labelled(timed_out()),
        }
        yield Event::End;
    }
    .boxed()
}

fn labelled(mut response: Response) -> Event {
    label_response(&mut response);
    Event::Response(Box::new(response))
}

fn timed_out() -> Response {
    let mut error = ServerError::new("the request took too long and was stopped", None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", ErrorCode::Internal.as_str());
    error.extensions = Some(extensions);
    Response::from_errors(vec![error])
}

fn kind_name(kind: OperationType) -> &'static str {
    match kind {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// An operation name fit for a metric label (as over HTTP): the document's own name, bounded, or `anonymous`.
fn metric_label(name: Option<&str>) -> String {
    match name {
        Some(n) if n.len() <= 64 => n.to_string(),
        Some(_) => "long-name".into(),
        None => "anonymous".into(),
    }
}
