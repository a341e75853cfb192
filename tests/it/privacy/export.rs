//! Data exports and `deletePersonalField`: the archive holds everything the account created (compared field by
//! field), one pending export per account, signed expiring links that open only for the owner, retries and
//! failure, the background job woken through the broker, and erased fields gone from every view.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request};
use diesel::sql_types::{BigInt, Bytea, Integer, Nullable, Text};
use diesel_async::RunQueryDsl;
use portico::graphql::ids;
use serde_json::{Value, json};

use crate::harness::{TestApp, code};

const EXPORT: &str = "mutation Export { requestDataExport { id status downloadUrl expiresAt } }";
const EXPORTS: &str =
    "{ viewer { dataExports { id status requestedAt readyAt expiresAt downloadUrl } } }";

const PHONE: &str = "+8613800138001";
const EMAIL: &str = "mei.archive@example.com";
const OTHER_PHONE: &str = "+8615900159002";
const OTHER_DIGITS: &str = "15900159002";
const OTHER_EMAIL: &str = "jun.painter@example.net";

async fn ok(app: &TestApp, token: &str, query: &str, vars: Value) -> Value {
    let (_, body) = app.graphql_as(token, query, vars).await;
    assert!(body["errors"].is_null(), "{query}: {body}");
    body["data"].clone()
}

async fn run_job(app: &TestApp) -> usize {
    app.run_exports().await
}

/// GETs `url` through the router, with `token` as the bearer when given.
async fn download(app: &TestApp, url: &str, token: Option<&str>) -> (u16, HeaderMap, Vec<u8>) {
    let mut req = Request::get(url);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = app.request(req.body(Body::empty()).unwrap()).await;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, bytes.to_vec())
}

