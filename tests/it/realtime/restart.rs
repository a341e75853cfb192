//! Across instances and restarts: two gateways on one database, and a database restarted while subscribers
//! wait (on a private cluster, never the shared server other tests use).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use portico::config::Config;
use portico::db::bootstrap::{
    ensure_database, find_postgres_bin, start_private_cluster, stop_private_cluster,
};
use portico::state::AppState;
use serde_json::json;

use super::{Client, DECLARE, graphql_on, incident_input, notice_id, post, staff};
use crate::harness::{TestApp, TestServer};

#[tokio::test]
async fn two_gateway_instances_on_one_database_share_notices() {
    let app = TestApp::new().await;
    let first = app.serve().await;
    let mut config = Config::for_database(&app.db.url);
    config.pool_size = 4;
    let second_state = AppState::connect(config, &app.db.url).unwrap();
    let second = TestServer::start(second_state.clone()).await;

    let officer = staff(&app, "officer", "+8613600136001").await;
    let (alice, _) = app.register("alice", "+8613600136002").await;
    let (bob, _) = app.register("bob", "+8613600136003").await;
    let mut on_first = Client::connect(&first, Some(&alice)).await;
    on_first.subscribe("n", None).await;
    let mut on_second = Client::connect(&second, Some(&bob)).await;
    on_second.subscribe("n", None).await;
    while !(app.state.broker.is_connected() && second_state.broker.is_connected()) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Both instances listen; the subscriptions replay whatever is written before their streams start.

    // Declared through the second instance: the subscriber on the first one hears of it.
    let body = graphql_on(
        &second_state,
        &officer,
        DECLARE,
        json!({ "input": incident_input("Seen everywhere", json!({ "all": true })) }),
    )
    .await;
    assert_eq!(
        body["data"]["declareIncident"]["affectedCount"], 3,
        "{body}"
    );
    for client in [&mut on_first, &mut on_second] {
        let notice = client.notice("n").await;
        assert_eq!(notice["title"], "Security incident: Seen everywhere");
        assert_eq!(
            notice["incident"]["id"],
            body["data"]["declareIncident"]["id"]
        );
    }

    // A password changed through the first instance: Bob, subscribed on the second, is told.
    let change = "mutation($c: String!, $n: String!) { changePassword(current: $c, next: $n) }";
    let (_, changed) = app
        .graphql_as(
            &bob,
            change,
            json!({ "c": crate::harness::STRONG_PASSWORD, "n": "amber meadow compass 77" }),
        )
        .await;
    assert_eq!(changed["data"]["changePassword"], true, "{changed}");
    assert_eq!(
        on_second.notice("n").await["title"],
        "Your password was changed"
    );
    assert!(on_first.quiet_for(Duration::from_millis(300)).await);
    assert!(on_second.quiet_for(Duration::from_millis(100)).await);
}

/// A private PostgreSQL cluster, stopped and removed when dropped.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    async fn start() -> Cluster {
        let bin = find_postgres_bin().expect("PostgreSQL's server binaries are installed");
        let dir =
            std::env::temp_dir().join(format!("portico-restart-{}", uuid::Uuid::new_v4().simple()));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        start_private_cluster(&bin, &dir, port).await.unwrap();
        Cluster { bin, dir, port }
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/portico", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = stop_private_cluster(&self.bin, &self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// An account with a live session, made in SQL; returns (account id, access token).
async fn account(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    name: &str,
    role: &str,
) -> (i64, String) {
    let account: Id = diesel::sql_query(format!(
        "INSERT INTO accounts (username, role) VALUES ('{name}', '{role}') RETURNING id"
    ))
    .get_result(conn)
    .await
    .unwrap();
    let session: Id = diesel::sql_query(format!(
        "INSERT INTO sessions (account_id, method) VALUES ({}, 'password') RETURNING id",
        account.id
    ))
    .get_result(conn)
    .await
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    let (token, _) = state.accounts.tokens.issue(account.id, session.id, now);
    (account.id, token)
}

#[tokio::test]
async fn a_database_restart_while_subscribers_wait_loses_nothing() {
    let cluster = Cluster::start().await;
    let url = cluster.url();
    ensure_database(&url).await.unwrap();
    portico::db::migrations::run_pending(&url).await.unwrap();
    let mut config = Config::for_database(&url);
    config.pool_size = 4;
    let state = AppState::connect(config, &url).unwrap();
    let server = TestServer::start(state.clone()).await;
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let (member, member_token) = account(&state, &mut conn, "member", "user").await;
    let (_, officer) = account(&state, &mut conn, "officer", "staff").await;

    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut client = Client::connect(&server, Some(&member_token)).await;
        client.subscribe("n", Some(&super::cursor_of(0))).await;
        clients.push(client);
    }
    while !state.broker.is_connected() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = post(&mut conn, member, 1).await;
    for client in &mut clients {
        assert_eq!(notice_id(&client.notice("n").await), before[0]);
    }

    // The database goes away and comes back while the subscribers wait.
    drop(conn);
    stop_private_cluster(&cluster.bin, &cluster.dir).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!state.broker.is_connected(), "the listener noticed");
    start_private_cluster(&cluster.bin, &cluster.dir, cluster.port)
        .await
        .unwrap();

    // Declared as soon as the database answers, likely before the listener is back (its NOTIFY then reaches
    // nobody; the listener's resync covers it). Pooled connections died with the server, so early attempts
    // may fail: a client retries.
    let deadline = Instant::now() + Duration::from_secs(30);
    let declared = loop {
        let body = graphql_on(
            &state,
            &officer,
            DECLARE,
            json!({ "input": incident_input("After the restart", json!({ "all": true })) }),
        )
        .await;
        if body["data"]["declareIncident"].is_object() {
            break body["data"]["declareIncident"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the gateway did not recover: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(declared["affectedCount"], 2);
    for client in &mut clients {
        let notice = client.notice("n").await;
        assert_eq!(notice["incident"]["id"], declared["id"]);
    }
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let after = post(&mut conn, member, 1).await;
    for client in &mut clients {
        assert_eq!(notice_id(&client.notice("n").await), after[0]);
        assert!(
            client.quiet_for(Duration::from_millis(300)).await,
            "nothing twice"
        );
    }
    let count: Id = diesel::sql_query("SELECT count(*) AS id FROM incidents")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(count.id, 1);
    server.shutdown().await;
}
