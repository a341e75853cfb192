//! Audited staff access: `accessPersonalData` needs the staff role and a reason, returns the private fields,
//! and writes an audit row (plus a security event and a notice) the owner sees in `Me.staffAccesses`;
//! refused attempts log nothing, and no other path shows staff another member's phone or email.

use diesel_async::RunQueryDsl;
use portico::graphql::ids;
use serde_json::{Value, json};

use crate::harness::{Count, TestApp, code, field};

const ACCESS: &str = "mutation AccessPersonalData($accountId: ID!, $reason: String!) { \
    accessPersonalData(accountId: $accountId, reason: $reason) { \
      accountId username gender occupation city phone email contact hometown bio labels privateFields accessedAt } }";
const ACCESSES: &str = "query($first: Int, $after: String) { viewer { staffAccesses(first: $first, after: $after) { \
    edges { cursor node { at reason fields staff } } pageInfo { hasNextPage endCursor } } } }";

const PHONE: &str = "+8613600136001";
const DIGITS: &str = "13600136001";
const MASKED: &str = "136****6001";
const EMAIL: &str = "xiaoyu.secret@example.org";
const CONTACT: &str = "studio phone 0571-555-0101";

async fn logged(app: &TestApp) -> i64 {
    let mut conn = app.db.conn().await;
    let c: Count = diesel::sql_query("SELECT count(*) AS n FROM staff_access_log")
        .get_result(&mut conn)
        .await
        .unwrap();
    c.n
}

