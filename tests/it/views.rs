//! Views, clicks and caching (privacy policy 2.2): `recordEvent` and the beacon count only with consent to
//! analytics (members: the consent ledger; visitors: the consent cookie), store no identity, and roll up into
//! the counters; public GET queries carry an ETag and answer 304, personal answers stay `private, no-store`.

use axum::body::Body;
use axum::http::{Request, Response};
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::harness::code;

const RECORD: &str =
    "mutation($kind: EventKind!, $target: ID!) { recordEvent(kind: $kind, target: $target) }";
const ANALYTICS_COOKIE: &str = "portico_consent=preferences-cookies,analytics";

async fn publish_article(app: &TestApp, token: &str) -> String {
    let input = json!({ "input": { "title": "Field notes", "body": "Walked, looked, wrote." } });
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

/// recordEvent with an optional bearer token and cookie; returns the body.
async fn record(
    app: &TestApp,
    token: Option<&str>,
    cookie: Option<&str>,
    kind: &str,
    target: &str,
) -> Value {
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("cookie", c)).into_iter().collect();
    let (_, body, _) = app
        .graphql_with(
            token,
            &headers,
            RECORD,
            json!({ "kind": kind, "target": target }),
        )
        .await;
    body
}

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Event {
    #[diesel(sql_type = diesel::sql_types::Text)]
    target_kind: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    target_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
}

async fn events(app: &TestApp) -> Vec<Event> {
    let mut conn = app.db.conn().await;
    diesel::sql_query("SELECT target_kind, target_id, kind FROM view_events ORDER BY id")
        .load(&mut conn)
        .await
        .unwrap()
}

fn key(global_id: &str) -> i64 {
    portico::graphql::ids::decode(global_id)
        .unwrap()
        .1
        .parse()
        .unwrap()
}

async fn account_id(app: &TestApp, username: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let mut conn = app.db.conn().await;
    let row: Id = diesel::sql_query("SELECT id FROM accounts WHERE username = $1")
        .bind::<diesel::sql_types::Text, _>(username)
        .get_result(&mut conn)
        .await
        .unwrap();
    row.id
}

#[tokio::test]
async fn visitors_are_counted_only_with_the_consent_cookie_and_without_identity() {
    let app = TestApp::new().await;
    let (token, _) = app.register("viewed", "+8613833330001").await;
    let work = app.publish_work(&token, "Tram at Dusk", false).await;
    assert_eq!(
        record(&app, None, None, "VIEW", &work).await["data"]["recordEvent"],
        false
    );
    let other = Some("portico_consent=statistics,partner-analytics");
    assert_eq!(
        record(&app, None, other, "VIEW", &work).await["data"]["recordEvent"],
        false
    );
    let body = record(&app, None, Some(ANALYTICS_COOKIE), "CLICK", &work).await;
    assert_eq!(body["data"]["recordEvent"], true, "{body}");
    let encoded = Some("theme=dark; portico_consent=analytics%2Cstatistics");
    assert_eq!(
        record(&app, None, encoded, "VIEW", &work).await["data"]["recordEvent"],
        true
    );
    assert_eq!(
        events(&app).await,
        [
            Event {
                target_kind: "work".into(),
                target_id: key(&work),
                kind: "click".into()
            },
            Event {
                target_kind: "work".into(),
                target_id: key(&work),
                kind: "view".into()
            },
        ]
    );
    // The table has no place for identity: what, which and when, nothing else.
    #[derive(diesel::QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_name: String,
    }
    let mut conn = app.db.conn().await;
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT column_name::text AS column_name FROM information_schema.columns \
         WHERE table_name = 'view_events' ORDER BY ordinal_position",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let names: Vec<_> = columns.into_iter().map(|c| c.column_name).collect();
    assert_eq!(
        names,
        ["id", "target_kind", "target_id", "kind", "created_at"]
    );
}

