//! Relay global object ids: opaque strings that name a type and a key (`base64url("Work:42")`).

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::AppError;

/// Encodes a type name and key into a global id.
pub fn encode(kind: &str, key: impl std::fmt::Display) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{kind}:{key}")))
}

/// Decodes a global id into its type name and key; `None` when it is not one of ours.
pub fn decode(id: &str) -> Option<(String, String)> {
    if id.len() > 200 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(id).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (kind, key) = text.split_once(':')?;
    if kind.is_empty() || key.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some((kind.to_string(), key.to_string()))
}

/// Decodes a global id that must name `kind` with an integer key.
pub fn decode_i64(id: &str, kind: &str, field: &str) -> Result<i64, AppError> {
    match decode(id) {
        Some((k, key)) if k == kind => key
            .parse()
            .map_err(|_| AppError::bad_input(field, format!("`{id}` is not a valid {kind} id"))),
        Some(_) => Err(AppError::NotFound(kind.to_string())),
        None => Err(AppError::bad_input(
            field,
            format!("`{id}` is not a valid id"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let id = encode("Work", 42);
        assert_eq!(decode(&id), Some(("Work".into(), "42".into())));
        assert_eq!(decode_i64(&id, "Work", "id").unwrap(), 42);
    }

    #[test]
    fn rejects_garbage_and_foreign_kinds() {
        assert_eq!(decode("not base64 !"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("nokind")), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode(":1")), None);
        assert!(matches!(
            decode_i64(&encode("Article", 1), "Work", "id"),
            Err(AppError::NotFound(_))
        ));
        assert!(matches!(
            decode_i64(&encode("Work", "x"), "Work", "id"),
            Err(AppError::BadUserInput { .. })
        ));
    }
}
