//! GraphQL-over-HTTP request parameters: read from a GET query string or a POST JSON body, shape-checked.

use serde_json::{Map, Value};

/// One GraphQL request as the client sent it.
#[derive(Debug, Clone)]
pub struct Params {
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: Map<String, Value>,
    pub extensions: Map<String, Value>,
}

/// A POST body: one request, or a batch.
#[derive(Debug)]
pub enum Body {
    Single(Params),
    Batch(Vec<Params>),
}

/// Parses a POST body. Errors are messages for a 400 answer.
pub fn from_json_body(bytes: &[u8]) -> Result<Body, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("the request body is empty; send a JSON object with a `query`".into());
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("the request body is not valid JSON: {e}"))?;
    match value {
        Value::Object(map) => from_map(map).map(Body::Single),
        Value::Array(items) => {
            if items.is_empty() {
                return Err("an empty batch holds no operation".into());
            }
            items
                .into_iter()
                .map(|item| match item {
                    Value::Object(map) => from_map(map),
                    _ => Err("each item of a batch must be a JSON object".into()),
                })
                .collect::<Result<_, _>>()
                .map(Body::Batch)
        }
        _ => Err("the request body must be a JSON object".into()),
    }
}

/// Parses a GET query string (`query`, `operationName`, and JSON-encoded `variables` and `extensions`).
pub fn from_query_string(raw: &str) -> Result<Params, String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|e| format!("the query string is malformed: {e}"))?;
    let mut map = Map::new();
    for (k, v) in pairs {
        let value = match k.as_str() {
            "variables" | "extensions" => {
                serde_json::from_str(&v).map_err(|_| format!("`{k}` must be URL-encoded JSON"))?
            }
            _ => Value::String(v),
        };
        if map.insert(k.clone(), value).is_some() {
            return Err(format!("`{k}` is given more than once"));
        }
    }
    from_map(map)
}

fn from_map(mut map: Map<String, Value>) -> Result<Params, String> {
    let query = match map.remove("query") {
        Some(Value::String(q)) => q,
        Some(_) => return Err("`query` must be a string".into()),
        None => return Err("`query` is missing".into()),
    };
    let operation_name = match map.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err("`operationName` must be a string".into()),
    };
    let variables = match map.remove("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err("`variables` must be an object".into()),
    };
    let extensions = match map.remove("extensions") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err("`extensions` must be an object".into()),
    };
    Ok(Params {
        query,
        operation_name,
        variables,
        extensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_shapes() {
        assert!(matches!(
            from_json_body(br#"{"query":"{a}"}"#),
            Ok(Body::Single(_))
        ));
        assert!(
            matches!(from_json_body(br#"[{"query":"{a}"}]"#), Ok(Body::Batch(b)) if b.len() == 1)
        );
        for bad in [
            &b""[..],
            b"  ",
            b"{",
            b"[]",
            b"1",
            br#"{"query":1}"#,
            br#"{}"#,
            br#"{"query":"{a}","variables":[]}"#,
            br#"{"query":"{a}","operationName":2}"#,
            br#"{"query":"{a}","extensions":"x"}"#,
        ] {
            assert!(
                from_json_body(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let Ok(Body::Single(p)) = from_json_body(
            br#"{"query":"{a}","variables":null,"operationName":null,"extensions":null}"#,
        ) else {
            panic!()
        };
        assert!(p.variables.is_empty() && p.operation_name.is_none());
    }

    #[test]
    fn get_shapes() {
        let p =
            from_query_string("query=%7Ba%7D&variables=%7B%22x%22%3A1%7D&operationName=Q").unwrap();
        assert_eq!(p.query, "{a}");
        assert_eq!(p.variables["x"], 1);
        assert_eq!(p.operation_name.as_deref(), Some("Q"));
        assert!(from_query_string("variables=%7B").is_err());
        assert!(from_query_string("").is_err());
        assert!(from_query_string("query=a&query=b").is_err());
    }
}
