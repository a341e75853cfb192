//! `POST /graphql` as a GraphQL multipart request (jaydenseric's specification, as Apollo, Hasura and
//! async-graphql take it): an `operations` part (the usual JSON body), a `map` part naming, for each file
//! part, the one variable it fills, then the files. Parsed by `multer` as the body streams in: the whole request
//! may hold `PORTICO_MAX_UPLOAD_BYTES` (413 as soon as it passes, never buffered beyond it), at most
//! [`MAX_FILES`] files, and must arrive within the request timeout (408).
//!
//! A browser's cross-site form can send `multipart/form-data` without a preflight, so a multipart request is
//! taken only with an `Authorization` bearer token or a `GraphQL-Require-Preflight` header, neither of which a
//! simple request can carry; without one it is refused with 415, as any other form is.

use std::collections::{BTreeMap, BTreeSet};

use async_graphql::UploadValue;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use futures_util::TryStreamExt;
use serde_json::Value;

use super::run::run_one;
use super::{MediaType, request_error};
use crate::client::ClientInfo;
use crate::error::ErrorCode;
use crate::http::params::{self, Body, Params};
use crate::state::AppState;

/// The most files one request may carry.
pub const MAX_FILES: usize = 10;

/// A refusal at the HTTP level: status, code and message.
type Refusal = (StatusCode, ErrorCode, String);

fn bad(message: impl Into<String>) -> Refusal {
    (
        StatusCode::BAD_REQUEST,
        ErrorCode::BadUserInput,
        message.into(),
    )
}

/// Whether the request says it is `multipart/form-data`.
pub(super) fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// Whether a cross-site form could not have sent this request: it carries a bearer token or the preflight
/// header.
fn preflighted(headers: &HeaderMap) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.is_empty());
    bearer || headers.contains_key("graphql-require-preflight")
}

/// Answers a multipart `POST /graphql`.
pub(super) async fn post(
    state: &AppState,
    headers: &HeaderMap,
    client: &ClientInfo,
    media: MediaType,
    body: axum::body::Body,
) -> Response {
    if !preflighted(headers) {
        // Read (and drop) what the client is still sending, up to the upload limit, so it sees this answer
        // instead of a connection reset mid-body.
        discard(
            body,
            state.config.media.max_upload_bytes,
            state.config.limits.request_timeout,
        )
        .await;
        return request_error(
            media,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput,
            "a multipart request needs an Authorization bearer token or the GraphQL-Require-Preflight header",
        );
    }
    let limit = state.config.media.max_upload_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return request_error(
            media,
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::QueryTooComplex,
            &too_large(limit),
        );
    }
    let read = read(headers, body, limit, state.config.limits.max_body_bytes);
    let parts = tokio::time::timeout(state.config.limits.request_timeout, read)
        .await
        .unwrap_or_else(|_| {
            Err((
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::BadUserInput,
                "the request body took too long to arrive".into(),
            ))
        });
    match parts {
        Ok((params, uploads)) => {
            run_one(state, headers, client, Method::POST, media, params, uploads)
                .await
                .res
        }
        Err((status, code, message)) => request_error(media, status, code, &message),
    }
}

