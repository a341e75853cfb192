//! `search(query:)` end to end: English words and prefixes, Chinese substrings, ranking, visibility, members,
//! the `SearchResult` union, paging with opaque cursors, and bad input.

use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::{code, field};

const SEARCH: &str = "query($q: String!, $first: Int, $after: String) { search(query: $q, first: $first, after: $after) { \
    edges { cursor node { __typename ... on Work { id title } ... on Article { id title } ... on User { id username } } } \
    pageInfo { hasNextPage endCursor } } }";

async fn publish_article(app: &TestApp, token: &str, title: &str, body_md: &str) -> String {
    let input = json!({ "input": { "title": title, "body": body_md, "tags": ["notes"] } });
    let (_, body) = app
        .graphql_as(
            token,
            "mutation($input: PublishArticleInput!) { publishArticle(input: $input) { id } }",
            input,
        )
        .await;
    body["data"]["publishArticle"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

async fn search(app: &TestApp, q: &str) -> Value {
    let (_, body) = app.graphql(SEARCH, json!({ "q": q })).await;
    body
}

/// (typename, title or username) of every hit, in order.
fn hits(body: &Value) -> Vec<(String, String)> {
    let edges = body["data"]["search"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    edges
        .iter()
        .map(|e| {
            let n = &e["node"];
            let label = n["title"].as_str().or(n["username"].as_str()).unwrap_or("");
            (
                n["__typename"].as_str().unwrap().to_string(),
                label.to_string(),
            )
        })
        .collect()
}

fn titles(body: &Value) -> Vec<String> {
    hits(body).into_iter().map(|(_, t)| t).collect()
}

#[tokio::test]
async fn english_by_word_and_prefix_with_titles_ranked_first() {
    let app = TestApp::new().await;
    let (token, _) = app.register("painter", "+8613822220001").await;
    let article = publish_article(
        &app,
        &token,
        "Notes from the coast",
        "I walked to the old lighthouse at noon.",
    )
    .await;
    let work = app.publish_work(&token, "Lighthouse at Dusk", false).await;
    app.publish_work(&token, "Quiet Harbour", false).await;

    let body = search(&app, "lighthouse").await;
    assert_eq!(
        hits(&body),
        [
            ("Work".to_string(), "Lighthouse at Dusk".to_string()),
            ("Article".into(), "Notes from the coast".into())
        ],
        "a title match ranks above a body match: {body}"
    );
    assert_eq!(
        body["data"]["search"]["edges"][0]["node"]["id"],
        work.as_str()
    );
    assert_eq!(
        body["data"]["search"]["edges"][1]["node"]["id"],
        article.as_str()
    );
    assert_eq!(
        titles(&search(&app, "LIGHTHO").await),
        ["Lighthouse at Dusk", "Notes from the coast"],
        "prefix"
    );
    assert_eq!(
        titles(&search(&app, "dusk lighthouse").await),
        ["Lighthouse at Dusk"],
        "every word must match"
    );
    assert_eq!(titles(&search(&app, "harb").await), ["Quiet Harbour"]);
    assert!(titles(&search(&app, "submarine").await).is_empty());
}

#[tokio::test]
async fn chinese_titles_by_substring() {
    let app = TestApp::new().await;
    let (token, _) = app.register("小明", "+8613822220002").await;
    app.publish_work(&token, "西湖水彩写生", false).await;
    app.publish_work(&token, "山间小屋", false).await;
    publish_article(&app, &token, "胶片摄影一年总结", "今年拍了二十卷胶片。").await;

    assert_eq!(
        titles(&search(&app, "水彩").await),
        ["西湖水彩写生"],
        "two characters"
    );
    assert_eq!(
        titles(&search(&app, "湖水彩").await),
        ["西湖水彩写生"],
        "three characters"
    );
    assert_eq!(titles(&search(&app, "西湖 写生").await), ["西湖水彩写生"]);
    assert_eq!(titles(&search(&app, "小屋").await), ["山间小屋"]);
    assert_eq!(titles(&search(&app, "摄影").await), ["胶片摄影一年总结"]);
    assert_eq!(
        titles(&search(&app, "二十卷").await),
        ["胶片摄影一年总结"],
        "an article body"
    );
    assert!(
        titles(&search(&app, "山水").await).is_empty(),
        "characters that are not adjacent do not match"
    );
    let body = search(&app, "小明").await;
    assert_eq!(
        hits(&body),
        [("User".to_string(), "小明".to_string())],
        "{body}"
    );
}

#[tokio::test]
async fn drafts_and_deleted_works_are_never_found() {
    let app = TestApp::new().await;
    let (token, _) = app.register("gardener", "+8613822220003").await;
    app.publish_work(&token, "Secret Orchard", true).await;
    let gone = app.publish_work(&token, "Deleted Orchard", false).await;
    app.publish_work(&token, "Public Orchard", false).await;
    let (_, deleted) = app
        .graphql_as(
            &token,
            "mutation($id: ID!) { deleteWork(id: $id) { id } }",
            json!({ "id": gone }),
        )
        .await;
    assert!(deleted["errors"].is_null(), "{deleted}");
    assert_eq!(
        titles(&search(&app, "orchard").await),
        ["Public Orchard"],
        "visitors"
    );
    let (_, own) = app
        .graphql_as(&token, SEARCH, json!({ "q": "orchard" }))
        .await;
    assert_eq!(
        titles(&own),
        ["Public Orchard"],
        "not even the author finds drafts through search"
    );
}

#[tokio::test]
async fn members_by_username_through_the_client_operation() {
    let app = TestApp::new().await;
    let (token, _) = app.register("lakeside_ink", "+8613822220004").await;
    app.register("mountain-lens", "+8613822220005").await;
    app.publish_work(&token, "Lakeside Morning", false).await;
    publish_article(&app, &token, "Painting lakes", "Start with the sky.").await;
    // The web client's operation, exactly as it sends it.
    let op = "query Search($q: String!) { search(query: $q, first: 20) { edges { node { __typename \
              ... on Work { id title } ... on Article { id title } ... on User { id username } } } } }";
    let (_, body) = app.graphql(op, json!({ "q": "lake" })).await;
    let mut found = hits(&body);
    found.sort();
    assert_eq!(
        found,
        [
            ("Article".to_string(), "Painting lakes".to_string()),
            ("User".into(), "lakeside_ink".into()),
            ("Work".into(), "Lakeside Morning".into()),
        ],
        "{body}"
    );
    let user = body["data"]["search"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["__typename"] == "User")
        .unwrap();
    let (_, node) = app
        .graphql(
            "query($id: ID!) { node(id: $id) { ... on User { username } } }",
            json!({ "id": user["node"]["id"] }),
        )
        .await;
    assert_eq!(
        node["data"]["node"]["username"], "lakeside_ink",
        "the id is a User's global id"
    );
    assert_eq!(
        hits(&search(&app, "mountain").await),
        [("User".to_string(), "mountain-lens".to_string())]
    );
}

#[tokio::test]
async fn bad_queries_and_cursors_are_bad_user_input() {
    let app = TestApp::new().await;
    let (token, _) = app.register("tester", "+8613822220006").await;
    app.publish_work(&token, "Harbour One", false).await;
    app.publish_work(&token, "Harbour Two", false).await;
    for q in ["", "   ", "?!…", &"long ".repeat(50)] {
        let body = search(&app, q).await;
        assert_eq!(
            (code(&body), field(&body)),
            ("BAD_USER_INPUT", "query"),
            "{q:?}: {body}"
        );
    }
    let (_, first) = app
        .graphql(SEARCH, json!({ "q": "harbour", "first": 1 }))
        .await;
    let cursor = first["data"]["search"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_string();
    let works_cursor = {
        let (_, w) = app
            .graphql("{ works(first: 1) { pageInfo { endCursor } } }", json!({}))
            .await;
        w["data"]["works"]["pageInfo"]["endCursor"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for (q, after) in [
        ("harbour", "garbage!"),
        ("harbour", "czox"),
        ("harbour", works_cursor.as_str()),
        ("one", cursor.as_str()),
    ] {
        let (_, body) = app.graphql(SEARCH, json!({ "q": q, "after": after })).await;
        assert_eq!(
            (code(&body), field(&body)),
            ("BAD_USER_INPUT", "after"),
            "{q} {after}: {body}"
        );
    }
    let (_, negative) = app
        .graphql(SEARCH, json!({ "q": "harbour", "first": -1 }))
        .await;
    assert_eq!(code(&negative), "BAD_USER_INPUT", "{negative}");
    // `first: 0` asks for pageInfo alone, as Relay allows.
    let (_, zero) = app
        .graphql(SEARCH, json!({ "q": "harbour", "first": 0 }))
        .await;
    assert_eq!(zero["data"]["search"]["edges"], json!([]), "{zero}");
}

#[tokio::test]
async fn pages_follow_each_other_without_gaps_or_repeats() {
    let app = TestApp::new().await;
    let (token, _) = app.register("harbour_fan", "+8613822220007").await;
    for i in 1..=5 {
        app.publish_work(&token, &format!("Harbour study {i}"), false)
            .await;
    }
    publish_article(&app, &token, "Harbour notes", "Boats and ropes.").await;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let (_, body, headers) = app
            .graphql_with(
                None,
                &[],
                SEARCH,
                json!({ "q": "harbour", "first": 2, "after": after }),
            )
            .await;
        let statements: u32 = headers["x-sql-statements"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            statements <= 4,
            "one ranked statement and one per kind: {statements}"
        );
        seen.extend(titles(&body));
        pages += 1;
        let info = &body["data"]["search"]["pageInfo"];
        if info["hasNextPage"] == false {
            break;
        }
        after = Some(info["endCursor"].as_str().unwrap().to_string());
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 4, "{seen:?}");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 7, "every hit exactly once: {seen:?}");
    assert!(
        seen.contains(&"harbour_fan".to_string()) && seen.contains(&"Harbour notes".to_string())
    );
}
