//! Sockets of an account that loses access close at once (4403), on every gateway instance: sign-out, a revoked
//! session, a password change and erasure, each done through a second gateway over the same database.

use std::time::Duration;

use serde_json::json;

use super::Client;
use crate::harness::{STRONG_PASSWORD, TestApp};

#[tokio::test]
async fn sockets_close_with_4403_on_every_instance_when_access_is_lost() {
    let a = TestApp::new().await;
    let b = a.reconfigured(|_| {});
    let server_a = a.serve().await;
    let server_b = b.serve().await;
    let phone = "+8613900150001";
    let (first, _) = a.register("mei", phone).await;
    let second = a.login("mei", STRONG_PASSWORD).await.unwrap();
    let third = a.login("mei", STRONG_PASSWORD).await.unwrap();
    let (other, _) = a.register("jun", "+8613900150002").await;

    // Sockets on instance B, for three sessions of mei and one of jun.
    let mut s1 = Client::connect(&server_b, Some(&first)).await;
    let mut s2 = Client::connect(&server_b, Some(&second)).await;
    let mut s3 = Client::connect(&server_a, Some(&third)).await;
    let mut bystander = Client::connect(&server_b, Some(&other)).await;

    // Signing out on instance A closes that session's socket on instance B.
    let (_, body) = a.graphql_as(&first, "mutation { logout }", json!({})).await;
    assert_eq!(body["data"]["logout"], true, "{body}");
    assert_eq!(
        s1.closed().await,
        (4403, "Forbidden: access revoked".into())
    );
    assert!(s2.quiet_for(Duration::from_millis(300)).await);

    // A password change ends every other session: the third session's socket (on A) closes, the second's is the
    // one that changed it and stays.
    let (_, body) = a
        .graphql_as(
            &second,
            "mutation($c: String!, $n: String!) { changePassword(current: $c, next: $n) }",
            json!({ "c": STRONG_PASSWORD, "n": "amber meadow kettle 77" }),
        )
        .await;
    assert_eq!(body["data"]["changePassword"], true, "{body}");
    assert_eq!(s3.closed().await.0, 4403);
    assert!(s2.quiet_for(Duration::from_millis(300)).await);

    // Erasure (the cooling-off period over) closes the last one; jun's socket never hears of any of it.
    a.cancel_and_erase(&second, phone).await;
    assert_eq!(s2.closed().await.0, 4403);
    assert!(bystander.quiet_for(Duration::from_millis(300)).await);
}

#[tokio::test]
async fn revoking_one_session_closes_only_its_sockets() {
    let a = TestApp::new().await;
    let b = a.reconfigured(|_| {});
    let server_b = b.serve().await;
    let (laptop, _) = a.register("lin", "+8613900150011").await;
    let phone = a.login("lin", STRONG_PASSWORD).await.unwrap();
    let mut on_phone = Client::connect(&server_b, Some(&phone)).await;
    let mut on_laptop = Client::connect(&server_b, Some(&laptop)).await;
    let (_, body) = a
        .graphql_as(&laptop, "{ viewer { sessions { id current } } }", json!({}))
        .await;
    let sessions = body["data"]["viewer"]["sessions"]
        .as_array()
        .unwrap()
        .clone();
    let phone_session = sessions
        .iter()
        .find(|s| s["current"] == false)
        .unwrap_or_else(|| panic!("{body}"))["id"]
        .clone();
    let (_, body) = a
        .graphql_as(
            &laptop,
            "mutation($id: ID!) { revokeSession(id: $id) }",
            json!({ "id": phone_session }),
        )
        .await;
    assert_eq!(body["data"]["revokeSession"], true, "{body}");
    assert_eq!(
        on_phone.closed().await,
        (4403, "Forbidden: access revoked".into())
    );
    assert!(on_laptop.quiet_for(Duration::from_millis(300)).await);
}

#[tokio::test]
async fn a_suspended_account_is_signed_out_everywhere_and_cannot_sign_in_until_reinstated() {
    let a = TestApp::new().await;
    let b = a.reconfigured(|_| {});
    let server_b = b.serve().await;
    let officer = a.staff("officer", "+8613900150021").await;
    let (member, _) = a.register("tao", "+8613900150022").await;
    let mut socket = Client::connect(&server_b, Some(&member)).await;
    let (account_id, _) = super::account_of(&a.state, &member);
    let id = portico::graphql::ids::encode("User", account_id).0;
    let suspend = "mutation($id: ID!, $r: String!) { suspendAccount(id: $id, reason: $r) }";

    // Members may not suspend; a reason is needed.
    let (_, body) = a
        .graphql_as(&member, suspend, json!({ "id": id, "r": "x" }))
        .await;
    assert_eq!(crate::harness::code(&body), "FORBIDDEN", "{body}");
    let (_, body) = a
        .graphql_as(&officer, suspend, json!({ "id": id, "r": " " }))
        .await;
    assert_eq!(crate::harness::code(&body), "BAD_USER_INPUT", "{body}");
    // Staff may not suspend staff (only an admin may).
    let warden = a.staff("warden", "+8613900150023").await;
    let warden_id = portico::graphql::ids::encode("User", super::account_of(&a.state, &warden).0).0;
    let (_, body) = a
        .graphql_as(&officer, suspend, json!({ "id": warden_id, "r": "A test" }))
        .await;
    assert_eq!(crate::harness::code(&body), "FORBIDDEN", "{body}");

    let (_, body) = a
        .graphql_as(
            &officer,
            suspend,
            json!({ "id": id, "r": "Spam reported by many members" }),
        )
        .await;
    assert_eq!(body["data"]["suspendAccount"], true, "{body}");
    assert_eq!(
        socket.closed().await,
        (4403, "Forbidden: access revoked".into())
    );
    let (_, body) = a.graphql_as(&member, "{ viewer { id } }", json!({})).await;
    assert_eq!(crate::harness::code(&body), "UNAUTHENTICATED", "{body}");
    let refused = a.login("tao", STRONG_PASSWORD).await.unwrap_err();
    assert_eq!(crate::harness::code(&refused), "FORBIDDEN", "{refused}");

    let (_, body) = a
        .graphql_as(
            &officer,
            "mutation($id: ID!) { reinstateAccount(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(body["data"]["reinstateAccount"], true, "{body}");
    let token = a.login("tao", STRONG_PASSWORD).await.unwrap();
    let titles = a.notice_titles(&token).await;
    assert!(
        titles.iter().any(|t| t == "Your account was suspended"),
        "{titles:?}"
    );
    assert!(
        titles.iter().any(|t| t == "Your account was reinstated"),
        "{titles:?}"
    );
}
