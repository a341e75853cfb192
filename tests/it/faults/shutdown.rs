//! Graceful shutdown of the real binary: SIGTERM with a request in flight.

use std::time::{Duration, Instant};

use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use serde_json::json;

use super::{
    Cluster, Gateway, Id, PUBLISH, account, connect, eventually, free_port, http, instance,
    post_graphql, work, works_titled,
};
use crate::realtime::{Client, cursor_of, notice_id, post};

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_refuses_new_ones_and_exits_zero() {
    let cluster = Cluster::start().await;
    let db = cluster.url();
    let other = instance(&db);
    let mut conn = connect(&db).await;
    let (member, token) = account(&other, &mut conn, "member", "user").await;
    let client = http();
    let mut gateway = Gateway::spawn(&db, free_port(), &cluster.dir().join("gateway.log"));
    gateway.ready(&client).await;

    // A live subscriber: open sockets must not hold the shutdown up.
    let mut socket = Client::open(&gateway.ws_url(), Some(&token)).await;
    assert_eq!(socket.message().await, json!({ "type": "connection_ack" }));
    socket.subscribe("n", Some(&cursor_of(0))).await;
    let posted = post(&mut conn, member, 1).await;
    assert_eq!(notice_id(&socket.notice("n").await), posted[0]);

    // A mutation that waits on a lock this test holds.
    let mut locker = connect(&db).await;
    locker
        .batch_execute("BEGIN; LOCK TABLE works IN EXCLUSIVE MODE")
        .await
        .unwrap();
    let title = "Finished during the shutdown";
    let in_flight = tokio::spawn({
        let (client, url, token) = (client.clone(), gateway.url("/graphql"), token.clone());
        async move { post_graphql(&client, &url, Some(&token), PUBLISH, work(title)).await }
    });
    eventually(
        Duration::from_secs(10),
        "the mutation waits on the lock",
        || {
            let db = db.clone();
            async move {
                let mut conn = connect(&db).await;
                let waiting: Id = diesel::sql_query(
                    "SELECT count(*) AS id FROM pg_stat_activity \
                 WHERE application_name = 'portico' AND wait_event_type = 'Lock'",
                )
                .get_result(&mut conn)
                .await
                .unwrap();
                waiting.id >= 1
            }
        },
    )
    .await;

    // SIGTERM: new connections are refused at once, while the request is still in flight.
    gateway.terminate();
    let terminated = Instant::now();
    let addr = gateway.addr;
    eventually(
        Duration::from_secs(5),
        "new connections are refused",
        || async move { tokio::net::TcpStream::connect(addr).await.is_err() },
    )
    .await;
    assert_eq!(socket.closed().await, (1001, "Server shutting down".into()));
    assert!(
        !in_flight.is_finished(),
        "the request still waits on the lock"
    );
    assert!(
        gateway.running(),
        "the gateway waits for its in-flight request"
    );

    // The lock goes: the request completes with success and its effect is committed.
    locker.batch_execute("COMMIT").await.unwrap();
    let (status, body) = tokio::time::timeout(Duration::from_secs(10), in_flight)
        .await
        .expect("the in-flight request completes")
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["publishWork"]["title"], title, "{body}");
    assert_eq!(works_titled(&mut conn, title).await, 1);

    // And the process exits 0, in bounded time.
    let exit = gateway
        .exited_within(Duration::from_secs(15))
        .await
        .expect("the gateway exits in time");
    assert!(exit.success(), "exit status {exit}:\n{}", gateway.log());
    eprintln!(
        "the gateway exited {:?} after SIGTERM",
        terminated.elapsed()
    );
}
