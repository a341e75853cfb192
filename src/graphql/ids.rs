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

#[cfg(test)]
mod props {
    //! Property tests: every id we make decodes to what made it, and no string makes decoding panic.

    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn encode_then_decode_round_trips(kind in "[A-Za-z0-9]{1,40}", key in "\\PC{1,60}") {
            let id = encode(&kind, &key);
            if id.len() <= 200 {
                prop_assert_eq!(decode(&id), Some((kind, key)));
            } else {
                // Longer ids are refused before decoding, whatever they hold.
                prop_assert_eq!(decode(&id), None);
            }
        }

        #[test]
        fn integer_keys_round_trip(kind in "[A-Za-z]{1,30}", key in any::<i64>()) {
            let id = encode(&kind, key);
            prop_assert_eq!(decode_i64(&id, &kind, "id").ok(), Some(key));
        }

        #[test]
        fn decode_never_panics_on_arbitrary_strings(s in any::<String>()) {
            if let Some((kind, key)) = decode(&s) {
                prop_assert!(!kind.is_empty() && kind.chars().all(|c| c.is_ascii_alphanumeric()));
                prop_assert!(!key.is_empty());
            }
            // Whatever it holds, a decoding failure is a clean error on the named field.
            match decode_i64(&s, "Work", "id") {
                Ok(_) | Err(AppError::NotFound(_)) => {}
                Err(AppError::BadUserInput { field, .. }) => prop_assert_eq!(field.as_deref(), Some("id")),
                Err(other) => prop_assert!(false, "unexpected error {other:?}"),
            }
        }

        #[test]
        fn decoded_ids_are_canonical(s in "[A-Za-z0-9_-]{0,220}") {
            // Anything that decodes is exactly what `encode` makes of its parts: one id per object.
            if let Some((kind, key)) = decode(&s) {
                prop_assert_eq!(encode(&kind, &key).0, s);
            }
        }

        #[test]
        fn arbitrary_bytes_behind_base64_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
            let id = URL_SAFE_NO_PAD.encode(&bytes);
            let decoded = decode(&id);
            if let Some((kind, key)) = decoded {
                prop_assert_eq!(format!("{kind}:{key}").into_bytes(), bytes);
            }
        }
    }
}
