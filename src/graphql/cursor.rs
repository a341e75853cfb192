//! The one cursor codec every connection uses. A cursor is base64url (no padding) of its fields joined by `:`,
//! the first field a tag naming the list it belongs to; a sealed cursor (partners') is base64url of the sealed
//! bytes. Decoding refuses, as `None`, anything over the length limit, anything that is not base64url of UTF-8,
//! another tag and another number of fields; each list turns `None` into its own `BAD_USER_INPUT`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The longest cursor any list accepts (a sealed one is longer: see [`open`]).
pub const MAX_LEN: usize = 100;

/// The cursor of `fields` in the list named `tag`.
pub fn encode(tag: &str, fields: &[&dyn std::fmt::Display]) -> String {
    let mut text = tag.to_string();
    for field in fields {
        text.push(':');
        text.push_str(&field.to_string());
    }
    URL_SAFE_NO_PAD.encode(text)
}

/// The `N` fields after `tag` in a cursor made by [`encode`]; `None` for anything else.
pub fn decode<const N: usize>(cursor: &str, tag: &str) -> Option<[String; N]> {
    if cursor.len() > MAX_LEN {
        return None;
    }
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let mut parts = text.split(':');
    if parts.next()? != tag {
        return None;
    }
    let fields: Vec<String> = parts.map(str::to_string).collect();
    fields.try_into().ok()
}

/// A sealed cursor: base64url of bytes the client cannot read.
pub fn seal(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The bytes of a sealed cursor no longer than `max_len`; `None` for anything else.
pub fn open(cursor: &str, max_len: usize) -> Option<Vec<u8>> {
    if cursor.len() > max_len {
        return None;
    }
    URL_SAFE_NO_PAD.decode(cursor).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_under_their_tag_only() {
        let c = encode("n", &[&17, &-4]);
        assert_eq!(decode::<2>(&c, "n"), Some(["17".into(), "-4".into()]));
        assert_eq!(decode::<2>(&c, "v"), None, "another tag");
        assert_eq!(decode::<3>(&c, "n"), None, "another number of fields");
        assert_eq!(decode::<1>(&c, "n"), None, "another number of fields");
        assert_eq!(decode::<1>("!!", "n"), None, "not base64url");
        assert_eq!(
            decode::<1>(&URL_SAFE_NO_PAD.encode([0xff, 0xfe]), "n"),
            None,
            "not UTF-8"
        );
        assert_eq!(decode::<0>(&"A".repeat(MAX_LEN + 1), "n"), None, "too long");
        assert_eq!(open(&seal(&[1, 2, 3]), 10), Some(vec![1, 2, 3]));
        assert_eq!(open(&seal(&[0; 30]), 10), None);
    }
}
