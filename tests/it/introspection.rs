//! Introspection as tools send it: graphql-js's `getIntrospectionQuery()` with every option (what GraphiQL,
//! codegen and IDE plugins send, 14 levels deep) is answered over POST, GET and WebSocket whenever
//! introspection is on, while application queries keep the depth limit and introspection keeps its own bounds.

use serde_json::{Value, json};

use crate::harness::{TestApp, code};
use crate::ws_protocol::{connect_acked, recv, send, subscribe};

const INTROSPECTION: &str = include_str!("../fixtures/introspection.graphql");

/// Checks that `data` is a whole introspection result: the root types, and `Query` with its documented fields.
fn assert_full_schema(body: &Value) {
    assert!(body["errors"].is_null(), "{body}");
    let schema = &body["data"]["__schema"];
    assert_eq!(schema["queryType"]["name"], "Query", "{body}");
    assert_eq!(schema["mutationType"]["name"], "Mutation");
    assert_eq!(schema["subscriptionType"]["name"], "Subscription");
    let types = schema["types"].as_array().unwrap();
    let query = types.iter().find(|t| t["name"] == "Query").unwrap();
    let fields: Vec<&str> = query["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for expected in [
        "viewer",
        "user",
        "works",
        "work",
        "articles",
        "search",
        "privacyPolicy",
        "node",
    ] {
        assert!(
            fields.contains(&expected),
            "Query lacks {expected}: {fields:?}"
        );
    }
    let works = query["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "works")
        .unwrap();
    assert!(
        works["description"].as_str().is_some_and(|d| !d.is_empty()),
        "{works}"
    );
    for name in ["Me", "User", "Work", "Notification", "RegisterInput"] {
        assert!(types.iter().any(|t| t["name"] == name), "no type {name}");
    }
    assert!(
        schema["directives"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "deprecated")
    );
}

#[tokio::test]
async fn graphiqls_introspection_query_is_answered_over_every_transport() {
    let app = TestApp::new().await;
    let (status, body) = app.graphql(INTROSPECTION, json!({})).await;
    assert_eq!(status, 200);
    assert_full_schema(&body);

    let qs = serde_urlencoded::to_string([("query", INTROSPECTION)]).unwrap();
    let res = app.get(&format!("/graphql?{qs}")).await;
    assert_eq!(res.status(), 200);
    assert_full_schema(&crate::harness::json_body(res).await);

    let server = app.serve().await;
    let mut ws = connect_acked(&server).await;
    send(&mut ws, subscribe("1", INTROSPECTION)).await;
    let next = recv(&mut ws).await;
    assert_eq!(next["type"], "next", "{next}");
    assert_full_schema(&next["payload"]);
    assert_eq!(
        recv(&mut ws).await,
        json!({ "type": "complete", "id": "1" })
    );
}

#[tokio::test]
async fn application_queries_keep_the_depth_limit_while_introspection_is_bounded_by_count() {
    let app = TestApp::new().await;
    // works → author → works …, 16 fields deep: refused as before.
    let deep = format!(
        "{{ {} id {} }}",
        "works { edges { node { author { ".repeat(4),
        "} } } } ".repeat(4)
    );
    let (_, body) = app.graphql(&deep, json!({})).await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nested too deep: 17 levels"),
        "{body}"
    );
    // Hiding the application chain behind a fragment spread changes nothing.
    let hidden = format!("{{ ...F }} fragment F on Query {deep}");
    let (_, body) = app.graphql(&hidden, json!({})).await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    // Two `__schema` selections in one document are refused, however shallow.
    let (_, body) = app
        .graphql(
            "{ a: __schema { queryType { name } } b: __schema { queryType { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    // With introspection off the same query is refused outright.
    let off = TestApp::with_config(|c| c.introspection = false).await;
    let (status, body) = off.graphql(INTROSPECTION, json!({})).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(code(&body), "FORBIDDEN");
}