/// Reads and drops a body of up to `limit` bytes within `timeout`.
async fn discard(body: axum::body::Body, limit: usize, timeout: std::time::Duration) {
    use futures_util::StreamExt;
    let drain = async {
        let mut stream = body.into_data_stream();
        let mut read = 0;
        while let Some(Ok(chunk)) = stream.next().await {
            read += chunk.len();
            if read > limit {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(timeout, drain).await;
}

fn too_large(limit: usize) -> String {
    format!("the request is larger than {limit} bytes (PORTICO_MAX_UPLOAD_BYTES)")
}

/// Reads `operations`, `map` and the files, and checks that they fit together.
async fn read(
    headers: &HeaderMap,
    body: axum::body::Body,
    limit: usize,
    max_json: usize,
) -> Result<(Params, Vec<(String, UploadValue)>), Refusal> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| bad("the multipart Content-Type has no boundary"))?;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limit as u64)
            .for_field("operations", max_json as u64)
            .for_field("map", max_json as u64),
    );
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let mut parts = multer::Multipart::with_constraints(stream, boundary, constraints);
    let stream_error = |e: multer::Error| match e {
        multer::Error::StreamSizeExceeded { .. } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::QueryTooComplex,
            too_large(limit),
        ),
        multer::Error::FieldSizeExceeded { field_name, limit } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::QueryTooComplex,
            format!(
                "the `{}` part is larger than {limit} bytes",
                field_name.unwrap_or_default()
            ),
        ),
        other => bad(format!(
            "the multipart body is malformed or incomplete: {other}"
        )),
    };

    let operations = match parts.next_field().await.map_err(stream_error)? {
        Some(f) if f.name() == Some("operations") => f.bytes().await.map_err(stream_error)?,
        _ => {
            return Err(bad(
                "the first part of a multipart request must be `operations`",
            ));
        }
    };
    let params = match params::from_json_body(&operations) {
        Ok(Body::Single(p)) => p,
        Ok(Body::Batch(_)) => {
            return Err(bad(
                "a multipart request carries one operation, not a batch",
            ));
        }
        Err(message) => return Err(bad(format!("`operations`: {message}"))),
    };
    let map = match parts.next_field().await.map_err(stream_error)? {
        Some(f) if f.name() == Some("map") => f.bytes().await.map_err(stream_error)?,
        _ => return Err(bad("the second part of a multipart request must be `map`")),
    };
    let map = file_map(&map, &params)?;

    let mut files: BTreeMap<String, UploadValue> = BTreeMap::new();
    while let Some(field) = parts.next_field().await.map_err(stream_error)? {
        let name = field.name().unwrap_or_default().to_string();
        if !map.contains_key(&name) {
            return Err(bad(format!(
                "the request holds a file part `{name}` that `map` does not name"
            )));
        }
        if files.contains_key(&name) {
            return Err(bad(format!("the file part `{name}` appears twice")));
        }
        let filename = field.file_name().unwrap_or_default().to_string();
        let content_type = field.content_type().map(ToString::to_string);
        let content = field.bytes().await.map_err(stream_error)?;
        files.insert(
            name,
            UploadValue {
                filename,
                content_type,
                content,
            },
        );
    }
    let mut uploads = Vec::with_capacity(map.len());
    for (name, path) in map {
        let file = files.remove(&name).ok_or_else(|| {
            bad(format!(
                "`map` names file `{name}`, which the request does not hold"
            ))
        })?;
        uploads.push((path, file));
    }
    Ok((params, uploads))
}

/// `map`: each file part's name and the one variable it fills (`variables.file`, `variables.files.0`). A path
/// named twice, a file given two paths, or a path to anything but a null variable of the operation is refused.
fn file_map(bytes: &[u8], params: &Params) -> Result<BTreeMap<String, String>, Refusal> {
    let map: BTreeMap<String, Vec<String>> = serde_json::from_slice(bytes).map_err(|_| {
        bad("`map` must be a JSON object from file part names to lists of variable paths")
    })?;
    if map.len() > MAX_FILES {
        return Err(bad(format!(
            "a request may carry at most {MAX_FILES} files"
        )));
    }
    let mut seen = BTreeSet::new();
    let mut out = BTreeMap::new();
    let mut variables = params.variables.clone();
    for (name, paths) in map {
        let [path] = paths.as_slice() else {
            return Err(bad(format!(
                "`map` must name exactly one variable for file `{name}`; a file may be used once"
            )));
        };
        if !seen.insert(path.clone()) {
            return Err(bad(format!(
                "`map` names the variable `{path}` for two files"
            )));
        }
        match variable_at(&mut variables, path) {
            Some(Value::Null) => {}
            _ => {
                return Err(bad(format!(
                    "`map` names `{path}`, which is not a null variable of the operation"
                )));
            }
        }
        out.insert(name, path.clone());
    }
    Ok(out)
}

/// The value at `variables.a.0.b` in the operation's variables.
fn variable_at<'a>(
    variables: &'a mut serde_json::Map<String, Value>,
    path: &str,
) -> Option<&'a mut Value> {
    let mut parts = path.strip_prefix("variables.")?.split('.');
    let first = variables.get_mut(parts.next()?)?;
    parts.try_fold(first, |current, part| match current {
        Value::Array(list) => part.parse::<usize>().ok().and_then(|i| list.get_mut(i)),
        Value::Object(obj) => obj.get_mut(part),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(variables: Value) -> Params {
        Params {
            query: "mutation($file: Upload!) { uploadImage(file: $file) { id } }".into(),
            operation_name: None,
            variables: variables.as_object().unwrap().clone(),
            extensions: Default::default(),
        }
    }

    #[test]
    fn the_map_names_each_null_variable_once() {
        let p = params(serde_json::json!({"file": null, "files": [null, null], "n": 3}));
        let ok = file_map(
            br#"{"0": ["variables.file"], "1": ["variables.files.1"]}"#,
            &p,
        )
        .unwrap();
        assert_eq!(ok["1"], "variables.files.1");
        for bad_map in [
            r#"{"0": ["variables.file"], "1": ["variables.file"]}"#,
            r#"{"0": ["variables.file", "variables.files.0"]}"#,
            r#"{"0": ["variables.n"]}"#,
            r#"{"0": ["variables.missing"]}"#,
            r#"{"0": ["file"]}"#,
            r#"{"0": "variables.file"}"#,
            r#"[]"#,
        ] {
            assert!(file_map(bad_map.as_bytes(), &p).is_err(), "{bad_map}");
        }
    }
}