#[tokio::test]
async fn members_are_counted_by_their_consent_ledger() {
    let app = TestApp::new().await;
    let (author, _) = app.register("author", "+8613833330002").await;
    let (member, _) = app.register("reader", "+8613833330003").await;
    let article = publish_article(&app, &author).await;
    let with_cookie = record(
        &app,
        Some(&member),
        Some(ANALYTICS_COOKIE),
        "VIEW",
        &article,
    )
    .await;
    assert_eq!(
        with_cookie["data"]["recordEvent"], false,
        "the ledger decides for members: {with_cookie}"
    );

    let reader = account_id(&app, "reader").await;
    let mut conn = app.state.pool.get().await.unwrap();
    let policy = portico::privacy::service::current_policy(&app.state.pool)
        .await
        .unwrap()
        .unwrap();
    let plan = portico::privacy::service::ConsentPlan {
        policy_version_id: policy.version.id,
        purposes: vec!["analytics".into()],
    };
    portico::privacy::service::record_consents(
        &mut conn,
        &app.state.keys,
        reader,
        &plan,
        "test",
        &Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        record(&app, Some(&member), None, "VIEW", &article).await["data"]["recordEvent"],
        true
    );

    diesel::sql_query(
        "INSERT INTO consent_records (account_id, purpose, policy_version_id, granted, method) \
         VALUES ($1, 'analytics', $2, false, 'test')",
    )
    .bind::<diesel::sql_types::BigInt, _>(reader)
    .bind::<diesel::sql_types::BigInt, _>(policy.version.id)
    .execute(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        record(
            &app,
            Some(&member),
            Some(ANALYTICS_COOKIE),
            "VIEW",
            &article
        )
        .await["data"]["recordEvent"],
        false
    );
    assert_eq!(
        events(&app).await,
        [Event {
            target_kind: "article".into(),
            target_id: key(&article),
            kind: "view".into()
        }]
    );
}

#[tokio::test]
async fn unknown_targets_are_not_found() {
    let app = TestApp::new().await;
    let (token, _) = app.register("drafter", "+8613833330004").await;
    let draft = app.publish_work(&token, "Unfinished", true).await;
    let user = portico::graphql::ids::encode("User", 1).0;
    let missing = portico::graphql::ids::encode("Work", 999_999).0;
    for target in [draft.as_str(), user.as_str(), missing.as_str()] {
        let body = record(&app, None, Some(ANALYTICS_COOKIE), "VIEW", target).await;
        assert_eq!(code(&body), "NOT_FOUND", "{target}: {body}");
    }
    let body = record(&app, None, Some(ANALYTICS_COOKIE), "VIEW", "not an id").await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert!(events(&app).await.is_empty());
}