/// A member with a bound email and a private contact; returns (token, User id).
async fn member(app: &TestApp) -> (String, String) {
    let (token, _) = app.register("xiaoyu", PHONE).await;
    let code = app.code_for("EMAIL", EMAIL, "BIND_EMAIL").await;
    let (_, bound) = app
        .graphql_as(
            &token,
            "mutation($e: String!, $c: String!) { bindEmail(email: $e, code: $c) { email } }",
            json!({ "e": EMAIL, "c": code }),
        )
        .await;
    assert_eq!(bound["data"]["bindEmail"]["email"], EMAIL, "{bound}");
    for query in [
        "mutation { grantConsent(purposes: [\"profile\"], policyVersion: \"1\") { purpose } }",
        format!(
            "mutation {{ updateProfile(input: {{ contact: \"{CONTACT}\", hometown: \"Hangzhou\", bio: \"Calligrapher\", labels: [\"brush\"] }}) {{ id }} }}"
        )
        .as_str(),
        "mutation { setFieldVisibility(field: CONTACT, visibility: ONLY_ME) { id } }",
        "mutation { publishWork(input: { title: \"Brush strokes\", category: \"painting\", images: [{ url: \"https://img.example.com/b.png\", width: 400, height: 300 }] }) { id } }",
    ] {
        let (_, body) = app.graphql_as(&token, query, json!({})).await;
        assert!(body["errors"].is_null(), "{query}: {body}");
    }
    let (_, me) = app.graphql_as(&token, "{ viewer { id } }", json!({})).await;
    (
        token,
        me["data"]["viewer"]["id"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn staff_read_personal_data_for_a_reason_and_the_owner_sees_every_read() {
    let app = TestApp::new().await;
    let (owner, user_id) = member(&app).await;
    let staff = app.staff("officer", "+8615800158001").await;

    let reason = "  ticket 5120: the member asked us to confirm their contact details  ";
    let (_, body) = app
        .graphql_as(
            &staff,
            ACCESS,
            json!({ "accountId": user_id, "reason": reason }),
        )
        .await;
    let record = &body["data"]["accessPersonalData"];
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(record["accountId"], user_id.as_str());
    assert_eq!(record["username"], "xiaoyu");
    assert_eq!(record["gender"], "FEMALE");
    assert_eq!(record["occupation"], "illustrator");
    assert_eq!(record["city"], "Hangzhou");
    assert_eq!(record["phone"], PHONE, "the full phone number");
    assert_eq!(record["email"], EMAIL);
    assert_eq!(record["contact"], CONTACT, "private fields too");
    assert_eq!(record["hometown"], "Hangzhou");
    assert_eq!(record["labels"], json!(["brush"]));
    assert_eq!(record["privateFields"], json!(["contact"]));
    assert!(record["accessedAt"].is_string());
    assert_eq!(logged(&app).await, 1);

    // The owner sees the read: when, the trimmed reason, the fields, and who.
    let (_, log) = app.graphql_as(&owner, ACCESSES, json!({})).await;
    let edges = log["data"]["viewer"]["staffAccesses"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(edges.len(), 1);
    let entry = &edges[0]["node"];
    assert_eq!(entry["reason"], reason.trim());
    assert_eq!(entry["staff"], "officer");
    assert_eq!(entry["at"], record["accessedAt"]);
    let fields: Vec<&str> = entry["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    for f in [
        "username", "phone", "email", "contact", "hometown", "bio", "labels",
    ] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    assert!(
        !fields.contains(&"avatar_url"),
        "only fields that held a value"
    );

    // ... as a security event and a notice too.
    let (_, me) = app
        .graphql_as(
            &owner,
            "{ viewer { securityEvents(first: 5) { edges { node { kind detail userAgent } } } \
               notifications(first: 5) { edges { node { kind title body } } } } }",
            json!({}),
        )
        .await;
    let event = &me["data"]["viewer"]["securityEvents"]["edges"][0]["node"];
    assert_eq!(event["kind"], "personal_data_accessed", "{me}");
    assert_eq!(event["detail"]["reason"], reason.trim());
    assert_eq!(
        event["userAgent"], "",
        "the staff member's browser is not recorded"
    );
    let notice = &me["data"]["viewer"]["notifications"]["edges"][0]["node"];
    assert_eq!(notice["kind"], "ACCOUNT_SECURITY");
    assert_eq!(notice["title"], "A staff member viewed your personal data");
    assert!(notice["body"].as_str().unwrap().contains("ticket 5120"));

    // Every read is listed, newest first, in pages.
    for n in 2..=3 {
        let (_, again) = app
            .graphql_as(
                &staff,
                ACCESS,
                json!({ "accountId": user_id, "reason": format!("follow-up number {n} on ticket 5120") }),
            )
            .await;
        assert!(again["errors"].is_null(), "{again}");
    }
    let (_, page) = app
        .graphql_as(&owner, ACCESSES, json!({ "first": 2 }))
        .await;
    let list = &page["data"]["viewer"]["staffAccesses"];
    assert_eq!(list["edges"].as_array().unwrap().len(), 2);
    assert_eq!(
        list["edges"][0]["node"]["reason"],
        "follow-up number 3 on ticket 5120"
    );
    assert_eq!(list["pageInfo"]["hasNextPage"], true);
    let (_, rest) = app
        .graphql_as(
            &owner,
            ACCESSES,
            json!({ "first": 2, "after": list["pageInfo"]["endCursor"] }),
        )
        .await;
    let rest = &rest["data"]["viewer"]["staffAccesses"];
    assert_eq!(rest["edges"].as_array().unwrap().len(), 1);
    assert_eq!(rest["edges"][0]["node"]["reason"], reason.trim());
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);
    let (_, too_many) = app
        .graphql_as(&owner, ACCESSES, json!({ "first": 101 }))
        .await;
    assert_eq!(code(&too_many), "BAD_USER_INPUT");

    // The staff member's own list shows nothing of the reads they made.
    let (_, theirs) = app.graphql_as(&staff, ACCESSES, json!({})).await;
    assert_eq!(
        theirs["data"]["viewer"]["staffAccesses"]["edges"],
        json!([])
    );
}

#[tokio::test]
async fn a_missing_or_short_reason_or_unknown_account_is_refused_and_nothing_is_logged() {
    let app = TestApp::new().await;
    let (owner, user_id) = member(&app).await;
    let staff = app.staff("officer", "+8615800158002").await;

    for reason in ["", "because", "          short        ", &"x".repeat(501)] {
        let (_, body) = app
            .graphql_as(
                &staff,
                ACCESS,
                json!({ "accountId": user_id, "reason": reason }),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{reason:?}: {body}");
        assert_eq!(field(&body), "reason");
        assert!(!body.to_string().contains(DIGITS));
    }
    // Without the argument at all the document does not validate.
    let (_, body) = app
        .graphql_as(
            &staff,
            "mutation($id: ID!) { accessPersonalData(accountId: $id) { phone } }",
            json!({ "id": user_id }),
        )
        .await;
    assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");

    let reason = "checking a report of account takeover";
    let ghost = ids::encode("User", 987_654).0;
    let (_, body) = app
        .graphql_as(
            &staff,
            ACCESS,
            json!({ "accountId": ghost, "reason": reason }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let work = ids::encode("Work", 1).0;
    let (_, body) = app
        .graphql_as(
            &staff,
            ACCESS,
            json!({ "accountId": work, "reason": reason }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let (_, body) = app
        .graphql_as(
            &staff,
            ACCESS,
            json!({ "accountId": "garbage!", "reason": reason }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(field(&body), "accountId");

    assert_eq!(logged(&app).await, 0);
    let (_, log) = app.graphql_as(&owner, ACCESSES, json!({})).await;
    assert_eq!(
        log["data"]["viewer"]["staffAccesses"]["edges"],
        json!([]),
        "{log}"
    );
}

#[tokio::test]
async fn only_staff_may_access_personal_data() {
    let app = TestApp::new().await;
    let (_, user_id) = member(&app).await;
    let (neighbour, _) = app.register("neighbour", "+8613600136002").await;
    let reason = "I would like to know their phone number";
    let vars = json!({ "accountId": user_id, "reason": reason });

    let (_, body) = app.graphql_as(&neighbour, ACCESS, vars.clone()).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    assert_eq!(body["data"], Value::Null);
    assert!(!body.to_string().contains(DIGITS));
    let (_, body) = app.graphql(ACCESS, vars).await;
    assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
    assert_eq!(logged(&app).await, 0);
}

#[tokio::test]
async fn staff_see_another_members_phone_and_email_through_no_other_path() {
    let app = TestApp::new().await;
    let (_, user_id) = member(&app).await;
    let staff = app.staff("officer", "+8615800158003").await;
    let public = "username gender occupation city avatarUrl hometown signature bio education contact link equipment labels";
    let reads = [
        format!("{{ user(username: \"xiaoyu\") {{ {public} }} }}"),
        format!("{{ node(id: \"{user_id}\") {{ id ... on User {{ {public} }} }} }}"),
        format!(
            "{{ search(query: \"xiaoyu\", first: 20) {{ edges {{ node {{ __typename ... on User {{ {public} }} }} }} }} }}"
        ),
        format!(
            "{{ search(query: \"{DIGITS}\", first: 20) {{ edges {{ node {{ __typename ... on User {{ {public} }} }} }} }} }}"
        ),
        format!(
            "{{ search(query: \"{EMAIL}\", first: 20) {{ edges {{ node {{ __typename ... on User {{ {public} }} }} }} }} }}"
        ),
        format!("{{ works(first: 20) {{ edges {{ node {{ title author {{ {public} }} }} }} }} }}"),
        "{ viewer { username phone email contact } }".to_string(),
    ];
    let mut saw_member = false;
    for query in &reads {
        let (_, body) = app.graphql_as(&staff, query, json!({})).await;
        assert!(body["errors"].is_null(), "{query}: {body}");
        let text = body.to_string();
        saw_member |= text.contains("Calligrapher");
        for secret in [DIGITS, MASKED, EMAIL, CONTACT] {
            assert!(!text.contains(secret), "{query} showed `{secret}`: {text}");
        }
    }
    assert!(saw_member, "the reads reached the member's public profile");
    // The public type has no phone or email to ask for.
    for private in ["phone", "email"] {
        let (_, body) = app
            .graphql_as(
                &staff,
                &format!("{{ user(username: \"xiaoyu\") {{ {private} }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
        assert!(!body.to_string().contains(DIGITS) && !body.to_string().contains(EMAIL));
    }
    // Nothing of this was audited: only `accessPersonalData` reads private fields.
    assert_eq!(logged(&app).await, 0);
}
