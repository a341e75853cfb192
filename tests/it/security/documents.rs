//! Documents built to cost the server: alias floods, directive overloading, deep and circular queries,
//! parser-recursion bombs; and what production hides (introspection, field suggestions).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};

use super::client::{ws_acked, ws_run};
use crate::harness::{TestApp, code, json_body};

const GQL_RESPONSE: &str = "application/graphql-response+json";

/// POSTs `query` asking for `application/graphql-response+json`; returns the status, the body and how long
/// the answer took.
async fn post(app: &TestApp, query: &str) -> (u16, Value, Duration) {
    let started = Instant::now();
    let req = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("accept", GQL_RESPONSE)
        .body(Body::from(json!({ "query": query }).to_string()))
        .unwrap();
    let res = app.request(req).await;
    let status = res.status().as_u16();
    let body = json_body(res).await;
    (status, body, started.elapsed())
}

fn message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or("")
}

/// Refused before execution: 400, the code, no `data`, and quickly.
fn assert_refused(status: u16, body: &Value, elapsed: Duration, expected: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(body), expected, "{body}");
    assert!(body.get("data").is_none(), "{body}");
    assert!(
        elapsed < Duration::from_secs(5),
        "took {elapsed:?} to refuse"
    );
}

#[tokio::test]
async fn alias_floods_are_refused_on_every_transport() {
    let app = TestApp::new().await;
    // 101 aliases of a field that reads the database, in the operation and through a fragment.
    let aliases: String = (0..101)
        .map(|i| format!("p{i}: privacyPolicy {{ version }} "))
        .collect();
    let direct = format!("{{ {aliases} }}");
    let through_fragment = format!("{{ ...F }} fragment F on Query {{ {aliases} }}");
    for query in [&direct, &through_fragment] {
        let (status, body, elapsed) = post(&app, query).await;
        assert_refused(status, &body, elapsed, "QUERY_TOO_COMPLEX");
        assert!(message(&body).contains("101 aliases"), "{body}");
    }
    // Over GET and over WebSocket the same document meets the same limit.
    let qs = serde_urlencoded::to_string([("query", &direct)]).unwrap();
    let res = app.get(&format!("/graphql?{qs}")).await;
    assert_eq!(code(&json_body(res).await), "QUERY_TOO_COMPLEX");
    let server = app.serve().await;
    let mut ws = ws_acked(&server).await;
    let answer = ws_run(&mut ws, "a", &direct).await;
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(
        answer["payload"][0]["extensions"]["code"],
        "QUERY_TOO_COMPLEX"
    );
    // Control: 30 aliases (the limit) run.
    let thirty: String = (0..30)
        .map(|i| format!("p{i}: privacyPolicy {{ version }} "))
        .collect();
    let (status, body, _) = post(&app, &format!("{{ {thirty} }}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["p29"]["version"], "1");
}

#[tokio::test]
async fn directive_overloading_is_refused() {
    let app = TestApp::new().await;
    let cases = [
        // One field buried under repeated directives (known and unknown ones: counting comes first).
        format!("{{ __typename {} }}", "@include(if: true) ".repeat(1000)),
        format!("{{ __typename {} }}", "@a ".repeat(5000)),
        // Spread over many fields, each under the limit alone.
        format!(
            "{{ {} }}",
            (0..21)
                .map(|i| format!("t{i}: __typename @skip(if: false) "))
                .collect::<String>()
        ),
        // On the operation, fragment spreads, inline fragments and fragment definitions.
        format!(
            "query Q @d {{ ...F @d @d @d ... @d @d {{ __typename @d }} }} fragment F on Query @d {{ {} }}",
            "__typename @d ".repeat(14)
        ),
    ];
    for query in &cases {
        let (status, body, elapsed) = post(&app, query).await;
        assert_refused(status, &body, elapsed, "QUERY_TOO_COMPLEX");
        assert!(message(&body).contains("directives"), "{body}");
    }
    // Control: a few directives run.
    let (status, body, _) = post(
        &app,
        "{ a: __typename @include(if: true) b: __typename @skip(if: true) }",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], json!({ "a": "Query" }));
}

#[tokio::test]
async fn deep_queries_are_refused() {
    let app = TestApp::new().await;
    // works -> author -> works -> ...: a real cycle in the schema, 16 levels deep.
    let mut deep = String::from("id");
    for _ in 0..3 {
        deep = format!("works {{ edges {{ node {{ author {{ {deep} }} }} }} }}");
    }
    deep = format!("{{ works {{ edges {{ node {{ id {deep} }} }} }} }}");
    let (status, body, elapsed) = post(&app, &deep).await;
    assert_refused(status, &body, elapsed, "QUERY_TOO_COMPLEX");
    assert!(message(&body).contains("nested too deep"), "{body}");
    // The same depth hidden in nested fragments.
    let hidden = "{ ...A } \
        fragment A on Query { works { edges { node { ...B } } } } \
        fragment B on Work { author { ...C } } \
        fragment C on User { works { edges { node { ...D } } } } \
        fragment D on Work { author { ...E } } \
        fragment E on User { works { edges { node { author { works { edges { node { id } } } } } } } }";
    let (status, body, elapsed) = post(&app, hidden).await;
    assert_refused(status, &body, elapsed, "QUERY_TOO_COMPLEX");
    // Control: the client's feed query (depth 4) runs.
    let (status, body, _) = post(
        &app,
        "{ works(first: 5) { edges { node { id author { username } } } } }",
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn wide_list_queries_cost_what_they_would_fetch() {
    let app = TestApp::new().await;
    // Three levels of 100-item pages: a 150-byte document that would fetch a million works. Each page
    // counts its selection once per item it can hold, so this is refused before a statement runs.
    let wide = "{ works(first: 100) { edges { node { author { works(first: 100) { edges { node { \
        author { works(first: 100) { edges { node { id } } } } } } } } } } } }";
    let (status, body, elapsed) = post(&app, wide).await;
    assert_refused(status, &body, elapsed, "QUERY_TOO_COMPLEX");
    // The page size can hide in a variable: it is read from the variables, as execution would.
    let req = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("accept", GQL_RESPONSE)
        .body(Body::from(
            json!({
                "query": "query Q($n: Int) { works(first: $n) { edges { node { author { \
                    works(first: $n) { edges { node { author { works(first: $n) { edges { node { id } } } } } } } } } } } }",
                "variables": { "n": 100 },
            })
            .to_string(),
        ))
        .unwrap();
    let res = app.request(req).await;
    assert_eq!(res.status().as_u16(), 400);
    assert_eq!(code(&json_body(res).await), "QUERY_TOO_COMPLEX");
    // The same shape over WebSocket.
    let server = app.serve().await;
    let mut ws = ws_acked(&server).await;
    let answer = ws_run(&mut ws, "w", wide).await;
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(
        answer["payload"][0]["extensions"]["code"],
        "QUERY_TOO_COMPLEX"
    );
    // Controls: the web client's feed at its largest page (100 items) and a small nested page run.
    let feed = "{ works(first: 100, orderBy: NEWEST) { edges { cursor node { id title coverUrl tags \
        author { id username avatarUrl } collectionCount viewerHasCollected } } \
        pageInfo { hasNextPage endCursor } } }";
    let (status, body, _) = post(&app, feed).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    let (status, body, _) = post(
        &app,
        "{ works(first: 10) { edges { node { author { works(first: 10) { edges { node { id } } } } } } } }",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
}

#[tokio::test]
async fn parser_recursion_bombs_are_refused_without_crashing() {
    // Nesting that a recursive parser follows: selection sets, inline fragments, list and object values.
    // Each is kept under the 20,000-character query limit so the nesting check, not the length check, meets
    // it. Before that check, the first of these overflowed the stack and aborted the whole process.
    let app = TestApp::new().await;
    let n = 4_000;
    let bombs = [
        format!("{}{}", "{ a ".repeat(n), "}".repeat(n)),
        format!(
            "{{ {}__typename{} }}",
            "... on Query { ".repeat(1_000),
            " }".repeat(1_000)
        ),
        format!(
            "{{ node(id: {}\"x\"{}) {{ id }} }}",
            "[".repeat(n),
            "]".repeat(n)
        ),
        format!(
            "{{ node(id: {}1{}) {{ id }} }}",
            "{a: ".repeat(n / 2),
            "}".repeat(n / 2)
        ),
        format!(
            "{{ node(id: \"x\") {} {}",
            "{ ... on Work ".repeat(n / 4),
            "}".repeat(n / 4)
        ),
    ];
    for query in &bombs {
        assert!(query.len() <= 20_000, "{}", query.len());
        let (status, body, elapsed) = post(&app, query).await;
        assert_refused(status, &body, elapsed, "QUERY_TOO_COMPLEX");
        assert!(message(&body).contains("levels deep"), "{body}");
    }
    // At the nesting limit the parser runs, and the depth limit refuses the document.
    let limit = portico::graphql::analysis::MAX_NESTING;
    let at_limit = format!("{}{}", "{ a ".repeat(limit), "}".repeat(limit));
    let (status, body, elapsed) = post(&app, &at_limit).await;
    assert_refused(status, &body, elapsed, "QUERY_TOO_COMPLEX");
    assert!(
        message(&body).contains("nested too deep: 64 levels"),
        "{body}"
    );
    // Brackets inside strings and comments are not nesting.
    let quiet = format!(
        "{{ search(query: \"{0}\") {{ edges {{ cursor }} }} }} # {0}",
        "{[(".repeat(2_000)
    );
    let (status, body, _) = post(&app, &quiet).await;
    assert_ne!(code(&body), "QUERY_TOO_COMPLEX", "{status} {body}");
    // A chain of 500 fragments, each spreading the next.
    let mut chain = String::from("{ ...F0 } ");
    for i in 0..500 {
        chain.push_str(&format!("fragment F{i} on Query {{ ...F{} }} ", i + 1));
    }
    chain.push_str("fragment F500 on Query { __typename }");
    assert!(chain.len() <= 20_000);
    let (status, body, elapsed) = post(&app, &chain).await;
    assert_refused(status, &body, elapsed, "GRAPHQL_VALIDATION_FAILED");
    // Over WebSocket the same check applies.
    let server = app.serve().await;
    let mut ws = ws_acked(&server).await;
    let answer = ws_run(&mut ws, "b", &bombs[0]).await;
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(
        answer["payload"][0]["extensions"]["code"],
        "QUERY_TOO_COMPLEX"
    );
    // Deeply nested JSON variables are refused as a bad request, not a crash.
    let nested = format!(
        "{{\"query\":\"query($v: ID) {{ node(id: $v) {{ id }} }}\",\"variables\":{{\"v\":{}1{}}}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let res = app
        .request(
            Request::post("/graphql")
                .header("content-type", "application/json")
                .body(Body::from(nested))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(code(&json_body(res).await), "BAD_USER_INPUT");
    // Still serving.
    let (status, _) = app.graphql("{ __typename }", json!({})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn circular_fragments_are_refused() {
    let app = TestApp::new().await;
    for query in [
        "{ ...A } fragment A on Query { __typename ...A }",
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        "{ ...A } fragment A on Query { works { edges { node { ...W } } } } \
         fragment W on Work { author { ...U } } fragment U on User { works { edges { node { ...W } } } }",
        // A cycle that doubles at every turn.
        "{ ...A } fragment A on Query { ...A ...A __typename }",
        // A cycle in a fragment no operation uses is refused too.
        "{ __typename } fragment A on Query { ...B } fragment B on Query { ...A }",
    ] {
        let (status, body, elapsed) = post(&app, query).await;
        assert_refused(status, &body, elapsed, "GRAPHQL_VALIDATION_FAILED");
    }
    // Fragments that each spread the next twice: a 1.5 KB document whose expansion is 2^30 selections.
    // Before the expanded size was checked, validation walked all of them (minutes of CPU per request).
    let mut doubling = String::from("{ ...F0 } ");
    for i in 0..30 {
        doubling.push_str(&format!(
            "fragment F{i} on Query {{ ...F{j} ...F{j} }} ",
            j = i + 1
        ));
    }
    doubling.push_str("fragment F30 on Query { __typename }");
    let (status, body, elapsed) = post(&app, &doubling).await;
    assert_refused(status, &body, elapsed, "QUERY_TOO_COMPLEX");
    assert!(message(&body).contains("over a billion"), "{body}");
    // Wide instead of deep: as many same-named fields as the length limit allows (merging checks compare
    // fields pairwise).
    let wide = format!("{{ {} }}", "__typename ".repeat(1_800));
    let (status, body, elapsed) = post(&app, &wide).await;
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(status, 200, "{body}");
    // Control: a fragment reused a few times runs.
    let (status, body, _) = post(
        &app,
        "{ a: works(first: 1) { ...C } b: works(first: 2) { ...C } } fragment C on WorkConnection { pageInfo { hasNextPage } }",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["b"]["pageInfo"].is_object(), "{body}");
}

#[tokio::test]
async fn production_hides_the_schema_everywhere() {
    let app = TestApp::with_config(|c| {
        c.env = portico::config::Environment::Production;
        c.introspection = false;
        c.graphiql = false;
    })
    .await;
    // Introspection: refused as FORBIDDEN however it is asked (plain, through a fragment, over GET).
    for query in [
        "{ __type(name: \"Me\") { fields { name } } }",
        "query Q { ...F } fragment F on Query { __schema { queryType { name } } }",
        "{ a: __schema { types { name } } }",
    ] {
        let (status, body, _) = post(&app, query).await;
        assert_eq!(status, 403, "{query}: {body}");
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        assert!(body.get("data").is_none(), "{body}");
    }
    let qs = serde_urlencoded::to_string([("query", "{ __schema { types { name } } }")]).unwrap();
    let res = app.get(&format!("/graphql?{qs}")).await;
    assert_eq!(res.status(), 403);
    let server = app.serve().await;
    let mut ws = ws_acked(&server).await;
    let answer = ws_run(&mut ws, "i", "{ __schema { types { name } } }").await;
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(answer["payload"][0]["extensions"]["code"], "FORBIDDEN");
    // `__typename` is not introspection of the schema and stays available.
    let (status, body, _) = post(&app, "{ __typename }").await;
    assert_eq!(
        (status, &body["data"]["__typename"]),
        (200, &json!("Query"))
    );
    // No "Did you mean" for fields, arguments, types or enum values.
    for typo in TYPOS {
        let (_, body, _) = post(&app, typo).await;
        assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
        assert!(!body.to_string().contains("Did you mean"), "{typo}: {body}");
    }
}

/// Misspelt fields, arguments, types and enum values.
const TYPOS: [&str; 4] = [
    "{ privacyPolic { version } }",
    "{ works(frist: 1) { edges { cursor } } }",
    "{ node(id: \"x\") { ... on Wrk { id } } }",
    "{ works(orderBy: NEWES) { edges { cursor } } }",
];

#[tokio::test]
async fn development_keeps_suggestions_as_a_control() {
    // The production test above means something only if development does suggest.
    let app = TestApp::new().await;
    let (_, body, _) = post(&app, TYPOS[0]).await;
    assert!(body.to_string().contains("Did you mean"), "{body}");
    let (status, body, _) = post(&app, "{ __type(name: \"Me\") { name } }").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["__type"]["name"], "Me");
}
