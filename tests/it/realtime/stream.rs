//! The notification stream: replay after a cursor then live, concurrent writers, reconnects, slow subscribers,
//! token expiry, delivery tracking, the paged list and acknowledgement.

use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Nullable, Timestamptz};
use diesel_async::RunQueryDsl;
use serde_json::json;

use super::{Client, account_of, code, cursor_of, ids_of, notice_id, post};
use crate::harness::TestApp;

#[derive(diesel::QueryableByName)]
struct Delivered {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    delivered_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[tokio::test]
async fn replays_after_the_cursor_then_streams_live_and_records_delivery() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let (token, _) = app.register("mei", "+8613800138001").await;
    let (account, _) = account_of(&app.state, &token);
    let mut conn = app.db.conn().await;
    let posted = post(&mut conn, account, 3).await;

    let mut client = Client::connect(&server, Some(&token)).await;
    client.subscribe("n", Some(&cursor_of(posted[0]))).await;
    let replayed = client.notices("n", 2).await;
    assert_eq!(ids_of(&replayed), posted[1..]);
    assert_eq!(replayed[0]["kind"], "SOCIAL");
    assert_eq!(replayed[0]["title"], "Notice 1");
    assert_eq!(replayed[0]["cursor"], cursor_of(posted[1]));
    assert!(replayed[0]["incident"].is_null());

    let live = post(&mut conn, account, 1).await;
    assert_eq!(notice_id(&client.notice("n").await), live[0]);
    assert!(client.quiet_for(Duration::from_millis(300)).await);

    // Every notice that went out is marked delivered (in batches); the one skipped by the cursor is not.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows: Vec<Delivered> =
            diesel::sql_query("SELECT id, delivered_at FROM notifications ORDER BY id")
                .load(&mut conn)
                .await
                .unwrap();
        let delivered: Vec<i64> = rows
            .iter()
            .filter(|r| r.delivered_at.is_some())
            .map(|r| r.id)
            .collect();
        if delivered == [posted[1], posted[2], live[0]] {
            break;
        }
        assert!(Instant::now() < deadline, "deliveries: {delivered:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Without a cursor a new subscription starts at the oldest notice never delivered: the skipped one.
    let mut other = Client::connect(&server, Some(&token)).await;
    other.subscribe("m", None).await;
    let from_oldest_undelivered = other.notices("m", 4).await;
    assert_eq!(
        ids_of(&from_oldest_undelivered),
        [posted[0], posted[1], posted[2], live[0]]
    );
}

#[tokio::test]
async fn concurrent_writes_during_the_replay_leave_no_gap_and_no_duplicate() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let (token, _) = app.register("writer", "+8613800138002").await;
    let (account, _) = account_of(&app.state, &token);
    let mut conn = app.db.conn().await;
    let mut expected = post(&mut conn, account, 100).await;

    // Four writers on four connections insert 200 more while the subscriber connects and replays.
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let url = app.db.url.clone();
            tokio::spawn(async move {
                let mut conn =
                    <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(
                        &url,
                    )
                    .await
                    .unwrap();
                post(&mut conn, account, 50).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut client = Client::connect(&server, Some(&token)).await;
    client.subscribe("n", Some(&cursor_of(0))).await;
    for writer in writers {
        expected.extend(writer.await.unwrap());
    }
    expected.sort_unstable();
    assert_eq!(expected.len(), 300);

    let received = ids_of(&client.notices("n", 300).await);
    assert_eq!(received, expected, "every notice, once, in order");
    assert!(client.quiet_for(Duration::from_millis(500)).await);
}

#[tokio::test]
async fn reconnecting_with_a_cursor_gets_exactly_what_was_missed() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let (token, _) = app.register("traveller", "+8613800138003").await;
    let (account, _) = account_of(&app.state, &token);
    let mut conn = app.db.conn().await;

    let mut client = Client::connect(&server, Some(&token)).await;
    client.subscribe("n", None).await;
    let first = post(&mut conn, account, 2).await;
    let seen = client.notices("n", 2).await;
    assert_eq!(ids_of(&seen), first);
    let resume = seen[1]["cursor"].as_str().unwrap().to_string();
    drop(client);

    // Offline: three notices arrive.
    let missed = post(&mut conn, account, 3).await;
    let mut client = Client::connect(&server, Some(&token)).await;
    client.subscribe("n", Some(&resume)).await;
    assert_eq!(ids_of(&client.notices("n", 3).await), missed);
    let live = post(&mut conn, account, 1).await;
    assert_eq!(notice_id(&client.notice("n").await), live[0]);
    assert!(client.quiet_for(Duration::from_millis(300)).await);
}

#[tokio::test]
async fn a_slow_subscriber_does_not_hold_up_the_others() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let (slow_token, _) = app.register("slowpoke", "+8613800138004").await;
    let (fast_token, _) = app.register("quick", "+8613800138005").await;
    let (slow, _) = account_of(&app.state, &slow_token);
    let (fast, _) = account_of(&app.state, &fast_token);

    // The slow client subscribes and then stops reading its socket.
    let mut stalled = Client::connect(&server, Some(&slow_token)).await;
    stalled.subscribe("n", Some(&cursor_of(0))).await;
    let mut quick = Client::connect(&server, Some(&fast_token)).await;
    quick.subscribe("n", Some(&cursor_of(0))).await;

