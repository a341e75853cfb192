//! `viewer.notifications` (paged, newest first, unacknowledged filter), `acknowledgeNotification` and
//! `node(id:)` for notifications.

use serde_json::json;

use super::{account_of, code, post};
use crate::harness::TestApp;

#[tokio::test]
async fn notifications_are_listed_paged_and_acknowledged_by_their_owner_only() {
    let app = TestApp::new().await;
    let (token, _) = app.register("reader", "+8613800138007").await;
    let (other, _) = app.register("nosy", "+8613800138008").await;
    let (account, _) = account_of(&app.state, &token);
    let mut conn = app.db.conn().await;
    let ids = post(&mut conn, account, 3).await;

    let list = "query($after: String, $unack: Boolean) { viewer { notifications(first: 2, after: $after, \
                unacknowledgedOnly: $unack) { edges { cursor node { id title acknowledgedAt } } \
                pageInfo { hasNextPage endCursor } } } }";
    let (_, page) = app.graphql_as(&token, list, json!({})).await;
    let connection = &page["data"]["viewer"]["notifications"];
    let edges = connection["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    assert_eq!(edges[0]["node"]["title"], "Notice 2", "newest first");
    assert_eq!(connection["pageInfo"]["hasNextPage"], true);
    let end = connection["pageInfo"]["endCursor"].as_str().unwrap();
    let (_, rest) = app.graphql_as(&token, list, json!({ "after": end })).await;
    let rest = &rest["data"]["viewer"]["notifications"];
    assert_eq!(rest["edges"][0]["node"]["title"], "Notice 0");
    assert_eq!(rest["pageInfo"]["hasNextPage"], false);

    // Acknowledge the newest; the owner's unacknowledged list shrinks, someone else gets NOT_FOUND.
    let newest = edges[0]["node"]["id"].as_str().unwrap();
    let ack = "mutation Ack($id: ID!) { acknowledgeNotification(id: $id) { id acknowledgedAt } }";
    let (_, body) = app.graphql_as(&other, ack, json!({ "id": newest })).await;
    assert_eq!(code(&body), "NOT_FOUND", "{body}");
    let (_, body) = app.graphql_as(&token, ack, json!({ "id": newest })).await;
    let at = body["data"]["acknowledgeNotification"]["acknowledgedAt"].clone();
    assert!(at.is_string(), "{body}");
    let (_, again) = app.graphql_as(&token, ack, json!({ "id": newest })).await;
    assert_eq!(
        again["data"]["acknowledgeNotification"]["acknowledgedAt"], at,
        "the first acknowledgement's time stays"
    );
    let (_, unack) = app.graphql_as(&token, list, json!({ "unack": true })).await;
    let titles: Vec<&str> = unack["data"]["viewer"]["notifications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Notice 1", "Notice 0"]);

    // The client operation as written, `node(id:)` for the owner only, and a malformed cursor.
    let my = "query MyNotifications { viewer { notifications(first: 20, unacknowledgedOnly: true) \
              { edges { node { id cursor kind title } } } } }";
    let (_, body) = app.graphql_as(&token, my, json!({})).await;
    assert_eq!(
        body["data"]["viewer"]["notifications"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let node = "query($id: ID!) { node(id: $id) { id ... on Notification { title } } }";
    let (_, mine) = app.graphql_as(&token, node, json!({ "id": newest })).await;
    assert_eq!(mine["data"]["node"]["title"], "Notice 2");
    let (_, theirs) = app.graphql_as(&other, node, json!({ "id": newest })).await;
    assert!(theirs["data"]["node"].is_null(), "{theirs}");
    let (_, bad) = app
        .graphql_as(&token, list, json!({ "after": "garbage" }))
        .await;
    assert_eq!(code(&bad), "BAD_USER_INPUT");
    assert_eq!(ids.len(), 3);
}
