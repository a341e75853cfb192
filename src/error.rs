//! One error type for the domains, converted once into a GraphQL error carrying `extensions.code`.
//!
//! Domain code returns [`AppError`]; resolvers return [`async_graphql::Result`], and the `From` impl below is the
//! only place where an error becomes something a client sees. Internal errors are logged with the request id
//! and answered with a generic message: no SQL, no stack, no file names ever reach a client.

use async_graphql::ServerError;

/// The stable codes a client may branch on (`extensions.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    BadUserInput,
    NotFound,
    RateLimited,
    Internal,
    /// Parse and validation failures, set by the HTTP layer.
    GraphqlParseFailed,
    GraphqlValidationFailed,
    /// Request limits (depth, complexity, aliases, directives, size).
    QueryTooComplex,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            ErrorCode::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            ErrorCode::QueryTooComplex => "QUERY_TOO_COMPLEX",
        }
    }
}

/// Errors the domains raise.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("the identifier or password is wrong")]
    WrongCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    BadUserInput {
        field: Option<String>,
        message: String,
    },
    #[error("{0} not found")]
    NotFound(String),
    #[error("too many attempts; try again in {retry_after_seconds} seconds")]
    RateLimited { retry_after_seconds: u64 },
    /// Over a request limit found during validation (complexity).
    #[error("{0}")]
    QueryTooComplex(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadUserInput {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Unauthenticated | AppError::WrongCredentials => ErrorCode::Unauthenticated,
            AppError::Forbidden(_) => ErrorCode::Forbidden,
            AppError::BadUserInput { .. } => ErrorCode::BadUserInput,
            AppError::NotFound(_) => ErrorCode::NotFound,
            AppError::RateLimited { .. } => ErrorCode::RateLimited,
            AppError::QueryTooComplex(_) => ErrorCode::QueryTooComplex,
            AppError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl AppError {
    /// A copy for errors shared behind an `Arc` (dataloader results): internals keep their message only.
    pub fn clone_internal(&self) -> AppError {
        match self {
            AppError::Unauthenticated => AppError::Unauthenticated,
            AppError::WrongCredentials => AppError::WrongCredentials,
            AppError::Forbidden(m) => AppError::Forbidden(m.clone()),
            AppError::BadUserInput { field, message } => AppError::BadUserInput {
                field: field.clone(),
                message: message.clone(),
            },
            AppError::NotFound(m) => AppError::NotFound(m.clone()),
            AppError::QueryTooComplex(m) => AppError::QueryTooComplex(m.clone()),
            AppError::RateLimited {
                retry_after_seconds,
            } => AppError::RateLimited {
                retry_after_seconds: *retry_after_seconds,
            },
            AppError::Internal(e) => AppError::Internal(anyhow::anyhow!("{e:#}")),
        }
    }
}

/// A dataloader's error, shared behind an `Arc` by every field that waited on the batch: the same error
/// again, with its code (an internal one keeps its whole chain, as text). The one way a loader's error
/// becomes a field's error.
impl From<std::sync::Arc<AppError>> for AppError {
    fn from(e: std::sync::Arc<AppError>) -> Self {
        e.clone_internal()
    }
}

/// The error type of every dataloader: one error, shared by the fields that waited on the batch.
pub type LoadError = std::sync::Arc<AppError>;

/// A dataloader's error from whatever failed in its batch (the pool, the statement).
pub fn load_error(e: impl Into<AppError>) -> LoadError {
    std::sync::Arc::new(e.into())
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::Internal(e.into())
    }
}

impl From<crate::db::PoolError> for AppError {
    fn from(e: crate::db::PoolError) -> Self {
        AppError::Internal(anyhow::Error::new(e).context("database pool"))
    }
}

/// The body of an error answered outside the executor (an HTTP refusal, a refused WebSocket operation or
/// upgrade, a failed export download): `[{"message": …, "extensions": {"code": …, "requestId": …}}]`. Every
/// error a client receives passes through here or through [`label`], and both count it in
/// `portico_errors_total`. An `INTERNAL` error carries the request id, so a report can be matched to the log.
pub fn error_list(code: ErrorCode, message: &str) -> serde_json::Value {
    metrics::counter!("portico_errors_total", "code" => code.as_str()).increment(1);
    let mut extensions = serde_json::json!({ "code": code.as_str() });
    if code == ErrorCode::Internal {
        extensions["requestId"] = crate::telemetry::current_request_id().into();
    }
    serde_json::json!([{ "message": message, "extensions": extensions }])
}

/// [`error_list`] as a response body: `{"errors": [...]}`.
pub fn error_body(code: ErrorCode, message: &str) -> serde_json::Value {
    serde_json::json!({ "errors": error_list(code, message) })
}

/// Gives a GraphQL error its `extensions.code`, once, wherever it was raised.
///
/// Resolvers return [`AppError`] through `?`; async-graphql keeps it as the error's source, and this is where
/// it becomes what the client sees. Internal errors are logged with the request id and answered with a generic
/// message. async-graphql's own parse and validation errors carry no source and get a code here too.
pub fn label(e: &mut ServerError, request_level: bool) {
    if e.extensions
        .as_ref()
        .is_some_and(|x| x.get("code").is_some())
    {
        return;
    }
    let source = e.source.clone();
    let app = source.as_deref().and_then(|s| s.downcast_ref::<AppError>());
    let code = match app {
        Some(app) => app.code(),
        // Errors without a source are async-graphql's own: a document it refused (validation), or a
        // failure inside the executor. Limits are checked by Portico and carry an `AppError`.
        None if request_level || e.path.is_empty() => ErrorCode::GraphqlValidationFailed,
        None => ErrorCode::Internal,
    };
    metrics::counter!("portico_errors_total", "code" => code.as_str()).increment(1);
    let ext = e.extensions.get_or_insert_with(Default::default);
    ext.set("code", code.as_str());
    match app {
        Some(AppError::Internal(inner)) => {
            let request_id = crate::telemetry::current_request_id();
            tracing::error!(request_id = %request_id, error = ?inner, "internal error");
            ext.set("requestId", request_id);
            e.message = "internal error".into();
        }
        Some(AppError::BadUserInput {
            field: Some(field), ..
        }) => ext.set("field", field.as_str()),
        Some(AppError::RateLimited {
            retry_after_seconds,
        }) => ext.set("retryAfterSeconds", *retry_after_seconds),
        _ if code == ErrorCode::Internal => {
            tracing::error!(request_id = %crate::telemetry::current_request_id(), error = %e.message, "internal error");
            e.message = "internal error".into();
        }
        _ => {}
    }
}

/// Labels every error of a response (see [`label`]). Both transports (HTTP and WebSocket) call this on every
/// response they send; labelling twice changes nothing.
pub fn label_response(response: &mut async_graphql::Response) {
    let request_level = response.data == async_graphql::Value::Null && !response.errors.is_empty();
    for e in &mut response.errors {
        label(e, request_level);
    }
}

/// Shorthand for domain results.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_loaders_shared_error_keeps_its_code_and_chain() {
        let shared = Arc::new(AppError::RateLimited {
            retry_after_seconds: 7,
        });
        assert_eq!(AppError::from(shared).code(), ErrorCode::RateLimited);
        let shared = Arc::new(AppError::NotFound("work".into()));
        assert_eq!(AppError::from(shared).code(), ErrorCode::NotFound);
        let inner = anyhow::anyhow!("connection reset").context("loading works");
        let copied = AppError::from(Arc::new(AppError::Internal(inner)));
        assert_eq!(copied.code(), ErrorCode::Internal);
        assert_eq!(copied.to_string(), "loading works: connection reset");
    }

    #[test]
    fn every_refusal_body_has_the_code_and_internal_ones_the_request_id() {
        let body = error_body(ErrorCode::BadUserInput, "no");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert!(body["errors"][0]["extensions"].get("requestId").is_none());
        let body = error_body(ErrorCode::Internal, "internal error");
        assert!(body["errors"][0]["extensions"]["requestId"].is_string());
    }
}
