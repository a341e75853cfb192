//! Running operations over HTTP, one stage after another: [`document`] (length, nesting, parse, the limits
//! and the method), [`authenticate`] (a partner token or the member's session), [`execute`] (with the
//! request's loaders and data, under the timeout) and [`serialise`] (status, body and headers). Each stage
//! either hands the next what it needs or answers the request itself with an [`Answer`].

use std::collections::BTreeMap;
use std::time::Instant;

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ServerError, Variables};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use tracing::Instrument;

use super::{
    MediaType, cookie, document_error_status, error_json, json_response, partner, request_error,
    token_delivery, viewer,
};
use crate::client::ClientInfo;
use crate::error::ErrorCode;
use crate::graphql::analysis::{Analysis, Refusal, Rejected};
use crate::graphql::viewer::Viewer;
use crate::http::params::Params;
use crate::privacy::partners::PartnerPrincipal;
use crate::state::AppState;

/// One operation's answer: the HTTP response, and its JSON body again for a batch to gather and for GET
/// caching to look at (`errors`: whether the body holds any).
pub(super) struct Answer {
    pub res: Response,
    pub body: Bytes,
    pub errors: bool,
}

impl Answer {
    /// An error answered before or instead of execution.
    pub(super) fn refusal(
        media: MediaType,
        status: StatusCode,
        code: ErrorCode,
        message: &str,
    ) -> Answer {
        let body = error_json(code, message);
        Answer {
            res: json_response(media, status, body.clone()),
            body,
            errors: true,
        }
    }
}

/// The body of a document refused before execution: `errors` (and extensions), with no `data` entry.
#[derive(serde::Serialize)]
struct Refused<'a> {
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, async_graphql::Value>,
}

/// Runs a batch (when batching is on): each item carries its own errors; the batch as a whole was understood.
pub(super) async fn run_batch(
    state: &AppState,
    headers: &HeaderMap,
    client: &ClientInfo,
    media: MediaType,
    batch: Vec<Params>,
) -> Response {
    let max = state.config.limits.max_batch;
    if max <= 1 || batch.len() > max {
        let message = if max <= 1 {
            "batched requests are turned off; send one operation per request".to_string()
        } else {
            format!("a batch may hold at most {max} operations")
        };
        return request_error(
            media,
            StatusCode::BAD_REQUEST,
            ErrorCode::QueryTooComplex,
            &message,
        );
    }
    let mut body = Vec::from(&b"["[..]);
    for (i, p) in batch.into_iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        let answer = run_one(state, headers, client, Method::POST, media, p, Vec::new()).await;
        body.extend_from_slice(&answer.body);
    }
    body.push(b']');
    json_response(media, StatusCode::OK, body)
}

/// Runs one operation with the files of a multipart request (each with the variable path it fills); returns
/// the HTTP response and its JSON body (for batches).
pub(super) async fn run_one(
    state: &AppState,
    headers: &HeaderMap,
    client: &ClientInfo,
    method: Method,
    media: MediaType,
    p: Params,
    uploads: Vec<(String, async_graphql::UploadValue)>,
) -> Answer {
    let started = Instant::now();
    let (doc, analysis) =
        match document(state, media, &method, &p.query, p.operation_name.as_deref()) {
            Ok(checked) => checked,
            Err(answer) => return *answer,
        };
    let (viewer, partner) = match authenticate(state, headers, media).await {
        Ok(who) => who,
        Err(answer) => return *answer,
    };
    let request =
        crate::schema::with_loaders(async_graphql::Request::new(p.query), &state.pool, &viewer)
            .variables(Variables::from_json(serde_json::Value::Object(p.variables)))
            .data(viewer)
            .data(client.clone())
            .data(token_delivery(headers))
            .data(crate::content::views::CookieConsent::from_cookie(
                cookie(headers, crate::content::views::CONSENT_COOKIE).as_deref(),
            ));
    let mut request = match partner {
        Some(partner) => request.data(partner),
        None => request,
    };
    request.operation_name = p.operation_name;
    request.set_parsed_query(doc);
    for (path, file) in uploads {
        request.set_upload(&path, file);
    }
    match execute(state, request, &analysis, started).await {
        Ok(response) => serialise(state, media, response),
        Err(()) => Answer::refusal(
            media,
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal,
            "the request took too long and was stopped",
        ),
    }
}

/// Checks the query text and the parsed document against the limits, and the operation against the method:
/// queries over GET, subscriptions only over WebSocket.
fn document(
    state: &AppState,
    media: MediaType,
    method: &Method,
    query: &str,
    operation_name: Option<&str>,
) -> Result<(ExecutableDocument, Analysis), Box<Answer>> {
    let limits = &state.config.limits;
    let refuse = |code: ErrorCode, message: &str| {
        Box::new(Answer::refusal(
            media,
            document_error_status(media),
            code,
            message,
        ))
    };
    if query.chars().count() > limits.max_query_chars {
        return Err(refuse(
            ErrorCode::QueryTooComplex,
            &format!(
                "the query is longer than {} characters",
                limits.max_query_chars
            ),
        ));
    }
    let checked = state
        .documents
        .check(query, operation_name, limits, state.config.introspection)
        .map_err(|rejected| match rejected {
            Rejected::Parse(message) => refuse(ErrorCode::GraphqlParseFailed, &message),
            Rejected::Refused(refusal @ Refusal::UnknownOperation(_)) => {
                refuse(ErrorCode::GraphqlValidationFailed, refusal.message())
            }
            Rejected::Refused(refusal @ Refusal::OverLimit(_)) => {
                refuse(ErrorCode::QueryTooComplex, refusal.message())
            }
            Rejected::Refused(refusal @ Refusal::Introspection) => Box::new(Answer::refusal(
                media,
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                refusal.message(),
            )),
        })?;
    let (doc, analysis) = (checked.doc.clone(), checked.analysis.clone());
    match (analysis.operation_type, method) {
        (OperationType::Mutation, &Method::GET) => {
            let mut answer = Answer::refusal(
                media,
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::BadUserInput,
                "mutations are not allowed over GET; use POST",
            );
            answer
                .res
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            Err(Box::new(answer))
        }
        (OperationType::Subscription, _) => Err(refuse(
            ErrorCode::BadUserInput,
            "subscriptions are served over WebSocket at /graphql/ws",
        )),
        _ => Ok((doc, analysis)),
    }
}

