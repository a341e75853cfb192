//! Account cancellation: a code-confirmed request, the cooling-off period and its revocation, and the erasure
//! job (everything personal gone in one transaction, works removed or anonymised as chosen, every token dead,
//! consent records pseudonymised, and nothing changed at all when a step fails midway).

use std::time::Duration;

use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel_async::RunQueryDsl;
use serde_json::{Value, json};

use crate::harness::{STRONG_PASSWORD, TestApp, code};

const CANCEL: &str = "mutation($code: String!, $content: CancellationContent) { \
    requestAccountCancellation(code: $code, content: $content) { id requestedAt scheduledFor content revokedAt } }";
const KEEP: &str = "mutation KeepAccount { revokeAccountCancellation }";
const ME: &str = "{ viewer { id username cancellation { id scheduledFor content } } }";
const PUBLISH_ARTICLE: &str =
    "mutation($input: PublishArticleInput!) { publishArticle(input: $input) { id } }";
const SEARCH: &str = "query($q: String!) { search(query: $q, first: 20) { edges { node { __typename \
    ... on Work { id title } ... on Article { id title } ... on User { id username } } } } }";

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct AccountRow {
    #[diesel(sql_type = Text)]
    username: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Bool)]
    has_phone: bool,
    #[diesel(sql_type = Bool)]
    has_email: bool,
    #[diesel(sql_type = Bool)]
    has_password: bool,
    #[diesel(sql_type = Text)]
    gender: String,
    #[diesel(sql_type = Text)]
    occupation: String,
    #[diesel(sql_type = Text)]
    city: String,
    #[diesel(sql_type = Bool)]
    searchable: bool,
}

#[derive(diesel::QueryableByName)]
struct RequestRow {
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
    #[diesel(sql_type = BigInt)]
    attempts: i64,
    #[diesel(sql_type = Bool)]
    erased: bool,
}

