//! What each fuzz target checks. The cargo-fuzz targets in `fuzz_targets/` call these functions, and the main
//! test suite includes this file (`tests/it/security/fuzz_replay.rs`) to replay the seeds and run them on
//! generated input, so the checks compile and run on stable Rust in every `cargo test`.
//!
//! Every function takes arbitrary bytes and panics only when the code under test misbehaves: a panic inside
//! it, an error that is not the clean one its callers turn into `BAD_USER_INPUT`, or a value that does not
//! round-trip.

use portico::config::Limits;
use portico::content::cursor::{self, Order};
use portico::content::search::{self, Hit, HitKind};
use portico::error::AppError;
use portico::graphql::analysis;
use portico::graphql::ids;
use portico::http::params;
use portico::realtime::service as notices;

/// GraphQL-over-HTTP request decoding as the gateway does it (a POST body, a GET query string), then the
/// checks every document meets before execution: length, nesting, parsing, operation selection, limits.
pub fn request_decoding(data: &[u8]) {
    let limits = Limits::default();
    let mut requests = Vec::new();
    match params::from_json_body(data) {
        Ok(params::Body::Single(p)) => requests.push(p),
        Ok(params::Body::Batch(batch)) => {
            assert!(!batch.is_empty(), "an empty batch was accepted");
            requests.extend(batch);
        }
        Err(message) => assert!(!message.is_empty()),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        match params::from_query_string(text) {
            Ok(p) => requests.push(p),
            Err(message) => assert!(!message.is_empty()),
        }
        // The bytes as a document of their own.
        requests.push(params::Params {
            query: text.to_string(),
            operation_name: None,
            variables: Default::default(),
            extensions: Default::default(),
        });
    }
    for p in requests {
        document(&p.query, p.operation_name.as_deref(), &limits);
    }
}

/// The document checks of `POST /graphql` and of a WebSocket `subscribe`, in their order.
fn document(query: &str, operation_name: Option<&str>, limits: &Limits) {
    if query.chars().count() > limits.max_query_chars {
        return;
    }
    if let Err(refusal) = analysis::check_nesting(query, analysis::MAX_NESTING) {
        assert!(!refusal.message().is_empty());
        return;
    }
    let Ok(doc) = async_graphql::parser::parse_query(query) else {
        return;
    };
    for introspection in [true, false] {
        if let Err(refusal) = analysis::analyze(&doc, operation_name, limits, introspection) {
            assert!(!refusal.message().is_empty());
        }
    }
}

/// Relay global ids: decoding never panics, whatever decodes is canonical (encoding its parts gives the
/// same id back), and ids made from arbitrary parts decode to those parts.
pub fn global_ids(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some((kind, key)) = ids::decode(&text) {
        assert!(!kind.is_empty() && kind.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(!key.is_empty());
        assert_eq!(
            ids::encode(&kind, &key).0,
            text,
            "a decoded id is not canonical"
        );
    }
    match ids::decode_i64(&text, "Work", "id") {
        Ok(_) | Err(AppError::NotFound(_)) => {}
        Err(AppError::BadUserInput { field, .. }) => assert_eq!(field.as_deref(), Some("id")),
        Err(other) => panic!("unexpected error {other:?}"),
    }
    // The input as the parts of an id: a kind (its ASCII letters and digits) and a key (the rest).
    if let Some((kind, key)) = text.split_once(':') {
        let kind: String = kind.chars().filter(char::is_ascii_alphanumeric).collect();
        let id = ids::encode(&kind, key);
        if !kind.is_empty() && !key.is_empty() && id.len() <= 200 {
            assert_eq!(ids::decode(&id), Some((kind, key.to_string())));
        }
    }
}

/// The three kinds of cursor (keyset lists, notifications, search): decoding never panics and refuses with
/// `BAD_USER_INPUT` on `after`, whatever decodes encodes back to the same position, and positions made from
/// the input's bytes round-trip.
pub fn cursors(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for order in [Order::Newest, Order::MostCollected, Order::MostViewed] {
        match cursor::decode(order, &text) {
            Ok(c) => assert_eq!(
                cursor::decode(order, &cursor::encode(order, c.key, c.id)).ok(),
                Some(c)
            ),
            Err(e) => assert_clean(e),
        }
    }
    match notices::parse_cursor(&text, "after") {
        Ok(id) => {
            assert!(id >= 0);
            assert_eq!(
                notices::parse_cursor(&notices::cursor(id), "after").ok(),
                Some(id)
            );
        }
        Err(e) => assert_clean(e),
    }
    match search::decode_cursor("'lake':*", &text) {
        Ok(after) => assert!(after.rank.is_finite()),
        Err(e) => assert_clean(e),
    }
    // Positions from the input's bytes.
    if let Some(bytes) = data.get(..20) {
        let word = |i: usize| i64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let (key, id) = (word(0), word(8));
        let rank = f32::from_le_bytes(bytes[16..20].try_into().expect("4 bytes"));
        for order in [Order::Newest, Order::MostCollected, Order::MostViewed] {
            let c = cursor::decode(order, &cursor::encode(order, key, id)).expect("round trip");
            assert_eq!((c.key, c.id), (key, id));
        }
        let notice = id.checked_abs().unwrap_or(0);
        assert_eq!(
            notices::parse_cursor(&notices::cursor(notice), "after").ok(),
            Some(notice)
        );
        let kind =
            [HitKind::User, HitKind::Article, HitKind::Work][(key.unsigned_abs() % 3) as usize];
        let hit = Hit { kind, id, rank };
        match search::decode_cursor("'lake':*", &search::encode_cursor("'lake':*", &hit)) {
            Ok(after) => {
                assert!(rank.is_finite());
                assert_eq!(
                    (after.kind, after.id, after.rank.to_bits()),
                    (kind, id, rank.to_bits())
                );
            }
            Err(_) => assert!(!rank.is_finite(), "a finite rank did not round-trip"),
        }
    }
}

fn assert_clean(e: AppError) {
    match e {
        AppError::BadUserInput { field, .. } => assert_eq!(field.as_deref(), Some("after")),
        other => panic!("not a clean refusal: {other:?}"),
    }
}
