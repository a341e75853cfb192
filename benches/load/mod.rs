//! Shared by the HTTP load benches (`nested` and `compare`): the bench database and the gateway served
//! in-process, the queries, and a closed-loop load driver that measures every request at the client.

// Each bench binary uses a part of this module.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use portico::config::Config;
use portico::state::AppState;

/// The web client's feed, as the issue describes it: 20 works, each with its author, tags, collection count
/// and whether the viewer collected it.
pub const NESTED: &str = "query Nested { works(first: 20) { edges { cursor node { id title coverUrl tags \
    author { id username avatarUrl } collectionCount viewerHasCollected } } pageInfo { hasNextPage endCursor } } }";
/// A small query that touches two tables.
pub const POLICY: &str = "query PrivacyPolicy { privacyPolicy { version publishedAt purposes { key title \
    description required dataCategories recipients } } }";
/// The word the search scenario looks for: a tag of the demonstration data (`src/demo/words.rs`) that is also
/// part of many usernames, so a page holds works, articles and members.
pub const SEARCH_TERM: &str = "bru";
/// A search page of 20 hits of every kind, with what a results list shows of each.
pub const SEARCH: &str = "query Search { search(query: \"bru\", first: 20) { edges { cursor node { __typename \
    ... on Work { id title coverUrl author { id username } } ... on Article { id title author { id username } } \
    ... on User { id username avatarUrl } } } pageInfo { hasNextPage endCursor } } }";

pub fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The bench database's URL (`PORTICO_BENCH_DATABASE_URL`, default `portico_bench` on the local server).
pub fn database_url() -> String {
    std::env::var("PORTICO_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/portico_bench".into())
}

/// The gateway serving the bench database, and a signed-in demonstration member.
pub struct Portico {
    pub state: AppState,
    pub endpoint: String,
    pub access_token: String,
    pub account_id: i64,
    pub session_id: i64,
    pub loaded: String,
}

/// Migrates the bench database, loads the demonstration data (loading again adds nothing), starts the gateway on
/// a loopback port with a pool of `PORTICO_BENCH_POOL_SIZE` (default 4), and opens a session for a demonstration
/// member who collected some of the feed's works.
pub async fn start_portico(url: &str) -> anyhow::Result<Portico> {
    let mut config = Config::for_database(url);
    config.pool_size = env_or("PORTICO_BENCH_POOL_SIZE", 4);
    let state = AppState::start(config)
        .await
        .context("preparing the bench database")?;
    let report = portico::demo::load(&state.pool).await?;
    let mut conn = state.pool.get().await?;
    let account = member_id(&mut conn).await?;
    let tokens = state
        .accounts
        .open_session(
            &mut conn,
            account,
            "bench",
            Some("bench"),
            &Default::default(),
        )
        .await?;
    drop(conn);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let serving = state.clone();
    tokio::spawn(async move {
        let stop = serving.shutdown.clone();
        let _ =
            portico::app::serve_on(listener, serving, async move { stop.cancelled().await }).await;
    });
    Ok(Portico {
        state,
        endpoint: format!("http://{addr}/graphql"),
        access_token: tokens.access_token,
        account_id: tokens.account_id,
        session_id: tokens.session_id,
        loaded: report.to_string(),
    })
}

/// The member who collected the most of the feed's first 20 works (so `viewerHasCollected` is true for some of
/// them), or the first demonstration member.
async fn member_id(conn: &mut diesel_async::AsyncPgConnection) -> anyhow::Result<i64> {
    use diesel::OptionalExtension;
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let collector: Option<Id> = diesel::sql_query(
        "SELECT c.account_id AS id FROM collections c \
         JOIN (SELECT id FROM works WHERE published_at IS NOT NULL AND deleted_at IS NULL \
               ORDER BY published_at DESC, id DESC LIMIT 20) w ON w.id = c.work_id \
         JOIN accounts a ON a.id = c.account_id AND a.status = 'active' \
         GROUP BY c.account_id ORDER BY count(*) DESC, c.account_id LIMIT 1",
    )
    .get_result(conn)
    .await
    .optional()?;
    if let Some(c) = collector {
        return Ok(c.id);
    }
    let first = &portico::demo::generate().users[0].username;
    let row: Id = diesel::sql_query("SELECT id FROM accounts WHERE lower(username) = lower($1)")
        .bind::<diesel::sql_types::Text, _>(first)
        .get_result(conn)
        .await?;
    Ok(row.id)
}

/// What one timed run measured.
pub struct Outcome {
    pub requests: usize,
    pub errors: usize,
    pub elapsed: Duration,
    /// Sorted.
    pub latencies_us: Vec<u32>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile_ms(&self, per_mille: usize) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = (self.latencies_us.len() * per_mille / 1000).min(self.latencies_us.len() - 1);
        self.latencies_us[i] as f64 / 1000.0
    }

    /// A Markdown table row: requests, req/s, p50, p99, p99.9 (ms), errors.
    pub fn row(&self, label: &str) -> String {
        Measured::from(self).row(label)
    }
}

/// The header of the table [`Outcome::row`] writes.
pub const TABLE_HEADER: &str = "| scenario | requests | req/s | p50 ms | p99 ms | p99.9 ms | errors |\n\
                                |---|---:|---:|---:|---:|---:|---:|";

/// The JSON body of a query.
pub fn body_of(query: &str) -> Arc<Vec<u8>> {
    Arc::new(serde_json::to_vec(&serde_json::json!({ "query": query })).expect("JSON"))
}

