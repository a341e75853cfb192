//! PostgreSQL stopped and started while requests and a subscription run.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel_async::RunQueryDsl;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{
    Cluster, PUBLISH, account, connect, eventually, http, instance, post_graphql, status_of,
    unclean, work,
};
use crate::harness::TestServer;
use crate::realtime::{Client, DECLARE, cursor_of, incident_input, notice_id, post};

const FEED: &str =
    "query Feed { works(first: 5) { edges { node { id title author { username } } } } }";
const VIEWER: &str = "query Me { viewer { username } }";

/// What the load was answered.
#[derive(Default)]
struct Tally {
    /// Titles of the works whose `publishWork` answered success.
    published: Vec<String>,
    /// Titles of every `publishWork` sent.
    attempted: Vec<String>,
    /// Requests that answered success / a clean failure.
    ok: usize,
    failed: usize,
    /// Answers that were neither a success nor a clean failure.
    unclean: Vec<String>,
}

/// One client sending a mutation, a visitor query and a signed-in query, over and over, until `stop`.
async fn load(
    url: String,
    token: String,
    writer: usize,
    tally: Arc<Mutex<Tally>>,
    stop: CancellationToken,
) {
    let http = http();
    let mut i = 0;
    while !stop.is_cancelled() {
        i += 1;
        let title = format!("Load {writer}-{i}");
        tally.lock().unwrap().attempted.push(title.clone());
        let answers = [
            (
                Some(title.clone()),
                post_graphql(&http, &url, Some(&token), PUBLISH, work(&title)).await,
            ),
            (None, post_graphql(&http, &url, None, FEED, json!({})).await),
            (
                None,
                post_graphql(&http, &url, Some(&token), VIEWER, json!({})).await,
            ),
        ];
        {
            let mut t = tally.lock().unwrap();
            for (title, answer) in answers {
                match answer {
                    Ok((200, body)) if body["errors"].is_null() && body["data"].is_object() => {
                        t.ok += 1;
                        if let Some(title) = title {
                            assert_eq!(body["data"]["publishWork"]["title"], title.as_str());
                            t.published.push(title);
                        }
                    }
                    Ok((status, body)) => match unclean(status, &body) {
                        None => t.failed += 1,
                        Some(why) => t.unclean.push(why),
                    },
                    Err(e) => t.unclean.push(format!("no answer: {e}")),
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_stopped_and_started_under_requests_and_a_subscription() {
    let cluster = Cluster::start().await;
    let db = cluster.url();
    let state = instance(&db);
    let server = TestServer::start(state.clone()).await;
    let graphql = server.http_url("/graphql");
    let readyz = server.http_url("/readyz");
    let client = http();
    let mut conn = connect(&db).await;
    let (member, token) = account(&state, &mut conn, "member", "user").await;
    let (_, officer) = account(&state, &mut conn, "officer", "staff").await;

    // A subscriber that has received two notices.
    let mut subscriber = Client::connect(&server, Some(&token)).await;
    subscriber.subscribe("n", Some(&cursor_of(0))).await;
    let before = post(&mut conn, member, 2).await;
    let got: Vec<i64> = subscriber
        .notices("n", 2)
        .await
        .iter()
        .map(notice_id)
        .collect();
    assert_eq!(got, before);
    drop(conn);

    // Two clients keep sending requests.
    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = CancellationToken::new();
    let loads: Vec<_> = (0..2)
        .map(|w| {
            tokio::spawn(load(
                graphql.clone(),
                token.clone(),
                w,
                tally.clone(),
                stop.clone(),
            ))
        })
        .collect();
    let published = || tally.lock().unwrap().published.len();
    let failed = || tally.lock().unwrap().failed;
    eventually(
        Duration::from_secs(20),
        "requests succeed before the fault",
        || {
            let n = published();
            async move { n >= 6 }
        },
    )
    .await;

    // The database goes away.
    cluster.stop().await;
    let stopped_at = Instant::now();
    let failed_before = failed();
    eventually(Duration::from_secs(10), "/readyz answers 503", || {
        let (client, readyz) = (client.clone(), readyz.clone());
        async move { status_of(&client, &readyz).await == 503 }
    })
    .await;
    eventually(
        Duration::from_secs(10),
        "requests fail while the database is down",
        || {
            let n = failed();
            async move { n >= failed_before + 9 }
        },
    )
    .await;
    // A signed-in mutation and a visitor query, one by one: clean failures.
    for (token, query, variables) in [
        (Some(token.as_str()), PUBLISH, work("While down")),
        (None, FEED, json!({})),
    ] {
        let (status, body) = post_graphql(&client, &graphql, token, query, variables)
            .await
            .unwrap();
        assert_eq!(unclean(status, &body), None, "a clean failure");
    }
    let ready: Value = client
        .get(&readyz)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["database"], false, "{ready}");
    // A socket opened now cannot be checked: closed with 4500 (the client retries), no detail.
    let mut late = Client::open(&server.ws_url(), Some(&token)).await;
    assert_eq!(late.closed().await, (4500, "Internal server error".into()));
    eventually(
        Duration::from_secs(20),
        "the listener notices the loss",
        || {
            let connected = state.broker.is_connected();
            async move { !connected }
        },
    )
    .await;
    let down_for = stopped_at.elapsed();

    // It comes back. Notices are posted as soon as the database answers, likely before the listener is back
    // (their NOTIFY then reaches no listener; its reconnection re-reads from the table).
    cluster.start_again().await;
    let recovered = eventually(Duration::from_secs(10), "/readyz answers 200 again", || {
        let (client, readyz) = (client.clone(), readyz.clone());
        async move { status_of(&client, &readyz).await == 200 }
    })
    .await;
    let mut conn = connect(&db).await;
    let (status, declared) = post_graphql(
        &client,
        &graphql,
        Some(&officer),
        DECLARE,
        json!({ "input": incident_input("After the outage", json!({ "all": true })) }),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    let incident = declared["data"]["declareIncident"]["id"].clone();
    assert!(incident.is_string(), "{declared}");
    let social = post(&mut conn, member, 1).await;

    // Requests succeed again, and once they do, all of them.
    let published_then = published();
    eventually(Duration::from_secs(10), "requests succeed again", || {
        let n = published();
        async move { n > published_then }
    })
    .await;
    let (failed_then, published_then) = (failed(), published());
    eventually(Duration::from_secs(10), "more requests succeed", || {
        let n = published();
        async move { n >= published_then + 6 }
    })
    .await;
    assert_eq!(failed(), failed_then, "no failure once recovered");
    stop.cancel();
    for l in loads {
        l.await.unwrap();
    }
    let tally = Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap();
    assert!(
        tally.unclean.is_empty(),
        "unclean answers: {:#?}",
        tally.unclean
    );
    assert!(tally.failed > 0);

    // Every mutation that answered success is in the database, and nothing that was never sent.
    #[derive(diesel::QueryableByName)]
    struct Title {
        #[diesel(sql_type = diesel::sql_types::Text)]
        title: String,
    }
    let stored: HashSet<String> = diesel::sql_query("SELECT title FROM works")
        .load::<Title>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.title)
        .collect();
    let attempted: HashSet<&String> = tally.attempted.iter().collect();
    for title in &tally.published {
        assert!(
            stored.contains(title),
            "`{title}` answered success but is not stored"
        );
    }
    for title in &stored {
        assert!(attempted.contains(title), "`{title}` was never sent");
    }

    // The subscriber that stayed connected gets the notices posted after the recovery: once each, in order.
    let first = subscriber.notice("n").await;
    assert_eq!(first["incident"]["id"], incident);
    assert!(notice_id(&first) > before[1]);
    assert_eq!(notice_id(&subscriber.notice("n").await), social[0]);
    assert!(
        subscriber.quiet_for(Duration::from_millis(300)).await,
        "nothing twice"
    );
    let ready: Value = client
        .get(&readyz)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["listener"], true, "{ready}");
    eprintln!(
        "database down {down_for:?}, ready {recovered:?} after its restart; {} requests succeeded, {} failed \
         cleanly; {} works published, {} stored",
        tally.ok,
        tally.failed,
        tally.published.len(),
        stored.len()
    );
    server.shutdown().await;
}