/// Who is asking: a partner token, or a member's session (a visitor when there is no credential). A bad
/// credential is 401; a session that cannot be checked because the database is away is 503, not 401.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    media: MediaType,
) -> Result<(Viewer, Option<PartnerPrincipal>), Box<Answer>> {
    let authenticated = match partner(state, headers).await {
        Some(found) => found.map(|p| (Viewer::visitor(), Some(p))),
        None => viewer(state, headers).await.map(|v| (v, None)),
    };
    match authenticated {
        Ok(who) => Ok(who),
        // The check itself failed (the database is away): not the client's fault, and no detail for it.
        Err(crate::error::AppError::Internal(e)) => Err(Box::new(unavailable(media, &e))),
        Err(e) => {
            let mut answer =
                Answer::refusal(media, StatusCode::UNAUTHORIZED, e.code(), &e.to_string());
            answer
                .res
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            Err(Box::new(answer))
        }
    }
}

/// Executes under the request timeout, in a span named for the operation, and records the request metrics.
/// `Err` when the timeout stopped it.
async fn execute(
    state: &AppState,
    request: async_graphql::Request,
    analysis: &Analysis,
    started: Instant,
) -> Result<async_graphql::Response, ()> {
    let op_label = metric_label(analysis.operation_name.as_deref());
    let kind = match analysis.operation_type {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    let span = tracing::info_span!("graphql", operation = %op_label, kind);
    let executed = tokio::time::timeout(
        state.config.limits.request_timeout,
        state.schema.execute(request),
    )
    .instrument(span)
    .await;
    if analysis.operation_type == OperationType::Mutation {
        // It may have ended a session (sign-out, suspension, password change): this instance's next check of
        // any session asks the database, without waiting for the broker to announce it.
        state.accounts.live.forget_all();
    }
    metrics::counter!("portico_graphql_requests_total", "operation" => op_label.clone(), "kind" => kind).increment(1);
    metrics::histogram!("portico_graphql_request_duration_seconds", "operation" => op_label)
        .record(started.elapsed().as_secs_f64());
    executed.map_err(|_| ())
}

/// The response's status (a document refused during validation is 4xx under `graphql-response+json`), its
/// labelled errors, its body serialised straight to bytes, and its headers.
fn serialise(state: &AppState, media: MediaType, mut response: async_graphql::Response) -> Answer {
    let request_level = response.data == async_graphql::Value::Null && !response.errors.is_empty();
    crate::error::label_response(&mut response);
    let refused_document = request_level && response.errors.iter().all(is_document_error);
    let status = if refused_document {
        document_error_status(media)
    } else {
        StatusCode::OK
    };
    let statements = crate::telemetry::RequestScope::current()
        .map(|s| s.statements())
        .unwrap_or(0);
    metrics::histogram!("portico_graphql_sql_statements_per_request").record(statements as f64);
    // Serialised straight to bytes (no intermediate JSON tree): the body is most of a request's allocations.
    let body = if refused_document {
        // A document refused before execution has no `data` entry (GraphQL over HTTP), not `"data": null`.
        serde_json::to_vec(&Refused {
            errors: &response.errors,
            extensions: &response.extensions,
        })
    } else {
        serde_json::to_vec(&response)
    }
    .expect("responses serialise");
    let body = Bytes::from(body);
    let mut res = json_response(media, status, body.clone());
    if !state.config.is_production()
        && let Ok(v) = HeaderValue::from_str(&statements.to_string())
    {
        // The per-request SQL statement count, for developers and the statement-count tests.
        res.headers_mut().insert("x-sql-statements", v);
    }
    for (name, value) in response.http_headers.iter() {
        res.headers_mut().append(name.clone(), value.clone());
    }
    Answer {
        res,
        body,
        errors: !response.errors.is_empty(),
    }
}

/// 503 with `INTERNAL` and the request id for a failure outside the executor; the detail is only logged.
fn unavailable(media: MediaType, e: &anyhow::Error) -> Answer {
    let request_id = crate::telemetry::current_request_id();
    tracing::error!(request_id = %request_id, error = ?e, "internal error before execution");
    let body = error_json(ErrorCode::Internal, "internal error");
    let mut res = json_response(media, StatusCode::SERVICE_UNAVAILABLE, body.clone());
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    Answer {
        res,
        body,
        errors: true,
    }
}

fn is_document_error(e: &ServerError) -> bool {
    let code = e
        .extensions
        .as_ref()
        .and_then(|x| x.get("code"))
        .and_then(|v| match v {
            async_graphql::Value::String(s) => Some(s.as_str()),
            _ => None,
        });
    matches!(
        code,
        Some("GRAPHQL_VALIDATION_FAILED")
            | Some("GRAPHQL_PARSE_FAILED")
            | Some("QUERY_TOO_COMPLEX")
    )
}

/// An operation name fit for a metric label: the document's own name, bounded, or `anonymous`.
fn metric_label(name: Option<&str>) -> String {
    match name {
        Some(n) if n.len() <= 64 => n.to_string(),
        Some(_) => "long-name".into(),
        None => "anonymous".into(),
    }
}
