//! Account-security notices arrive on the same stream as incident notices.

use std::time::Duration;

use serde_json::json;

use super::Client;
use crate::harness::{STRONG_PASSWORD, TestApp};

#[tokio::test]
async fn account_security_changes_arrive_as_notices() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let (token, _) = app.register("guarded", "+8613700137001").await;
    let mut client = Client::connect(&server, Some(&token)).await;
    client.subscribe("n", None).await;
    // No wait: a subscription without a cursor starts from the oldest notice never delivered, so a notice
    // written before the server has started the stream is replayed, and one written after wakes it.

    // A sign-in from a device the account has not used before.
    let login = "mutation($input: LoginInput!) { login(input: $input) { accessToken } }";
    let (_, body) = app
        .graphql(login, json!({ "input": { "identifier": "guarded", "password": STRONG_PASSWORD, "device": "unknown tablet" } }))
        .await;
    assert!(body["data"]["login"]["accessToken"].is_string(), "{body}");
    let notice = client.notice("n").await;
    assert_eq!(notice["kind"], "ACCOUNT_SECURITY");
    assert_eq!(notice["title"], "New sign-in to your account");
    assert!(notice["body"].as_str().unwrap().contains("unknown tablet"));

    // A password change.
    let change = "mutation ChangePassword($current: String!, $next: String!) { changePassword(current: $current, next: $next) }";
    let (_, body) = app
        .graphql_as(
            &token,
            change,
            json!({ "current": STRONG_PASSWORD, "next": "amber meadow compass 77" }),
        )
        .await;
    assert_eq!(body["data"]["changePassword"], true, "{body}");
    let notice = client.notice("n").await;
    assert_eq!(notice["title"], "Your password was changed");

    // An email bound, then unbound.
    let code = app
        .code_for("EMAIL", "guarded@example.com", "BIND_EMAIL")
        .await;
    let (_, body) = app
        .graphql_as(
            &token,
            "mutation($e: String!, $c: String!) { bindEmail(email: $e, code: $c) { email } }",
            json!({ "e": "guarded@example.com", "c": code }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        client.notice("n").await["title"],
        "An email address was bound to your account"
    );
    let (_, body) = app
        .graphql_as(&token, "mutation { unbindEmail { id } }", json!({}))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        client.notice("n").await["title"],
        "The email address was removed from your account"
    );

    // The notices refer to the security events they report.
    let (_, body) = app
        .graphql_as(
            &token,
            "{ viewer { notifications(first: 10) { edges { node { kind title references } } } } }",
            json!({}),
        )
        .await;
    let edges = body["data"]["viewer"]["notifications"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(edges.len(), 4, "{body}");
    assert_eq!(edges[0]["node"]["references"]["event"], "email_unbound");
    assert!(edges[0]["node"]["references"]["securityEvent"].is_i64());
    // Sign-ins from known devices and failed sign-ins are only logged.
    app.graphql(login, json!({ "input": { "identifier": "guarded", "password": "wrong", "device": "unknown tablet" } }))
        .await;
    assert!(client.quiet_for(Duration::from_millis(300)).await);
}