/// The error code of a refused download's JSON body.
fn refusal_code(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    v["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Requests an export, builds it and returns its `DataExport` as the owner now sees it.
async fn ready_export(app: &TestApp, token: &str) -> Value {
    ok(app, token, EXPORT, json!({})).await;
    assert!(run_job(app).await >= 1);
    let data = ok(app, token, EXPORTS, json!({})).await;
    let export = data["viewer"]["dataExports"][0].clone();
    assert_eq!(export["status"], "READY", "{data}");
    export
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[tokio::test]
async fn an_export_holds_everything_the_account_created() {
    let app = TestApp::new().await;
    let (mei, _) = app.register("mei", PHONE).await;
    let (jun, _) = app.register("jun", OTHER_PHONE).await;
    let auditor = app.staff("auditor", "+8617700177003").await;
    app.bind_email(&mei, EMAIL).await;
    app.bind_email(&jun, OTHER_EMAIL).await;

    let profile = json!({
        "avatarUrl": "https://img.example.com/mei.png", "hometown": "Suzhou", "signature": "ink every day",
        "bio": "Illustrator of river towns.", "education": "China Academy of Art", "contact": "WeChat mei_draws",
        "link": "https://mei.example.com", "equipment": "Wacom Cintiq", "labels": ["ink", "watercolour"]
    });
    ok(
        &app,
        &mei,
        "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }",
        json!({ "input": profile }),
    )
    .await;
    ok(
        &app,
        &mei,
        "mutation { setFieldVisibility(field: CONTACT, visibility: ONLY_ME) { id } }",
        json!({}),
    )
    .await;

    let publish_work =
        "mutation($input: PublishWorkInput!) { publishWork(input: $input) { id title } }";
    let work = |title: &str, draft: bool| {
        json!({ "input": { "title": title, "category": "illustration", "tags": ["ink"], "draft": draft,
                           "images": [{ "url": "https://img.example.com/w.png", "width": 800, "height": 600 }] } })
    };
    let published = ok(&app, &mei, publish_work, work("Canal at dusk", false)).await;
    let draft = ok(&app, &mei, publish_work, work("Unfinished bridge", true)).await;
    let juns_work = ok(&app, &jun, publish_work, work("Tea fields", false)).await;
    let publish_article =
        "mutation($input: PublishArticleInput!) { publishArticle(input: $input) { id title } }";
    let article = ok(
        &app,
        &mei,
        publish_article,
        json!({ "input": { "title": "How I mix ink", "summary": "Notes", "body": "Grind **slowly**." } }),
    )
    .await;
    let article_draft = ok(
        &app,
        &mei,
        publish_article,
        json!({ "input": { "title": "Draft thoughts", "body": "Not yet.", "draft": true } }),
    )
    .await;
    ok(
        &app,
        &mei,
        "mutation($id: ID!) { collectWork(id: $id) { id } }",
        json!({ "id": juns_work["publishWork"]["id"] }),
    )
    .await;
    ok(
        &app,
        &mei,
        "mutation { grantConsent(purposes: [\"analytics\"], policyVersion: \"1\") { purpose } }",
        json!({}),
    )
    .await;
    ok(
        &app,
        &mei,
        "mutation { withdrawConsent(purposes: [\"analytics\"]) { purpose } }",
        json!({}),
    )
    .await;
    let me = ok(&app, &mei, "{ viewer { id } }", json!({})).await;
    let mei_id = me["viewer"]["id"].as_str().unwrap().to_string();
    ok(
        &app,
        &auditor,
        "mutation($id: ID!, $r: String!) { accessPersonalData(accountId: $id, reason: $r) { phone } }",
        json!({ "id": mei_id, "r": "complaint #7781 about a stolen artwork" }),
    )
    .await;
    // A disclosure to a partner, as the partner read path records it (that path has its own tests).
    let account_id = ids::decode_i64(&mei_id, "User", "id").unwrap();
    let mut conn = app.db.conn().await;
    let partner: Id = diesel::sql_query(
        "INSERT INTO partners (name, kind, contact, purposes, data_categories) \
         VALUES ('Ink Supplies Co', 'business', 'partners@ink.example', ARRAY['partner-business'], ARRAY['account', 'profile']) \
         RETURNING id",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    diesel::sql_query(
        "INSERT INTO disclosures (account_id, partner_id, purpose, data_categories) \
         VALUES ($1, $2, 'partner-business', ARRAY['account', 'profile'])",
    )
    .bind::<BigInt, _>(account_id)
    .bind::<BigInt, _>(partner.id)
    .execute(&mut conn)
    .await
    .unwrap();

    // Requested: pending, no link yet.
    let requested = ok(&app, &mei, EXPORT, json!({})).await["requestDataExport"].clone();
    assert_eq!(requested["status"], "PENDING");
    assert_eq!(requested["downloadUrl"], Value::Null);
    assert_eq!(requested["expiresAt"], Value::Null);
    assert_eq!(run_job(&app).await, 1);
    assert_eq!(run_job(&app).await, 0, "nothing is left pending");
    let listed = ok(&app, &mei, EXPORTS, json!({})).await;
    let export = &listed["viewer"]["dataExports"][0];
    assert_eq!(export["id"], requested["id"]);
    assert_eq!(export["status"], "READY");
    assert!(export["readyAt"].is_string() && export["expiresAt"].is_string());
    let url = export["downloadUrl"].as_str().unwrap();
    let export_id = requested["id"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("/privacy/exports/{export_id}?expires=")),
        "{url}"
    );

    let (status, headers, body) = download(&app, url, Some(&mei)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"portico-export-{export_id}.json\"").as_str()
    );
    assert_eq!(headers["cache-control"], "no-store");
    let text = String::from_utf8(body).unwrap();
    assert!(!text.contains(OTHER_DIGITS), "another user's phone: {text}");
    assert!(!text.contains(OTHER_EMAIL), "another user's email: {text}");
    let archive: Value = serde_json::from_str(&text).unwrap();

    assert_eq!(archive["format"], "portico-export/1");
    assert!(archive["generatedAt"].is_string());
    let account = &archive["account"];
    assert_eq!(account["id"], mei_id.as_str());
    assert_eq!(account["username"], "mei");
    assert_eq!(account["phone"], PHONE, "the owner's full phone number");
    assert_eq!(account["email"], EMAIL);
    assert_eq!(account["gender"], "female");
    assert_eq!(account["occupation"], "illustrator");
    assert_eq!(account["city"], "Hangzhou");
    assert_eq!(account["role"], "user");
    assert!(account["createdAt"].is_string());

    let p = &archive["profile"];
    for key in [
        "avatarUrl",
        "hometown",
        "signature",
        "bio",
        "education",
        "contact",
        "link",
        "equipment",
        "labels",
    ] {
        assert_eq!(p[key], profile[key], "profile.{key}");
    }
    assert_eq!(p["privateFields"], json!(["contact"]));

    let mine = ok(
        &app,
        &mei,
        "{ viewer { sessions { id device } notifications(first: 100) { edges { node { id title } } } \
           securityEvents(first: 100) { edges { node { id kind } } } } }",
        json!({}),
    )
    .await;
    let viewer = &mine["viewer"];
    let sessions = archive["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["id"], viewer["sessions"][0]["id"]);
    assert_eq!(sessions[0]["device"], "test phone");
    assert_eq!(sessions[0]["method"], "register");

    let sorted_ids = |list: &Value, pointer: &str| {
        let mut v: Vec<String> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.pointer(pointer).unwrap().as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        sorted_ids(&archive["notifications"], "/id"),
        sorted_ids(&viewer["notifications"]["edges"], "/node/id")
    );
    assert!(
        archive["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["title"] == "A staff member viewed your personal data")
    );
    assert_eq!(
        sorted_ids(&archive["securityEvents"], "/id"),
        sorted_ids(&viewer["securityEvents"]["edges"], "/node/id")
    );
    let kinds: Vec<&str> = archive["securityEvents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in ["registered", "email_bound", "personal_data_accessed"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }

    let current: Vec<(String, bool)> = archive["consents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["purpose"].as_str().unwrap().to_string(),
                c["granted"].as_bool().unwrap(),
            )
        })
        .collect();
    for expected in [("account", true), ("security", true), ("analytics", false)] {
        assert!(
            current.contains(&(expected.0.to_string(), expected.1)),
            "{expected:?} in {current:?}"
        );
    }
    let history: Vec<(String, bool)> = archive["consentHistory"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["purpose"] == "analytics")
        .map(|c| {
            (
                c["method"].as_str().unwrap().to_string(),
                c["granted"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(history.len(), 2, "{history:?}");
    assert!(history[0].1 && !history[1].1, "granted, then withdrawn");
    assert!(
        archive["consentHistory"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["policyVersion"] == "1")
    );

    let works = archive["works"].as_array().unwrap();
    assert_eq!(works.len(), 2);
    assert_eq!(works[0]["id"], published["publishWork"]["id"]);
    assert_eq!(works[0]["title"], "Canal at dusk");
    assert_eq!(works[0]["draft"], false);
    assert_eq!(works[0]["category"], "illustration");
    assert_eq!(works[0]["tags"], json!(["ink"]));
    assert_eq!(works[1]["id"], draft["publishWork"]["id"]);
    assert_eq!(works[1]["draft"], true, "drafts are exported too");
    let articles = archive["articles"].as_array().unwrap();
    assert_eq!(articles.len(), 2);
    assert_eq!(articles[0]["id"], article["publishArticle"]["id"]);
    assert_eq!(articles[0]["title"], "How I mix ink");
    assert_eq!(articles[0]["summary"], "Notes");
    assert_eq!(articles[0]["bodyMarkdown"], "Grind **slowly**.");
    assert_eq!(articles[1]["id"], article_draft["publishArticle"]["id"]);
    assert_eq!(articles[1]["draft"], true);
    let collections = archive["collections"].as_array().unwrap();
    assert_eq!(collections.len(), 1);
    assert_eq!(collections[0]["work"], juns_work["publishWork"]["id"]);
    assert_eq!(collections[0]["title"], "Tea fields");

    let disclosures = archive["disclosures"].as_array().unwrap();
    assert_eq!(disclosures.len(), 1);
    assert_eq!(disclosures[0]["partner"], "Ink Supplies Co");
    assert_eq!(disclosures[0]["purpose"], "partner-business");
    assert_eq!(
        disclosures[0]["dataCategories"],
        json!(["account", "profile"])
    );
    let accesses = archive["staffAccesses"].as_array().unwrap();
    assert_eq!(accesses.len(), 1);
    assert_eq!(accesses[0]["staff"], "auditor");
    assert_eq!(
        accesses[0]["reason"],
        "complaint #7781 about a stolen artwork"
    );
    assert!(
        accesses[0]["fields"]
            .as_array()
            .unwrap()
            .contains(&json!("email"))
    );
    assert_eq!(archive["thirdPartyBindings"], json!([]));

    // The archive is sealed at rest: the table holds neither the phone nor the email.
    #[derive(diesel::QueryableByName)]
    struct Sealed {
        #[diesel(sql_type = Nullable<Bytea>)]
        archive_ciphertext: Option<Vec<u8>>,
    }
    let sealed: Sealed = diesel::sql_query("SELECT archive_ciphertext FROM data_exports")
        .get_result(&mut conn)
        .await
        .unwrap();
    let sealed = sealed.archive_ciphertext.unwrap();
    assert!(!sealed.windows(EMAIL.len()).any(|w| w == EMAIL.as_bytes()));
    assert!(!sealed.windows(11).any(|w| w == b"13800138001"));
}

#[tokio::test]
async fn asking_again_while_pending_answers_with_the_pending_export() {
    let app = TestApp::new().await;
    let (token, _) = app.register("lin", "+8613800138011").await;
    let first = ok(&app, &token, EXPORT, json!({})).await["requestDataExport"].clone();
    let second = ok(&app, &token, EXPORT, json!({})).await["requestDataExport"].clone();
    assert_eq!(first["id"], second["id"]);
    assert_eq!(second["status"], "PENDING");
    let listed = ok(&app, &token, EXPORTS, json!({})).await;
    assert_eq!(listed["viewer"]["dataExports"].as_array().unwrap().len(), 1);

    assert_eq!(run_job(&app).await, 1);
    // Once it is ready, a new request makes a new export, listed first.
    let third = ok(&app, &token, EXPORT, json!({})).await["requestDataExport"].clone();
    assert_ne!(third["id"], first["id"]);
    let listed = ok(&app, &token, EXPORTS, json!({})).await;
    let list = listed["viewer"]["dataExports"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], third["id"]);
    assert_eq!(list[0]["status"], "PENDING");
    assert_eq!(list[1]["status"], "READY");

    // Visitors cannot ask.
    let (_, visitor) = app.graphql(EXPORT, json!({})).await;
    assert_eq!(code(&visitor), "UNAUTHENTICATED");
}

#[tokio::test]
async fn links_open_only_when_signed_unexpired_and_presented_by_the_owner() {
    let app = TestApp::new().await;
    let (owner, _) = app.register("qing", "+8613800138021").await;
    let (other, _) = app.register("hao", "+8613800138022").await;
    let export = ready_export(&app, &owner).await;
    let url = export["downloadUrl"].as_str().unwrap().to_string();

    let (status, _, body) = download(&app, &url, Some(&owner)).await;
    assert_eq!(status, 200);
    let archive: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(archive["account"]["username"], "qing");

    // `node(id:)` resolves an export for its owner only.
    let node = "query($id: ID!) { node(id: $id) { id ... on DataExport { status downloadUrl } } }";
    let vars = json!({ "id": export["id"] });
    let mine = ok(&app, &owner, node, vars.clone()).await;
    assert_eq!(mine["node"]["status"], "READY");
    assert_eq!(mine["node"]["downloadUrl"], export["downloadUrl"]);
    let theirs = ok(&app, &other, node, vars.clone()).await;
    assert_eq!(theirs["node"], Value::Null);
    assert_eq!(app.graphql(node, vars).await.1["data"]["node"], Value::Null);

    // A changed signature, a longer expiry, no signature at all: 403.
    let sig_at = url.find("signature=").unwrap() + "signature=".len();
    let mut tampered = url.clone().into_bytes();
    tampered[sig_at] = if tampered[sig_at] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).unwrap();
    let expires: i64 = url
        .split("expires=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let extended = url.replace(
        &format!("expires={expires}"),
        &format!("expires={}", expires + 86_400),
    );
    let unsigned = url.split('&').next().unwrap().to_string();
    for bad in [&tampered, &extended, &unsigned] {
        let (status, headers, body) = download(&app, bad, Some(&owner)).await;
        assert_eq!(status, 403, "{bad}");
        assert_eq!(refusal_code(&body), "FORBIDDEN");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
    }

    // The right link, but someone else's token: 403 and nothing of the archive; no credentials: 401.
    let (status, _, body) = download(&app, &url, Some(&other)).await;
    assert_eq!(status, 403);
    assert_eq!(refusal_code(&body), "FORBIDDEN");
    assert!(!String::from_utf8_lossy(&body).contains("13800138021"));
    let (status, _, body) = download(&app, &url, None).await;
    assert_eq!(status, 401);
    assert_eq!(refusal_code(&body), "UNAUTHENTICATED");
    let (status, _, _) = download(&app, &url, Some("not-a-token")).await;
    assert_eq!(status, 401);

    // An export that does not exist (correctly signed) and an id that is not an export's: 404.
    let far = chrono::Utc::now() + chrono::Duration::hours(1);
    let ghost = portico::rights::export::link::url(&app.state.keys, 987_654, far);
    let (status, _, body) = download(&app, &ghost, Some(&owner)).await;
    assert_eq!(status, 404);
    assert_eq!(refusal_code(&body), "NOT_FOUND");
    let work_id = ids::encode("Work", 1).0;
    let (status, _, _) = download(
        &app,
        &format!("/privacy/exports/{work_id}?expires={expires}&signature=00"),
        Some(&owner),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn expired_links_are_gone_and_their_archives_dropped() {
    let app = TestApp::new().await;
    let (token, _) = app.register("yun", "+8613800138031").await;
    let export = ready_export(&app, &token).await;
    let url = export["downloadUrl"].as_str().unwrap().to_string();
    // The link lives 24 hours by default; let them pass.
    let (status, _, _) = download(&app, &url, Some(&token)).await;
    assert_eq!(status, 200, "the link works before it expires");
    app.state
        .accounts
        .clock
        .advance(app.state.config.export_link_ttl + Duration::from_secs(1));

    let (status, _, body) = download(&app, &url, Some(&token)).await;
    assert_eq!(status, 410, "{}", String::from_utf8_lossy(&body));
    assert_eq!(refusal_code(&body), "NOT_FOUND");
    let listed = ok(&app, &token, EXPORTS, json!({})).await;
    let export = &listed["viewer"]["dataExports"][0];
    assert_eq!(export["status"], "EXPIRED");
    assert_eq!(export["downloadUrl"], Value::Null);

    // The sweep drops the sealed archive of an expired export.
    assert_eq!(
        portico::rights::export::purge_expired_exports(
            &app.state.pool,
            app.state.accounts.clock.now()
        )
        .await
        .unwrap(),
        1
    );
    #[derive(diesel::QueryableByName)]
    struct Left {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.db.conn().await;
    let left: Left = diesel::sql_query(
        "SELECT count(*) AS n FROM data_exports WHERE archive_ciphertext IS NOT NULL",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(left.n, 0);
}

#[tokio::test]
async fn a_failing_export_is_retried_then_marked_failed() {
    let app = TestApp::new().await;
    let (token, _) = app.register("kai", "+8613800138041").await;
    ok(
        &app,
        &token,
        "mutation { updateProfile(input: { contact: \"studio 4\" }) { id } }",
        json!({}),
    )
    .await;
    // A sealed value that no key opens makes every attempt fail.
    app.sql("UPDATE profiles SET contact_ciphertext = '\\x0101deadbeef'")
        .await;
    ok(&app, &token, EXPORT, json!({})).await;

    #[derive(diesel::QueryableByName)]
    struct State {
        #[diesel(sql_type = Text)]
        status: String,
        #[diesel(sql_type = Integer)]
        attempts: i32,
        #[diesel(sql_type = Nullable<Text>)]
        last_error: Option<String>,
    }
    let state = || async {
        let mut conn = app.db.conn().await;
        diesel::sql_query("SELECT status, attempts, last_error FROM data_exports")
            .get_result::<State>(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(run_job(&app).await, 0);
    let s = state().await;
    assert_eq!((s.status.as_str(), s.attempts), ("pending", 1));
    assert!(s.last_error.unwrap().contains("opening a personal field"));
    let listed = ok(&app, &token, EXPORTS, json!({})).await;
    assert_eq!(listed["viewer"]["dataExports"][0]["status"], "PENDING");

    for _ in 0..4 {
        assert_eq!(run_job(&app).await, 0);
    }
    let s = state().await;
    assert_eq!((s.status.as_str(), s.attempts), ("failed", 5));
    assert_eq!(run_job(&app).await, 0, "a failed export is not retried");
    let listed = ok(&app, &token, EXPORTS, json!({})).await;
    assert_eq!(listed["viewer"]["dataExports"][0]["status"], "FAILED");
    assert_eq!(
        listed["viewer"]["dataExports"][0]["downloadUrl"],
        Value::Null
    );

    // A failed export does not block a new request.
    let again = ok(&app, &token, EXPORT, json!({})).await;
    assert_eq!(again["requestDataExport"]["status"], "PENDING");
}

#[tokio::test]
async fn the_job_builds_an_export_as_soon_as_it_is_requested() {
    // A long sweep interval: only the request's notification can wake the job in time.
    let app = TestApp::with_config(|c| c.privacy_job_interval = Duration::from_secs(600)).await;
    let (token, _) = app.register("tao", "+8613800138051").await;
    for _ in 0..100 {
        if app.state.broker.is_connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(app.state.broker.is_connected());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let job = portico::rights::export::start_job(
        app.state.pool.clone(),
        app.state.keys.clone(),
        app.state.config.clone(),
        app.state.broker.clone(),
        app.state.accounts.clock.clone(),
        shutdown.clone(),
    );
    // Let the first sweep run and the job start waiting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    ok(&app, &token, EXPORT, json!({})).await;
    let mut status = String::new();
    for _ in 0..100 {
        let listed = ok(&app, &token, EXPORTS, json!({})).await;
        status = listed["viewer"]["dataExports"][0]["status"]
            .as_str()
            .unwrap()
            .to_string();
        if status == "READY" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "READY");
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), job)
        .await
        .expect("the job stops on shutdown")
        .unwrap();
}

#[tokio::test]
async fn deleting_a_personal_field_erases_it_everywhere() {
    let app = TestApp::new().await;
    let (token, _) = app.register("ning", "+8613800138061").await;
    ok(
        &app,
        &token,
        "mutation { grantConsent(purposes: [\"profile\"], policyVersion: \"1\") { purpose } }",
        json!({}),
    )
    .await;
    ok(
        &app,
        &token,
        "mutation { updateProfile(input: { hometown: \"Ningbo\", bio: \"Potter\", contact: \"kiln 3\", labels: [\"clay\"] }) { id } }",
        json!({}),
    )
    .await;
    ok(
        &app,
        &token,
        "mutation { setFieldVisibility(field: HOMETOWN, visibility: ONLY_ME) { id } }",
        json!({}),
    )
    .await;
    let public = "{ user(username: \"ning\") { hometown bio contact labels } }";
    let before = app.graphql(public, json!({})).await.1;
    assert_eq!(before["data"]["user"]["bio"], "Potter", "{before}");
    assert_eq!(before["data"]["user"]["contact"], "kiln 3");

    let delete =
        "mutation DeleteField($field: ProfileField!) { deletePersonalField(field: $field) { id } }";
    for field in ["HOMETOWN", "CONTACT", "LABELS"] {
        let data = ok(&app, &token, delete, json!({ "field": field })).await;
        assert!(data["deletePersonalField"]["id"].is_string());
    }
    let me = ok(
        &app,
        &token,
        "{ viewer { hometown bio contact labels privateFields } }",
        json!({}),
    )
    .await;
    let v = &me["viewer"];
    assert_eq!(v["hometown"], Value::Null);
    assert_eq!(v["contact"], Value::Null);
    assert_eq!(v["labels"], json!([]));
    assert_eq!(
        v["privateFields"],
        json!([]),
        "the visibility setting goes too"
    );
    assert_eq!(v["bio"], "Potter", "other fields stay");
    let after = app.graphql(public, json!({})).await.1;
    let u = &after["data"]["user"];
    assert_eq!(u["hometown"], Value::Null);
    assert_eq!(u["contact"], Value::Null);
    assert_eq!(u["labels"], json!([]));
    assert_eq!(u["bio"], "Potter");

    let export = ready_export(&app, &token).await;
    let (status, _, body) =
        download(&app, export["downloadUrl"].as_str().unwrap(), Some(&token)).await;
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    assert!(
        !text.contains("Ningbo") && !text.contains("kiln 3") && !text.contains("clay"),
        "{text}"
    );
    let archive: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(archive["profile"]["hometown"], Value::Null);
    assert_eq!(archive["profile"]["contact"], Value::Null);
    assert_eq!(archive["profile"]["labels"], json!([]));
    assert_eq!(archive["profile"]["bio"], "Potter");

    // Deleting a field that holds nothing is harmless; visitors cannot delete.
    ok(&app, &token, delete, json!({ "field": "HOMETOWN" })).await;
    let (_, visitor) = app.graphql(delete, json!({ "field": "BIO" })).await;
    assert_eq!(code(&visitor), "UNAUTHENTICATED");
}
