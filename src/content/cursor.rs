//! Keyset cursors: the sort key and id of the last row seen, so pages stay stable while rows are inserted.

use crate::error::AppError;

/// The orders a list of works can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Newest,
    MostCollected,
    MostViewed,
}

impl Order {
    fn tag(self) -> char {
        match self {
            Order::Newest => 'n',
            Order::MostCollected => 'c',
            Order::MostViewed => 'v',
        }
    }
}

/// A position in a list: the sort key (microseconds or a count) and the row id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub key: i64,
    pub id: i64,
}

/// Encodes a position in a list ordered by `order`.
pub fn encode(order: Order, key: i64, id: i64) -> String {
    crate::graphql::cursor::encode(&order.tag().to_string(), &[&key, &id])
}

/// Decodes a cursor made for `order`; anything else is `BAD_USER_INPUT` on `after`.
pub fn decode(order: Order, cursor: &str) -> Result<Cursor, AppError> {
    let bad = || {
        AppError::bad_input(
            "after",
            "this cursor is malformed or belongs to another list order",
        )
    };
    let [key, id] =
        crate::graphql::cursor::decode(cursor, &order.tag().to_string()).ok_or_else(bad)?;
    Ok(Cursor {
        key: key.parse().map_err(|_| bad())?,
        id: id.parse().map_err(|_| bad())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn round_trip_and_refusals() {
        let c = encode(Order::Newest, 1_700_000_000_000_000, 42);
        assert_eq!(
            decode(Order::Newest, &c).unwrap(),
            Cursor {
                key: 1_700_000_000_000_000,
                id: 42
            }
        );
        assert!(decode(Order::MostViewed, &c).is_err(), "another order");
        for bad in [
            "",
            "%%%",
            "bjox",
            &URL_SAFE_NO_PAD.encode("n:1"),
            &URL_SAFE_NO_PAD.encode("n:x:1"),
            &URL_SAFE_NO_PAD.encode("n:1:2:3"),
        ] {
            assert!(decode(Order::Newest, bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod props {
    //! Property tests: cursors round-trip for every position and order, belong to their order only, and no
    //! input makes decoding panic: it answers a clean `BAD_USER_INPUT` on `after`.

    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    fn order() -> impl Strategy<Value = Order> {
        prop_oneof![
            Just(Order::Newest),
            Just(Order::MostCollected),
            Just(Order::MostViewed)
        ]
    }

    fn assert_clean(result: Result<Cursor, AppError>) -> Result<(), TestCaseError> {
        match result {
            Ok(_) => Ok(()),
            Err(AppError::BadUserInput { field, .. }) => {
                prop_assert_eq!(field.as_deref(), Some("after"));
                Ok(())
            }
            Err(other) => Err(TestCaseError::fail(format!("unexpected error {other:?}"))),
        }
    }

    proptest! {
        #[test]
        fn cursors_round_trip(order in order(), other in order(), key in any::<i64>(), id in any::<i64>()) {
            let cursor = encode(order, key, id);
            prop_assert_eq!(decode(order, &cursor).unwrap(), Cursor { key, id });
            if other != order {
                prop_assert!(decode(other, &cursor).is_err());
            }
        }

        #[test]
        fn arbitrary_strings_decode_cleanly(order in order(), s in any::<String>()) {
            assert_clean(decode(order, &s))?;
        }

        #[test]
        fn arbitrary_texts_behind_base64_decode_cleanly(order in order(), text in "[ncv]?(:-?[0-9a-z+]{0,22}){0,4}|\\PC{0,60}") {
            let cursor = URL_SAFE_NO_PAD.encode(&text);
            let decoded = decode(order, &cursor);
            if let Ok(c) = decoded {
                // Whatever decodes names a position the list can seek to.
                prop_assert!(text.starts_with(order.tag()));
                prop_assert_eq!(decode(order, &encode(order, c.key, c.id)).unwrap(), c);
            }
            assert_clean(decoded)?;
        }
    }
}