/// A count (`SELECT count(*) AS n ...`) or any bigint named `n`.
async fn n(app: &TestApp, sql: &str) -> i64 {
    let mut conn = app.db.conn().await;
    diesel::sql_query(sql)
        .get_result::<N>(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

async fn account(app: &TestApp, id: i64) -> AccountRow {
    let mut conn = app.db.conn().await;
    diesel::sql_query(
        "SELECT username, status, phone_ciphertext IS NOT NULL OR phone_index IS NOT NULL AS has_phone, \
                email_ciphertext IS NOT NULL OR email_index IS NOT NULL AS has_email, \
                password_hash IS NOT NULL AS has_password, gender, occupation, city, \
                search <> ''::tsvector AS searchable \
         FROM accounts WHERE id = $1",
    )
    .bind::<BigInt, _>(id)
    .get_result(&mut conn)
    .await
    .unwrap()
}

async fn request_row(app: &TestApp, account_id: i64) -> RequestRow {
    let mut conn = app.db.conn().await;
    diesel::sql_query(
        "SELECT last_error, attempts::bigint AS attempts, erased_at IS NOT NULL AS erased \
         FROM account_cancellations WHERE account_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind::<BigInt, _>(account_id)
    .get_result(&mut conn)
    .await
    .unwrap()
}

async fn id_of(app: &TestApp, username: &str) -> i64 {
    n(
        app,
        &format!("SELECT id AS n FROM accounts WHERE username = '{username}'"),
    )
    .await
}

async fn publish_article(app: &TestApp, token: &str, title: &str, draft: bool) -> String {
    let input = json!({ "title": title, "summary": "Notes from a walk", "body": "I walked around the lake at dawn.",
        "tags": ["walks"], "draft": draft });
    let (_, body) = app
        .graphql_as(token, PUBLISH_ARTICLE, json!({ "input": input }))
        .await;
    body["data"]["publishArticle"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string()
}

/// Requests a cancellation code for `phone` and asks to cancel with it.
async fn cancel(app: &TestApp, token: &str, phone: &str, content: Option<&str>) -> Value {
    let code = app.code_for("SMS", phone, "CANCEL_ACCOUNT").await;
    let (_, body) = app
        .graphql_as(token, CANCEL, json!({ "code": code, "content": content }))
        .await;
    assert!(
        body["data"]["requestAccountCancellation"].is_object(),
        "{body}"
    );
    body["data"]["requestAccountCancellation"].clone()
}

/// Lets the cooling-off period (15 days by default) pass, on the clock every deadline reads.
fn cool_off(app: &TestApp) {
    app.state
        .accounts
        .clock
        .advance(app.state.config.cancellation_cooling_off + Duration::from_secs(1));
}

#[tokio::test]
async fn a_cancellation_needs_the_code_stays_single_and_can_be_revoked() {
    let app =
        TestApp::with_config(|c| c.cancellation_cooling_off = Duration::from_secs(3600)).await;
    let phone = "+8613800138101";
    let (token, _) = app.register("mei", phone).await;
    let (other, _) = app.register("ruo", "+8613800138102").await;
    let mei = id_of(&app, "mei").await;

    let (_, body) = app
        .graphql(
            "mutation { requestAccountCancellation(code: \"123456\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");

    let right = app.code_for("SMS", phone, "CANCEL_ACCOUNT").await;
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let (_, body) = app
        .graphql_as(&token, CANCEL, json!({ "code": wrong }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(crate::harness::field(&body), "code");
    assert_eq!(
        n(&app, "SELECT count(*) AS n FROM account_cancellations").await,
        0
    );
    assert_eq!(account(&app, mei).await.status, "active");

    // The client operation, exactly as the apps send it.
    let before = chrono::Utc::now();
    let (_, body) = app
        .graphql_as(
            &token,
            "mutation CancelAccount($code: String!) { requestAccountCancellation(code: $code) { scheduledFor } }",
            json!({ "code": right }),
        )
        .await;
    let scheduled: chrono::DateTime<chrono::Utc> =
        body["data"]["requestAccountCancellation"]["scheduledFor"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .parse()
            .unwrap();
    let expected = before + chrono::Duration::seconds(3600);
    assert!(
        (scheduled - expected).num_seconds().abs() < 30,
        "{scheduled} vs {expected}"
    );
    assert_eq!(account(&app, mei).await.status, "cancelling");

    let (_, body) = app.graphql_as(&token, ME, json!({})).await;
    let pending = body["data"]["viewer"]["cancellation"].clone();
    assert_eq!(pending["content"], "DELETE", "{body}");
    let pending_id = pending["id"].as_str().unwrap().to_string();

    // The owner heard of it, as a notice and as a security event.
    let (_, body) = app
        .graphql_as(
            &token,
            "{ viewer { notifications(first: 10) { edges { node { kind title } } } \
               securityEvents(first: 10) { edges { node { kind } } } } }",
            json!({}),
        )
        .await;
    let notices = body["data"]["viewer"]["notifications"]["edges"]
        .as_array()
        .unwrap();
    assert!(
        notices
            .iter()
            .any(|e| e["node"]["kind"] == "ACCOUNT_SECURITY"
                && e["node"]["title"] == "Your account is scheduled for cancellation"),
        "{body}"
    );
    let events = body["data"]["viewer"]["securityEvents"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(
        events[0]["node"]["kind"], "cancellation_requested",
        "{body}"
    );

    // Asking again (even with the spent code) answers with the pending request; no second row.
    let (_, body) = app
        .graphql_as(
            &token,
            CANCEL,
            json!({ "code": right, "content": "ANONYMISE" }),
        )
        .await;
    let again = &body["data"]["requestAccountCancellation"];
    assert_eq!(again["id"], pending_id.as_str(), "{body}");
    assert_eq!(again["content"], "DELETE");
    assert_eq!(
        n(&app, "SELECT count(*) AS n FROM account_cancellations").await,
        1
    );

    // Its global id resolves for its owner only.
    let node =
        "query($id: ID!) { node(id: $id) { id ... on AccountCancellation { scheduledFor } } }";
    let (_, body) = app
        .graphql_as(&token, node, json!({ "id": pending_id }))
        .await;
    assert_eq!(body["data"]["node"]["id"], pending_id.as_str(), "{body}");
    let (_, body) = app
        .graphql_as(&other, node, json!({ "id": pending_id }))
        .await;
    assert!(body["data"]["node"].is_null(), "{body}");

    // Revoking keeps the account; a second revocation has nothing to end.
    let (_, body) = app.graphql_as(&token, KEEP, json!({})).await;
    assert_eq!(body["data"]["revokeAccountCancellation"], true, "{body}");
    assert_eq!(account(&app, mei).await.status, "active");
    let (_, body) = app.graphql_as(&token, ME, json!({})).await;
    assert!(body["data"]["viewer"]["cancellation"].is_null(), "{body}");
    let (_, body) = app
        .graphql_as(
            &token,
            "{ viewer { notifications(first: 1) { edges { node { title } } } securityEvents(first: 1) { edges { node { kind } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["viewer"]["notifications"]["edges"][0]["node"]["title"],
        "Your account will not be cancelled"
    );
    assert_eq!(
        body["data"]["viewer"]["securityEvents"]["edges"][0]["node"]["kind"],
        "cancellation_revoked"
    );
    let (_, body) = app.graphql_as(&token, KEEP, json!({})).await;
    assert_eq!(body["data"]["revokeAccountCancellation"], false, "{body}");

    // A new request after a revoked one is a new row, with the content chosen this time.
    app.sql("UPDATE verification_codes SET created_at = created_at - interval '2 minutes'")
        .await;
    let later = cancel(&app, &token, phone, Some("ANONYMISE")).await;
    assert_ne!(later["id"], pending_id.as_str());
    assert_eq!(later["content"], "ANONYMISE");
    assert_eq!(
        n(&app, "SELECT count(*) AS n FROM account_cancellations").await,
        2
    );
    // Not yet due: the job leaves it alone.
    assert_eq!(app.erase_due().await, 0);
    assert_eq!(account(&app, mei).await.status, "cancelling");
}

#[tokio::test]
async fn an_account_without_a_phone_confirms_by_email() {
    let app = TestApp::new().await;
    let phone = "+8613800138111";
    let (token, _) = app.register("fen", phone).await;
    let fen = id_of(&app, "fen").await;
    let email_code = app.code_for("EMAIL", "fen@example.com", "BIND_EMAIL").await;
    let (_, body) = app
        .graphql_as(
            &token,
            "mutation($c: String!) { bindEmail(email: \"fen@example.com\", code: $c) { email } }",
            json!({ "c": email_code }),
        )
        .await;
    assert_eq!(
        body["data"]["bindEmail"]["email"], "fen@example.com",
        "{body}"
    );

    // With a phone, cancellation codes travel by SMS only: none is emailed.
    let request = "mutation($input: RequestVerificationCodeInput!) { requestVerificationCode(input: $input) { retryAfterSeconds } }";
    let (_, body) = app
        .graphql(
            request,
            json!({ "input": { "channel": "EMAIL", "destination": "fen@example.com", "purpose": "CANCEL_ACCOUNT" } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let last = app.last_message_to("fen@example.com").await.unwrap();
    assert_ne!(last.data["purpose"], "cancel_account", "{last:?}");

    // An account without a phone (as made through WeChat, Weibo or QQ) gets the code by email.
    app.sql(&format!(
        "UPDATE accounts SET phone_ciphertext = NULL, phone_index = NULL WHERE id = {fen}"
    ))
    .await;
    app.sql("UPDATE verification_codes SET created_at = created_at - interval '2 minutes'")
        .await;
    let code_by_email = app
        .code_for("EMAIL", "fen@example.com", "CANCEL_ACCOUNT")
        .await;
    let (_, body) = app
        .graphql_as(&token, CANCEL, json!({ "code": code_by_email }))
        .await;
    assert!(
        body["data"]["requestAccountCancellation"]["scheduledFor"].is_string(),
        "{body}"
    );
    assert_eq!(account(&app, fen).await.status, "cancelling");
}

#[tokio::test]
async fn erasure_after_the_cooling_off_period_leaves_nothing_personal() {
    let app = TestApp::new().await;
    let phone = "+8613800138121";
    let (token, refresh) = app.register("qiao", phone).await;
    let (bob, _) = app.register("bob", "+8613800138122").await;
    let qiao = id_of(&app, "qiao").await;
    let bob_id = id_of(&app, "bob").await;

    // Everything a member can hold: email, profile, a second session, a binding, works, articles,
    // collections, consents, and records about them.
    let email_code = app
        .code_for("EMAIL", "qiao@example.com", "BIND_EMAIL")
        .await;
    let (_, body) = app
        .graphql_as(
            &token,
            "mutation($c: String!) { bindEmail(email: \"qiao@example.com\", code: $c) { email } }",
            json!({ "c": email_code }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let (_, body) = app
        .graphql_as(
            &token,
            "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }",
            json!({ "input": { "bio": "Painter by the lake", "contact": "wechat qiao-lake", "hometown": "Suzhou" } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let (_, body) = app
        .graphql(
            "mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken } }",
            json!({ "input": { "identifier": "qiao", "password": STRONG_PASSWORD, "device": "tablet" } }),
        )
        .await;
    let second = body["data"]["login"]["accessToken"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_string();
    let second_refresh = body["data"]["login"]["refreshToken"]
        .as_str()
        .unwrap()
        .to_string();
    app.sql(&format!(
        "INSERT INTO third_party_bindings (account_id, provider, subject, nickname) \
             VALUES ({qiao}, 'wechat', 'wx-qiao', 'Qiao by the lake')"
    ))
    .await;
    app.sql(&format!(
        "INSERT INTO staff_access_log (staff_id, account_id, reason, fields) \
             VALUES ({bob_id}, {qiao}, 'customer service ticket 4411', ARRAY['phone'])"
    ))
    .await;
    app.sql(&format!(
            "WITH p AS (INSERT INTO partners (name, kind, contact, purposes, data_categories) \
               VALUES ('Lakeside Prints', 'business', 'ops@prints.example', ARRAY['partner-business'], ARRAY['city']) \
               RETURNING id) \
             INSERT INTO disclosures (account_id, partner_id, purpose, data_categories) \
             SELECT {qiao}, p.id, 'partner-business', ARRAY['city'] FROM p"
        ),
    )
    .await;
    let work = app.publish_work(&token, "Misty pagoda", false).await;
    app.publish_work(&token, "Unfinished pagoda", true).await;
    let article = publish_article(&app, &token, "Dawn walks", false).await;
    let bob_work = app.publish_work(&bob, "Bridge at dusk", false).await;
    let (_, body) = app
        .graphql_as(
            &token,
            "mutation($id: ID!) { collectWork(id: $id) { collectionCount } }",
            json!({ "id": bob_work }),
        )
        .await;
    assert_eq!(body["data"]["collectWork"]["collectionCount"], 1, "{body}");
    let consents = n(
        &app,
        &format!("SELECT count(*) AS n FROM consent_records WHERE account_id = {qiao}"),
    )
    .await;
    assert!(consents >= 2);
    let sessions = n(
        &app,
        &format!("SELECT count(*) AS n FROM sessions WHERE account_id = {qiao}"),
    )
    .await;
    assert_eq!(sessions, 2);
    let its_refresh_tokens = format!(
        "SELECT count(*) AS n FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id \
         WHERE s.account_id = {qiao}"
    );
    assert_eq!(n(&app, &its_refresh_tokens).await, 2);
    let all_refresh_tokens = n(&app, "SELECT count(*) AS n FROM refresh_tokens").await;

    let pending = cancel(&app, &token, phone, None).await;
    assert_eq!(pending["content"], "DELETE");
    cool_off(&app);
    assert_eq!(app.erase_due().await, 1);
    assert_eq!(app.erase_due().await, 0);

    // The tombstone: no phone, email, password, profile data or search document; a placeholder name.
    let row = account(&app, qiao).await;
    assert_eq!(row.status, "erased");
    assert!(row.username.starts_with("erased-"), "{}", row.username);
    assert!(!row.has_phone && !row.has_email && !row.has_password);
    assert_eq!(
        (
            row.gender.as_str(),
            row.occupation.as_str(),
            row.city.as_str()
        ),
        ("undisclosed", "", "")
    );
    assert!(!row.searchable);
    for table in [
        "profiles",
        "sessions",
        "security_events",
        "third_party_bindings",
        "collections",
        "notifications",
        "oauth_states",
        "data_exports",
        "disclosures",
        "staff_access_log",
        "consent_records",
    ] {
        assert_eq!(
            n(
                &app,
                &format!("SELECT count(*) AS n FROM {table} WHERE account_id = {qiao}")
            )
            .await,
            0,
            "{table}"
        );
    }
    assert_eq!(
        n(&app, "SELECT count(*) AS n FROM refresh_tokens").await,
        all_refresh_tokens - 2,
        "its refresh tokens are gone, bob's stay"
    );
    let phone_index = app.state.keys.blind_index("phone", phone);
    let email_index = app.state.keys.blind_index("email", "qiao@example.com");
    let mut conn = app.db.conn().await;
    let codes: N = diesel::sql_query(
        "SELECT count(*) AS n FROM verification_codes WHERE destination_index IN ($1, $2)",
    )
    .bind::<diesel::sql_types::Bytea, _>(&phone_index)
    .bind::<diesel::sql_types::Bytea, _>(&email_index)
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(codes.n, 0, "codes sent to the erased phone and email");
    let pseudonym = portico::rights::erasure::subject_pseudonym(&app.state.keys, qiao);
    let kept: N = diesel::sql_query(
        "SELECT count(*) AS n FROM consent_records WHERE account_id IS NULL AND subject_pseudonym = $1 \
           AND client_addr_hash IS NULL AND user_agent_hash IS NULL",
    )
    .bind::<diesel::sql_types::Bytea, _>(&pseudonym)
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(kept.n, consents, "consent records kept only pseudonymised");

    // Works and articles (drafts too) are removed and hold no text; bob's count no longer holds qiao's.
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM works WHERE author_id = {qiao} AND (deleted_at IS NULL \
                 OR title <> '(deleted)' OR description IS NOT NULL OR images <> '[]'::jsonb OR tags <> '{{}}')"
            )
        )
        .await,
        0
    );
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM articles WHERE author_id = {qiao} AND (deleted_at IS NULL \
                 OR body_markdown <> '' OR body_html <> '' OR summary IS NOT NULL)"
            )
        )
        .await,
        0
    );
    assert_eq!(
        n(
            &app,
            &format!("SELECT count(*) AS n FROM works WHERE author_id = {qiao}")
        )
        .await,
        2
    );
    assert_eq!(
        n(
            &app,
            "SELECT collection_count AS n FROM works WHERE title = 'Bridge at dusk'"
        )
        .await,
        0
    );
    let (_, body) = app
        .graphql(
            "query($w: ID!, $a: ID!) { work(id: $w) { id } article(id: $a) { id } }",
            json!({ "w": work, "a": article }),
        )
        .await;
    assert!(
        body["data"].is_null()
            || (body["data"]["work"].is_null() && body["data"]["article"].is_null()),
        "{body}"
    );
    for q in ["pagoda", "qiao"] {
        let (_, body) = app.graphql(SEARCH, json!({ "q": q })).await;
        assert_eq!(body["data"]["search"]["edges"], json!([]), "{q}: {body}");
    }

    // Every token it was issued is dead, and no identifier signs in.
    for t in [&token, &second] {
        let (status, body) = app.graphql_as(t, ME, json!({})).await;
        assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{body}");
    }
    for r in [&refresh, &second_refresh] {
        let (_, body) = app
            .graphql(
                "mutation($r: String) { refreshSession(refreshToken: $r) { accessToken } }",
                json!({ "r": r }),
            )
            .await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    }
    for identifier in [phone, "qiao", "qiao@example.com"] {
        let (_, body) = app
            .graphql(
                "mutation($input: LoginInput!) { login(input: $input) { accessToken } }",
                json!({ "input": { "identifier": identifier, "password": STRONG_PASSWORD } }),
            )
            .await;
        assert_eq!(code(&body), "UNAUTHENTICATED", "{identifier}: {body}");
    }
    let (_, body) = app
        .graphql(
            "query($u: String!) { user(username: $u) { id } }",
            json!({ "u": "qiao" }),
        )
        .await;
    assert!(body["data"]["user"].is_null(), "{body}");

    // The username and the phone number are free for someone new.
    let (fresh, _) = app.register("qiao", phone).await;
    let (_, body) = app.graphql_as(&fresh, ME, json!({})).await;
    assert_eq!(body["data"]["viewer"]["username"], "qiao", "{body}");
    assert!(body["data"]["viewer"]["cancellation"].is_null());
    assert_eq!(request_row(&app, qiao).await.attempts, 0);
}

#[tokio::test]
async fn anonymised_works_stay_published_without_their_author() {
    let app = TestApp::new().await;
    let phone = "+8613800138131";
    let (token, _) = app.register("yun", phone).await;
    let yun = id_of(&app, "yun").await;
    let work = app.publish_work(&token, "Mountain ink study", false).await;
    let article = publish_article(&app, &token, "Grinding ink", false).await;
    app.publish_work(&token, "Private sketch", true).await;

    let pending = cancel(&app, &token, phone, Some("ANONYMISE")).await;
    assert_eq!(pending["content"], "ANONYMISE");
    cool_off(&app);
    assert_eq!(app.erase_due().await, 1);
    assert_eq!(account(&app, yun).await.status, "erased");

    let (_, body) = app
        .graphql(
            "query($w: ID!, $a: ID!) { work(id: $w) { title author { username } } \
               article(id: $a) { title body author { username } } \
               works(first: 10) { edges { node { title author { id username } } } } \
               articles(first: 10) { edges { node { title author { username } } } } }",
            json!({ "w": work, "a": article }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let data = &body["data"];
    assert_eq!(data["work"]["title"], "Mountain ink study");
    assert!(data["work"]["author"].is_null(), "{body}");
    assert_eq!(data["article"]["body"], "I walked around the lake at dawn.");
    assert!(data["article"]["author"].is_null());
    let titles: Vec<&str> = data["works"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Mountain ink study"], "the draft is gone");
    assert!(data["articles"]["edges"][0]["node"]["author"].is_null());
    let (_, found) = app.graphql(SEARCH, json!({ "q": "mountain" })).await;
    assert_eq!(
        found["data"]["search"]["edges"][0]["node"]["title"],
        "Mountain ink study"
    );
    let (_, people) = app.graphql(SEARCH, json!({ "q": "yun" })).await;
    for shown in [&body, &found, &people] {
        assert!(!shown.to_string().contains("yun"), "{shown}");
    }
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM works WHERE author_id = {yun} AND deleted_at IS NOT NULL \
                 AND title = '(deleted)'"
            )
        )
        .await,
        1,
        "the draft was removed and cleared"
    );
}

#[tokio::test]
async fn a_revoked_cancellation_is_never_carried_out() {
    let app = TestApp::new().await;
    let phone = "+8613800138141";
    let (token, _) = app.register("tao", phone).await;
    let tao = id_of(&app, "tao").await;
    cancel(&app, &token, phone, None).await;
    let (_, body) = app.graphql_as(&token, KEEP, json!({})).await;
    assert_eq!(body["data"]["revokeAccountCancellation"], true, "{body}");
    cool_off(&app);
    assert_eq!(app.erase_due().await, 0);
    let row = account(&app, tao).await;
    assert_eq!((row.status.as_str(), row.has_phone), ("active", true));
    let (_, body) = app.graphql_as(&token, ME, json!({})).await;
    assert_eq!(body["data"]["viewer"]["username"], "tao", "{body}");
}

#[tokio::test]
async fn a_failure_midway_changes_nothing_and_the_next_run_finishes() {
    let app = TestApp::new().await;
    let phone = "+8613800138151";
    let (token, _) = app.register("hui", phone).await;
    let (bob, _) = app.register("bob", "+8613800138152").await;
    let hui = id_of(&app, "hui").await;
    let bob_work = app.publish_work(&bob, "Harbour lights", false).await;
    let (_, body) = app
        .graphql_as(
            &token,
            "mutation($id: ID!) { collectWork(id: $id) { collectionCount } }",
            json!({ "id": bob_work }),
        )
        .await;
    assert_eq!(body["data"]["collectWork"]["collectionCount"], 1, "{body}");
    app.publish_work(&token, "Quiet courtyard", false).await;
    let consents = format!("SELECT count(*) AS n FROM consent_records WHERE account_id = {hui}");
    let consents_before = n(&app, &consents).await;
    assert!(consents_before >= 2);
    cancel(&app, &token, phone, None).await;
    cool_off(&app);

    // A later step (the content domain's, after the accounts domain has done its part) fails.
    app.sql(
        "CREATE FUNCTION refuse_collection_delete() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'collections are frozen for an audit'; END $$",
    )
    .await;
    app.sql(&format!(
        "CREATE TRIGGER refuse_collection_delete BEFORE DELETE ON collections FOR EACH ROW \
             WHEN (OLD.account_id = {hui}) EXECUTE FUNCTION refuse_collection_delete()"
    ))
    .await;
    assert_eq!(app.erase_due().await, 0);
    let request = request_row(&app, hui).await;
    assert_eq!(request.attempts, 1);
    assert!(!request.erased);
    assert!(
        request
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("frozen for an audit")),
        "{:?}",
        request.last_error
    );
    let row = account(&app, hui).await;
    assert_eq!(row.status, "cancelling");
    assert_eq!(row.username, "hui");
    assert!(row.has_phone && row.has_password && row.searchable);
    for table in ["profiles", "sessions", "security_events", "collections"] {
        assert!(
            n(
                &app,
                &format!("SELECT count(*) AS n FROM {table} WHERE account_id = {hui}")
            )
            .await
                > 0,
            "{table} untouched"
        );
    }
    assert_eq!(
        n(
            &app,
            &format!(
                "SELECT count(*) AS n FROM works WHERE author_id = {hui} AND deleted_at IS NULL"
            )
        )
        .await,
        1
    );
    assert_eq!(n(&app, &consents).await, consents_before);
    let (_, body) = app.graphql_as(&token, ME, json!({})).await;
    assert_eq!(body["data"]["viewer"]["username"], "hui", "{body}");

    app.sql("DROP TRIGGER refuse_collection_delete ON collections")
        .await;
    assert_eq!(app.erase_due().await, 1);
    let request = request_row(&app, hui).await;
    assert!(request.erased && request.last_error.is_none());
    let row = account(&app, hui).await;
    assert_eq!(row.status, "erased");
    assert!(!row.has_phone && !row.has_password);
    assert_eq!(
        n(
            &app,
            &format!("SELECT count(*) AS n FROM collections WHERE account_id = {hui}")
        )
        .await,
        0
    );
    let (status, body) = app.graphql_as(&token, ME, json!({})).await;
    assert_eq!((status, code(&body)), (401, "UNAUTHENTICATED"), "{body}");
}

#[tokio::test]
async fn erased_accounts_are_in_no_audience_search_or_profile_lookup() {
    let app = TestApp::new().await;
    let officer = app.staff("officer", "+8613800138161").await;
    let phone = "+8613800138162";
    let (token, _) = app.register("wen", phone).await;
    app.register("xiu", "+8613800138163").await;
    let wen = id_of(&app, "wen").await;
    cancel(&app, &token, phone, None).await;

    // Waiting for cancellation, an account still hears of incidents: its data is still held.
    let (_, body) = app
        .graphql_as(
            &officer,
            crate::realtime::DECLARE,
            json!({ "input": crate::realtime::incident_input("Backup exposed", json!({ "all": true })) }),
        )
        .await;
    assert_eq!(
        body["data"]["declareIncident"]["affectedCount"], 3,
        "{body}"
    );

    cool_off(&app);
    assert_eq!(app.erase_due().await, 1);
    let incident_notices = n(
        &app,
        &format!(
            "SELECT count(*) AS n FROM notifications WHERE account_id = {wen} AND incident_id IS NOT NULL"
        ),
    )
    .await;
    assert_eq!(
        incident_notices, 1,
        "the regulator's record of who was told stays"
    );

    for scope in [
        json!({ "all": true }),
        json!({ "dataCategories": ["account", "username", "phone"] }),
    ] {
        let (_, body) = app
            .graphql_as(
                &officer,
                crate::realtime::DECLARE,
                json!({ "input": crate::realtime::incident_input("Second look", scope.clone()) }),
            )
            .await;
        assert_eq!(
            body["data"]["declareIncident"]["affectedCount"], 2,
            "{scope}: {body}"
        );
    }
    let user_id = portico::graphql::ids::encode("User", wen).0;
    let (_, body) = app
        .graphql_as(
            &officer,
            crate::realtime::DECLARE,
            json!({ "input": crate::realtime::incident_input("Only them", json!({ "accountIds": [user_id] })) }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");

    let (_, body) = app
        .graphql(
            "query($id: ID!) { node(id: $id) { id } user(username: \"wen\") { id } }",
            json!({ "id": user_id }),
        )
        .await;
    assert!(
        body["data"]["node"].is_null() && body["data"]["user"].is_null(),
        "{body}"
    );
    let placeholder = account(&app, wen).await.username;
    let (_, body) = app
        .graphql(
            "query($u: String!) { user(username: $u) { id } }",
            json!({ "u": placeholder }),
        )
        .await;
    assert!(body["data"]["user"].is_null(), "{body}");
    let (_, body) = app.graphql(SEARCH, json!({ "q": "wen" })).await;
    assert_eq!(body["data"]["search"]["edges"], json!([]), "{body}");
}