#[tokio::test]
async fn the_rollup_moves_events_into_the_counters() {
    let app = TestApp::new().await;
    let (token, _) = app.register("counted", "+8613833330005").await;
    let work = app.publish_work(&token, "Ferry at Noon", false).await;
    let article = publish_article(&app, &token).await;
    for (kind, target) in [
        ("VIEW", &work),
        ("VIEW", &work),
        ("VIEW", &work),
        ("CLICK", &work),
        ("VIEW", &article),
        ("VIEW", &article),
    ] {
        assert_eq!(
            record(&app, None, Some(ANALYTICS_COOKIE), kind, target).await["data"]["recordEvent"],
            true
        );
    }
    assert_eq!(
        portico::content::views::rollup_views(&app.state.pool)
            .await
            .unwrap(),
        6
    );
    assert!(
        events(&app).await.is_empty(),
        "rolled-up events are removed"
    );
    assert_eq!(
        portico::content::views::rollup_views(&app.state.pool)
            .await
            .unwrap(),
        0
    );
    let (_, body) = app
        .graphql(
            "query($w: ID!, $a: ID!) { work(id: $w) { viewCount } article(id: $a) { viewCount } }",
            json!({ "w": work, "a": article }),
        )
        .await;
    assert_eq!(
        body["data"],
        json!({ "work": { "viewCount": 3 }, "article": { "viewCount": 2 } }),
        "{body}"
    );
    #[derive(diesel::QueryableByName)]
    struct Clicks {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        click_count: i64,
    }
    let mut conn = app.db.conn().await;
    let clicks: Clicks = diesel::sql_query("SELECT click_count FROM works WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(key(&work))
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(clicks.click_count, 1);
}

async fn get(app: &TestApp, uri: &str, headers: &[(&str, &str)]) -> Response<Body> {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    app.request(req.body(Body::empty()).unwrap()).await
}

async fn bytes(res: Response<Body>) -> Vec<u8> {
    axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn the_beacon_answers_a_gif_to_good_and_bad_input_alike() {
    let app = TestApp::new().await;
    let (token, _) = app.register("beaconed", "+8613833330006").await;
    let work = app
        .publish_work(&token, "Heron at First Light", false)
        .await;
    let good = format!("/beacon.gif?target={work}&kind=click");
    let missing = format!(
        "/beacon.gif?target={}",
        portico::graphql::ids::encode("Article", 424242).0
    );
    let access_cookie = format!("__Host-portico-access={token}");
    // (uri, headers, whether it counts)
    type Case<'a> = (String, Vec<(&'a str, &'a str)>, bool);
    let cases: Vec<Case> = vec![
        (good.clone(), vec![("cookie", ANALYTICS_COOKIE)], true),
        (
            format!("/beacon.gif?target={work}"),
            vec![("cookie", ANALYTICS_COOKIE)],
            true,
        ),
        (good.clone(), vec![], false),
        (
            good.clone(),
            vec![("cookie", access_cookie.as_str())],
            false,
        ),
        (
            good.clone(),
            vec![
                ("authorization", "Bearer not-a-token"),
                ("cookie", ANALYTICS_COOKIE),
            ],
            false,
        ),
        (
            "/beacon.gif".into(),
            vec![("cookie", ANALYTICS_COOKIE)],
            false,
        ),
        (
            "/beacon.gif?target=%%%&kind=view".into(),
            vec![("cookie", ANALYTICS_COOKIE)],
            false,
        ),
        (
            format!("/beacon.gif?target={work}&kind=launch"),
            vec![("cookie", ANALYTICS_COOKIE)],
            false,
        ),
        (missing, vec![("cookie", ANALYTICS_COOKIE)], false),
    ];
    let mut expected = 0;
    for (uri, headers, counts) in cases {
        let res = get(&app, &uri, &headers).await;
        assert_eq!(res.status(), 200, "{uri}");
        assert_eq!(res.headers()["content-type"], "image/gif", "{uri}");
        assert_eq!(res.headers()["cache-control"], "no-store", "{uri}");
        assert_eq!(bytes(res).await, portico::http::beacon::PIXEL, "{uri}");
        expected += counts as usize;
        assert_eq!(events(&app).await.len(), expected, "{uri} {headers:?}");
    }
    // A member who consented is counted through the access cookie the GraphQL endpoint accepts.
    let id = account_id(&app, "beaconed").await;
    let mut conn = app.db.conn().await;
    diesel::sql_query(
        "INSERT INTO consent_records (account_id, purpose, policy_version_id, granted, method) \
         SELECT $1, 'analytics', max(id), true, 'test' FROM policy_versions",
    )
    .bind::<diesel::sql_types::BigInt, _>(id)
    .execute(&mut conn)
    .await
    .unwrap();
    let res = get(&app, &good, &[("cookie", access_cookie.as_str())]).await;
    assert_eq!(res.headers()["content-type"], "image/gif");
    assert_eq!(events(&app).await.len(), expected + 1);
    let last = events(&app).await.pop().unwrap();
    assert_eq!(
        last,
        Event {
            target_kind: "work".into(),
            target_id: key(&work),
            kind: "click".into()
        }
    );
}

fn graphql_get(query: &str) -> String {
    format!(
        "/graphql?{}",
        serde_urlencoded::to_string([("query", query)]).unwrap()
    )
}

#[tokio::test]
async fn public_get_queries_carry_an_etag_and_answer_304() {
    let app = TestApp::new().await;
    let uri = graphql_get("{ privacyPolicy { version purposes { key } } }");
    let res = get(&app, &uri, &[]).await;
    assert_eq!(res.status(), 200);
    let h = res.headers().clone();
    let etag = h["etag"].to_str().unwrap().to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 10,
        "a strong ETag: {etag}"
    );
    assert_eq!(h["cache-control"], "public, max-age=30");
    assert_eq!(h["vary"], "Accept, Authorization, Cookie");
    let body = bytes(res).await;
    assert!(!body.is_empty());

    let again = get(&app, &uri, &[]).await;
    assert_eq!(
        again.headers()["etag"],
        etag.as_str(),
        "same answer, same ETag"
    );
    let not_modified = get(&app, &uri, &[("if-none-match", etag.as_str())]).await;
    assert_eq!(not_modified.status(), 304);
    assert_eq!(not_modified.headers()["etag"], etag.as_str());
    assert_eq!(
        not_modified.headers()["cache-control"],
        "public, max-age=30"
    );
    assert!(bytes(not_modified).await.is_empty(), "304 has no body");
    let listed = format!("\"nope\", W/{etag}");
    assert_eq!(
        get(&app, &uri, &[("if-none-match", listed.as_str())])
            .await
            .status(),
        304
    );
    let changed = get(&app, &uri, &[("if-none-match", "\"stale\"")]).await;
    assert_eq!(changed.status(), 200);
    assert_eq!(bytes(changed).await, body);
    let other_media = get(
        &app,
        &uri,
        &[("accept", "application/graphql-response+json")],
    )
    .await;
    assert_ne!(
        other_media.headers()["etag"],
        etag.as_str(),
        "another representation, another ETag"
    );
}

#[tokio::test]
async fn personal_and_failed_answers_stay_private() {
    let app = TestApp::new().await;
    let (token, _) = app.register("private_eye", "+8613833330007").await;
    let uri = graphql_get("{ privacyPolicy { version } }");
    let bearer = format!("Bearer {token}");
    let cookie = format!("__Host-portico-access={token}");
    for headers in [
        vec![("authorization", bearer.as_str())],
        vec![("cookie", cookie.as_str())],
    ] {
        let res = get(&app, &uri, &headers).await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["cache-control"],
            "private, no-store",
            "{headers:?}"
        );
        assert!(res.headers().get("etag").is_none());
        let conditional: Vec<_> = headers
            .iter()
            .copied()
            .chain([("if-none-match", "*")])
            .collect();
        assert_eq!(
            get(&app, &uri, &conditional).await.status(),
            200,
            "never 304 for a signed-in request"
        );
    }
    let failing = graphql_get("{ work(id: \"bm9wZQ\") { id } }");
    let res = get(&app, &failing, &[]).await;
    assert_eq!(
        res.headers()["cache-control"],
        "private, no-store",
        "errors are not cached"
    );
    assert!(res.headers().get("etag").is_none());
    let (_, _, posted) = app
        .graphql_with(None, &[], "{ privacyPolicy { version } }", json!({}))
        .await;
    assert_eq!(
        posted["cache-control"], "private, no-store",
        "POST is never cached"
    );
    assert!(posted.get("etag").is_none());
}

#[tokio::test]
async fn the_rollup_worker_stops_on_shutdown_after_a_last_pass() {
    let app = TestApp::new().await;
    let (token, _) = app.register("worker", "+8613833330008").await;
    let work = app.publish_work(&token, "Bridge at Midnight", false).await;
    let body = record(&app, None, Some(ANALYTICS_COOKIE), "VIEW", &work).await;
    assert_eq!(body["data"]["recordEvent"], true);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let worker = portico::content::views::start_rollup(app.state.pool.clone(), shutdown.clone());
    shutdown.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(10), worker)
        .await
        .expect("the worker stops")
        .unwrap();
    assert!(
        events(&app).await.is_empty(),
        "the last pass rolled the event up"
    );
    let (_, read) = app
        .graphql(
            "query($id: ID!) { work(id: $id) { viewCount } }",
            json!({ "id": work }),
        )
        .await;
    assert_eq!(read["data"]["work"]["viewCount"], 1, "{read}");
}
