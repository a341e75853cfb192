//! Refused input: subscriptions without an account or with a bad token or cursor, and incidents staff may not
//! declare as asked.

use portico::graphql::ids;
use serde_json::{Value, json};

use super::{Client, DECLARE, account_of, code, incident_input, notice_id, post, staff};
use crate::harness::TestApp;

#[tokio::test]
async fn subscriptions_refuse_visitors_bad_tokens_and_malformed_cursors() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let (token, _) = app.register("strict", "+8613700137002").await;

    // A visitor's socket is acknowledged, but the subscription needs an account.
    let mut visitor = Client::connect(&server, None).await;
    visitor.subscribe("n", None).await;
    let refused = visitor.message().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "n");
    assert_eq!(
        refused["payload"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );

    // A bad token closes the socket with 4403.
    let mut forged = Client::open(&server.ws_url(), Some("not.a.token")).await;
    assert_eq!(forged.closed().await.0, 4403);

    // A malformed cursor is BAD_USER_INPUT; the socket stays usable.
    let mut client = Client::connect(&server, Some(&token)).await;
    for cursor in ["garbage", "V29yazox"] {
        client.subscribe("bad", Some(cursor)).await;
        let refused = client.message().await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(
            refused["payload"][0]["extensions"]["code"],
            "BAD_USER_INPUT"
        );
    }
    client.subscribe("n", None).await;
    let (account, _) = account_of(&app.state, &token);
    let mut conn = app.db.conn().await;
    let ids = post(&mut conn, account, 1).await;
    assert_eq!(notice_id(&client.notice("n").await), ids[0]);
}

#[tokio::test]
async fn bad_incident_input_is_refused_and_writes_nothing() {
    let app = TestApp::new().await;
    let officer = staff(&app, "officer", "+8613900139021").await;
    let (member, _) = app.register("member", "+8613900139022").await;
    let declare = |token: String, scope: Value| {
        let app = &app;
        async move {
            let (_, body) = app
                .graphql_as(
                    &token,
                    DECLARE,
                    json!({ "input": incident_input("Refused", scope) }),
                )
                .await;
            body
        }
    };
    let body = declare(member.clone(), json!({ "all": true })).await;
    assert_eq!(code(&body), "FORBIDDEN", "{body}");
    let (_, visitor) = app
        .graphql(
            DECLARE,
            json!({ "input": incident_input("Refused", json!({ "all": true })) }),
        )
        .await;
    assert_eq!(code(&visitor), "UNAUTHENTICATED", "{visitor}");
    for scope in [
        json!({}),
        json!({ "all": false }),
        json!({ "all": true, "dataCategories": ["email"] }),
        json!({ "accountIds": [] }),
        json!({ "accountIds": ["not-an-id"] }),
        json!({ "accountIds": [ids::encode("User", 999_999).0] }),
        json!({ "dataCategories": ["email"] }),
        json!({ "dataCategories": ["cookie"] }),
        json!({ "dataCategories": [] }),
    ] {
        let body = declare(officer.clone(), scope.clone()).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{scope}: {body}");
    }
    let body = declare(officer.clone(), json!({ "accountIds": [] })).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no affected accounts")
    );
    let body = declare(officer.clone(), json!({ "dataCategories": ["email"] })).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no affected accounts")
    );
    let mut blank = incident_input("Blank", json!({ "all": true }));
    blank["contact"] = json!("  ");
    let (_, body) = app
        .graphql_as(&officer, DECLARE, json!({ "input": blank }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(app.count("SELECT count(*) AS n FROM incidents").await, 0);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM notifications WHERE kind = 'security_incident'")
            .await,
        0
    );

    let resolve = "mutation($id: ID!) { resolveIncident(id: $id, note: \"done\") { id } }";
    let (_, body) = app
        .graphql_as(
            &officer,
            resolve,
            json!({ "id": ids::encode("Incident", 42).0 }),
        )
        .await;
    assert_eq!(code(&body), "NOT_FOUND");
    let (_, body) = app
        .graphql_as(
            &member,
            resolve,
            json!({ "id": ids::encode("Incident", 42).0 }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
}
