//! Works, articles and collections end to end: publishing rules, visibility, lists with keyset cursors,
//! collections, sanitised Markdown, and the statement count of a nested list.

use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::{code, field};

const PUBLISH_WORK: &str = "mutation($input: PublishWorkInput!) { publishWork(input: $input) { id title draft tags coverUrl category } }";
const FEED: &str = "query Feed($first: Int, $after: String) { works(first: $first, after: $after, orderBy: NEWEST) { edges { cursor node { id title coverUrl tags author { id username avatarUrl } collectionCount viewerHasCollected } } pageInfo { hasNextPage endCursor } } }";

fn work(title: &str) -> Value {
    json!({ "input": {
        "title": title, "description": "Ink and wash.", "category": "illustration", "tags": ["Ink", "landscape", "ink"],
        "images": [{ "url": "https://img.example.com/1.jpg", "width": 1200, "height": 800 }, { "url": "https://img.example.com/2.jpg", "width": 800, "height": 800 }]
    } })
}

async fn publish(app: &TestApp, token: &str, title: &str) -> String {
    let (_, body) = app.graphql_as(token, PUBLISH_WORK, work(title)).await;
    body["data"]["publishWork"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

#[tokio::test]
async fn publishing_and_reading_works() {
    let app = TestApp::new().await;
    let (token, _) = app.register("painter", "+8613811110001").await;
    let (_, visitor) = app.graphql(PUBLISH_WORK, work("x")).await;
    assert_eq!(code(&visitor), "UNAUTHENTICATED");
    let (_, body) = app
        .graphql_as(&token, PUBLISH_WORK, work("  Misty Mountains  "))
        .await;
    let w = &body["data"]["publishWork"];
    assert_eq!(w["title"], "Misty Mountains", "{body}");
    assert_eq!(w["tags"], json!(["ink", "landscape"]));
    assert_eq!(w["coverUrl"], "https://img.example.com/1.jpg");
    assert_eq!(w["draft"], false);
    let q = "query Work($id: ID!) { work(id: $id) { id title description images { url width height } tags category author { username } createdAt viewCount collectionCount viewerHasCollected } }";
    let (_, read) = app.graphql(q, json!({ "id": w["id"] })).await;
    assert_eq!(
        read["data"]["work"]["author"]["username"], "painter",
        "{read}"
    );
    assert_eq!(read["data"]["work"]["images"][1]["width"], 800);
    assert_eq!(read["data"]["work"]["viewerHasCollected"], false);
    let (_, node) = app
        .graphql(
            "query($id: ID!) { node(id: $id) { __typename ... on Work { title } } }",
            json!({ "id": w["id"] }),
        )
        .await;
    assert_eq!(node["data"]["node"]["__typename"], "Work");
    let (_, feed) = app.graphql(FEED, json!({ "first": 10 })).await;
    assert_eq!(
        feed["data"]["works"]["edges"][0]["node"]["title"], "Misty Mountains",
        "{feed}"
    );
}

#[tokio::test]
async fn bad_work_input_names_the_field() {
    let app = TestApp::new().await;
    let (token, _) = app.register("checker", "+8613811110002").await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("title", json!("x".repeat(101)), "title"),
        ("title", json!("   "), "title"),
        (
            "tags",
            json!((0..11).map(|i| format!("t{i}")).collect::<Vec<_>>()),
            "tags",
        ),
        ("tags", json!(["a,b"]), "tags"),
        ("images", json!([]), "images"),
        (
            "images",
            json!(
                (0..21)
                    .map(|_| json!({ "url": "https://x.example/a.png", "width": 1, "height": 1 }))
                    .collect::<Vec<_>>()
            ),
            "images",
        ),
        (
            "images",
            json!([{ "url": "javascript:alert(1)", "width": 10, "height": 10 }]),
            "images",
        ),
        (
            "images",
            json!([{ "url": "https://x.example/a.png", "width": 0, "height": 10 }]),
            "images",
        ),
        ("category", json!("knitting-memes"), "category"),
    ];
    for (key, value, expected) in cases {
        let mut input = work("ok");
        input["input"][key] = value.clone();
        let (_, body) = app.graphql_as(&token, PUBLISH_WORK, input).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{key}={value}: {body}");
        assert_eq!(field(&body), expected, "{key}={value}: {body}");
    }
    let (_, list) = app.graphql(FEED, json!({})).await;
    assert_eq!(
        list["data"]["works"]["edges"],
        json!([]),
        "nothing was half-written"
    );
}

#[tokio::test]
async fn drafts_ownership_and_soft_delete() {
    let app = TestApp::new().await;
    let (owner, _) = app.register("owner", "+8613811110003").await;
    let (other, _) = app.register("other", "+8613811110004").await;
    let mut draft = work("Unfinished");
    draft["input"]["draft"] = json!(true);
    let (_, body) = app.graphql_as(&owner, PUBLISH_WORK, draft).await;
    let id = body["data"]["publishWork"]["id"].clone();
    assert_eq!(body["data"]["publishWork"]["draft"], true);
    let q = "query($id: ID!) { work(id: $id) { title draft } }";
    assert_eq!(
        code(&app.graphql(q, json!({ "id": id })).await.1),
        "NOT_FOUND",
        "visitors never see drafts"
    );
    assert_eq!(
        code(&app.graphql_as(&other, q, json!({ "id": id })).await.1),
        "NOT_FOUND"
    );
    assert_eq!(
        app.graphql_as(&owner, q, json!({ "id": id })).await.1["data"]["work"]["draft"],
        true
    );
    assert_eq!(
        app.graphql(FEED, json!({})).await.1["data"]["works"]["edges"],
        json!([])
    );
    let update = "mutation($id: ID!, $input: UpdateWorkInput!) { updateWork(id: $id, input: $input) { title draft } }";
    let (_, published) = app
        .graphql_as(
            &owner,
            update,
            json!({ "id": id, "input": { "draft": false, "title": "Finished" } }),
        )
        .await;
    assert_eq!(
        published["data"]["updateWork"],
        json!({ "title": "Finished", "draft": false }),
        "{published}"
    );
    let (_, forbidden) = app
        .graphql_as(
            &other,
            update,
            json!({ "id": id, "input": { "title": "Mine now" } }),
        )
        .await;
    assert_eq!(code(&forbidden), "FORBIDDEN", "{forbidden}");
    let (_, unknown) = app
        .graphql_as(
            &owner,
            update,
            json!({ "id": "V29yazo5OTk5OQ", "input": {} }),
        )
        .await;
    assert_eq!(code(&unknown), "NOT_FOUND");
    let (_, foreign_kind) = app
        .graphql_as(&owner, q, json!({ "id": "QXJ0aWNsZTox" }))
        .await;
    assert_eq!(
        code(&foreign_kind),
        "NOT_FOUND",
        "an Article id is not a Work"
    );
    let (_, garbage) = app.graphql_as(&owner, q, json!({ "id": "%%%" })).await;
    assert_eq!(code(&garbage), "BAD_USER_INPUT");
    let del = "mutation($id: ID!) { deleteWork(id: $id) { id } }";
    assert_eq!(
        code(&app.graphql_as(&other, del, json!({ "id": id })).await.1),
        "FORBIDDEN"
    );
    assert_eq!(
        app.graphql_as(&owner, del, json!({ "id": id })).await.1["data"]["deleteWork"]["id"],
        id
    );
    assert_eq!(
        code(&app.graphql(q, json!({ "id": id })).await.1),
        "NOT_FOUND"
    );
    assert_eq!(
        code(&app.graphql_as(&owner, del, json!({ "id": id })).await.1),
        "NOT_FOUND"
    );
    let mut conn = app.db.conn().await;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let kept: N = diesel::sql_query("SELECT count(*) AS n FROM works WHERE deleted_at IS NOT NULL")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(kept.n, 1, "soft delete keeps the row");
}

#[tokio::test]
async fn articles_render_sanitised_markdown() {
    let app = TestApp::new().await;
    let (token, _) = app.register("writer", "+8613811110005").await;
    let (_, body) = app
        .graphql_as(
            &token,
            "mutation($input: PublishArticleInput!) { publishArticle(input: $input) { id title bodyHtml } }",
            json!({ "input": { "title": "On ink", "summary": "Notes", "tags": ["craft"],
                "body": "# Ink\n\nIt **flows**.\n\n<script>alert(1)</script>\n<img src=x onerror=alert(1)>\n\n[link](javascript:alert(2)) <a href=\"javascript:alert(3)\">x</a>" } }),
        )
        .await;
    let html = body["data"]["publishArticle"]["bodyHtml"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    assert!(html.contains("<strong>flows</strong>"), "{html}");
    for bad in ["<script", "onerror", "href=\"javascript:"] {
        assert!(!html.contains(bad), "{bad} survived: {html}");
    }
    let id = body["data"]["publishArticle"]["id"].clone();
    let (_, read) = app
        .graphql("query Article($id: ID!) { article(id: $id) { id title summary bodyHtml tags publishedAt viewCount author { username } } }", json!({ "id": id }))
        .await;
    assert_eq!(
        read["data"]["article"]["author"]["username"], "writer",
        "{read}"
    );
    let (_, list) = app.graphql("{ articles(first: 5) { edges { node { id title } } pageInfo { hasNextPage endCursor } } }", json!({})).await;
    assert_eq!(
        list["data"]["articles"]["edges"][0]["node"]["title"],
        "On ink"
    );
    let (_, profile) = app
        .graphql("query PublicProfile($username: String!) { user(username: $username) { id username works(first: 10) { edges { node { id title } } } articles(first: 10) { edges { node { id title } } } } }", json!({ "username": "writer" }))
        .await;
    assert_eq!(
        profile["data"]["user"]["articles"]["edges"][0]["node"]["title"], "On ink",
        "{profile}"
    );
}

#[tokio::test]
async fn collecting_is_idempotent_and_counted() {
    let app = TestApp::new().await;
    let (author, _) = app.register("maker", "+8613811110006").await;
    let (fan, _) = app.register("fan", "+8613811110007").await;
    let (fan2, _) = app.register("fan2", "+8613811110008").await;
    let id = publish(&app, &author, "Teapot").await;
    let collect = "mutation Collect($id: ID!) { collectWork(id: $id) { id collectionCount viewerHasCollected } }";
    let uncollect = "mutation Uncollect($id: ID!) { uncollectWork(id: $id) { id collectionCount viewerHasCollected } }";
    for _ in 0..2 {
        let (_, body) = app.graphql_as(&fan, collect, json!({ "id": id })).await;
        assert_eq!(body["data"]["collectWork"]["collectionCount"], 1, "{body}");
        assert_eq!(body["data"]["collectWork"]["viewerHasCollected"], true);
    }
    app.graphql_as(&fan2, collect, json!({ "id": id })).await;
    let (_, mine) = app.graphql_as(&fan, "query MyCollections { viewer { collections(first: 20) { edges { node { id title } } } } }", json!({})).await;
    assert_eq!(
        mine["data"]["viewer"]["collections"]["edges"][0]["node"]["title"], "Teapot",
        "{mine}"
    );
    for _ in 0..2 {
        let (_, body) = app.graphql_as(&fan, uncollect, json!({ "id": id })).await;
        assert_eq!(
            body["data"]["uncollectWork"]["collectionCount"], 1,
            "{body}"
        );
        assert_eq!(body["data"]["uncollectWork"]["viewerHasCollected"], false);
    }
    assert_eq!(
        code(&app.graphql(collect, json!({ "id": id })).await.1),
        "UNAUTHENTICATED"
    );
    assert_eq!(
        code(
            &app.graphql_as(&fan, collect, json!({ "id": "V29yazo0MDQ" }))
                .await
                .1
        ),
        "NOT_FOUND"
    );
    let (_, ordered) = app
        .graphql("{ works(first: 5, orderBy: MOST_COLLECTED) { edges { node { title collectionCount } } } }", json!({}))
        .await;
    assert_eq!(
        ordered["data"]["works"]["edges"][0]["node"]["collectionCount"],
        1
    );
}

#[tokio::test]
async fn keyset_pages_are_stable_under_inserts_and_filters_work() {
    let app = TestApp::new().await;
    let (a, _) = app.register("pager", "+8613811110009").await;
    for i in 0..7 {
        publish(&app, &a, &format!("Work {i}")).await;
    }
    let (_, first) = app.graphql(FEED, json!({ "first": 3 })).await;
    let page1: Vec<String> = titles(&first);
    assert_eq!(page1, ["Work 6", "Work 5", "Work 4"]);
    assert_eq!(first["data"]["works"]["pageInfo"]["hasNextPage"], true);
    // New works arrive while the reader pages: the next page neither repeats nor skips.
    publish(&app, &a, "Late arrival").await;
    let after = first["data"]["works"]["pageInfo"]["endCursor"].clone();
    let (_, second) = app
        .graphql(FEED, json!({ "first": 3, "after": after }))
        .await;
    assert_eq!(titles(&second), ["Work 3", "Work 2", "Work 1"]);
    let (_, last) = app
        .graphql(
            FEED,
            json!({ "first": 3, "after": second["data"]["works"]["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(titles(&last), ["Work 0"]);
    assert_eq!(last["data"]["works"]["pageInfo"]["hasNextPage"], false);
    let (_, bad) = app
        .graphql(FEED, json!({ "first": 3, "after": "garbage" }))
        .await;
    assert_eq!(field(&bad), "after");
    let (_, too_many) = app.graphql(FEED, json!({ "first": 101 })).await;
    assert_eq!(field(&too_many), "first");
    let (_, by_tag) = app.graphql("{ works(tag: \"LANDSCAPE\", category: \"illustration\", first: 50) { edges { node { title } } } }", json!({})).await;
    assert_eq!(
        by_tag["data"]["works"]["edges"].as_array().unwrap().len(),
        8
    );
    let (_, none) = app
        .graphql(
            "{ works(category: \"photography\") { edges { node { title } } } }",
            json!({}),
        )
        .await;
    assert_eq!(none["data"]["works"]["edges"], json!([]));
}

fn titles(body: &Value) -> Vec<String> {
    body["data"]["works"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap().to_string())
        .collect()
}

/// The hot statements written as SQL text (the session check, the authors with their consent, the search
/// page) are prepared once per connection and reused, as the query DSL's are, not parsed on every request.
#[tokio::test]
async fn hot_statements_are_prepared_once_per_connection() {
    #[derive(diesel::QueryableByName)]
    struct Prepared {
        #[diesel(sql_type = diesel::sql_types::Text)]
        statement: String,
    }
    // One pooled connection, so every request and the check below share it.
    let app = TestApp::with_config(|c| c.pool_size = 1).await;
    let (token, _) = app.register("preparer", "+8613811110011").await;
    let (_, body) = app
        .graphql_as(&token, PUBLISH_WORK, work("Brush study"))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    for _ in 0..3 {
        let (status, body, _) = app
            .graphql_with(Some(&token), &[], FEED, json!({ "first": 5 }))
            .await;
        assert_eq!(status, 200, "{body}");
        let (_, body) = app
            .graphql(
                "{ search(query: \"brush\") { edges { node { __typename } } } }",
                json!({}),
            )
            .await;
        assert!(body.get("errors").is_none(), "{body}");
    }
    let mut conn = app.state.pool.get().await.unwrap();
    let prepared: Vec<Prepared> = diesel::sql_query("SELECT statement FROM pg_prepared_statements")
        .load(&mut *conn)
        .await
        .unwrap();
    for needle in [
        "WITH touched AS (UPDATE sessions",
        "c.purpose = 'profile'",
        "ts_rank_cd",
    ] {
        let n = prepared
            .iter()
            .filter(|p| p.statement.contains(needle))
            .count();
        assert_eq!(n, 1, "`{needle}` is prepared {n} times on the connection");
    }
}

#[tokio::test]
async fn a_hundred_works_cost_a_handful_of_statements() {
    // Every request checks its session here, so the counts below are the worst case; a remembered session
    // (tests/it/live_sessions.rs) takes the check away.
    let app = TestApp::with_config(|c| c.session_cache = std::time::Duration::ZERO).await;
    let (token, _) = app.register("counter", "+8613811110010").await;
    let mut conn = app.db.conn().await;
    diesel::sql_query(
        "INSERT INTO accounts (username) SELECT 'artist' || g FROM generate_series(1, 25) g",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query(
        "INSERT INTO works (author_id, title, category, images, tags, published_at)
         SELECT (SELECT id FROM accounts WHERE username = 'artist' || (1 + g % 25)), 'Work ' || g, 'illustration',
                '[{\"url\":\"https://img.example.com/x.jpg\",\"width\":10,\"height\":10}]', ARRAY['tag' || (g % 7), 'common'],
                now() - g * interval '1 minute'
         FROM generate_series(1, 120) g",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query("INSERT INTO collections (account_id, work_id) SELECT a.id, w.id FROM accounts a, works w WHERE a.username = 'counter' AND w.id % 3 = 0")
        .execute(&mut conn)
        .await
        .unwrap();
    // Every artist has an avatar; it shows only for those whose latest answer for `profile` is a grant
    // (odd artists granted; artists divisible by 4 granted and then withdrew), read with the authors.
    diesel::sql_query(
        "INSERT INTO profiles (account_id, avatar_url)
         SELECT id, 'https://img.example.com/' || username || '.png' FROM accounts WHERE username LIKE 'artist%'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    diesel::sql_query(
        "INSERT INTO consent_records (account_id, purpose, policy_version_id, granted, method)
         SELECT a.id, 'profile', (SELECT max(id) FROM policy_versions), g.granted, g.method
         FROM accounts a, (VALUES (true, 'grant', 1), (false, 'withdraw', 2)) g (granted, method, step)
         WHERE a.username LIKE 'artist%'
           AND (substr(a.username, 7)::int % 2 = 1 AND g.step = 1
                OR substr(a.username, 7)::int % 4 = 0)
         ORDER BY a.id, g.step",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    // Warm the pool first: opening a connection runs set-up statements that are not the query's.
    app.graphql_with(Some(&token), &[], FEED, json!({ "first": 1 }))
        .await;
    for (n, expected) in [(1, 2), (10, 2), (50, 2), (100, 2)] {
        let (_, _, h) = app
            .graphql_with(Some(&token), &[], FEED, json!({ "first": n }))
            .await;
        assert_eq!(
            h["x-sql-statements"],
            expected.to_string().as_str(),
            "first: {n}"
        );
    }
    // A member by username: the lookup, then the account, profile and consent in one statement.
    for (name, avatar) in [
        ("ARTIST1", json!("https://img.example.com/artist1.png")),
        ("artist2", json!(null)),
    ] {
        let (_, body, h) = app
            .graphql_with(
                None,
                &[],
                "query($n: String!) { user(username: $n) { avatarUrl bio } }",
                json!({ "n": name }),
            )
            .await;
        assert_eq!(body["data"]["user"]["avatarUrl"], avatar, "{body}");
        assert_eq!(h["x-sql-statements"], "2", "{name}");
    }
    // The page reads its authors and the viewer's collections in its own statement, whichever are asked for.
    for (q, expected) in [
        ("{ works(first: 50) { edges { node { id } } } }", 2),
        (
            "{ works(first: 50) { edges { node { author { id } } } } }",
            2,
        ),
        (
            "{ works(first: 50) { edges { node { viewerHasCollected } } } }",
            2,
        ),
    ] {
        let (_, _, h) = app.graphql_with(Some(&token), &[], q, json!({})).await;
        assert_eq!(h["x-sql-statements"], expected.to_string().as_str(), "{q}");
    }
    let (status, body, headers) = app
        .graphql_with(Some(&token), &[], FEED, json!({ "first": 100 }))
        .await;
    assert_eq!(status, 200, "{body}");
    let edges = body["data"]["works"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 100);
    assert!(edges.iter().all(|e| {
        e["node"]["author"]["username"]
            .as_str()
            .unwrap()
            .starts_with("artist")
    }));
    assert!(
        edges
            .iter()
            .any(|e| e["node"]["viewerHasCollected"] == true)
    );
    for e in edges {
        let author = &e["node"]["author"];
        let n: u32 = author["username"].as_str().unwrap()[6..].parse().unwrap();
        let expected = (n % 2 == 1).then(|| format!("https://img.example.com/artist{n}.png"));
        assert_eq!(author["avatarUrl"], json!(expected), "{author}");
    }
    let statements: u64 = headers["x-sql-statements"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // The session check, then the page with its authors (and their consent to show the avatar) and the
    // viewer's collections: two statements whatever the page size.
    assert_eq!(statements, 2, "{statements} statements for 100 works");
    let (_, _, small) = app
        .graphql_with(Some(&token), &[], FEED, json!({ "first": 5 }))
        .await;
    assert_eq!(
        small["x-sql-statements"], headers["x-sql-statements"],
        "the count does not grow with the list"
    );
}