    // Enough for the slow client (8 MB in 2,000 notices of 4 KB) to fill both socket buffers and stall its
    // operation; one notice to the quick client after every batch.
    let mut conn = app.db.conn().await;
    let big = "x".repeat(4096);
    let started = Instant::now();
    for batch in 0..20 {
        diesel::sql_query(format!(
            "WITH w AS (INSERT INTO notifications (account_id, kind, title, body) \
               SELECT {slow}, 'social', 'Bulk ' || g, '{big}' FROM generate_series(1, 100) g RETURNING 1) \
             SELECT pg_notify('portico', 'notification:{slow}') FROM (SELECT count(*) FROM w) c"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
        let ids = post(&mut conn, fast, 1).await;
        assert_eq!(notice_id(&quick.notice("n").await), ids[0], "batch {batch}");
    }
    let quick_time = started.elapsed();
    println!(
        "the quick subscriber got its 20 notices in {quick_time:?} while the slow one was stalled"
    );
    assert!(quick_time < Duration::from_secs(15), "{quick_time:?}");
    // The slow one really is stalled: most of its notices have not gone out.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent: Vec<Delivered> = diesel::sql_query(format!(
        "SELECT id, delivered_at FROM notifications WHERE account_id = {slow} AND delivered_at IS NOT NULL"
    ))
    .load(&mut conn)
    .await
    .unwrap();
    println!(
        "{} of 2,000 notices went out to the stalled subscriber",
        sent.len()
    );
    assert!(sent.len() < 1500, "{}", sent.len());

    // 5,000 unrelated events overflow the broadcast behind the stalled subscription (it lags), then one more
    // notice for it.
    diesel::sql_query("SELECT pg_notify('portico', 'noise:' || g) FROM generate_series(1, 5000) g")
        .execute(&mut conn)
        .await
        .unwrap();
    let final_notice = post(&mut conn, slow, 1).await;

    // The slow client catches up, in order, with nothing lost or repeated.
    let mut last = 0;
    for _ in 0..2001 {
        let id = notice_id(&stalled.notice("n").await);
        assert!(id > last, "{id} after {last}");
        last = id;
    }
    assert_eq!(last, final_notice[0]);
    assert!(stalled.quiet_for(Duration::from_millis(300)).await);
}

#[tokio::test]
async fn an_expiring_token_closes_the_socket_with_4403_and_the_client_resumes() {
    let app = TestApp::new().await;
    let server = app.serve().await;
    let (token, _) = app.register("expiring", "+8613800138006").await;
    let (account, session) = account_of(&app.state, &token);
    // A token of the same session that expires three seconds from now (signed as if issued 15 minutes ago).
    let now = chrono::Utc::now().timestamp();
    let ttl = portico::accounts::tokens::ACCESS_TTL_SECONDS;
    let (short, exp) = app
        .state
        .accounts
        .tokens
        .issue(account, session, now - ttl + 3);
    assert_eq!(exp, now + 3);

    let mut client = Client::connect(&server, Some(&short)).await;
    client.subscribe("n", None).await;
    let mut conn = app.db.conn().await;
    let first = post(&mut conn, account, 1).await;
    let got = client.notice("n").await;
    assert_eq!(notice_id(&got), first[0]);
    let started = Instant::now();
    let (code, reason) = client.closed().await;
    assert_eq!(code, 4403, "{reason}");
    assert!(reason.contains("expired"), "{reason}");
    assert!(started.elapsed() < Duration::from_secs(6));

    // Meanwhile a notice arrives; with a fresh token the client resumes from its cursor and gets it.
    let missed = post(&mut conn, account, 1).await;
    let mut client = Client::connect(&server, Some(&token)).await;
    client
        .subscribe("n", Some(got["cursor"].as_str().unwrap()))
        .await;
    assert_eq!(notice_id(&client.notice("n").await), missed[0]);
    // An expired token is refused outright.
    let mut refused = Client::open(&server.ws_url(), Some(&short)).await;
    let (code, _) = refused.closed().await;
    assert_eq!(code, 4403);
}

#[tokio::test]
async fn notice_ids_become_visible_in_commit_order() {
    let app = TestApp::new().await;
    let (token, _) = app.register("ordered", "+8613800138009").await;
    let (account, _) = account_of(&app.state, &token);
    let mut a = app.db.conn().await;
    let mut b = app.db.conn().await;
    // A writes a notice and keeps its transaction open.
    diesel::sql_query("BEGIN").execute(&mut a).await.unwrap();
    let first = post(&mut a, account, 1).await;
    // B's notice waits for A's commit, so its (larger) id cannot become visible before A's.
    let writer = tokio::spawn(async move { post(&mut b, account, 1).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!writer.is_finished(), "a second writer waits for the first");
    diesel::sql_query("COMMIT").execute(&mut a).await.unwrap();
    let second = tokio::time::timeout(Duration::from_secs(5), writer)
        .await
        .expect("the second writer proceeds after the commit")
        .unwrap();
    assert!(second[0] > first[0]);
    // And `first` beyond 100 is refused.
    let (_, body) = app
        .graphql_as(
            &token,
            "{ viewer { notifications(first: 101) { edges { cursor } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
}