fn request(
    client: &reqwest::Client,
    endpoint: &str,
    body: &Arc<Vec<u8>>,
    bearer: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut req = client
        .post(endpoint)
        .header("content-type", "application/json")
        .body(body.as_ref().clone());
    if let Some(t) = bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    req
}

/// Sends the query once: the decoded answer (refused when it has errors) and the gateway's `X-Sql-Statements`.
pub async fn post(
    endpoint: &str,
    query: &str,
    bearer: Option<&str>,
) -> anyhow::Result<(serde_json::Value, Option<String>)> {
    let client = reqwest::Client::new();
    let res = request(&client, endpoint, &body_of(query), bearer)
        .send()
        .await
        .with_context(|| format!("POST {endpoint}"))?;
    let status = res.status();
    let statements = res
        .headers()
        .get("x-sql-statements")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body: serde_json::Value = res.json().await?;
    anyhow::ensure!(
        status.is_success() && body.get("errors").is_none(),
        "the query failed ({status}): {body}"
    );
    Ok((body, statements))
}

/// `connections` tasks send the query back to back on one shared client (one keep-alive connection each) until
/// `duration` has passed. A request counts as an error unless it answers 2xx with `data` and no `errors`.
pub async fn drive(
    endpoint: &str,
    query: &str,
    bearer: Option<&str>,
    connections: usize,
    duration: Duration,
) -> Outcome {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()
        .expect("client");
    let body = body_of(query);
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (client, body, endpoint) = (client.clone(), body.clone(), endpoint.to_string());
            let bearer = bearer.map(str::to_string);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(4096);
                let mut errors = 0usize;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let ok = match request(&client, &endpoint, &body, bearer.as_deref())
                        .send()
                        .await
                    {
                        Ok(res) if res.status().is_success() => res.bytes().await.is_ok_and(|b| {
                            b.starts_with(b"{\"data\"")
                                && !b.windows(9).any(|w| w == b"\"errors\":")
                        }),
                        _ => false,
                    };
                    latencies.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    errors += usize::from(!ok);
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("load task");
        latencies_us.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies_us.sort_unstable();
    Outcome {
        requests: latencies_us.len(),
        errors,
        elapsed,
        latencies_us,
    }
}

/// The key of a Portico global id of `kind` (`"Work"`, `"User"`, ...).
pub fn portico_key(id: &serde_json::Value, kind: &str) -> Option<i64> {
    let (k, key) = portico::graphql::ids::decode(id.as_str()?)?;
    (k == kind).then(|| key.parse().ok()).flatten()
}

/// What one timed run measured, whichever driver ran it.
pub struct Measured {
    pub requests: u64,
    pub errors: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
}

impl From<&Outcome> for Measured {
    fn from(o: &Outcome) -> Measured {
        Measured {
            requests: o.requests as u64,
            errors: o.errors as u64,
            per_second: o.per_second(),
            p50_ms: o.percentile_ms(500),
            p99_ms: o.percentile_ms(990),
            p999_ms: o.percentile_ms(999),
        }
    }
}

impl Measured {
    /// A Markdown table row: requests, req/s, p50, p99, p99.9 (ms), errors.
    pub fn row(&self, label: &str) -> String {
        format!(
            "| {label} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            self.requests, self.per_second, self.p50_ms, self.p99_ms, self.p999_ms, self.errors
        )
    }
}

/// The load driver outside every server's process: `wrk` (Debian's package `wrk`), with `threads` threads and
/// `connections` keep-alive connections for `seconds`. A request counts as an error when it fails or answers
/// other than 2xx/3xx; wrk does not read the answers' bodies (a body hook would slow the driver down), so
/// callers check the answers before timing.
pub fn wrk(
    endpoint: &str,
    query: &str,
    bearer: Option<&str>,
    connections: usize,
    threads: usize,
    seconds: u64,
) -> anyhow::Result<Measured> {
    let body = String::from_utf8(body_of(query).to_vec())?;
    anyhow::ensure!(!body.contains("]==]"), "the body cannot be quoted for Lua");
    let auth = bearer
        .map(|t| format!("wrk.headers[\"Authorization\"] = \"Bearer {t}\"\n"))
        .unwrap_or_default();
    let script = format!(
        "wrk.method = \"POST\"\nwrk.body = [==[{body}]==]\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
         {auth}function done(summary, latency, requests)\n  local e = summary.errors\n  \
         io.write(string.format(\"portico-wrk %d %d %d %d %d %d\\n\", summary.requests, \
         e.connect + e.read + e.write + e.status + e.timeout, summary.duration, latency:percentile(50), \
         latency:percentile(99), latency:percentile(99.9)))\nend\n"
    );
    let path = std::env::temp_dir().join(format!("portico-wrk-{}.lua", std::process::id()));
    std::fs::write(&path, script)?;
    let out = std::process::Command::new("wrk")
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("--timeout")
        .arg("5s")
        .arg("-s")
        .arg(&path)
        .arg(endpoint)
        .stdin(std::process::Stdio::null())
        .output()
        .context("running wrk (install it: `apt-get install wrk`)")?;
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("portico-wrk "))
        .with_context(|| format!("no summary in wrk's output: {text}"))?;
    let n: Vec<f64> = line
        .split_whitespace()
        .map(|v| v.parse())
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(n.len() == 6, "wrk's summary is `{line}`");
    Ok(Measured {
        requests: n[0] as u64,
        errors: n[1] as u64,
        per_second: n[0] / (n[2] / 1e6),
        p50_ms: n[3] / 1000.0,
        p99_ms: n[4] / 1000.0,
        p999_ms: n[5] / 1000.0,
    })
}

/// Whether `wrk` can be run.
pub fn wrk_installed() -> bool {
    std::process::Command::new("wrk")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}
