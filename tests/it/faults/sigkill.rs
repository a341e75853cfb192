//! The gateway killed with SIGKILL while notices flow, and restarted: the client resumes from its cursor.

use std::time::Duration;

use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{Cluster, Gateway, Id, account, connect, free_port, http, instance};
use crate::realtime::{Client, DECLARE, cursor_of, graphql_on, incident_input, notice_id, post};

/// Opens a socket to `gateway`, has it acknowledged, and subscribes to `notifications(after: cursor)`.
async fn subscribe(gateway: &Gateway, token: &str, cursor: &str) -> Client {
    let mut client = Client::open(&gateway.ws_url(), Some(token)).await;
    assert_eq!(client.message().await, json!({ "type": "connection_ack" }));
    client.subscribe("n", Some(cursor)).await;
    client
}

#[tokio::test]
async fn gateway_killed_and_restarted_clients_resume_from_their_cursors() {
    let cluster = Cluster::start().await;
    let db = cluster.url();
    // Another gateway instance on the same database (in-process): it mints tokens, and takes a declaration
    // while the killed one is down.
    let other = instance(&db);
    let mut conn = connect(&db).await;
    let (member, token) = account(&other, &mut conn, "member", "user").await;
    let (_, officer) = account(&other, &mut conn, "officer", "staff").await;
    let client = http();
    let port = free_port();
    let log = cluster.dir().join("gateway.log");
    let mut gateway = Gateway::spawn(&db, port, &log);
    gateway.ready(&client).await;

    // A writer posts a notice every 10 ms, straight into the database, as any instance's writers do.
    let stop = CancellationToken::new();
    let writer = tokio::spawn({
        let (db, stop) = (db.clone(), stop.clone());
        async move {
            let mut conn = connect(&db).await;
            while !stop.is_cancelled() {
                post(&mut conn, member, 1).await;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });

    // The client receives notices, remembering the last cursor; the gateway is killed while they flow.
    let mut socket = subscribe(&gateway, &token, &cursor_of(0)).await;
    let mut received: Vec<i64> = Vec::new();
    let mut cursor = String::new();
    let mut take = |notice: &Value, received: &mut Vec<i64>| {
        received.push(notice_id(notice));
        cursor = notice["cursor"].as_str().unwrap().to_string();
    };
    for _ in 0..8 {
        take(&socket.notice("n").await, &mut received);
    }
    gateway.kill();
    // What was already on the wire still arrives; then the socket ends.
    loop {
        match socket.message_within(Duration::from_secs(5)).await {
            Some(m) if m["type"] == "next" => {
                take(&m["payload"]["data"]["notifications"], &mut received)
            }
            Some(m) if m["type"] == "__closed" => break,
            None => break,
            Some(other) => panic!("unexpected message {other}"),
        }
    }
    drop(socket);
    let cursor = cursor.clone();

    // While it is down, notices keep coming, and an incident is declared through the other instance.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let declared = graphql_on(
        &other,
        &officer,
        DECLARE,
        json!({ "input": incident_input("While the gateway was down", json!({ "all": true })) }),
    )
    .await;
    let incident = declared["data"]["declareIncident"]["id"].clone();
    assert!(incident.is_string(), "{declared}");
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The gateway restarts on the same address (notices still flowing); the client resumes from its cursor.
    let mut gateway = Gateway::spawn(&db, port, &log);
    gateway.ready(&client).await;
    let mut socket = subscribe(&gateway, &token, &cursor).await;
    let mut resumed = Vec::new();
    let mut incident_seen = 0;
    for _ in 0..5 {
        let notice = socket.notice("n").await;
        incident_seen += usize::from(notice["incident"]["id"] == incident);
        resumed.push(notice_id(&notice));
    }
    stop.cancel();
    writer.await.unwrap();
    let all: Vec<i64> =
        diesel::sql_query("SELECT id FROM notifications WHERE account_id = $1 ORDER BY id")
            .bind::<diesel::sql_types::BigInt, _>(member)
            .load::<Id>(&mut conn)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
    let last = *received.last().unwrap();
    let missed = all.iter().filter(|id| **id > last).count();
    while resumed.len() < missed {
        let notice = socket.notice("n").await;
        incident_seen += usize::from(notice["incident"]["id"] == incident);
        resumed.push(notice_id(&notice));
    }
    assert!(
        socket.quiet_for(Duration::from_millis(300)).await,
        "nothing twice"
    );

    // Before the kill and after the restart together: every notice, once, in order.
    let mut together = received.clone();
    together.extend(&resumed);
    assert_eq!(together, all, "nothing lost, nothing doubled");
    assert_eq!(
        incident_seen, 1,
        "the incident declared while the gateway was down"
    );
    eprintln!(
        "{} notices before the kill, {} after the restart ({} posted in all)",
        received.len(),
        resumed.len(),
        all.len()
    );

    // And live again.
    let live = post(&mut conn, member, 1).await;
    assert_eq!(notice_id(&socket.notice("n").await), live[0]);
    assert!(socket.quiet_for(Duration::from_millis(200)).await);
}
