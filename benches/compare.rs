//! Portico against PostGraphile 4 on the same database, machine and data, and the raw PostgreSQL ceiling for
//! the same SQL: `cargo bench --bench compare`.
//!
//! 1. Prepares the bench database as `nested` does (migrations, demonstration data) and serves Portico in this
//!    process (release build, mimalloc, a pool of `PORTICO_BENCH_POOL_SIZE`, default 4).
//! 2. Applies `benches/postgraphile/functions.sql` to the bench database (the schema `postgraphile_bench`:
//!    views with Portico's visibility rules, computed columns, `search`), runs `npm ci` in
//!    `benches/postgraphile` when its `node_modules` is missing, and starts `node benches/postgraphile/server.js`
//!    on another loopback port with the same pool size and session settings, JWT verification and no query log.
//! 3. Checks that both servers answer each query with the same data (the same 20 works in the same order with
//!    the same fields, the same policy, the same search hits), so the timed runs compare equal work.
//! 4. For each query: warms both servers up, then measures them alternately with the same load driver for
//!    `PORTICO_BENCH_ROUNDS` rounds, and prints requests/s, p50/p99/p99.9 and errors per server, the
//!    Portico/PostGraphile throughput ratio, both p99s and Portico's SQL statements per request (medians over
//!    the rounds). The driver is `wrk -t2 -c32` (`PORTICO_BENCH_THREADS`, `PORTICO_BENCH_CONNECTIONS`,
//!    `PORTICO_BENCH_SECONDS` each), a process of its own, so it takes no CPU from the gateway's runtime as an
//!    in-process driver does; `PORTICO_BENCH_DRIVER=inprocess` uses the older in-process reqwest driver.
//! 5. Stops PostGraphile and runs pgbench (`-n -M prepared -c 32 -j 2`, `PGBENCH_CLIENTS`, `PGBENCH_THREADS`)
//!    with `benches/pgbench/*.sql`: the statements Portico issues for one request of each query, one pgbench
//!    transaction per request, on connections with Portico's session settings; the gateway's share is Portico's
//!    requests/s over pgbench's transactions/s. `PORTICO_BENCH_PGBENCH=0` skips it.
//!
//! Other knobs: `POSTGRAPHILE_WORKERS` (node processes, default 1), `POSTGRAPHILE_POOL_SIZE` (connections per
//! process, default Portico's pool size), `PORTICO_BENCH_WARMUP` (seconds, default 2).

#[path = "load/mod.rs"]
mod load;

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use load::{Measured, NESTED, POLICY, SEARCH, SEARCH_TERM, env_or, portico_key};
use serde_json::{Value, json};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// PostGraphile's form of [`NESTED`]: the view `postgraphile_bench.works` holds the published, non-deleted
/// works, ordered as Portico orders its feed.
const PG_NESTED: &str = "query Nested { allWorks(first: 20, orderBy: [PUBLISHED_AT_DESC, ID_DESC]) { edges { \
    cursor node { nodeId title coverUrl tags author { nodeId username avatarUrl } collectionCount \
    viewerHasCollected } } pageInfo { hasNextPage endCursor } } }";
/// PostGraphile's form of [`POLICY`].
const PG_POLICY: &str = "query PrivacyPolicy { privacyPolicy { version publishedAt purposes(orderBy: \
    POSITION_ASC) { nodes { key title description required dataCategories recipients } } } }";
/// PostGraphile's form of [`SEARCH`].
const PG_SEARCH: &str = "query Search { search(q: \"bru\", first: 20) { edges { cursor node { kind \
    work { nodeId title coverUrl author { nodeId username } } article { nodeId title author { nodeId username } } \
    user { nodeId username avatarUrl } } } pageInfo { hasNextPage endCursor } } }";

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Policy,
    Nested,
    Search,
}

struct Query {
    name: &'static str,
    kind: Kind,
    portico: &'static str,
    postgraphile: &'static str,
    signed_in: bool,
    pgbench: &'static str,
}

const QUERIES: [Query; 3] = [
    Query {
        name: "privacyPolicy, visitor",
        kind: Kind::Policy,
        portico: POLICY,
        postgraphile: PG_POLICY,
        signed_in: false,
        pgbench: "privacy_policy.sql",
    },
    Query {
        name: "nested (20 works), signed in",
        kind: Kind::Nested,
        portico: NESTED,
        postgraphile: PG_NESTED,
        signed_in: true,
        pgbench: "nested.sql",
    },
    Query {
        name: "search \"bru\" (20 hits), visitor",
        kind: Kind::Search,
        portico: SEARCH,
        postgraphile: PG_SEARCH,
        signed_in: false,
        pgbench: "search.sql",
    },
];

/// What the checks learned about one query: the statements Portico issued and the pgbench variables.
struct Checked {
    statements: String,
    pgbench_vars: Vec<(String, String)>,
}

struct Settings {
    seconds: u64,
    warmup: u64,
    connections: usize,
    threads: usize,
    rounds: usize,
    /// `wrk` in its own process, or the in-process reqwest driver.
    wrk: bool,
}

impl Settings {
    /// One run of `query` against `endpoint` for `seconds`.
    fn run(
        &self,
        rt: &tokio::runtime::Runtime,
        endpoint: &str,
        query: &str,
        bearer: Option<&str>,
        seconds: u64,
    ) -> anyhow::Result<Measured> {
        if self.wrk {
            load::wrk(
                endpoint,
                query,
                bearer,
                self.connections,
                self.threads,
                seconds,
            )
        } else {
            let o = rt.block_on(load::drive(
                endpoint,
                query,
                bearer,
                self.connections,
                Duration::from_secs(seconds),
            ));
            Ok(Measured::from(&o))
        }
    }
}

fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches")
}

fn main() -> anyhow::Result<()> {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let url = load::database_url();
    let settings = Settings {
        seconds: env_or("PORTICO_BENCH_SECONDS", 10),
        warmup: env_or("PORTICO_BENCH_WARMUP", 2),
        connections: env_or("PORTICO_BENCH_CONNECTIONS", 32),
        threads: env_or("PORTICO_BENCH_THREADS", 2),
        rounds: env_or("PORTICO_BENCH_ROUNDS", 1usize).max(1),
        wrk: std::env::var("PORTICO_BENCH_DRIVER").as_deref() != Ok("inprocess"),
    };
    ensure!(
        !settings.wrk || load::wrk_installed(),
        "the load driver wrk is not installed: `apt-get install wrk` (or PORTICO_BENCH_DRIVER=inprocess)"
    );

    let portico = server_rt.block_on(load::start_portico(&url))?;
    println!("bench database: {}", portico.loaded);
    let pool_size = portico.state.config.pool_size;
    server_rt.block_on(apply_postgraphile_sql(&portico.state.pool))?;

    ensure_node_modules()?;
    let workers: usize = env_or("POSTGRAPHILE_WORKERS", 1);
    let pg_pool: usize = env_or("POSTGRAPHILE_POOL_SIZE", pool_size);
    let secret: String = rand::random::<[u8; 32]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let postgraphile = PostGraphile::start(&url, &secret, workers, pg_pool)?;
    client_rt.block_on(postgraphile.wait_ready())?;
    let pg_token = postgraphile_token(&secret, portico.account_id)?;

    println!(
        "\nPortico at {} (pool {pool_size}); PostGraphile at {} ({workers} node process(es), pool {pg_pool} each); \
         driver {}, {} connections, {} s per run after {} s of warm-up, {} round(s); {} cores shared by both \
         servers, PostgreSQL and the load generator",
        portico.endpoint,
        postgraphile.endpoint,
        if settings.wrk {
            format!("wrk -t{} (its own process)", settings.threads)
        } else {
            "in-process reqwest".to_string()
        },
        settings.connections,
        settings.seconds,
        settings.warmup,
        settings.rounds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let mut checked = Vec::new();
    for q in &QUERIES {
        let c = client_rt.block_on(check_query(q, &portico, &postgraphile.endpoint, &pg_token))?;
        checked.push(c);
    }

    println!("\n{}", load::TABLE_HEADER);
    let mut medians = Vec::new();
    for q in &QUERIES {
        let targets = [
            (
                "Portico",
                portico.endpoint.as_str(),
                q.portico,
                q.signed_in.then_some(portico.access_token.as_str()),
            ),
            (
                "PostGraphile",
                postgraphile.endpoint.as_str(),
                q.postgraphile,
                q.signed_in.then_some(pg_token.as_str()),
            ),
        ];
        for (_, endpoint, query, bearer) in &targets {
            settings.run(&client_rt, endpoint, query, *bearer, settings.warmup)?;
        }
        let mut runs: [Vec<Measured>; 2] = [Vec::new(), Vec::new()];
        for round in 0..settings.rounds {
            // Alternate which server goes first, so neither always runs on a warmer (or busier) machine.
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for i in order {
                let (server, endpoint, query, bearer) = targets[i];
                let m = settings.run(&client_rt, endpoint, query, bearer, settings.seconds)?;
                println!("{}", m.row(&format!("{}: {server}", q.name)));
                runs[i].push(m);
            }
        }
        let [p, g] = runs.map(median);
        medians.push((p, g));
    }

    println!(
        "\nSummary (median of {} round(s)):\n\n| query | Portico req/s | PostGraphile req/s | throughput ratio | \
         Portico p50 / p99 | PostGraphile p50 / p99 | Portico SQL statements per request | errors (Portico / \
         PostGraphile) |\n|---|---:|---:|---:|---:|---:|---:|---:|",
        settings.rounds
    );
    for ((q, c), (p, g)) in QUERIES.iter().zip(&checked).zip(&medians) {
        println!(
            "| {} | {:.0} | {:.0} | {:.2}x | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {} | {} / {} |",
            q.name,
            p.per_second,
            g.per_second,
            p.per_second / g.per_second,
            p.p50_ms,
            p.p99_ms,
            g.p50_ms,
            g.p99_ms,
            c.statements,
            p.errors,
            g.errors
        );
    }
    drop(postgraphile);

    if env_or("PORTICO_BENCH_PGBENCH", 1) != 0 {
        let clients: usize = env_or("PGBENCH_CLIENTS", 32);
        let threads: usize = env_or("PGBENCH_THREADS", 2);
        println!(
            "\nRaw PostgreSQL ceiling: pgbench -n -M prepared -c {clients} -j {threads} -T {}, one transaction = the \
             statements of one Portico request, Portico's session settings (PGOPTIONS)\n\n| query | statements \
             per request | pgbench tps | pgbench latency avg | Portico req/s | gateway's share |\n\
             |---|---:|---:|---:|---:|---:|",
            settings.seconds
        );
        for ((q, c), (p, _)) in QUERIES.iter().zip(&checked).zip(&medians) {
            let (tps, latency) = pgbench(
                &url,
                q.pgbench,
                &c.pgbench_vars,
                clients,
                threads,
                settings.seconds,
            )?;
            println!(
                "| {} | {} | {tps:.0} | {latency} | {:.0} | {:.0}% |",
                q.name,
                c.statements,
                p.per_second,
                100.0 * p.per_second / tps
            );
        }
    }
    portico.state.shutdown.cancel();
    Ok(())
}

/// The run with the median throughput.
fn median(mut runs: Vec<Measured>) -> Measured {
    runs.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
    runs.swap_remove(runs.len() / 2)
}

async fn apply_postgraphile_sql(pool: &portico::db::Pool) -> anyhow::Result<()> {
    use diesel_async::SimpleAsyncConnection;
    let path = bench_dir().join("postgraphile/functions.sql");
    let sql =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut conn = pool.get().await?;
    conn.batch_execute(&sql)
        .await
        .with_context(|| format!("applying {}", path.display()))?;
    Ok(())
}

/// Installs PostGraphile from the lock file when `node_modules` is missing.
fn ensure_node_modules() -> anyhow::Result<()> {
    let dir = bench_dir().join("postgraphile");
    if dir.join("node_modules/postgraphile/package.json").exists() {
        return Ok(());
    }
    eprintln!("installing PostGraphile: npm ci --prefix benches/postgraphile");
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .status();
    match status {
        Ok(s) if s.success() => Ok(()),
        _ => bail!(
            "PostGraphile is not installed and `npm ci` failed: install Node 18+ and npm, then run \
             `npm ci --prefix benches/postgraphile`"
        ),
    }
}

/// The PostGraphile child process; it stops when its standard input closes (on drop, or if this process dies).
struct PostGraphile {
    child: std::process::Child,
    endpoint: String,
}

impl PostGraphile {
    fn start(url: &str, secret: &str, workers: usize, pool: usize) -> anyhow::Result<PostGraphile> {
        let port = match std::env::var("POSTGRAPHILE_PORT") {
            Ok(p) => p.parse()?,
            Err(_) => std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port(),
        };
        let child = Command::new("node")
            .arg(bench_dir().join("postgraphile/server.js"))
            .env("DATABASE_URL", url)
            .env("PORT", port.to_string())
            .env("POSTGRAPHILE_JWT_SECRET", secret)
            .env("POSTGRAPHILE_WORKERS", workers.to_string())
            .env("POSTGRAPHILE_POOL_SIZE", pool.to_string())
            .env("NODE_ENV", "production")
            .stdin(Stdio::piped())
            .spawn()
            .context("starting `node benches/postgraphile/server.js` (is Node installed?)")?;
        Ok(PostGraphile {
            child,
            endpoint: format!("http://127.0.0.1:{port}/graphql"),
        })
    }

    /// Waits until PostGraphile has built its schema and answers.
    async fn wait_ready(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if load::post(&self.endpoint, "{ __typename }", None)
                .await
                .is_ok()
            {
                return Ok(());
            }
            ensure!(
                started.elapsed() < Duration::from_secs(90),
                "PostGraphile did not answer at {} within 90 s",
                self.endpoint
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for PostGraphile {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A JWT PostGraphile verifies (HS256, audience `postgraphile`) and turns into `jwt.claims.account_id`.
fn postgraphile_token(secret: &str, account_id: i64) -> anyhow::Result<String> {
    let claims = json!({
        "account_id": account_id,
        "aud": "postgraphile",
        "exp": chrono::Utc::now().timestamp() + 3600,
    });
    Ok(jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes())?,
    )?)
}

/// The key inside a PostGraphile node id (base64 of `["works", 12]`).
fn postgraphile_key(id: &Value) -> Option<i64> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(id.as_str()?)
        .ok()?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()?
        .get(1)?
        .as_i64()
}

/// A JSON number or a string holding one (PostGraphile sends `BigInt` as a string).
fn int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

fn list_text(v: &Value) -> String {
    v.as_array()
        .map(|ids| {
            let ids: Vec<String> = ids.iter().map(Value::to_string).collect();
            format!("{{{}}}", ids.join(","))
        })
        .unwrap_or_else(|| "{}".into())
}

/// Sends the query to both servers, checks that they answer the same data, and gathers the pgbench variables.
async fn check_query(
    q: &Query,
    portico: &load::Portico,
    pg_endpoint: &str,
    pg_token: &str,
) -> anyhow::Result<Checked> {
    // The first requests may open pooled connections (their setup counts as statements): keep the last count.
    let mut answer = None;
    for _ in 0..3 {
        answer = Some(
            load::post(
                &portico.endpoint,
                q.portico,
                q.signed_in.then_some(portico.access_token.as_str()),
            )
            .await
            .with_context(|| format!("Portico, {}", q.name))?,
        );
    }
    let (p, statements) = answer.expect("answered");
    let (g, _) = load::post(pg_endpoint, q.postgraphile, q.signed_in.then_some(pg_token))
        .await
        .with_context(|| format!("PostGraphile, {}", q.name))?;
    let (ours, theirs, vars) = match q.kind {
        Kind::Policy => (
            policy_of(&p["data"]["privacyPolicy"], false),
            policy_of(&g["data"]["privacyPolicy"], true),
            vec![("one".into(), "1".into())],
        ),
        Kind::Nested => {
            let ours = nested_of(&p["data"]["works"], false);
            let works: Vec<Value> = ours.iter().map(|w| w[0].clone()).collect();
            let authors: BTreeSet<i64> = ours.iter().filter_map(|w| w[4].as_i64()).collect();
            let vars = vec![
                ("account_id".into(), portico.account_id.to_string()),
                ("session_id".into(), portico.session_id.to_string()),
                ("page_limit".into(), "21".into()),
                ("active".into(), "active".into()),
                ("work_ids".into(), list_text(&json!(works))),
                ("author_ids".into(), list_text(&json!(authors))),
            ];
            (ours, nested_of(&g["data"]["allWorks"], true), vars)
        }
        Kind::Search => {
            let ours = search_of(&p["data"]["search"], false);
            let ids_of = |kind: i64| -> Vec<i64> {
                ours.iter()
                    .filter(|h| h[0].as_i64() == Some(kind))
                    .filter_map(|h| h[1].as_i64())
                    .collect()
            };
            let authors: BTreeSet<i64> = ours.iter().filter_map(|h| h[3].as_i64()).collect();
            let tsquery = portico::content::search::prepare(SEARCH_TERM)?;
            let vars = vec![
                ("tsquery".into(), tsquery),
                ("page_limit".into(), "21".into()),
                ("active".into(), "active".into()),
                ("work_ids".into(), list_text(&json!(ids_of(3)))),
                ("article_ids".into(), list_text(&json!(ids_of(2)))),
                ("user_ids".into(), list_text(&json!(ids_of(1)))),
                ("author_ids".into(), list_text(&json!(authors))),
            ];
            (ours, search_of(&g["data"]["search"], true), vars)
        }
    };
    let list = match q.kind {
        Kind::Policy => None,
        Kind::Nested => Some((&p["data"]["works"], &g["data"]["allWorks"])),
        Kind::Search => Some((&p["data"]["search"], &g["data"]["search"])),
    };
    if let Some((a, b)) = list {
        ensure!(
            ours.len() == 20,
            "{}: Portico answered {} items, not 20",
            q.name,
            ours.len()
        );
        let next = |l: &Value| l["pageInfo"]["hasNextPage"].clone();
        let cursor = |l: &Value| l["pageInfo"]["endCursor"].is_string();
        ensure!(
            next(a) == next(b) && cursor(a) && cursor(b),
            "{}: the page infos differ: {} vs {}",
            q.name,
            a["pageInfo"],
            b["pageInfo"]
        );
    }
    ensure!(
        !ours.is_empty(),
        "{}: Portico's answer is empty: {p}",
        q.name
    );
    if ours != theirs {
        let at = ours.iter().zip(&theirs).position(|(a, b)| a != b);
        bail!(
            "{}: PostGraphile's answer differs from Portico's ({} vs {} items; first difference at {at:?}: {:?} vs {:?})",
            q.name,
            ours.len(),
            theirs.len(),
            at.map(|i| &ours[i]),
            at.map(|i| &theirs[i])
        );
    }
    if q.kind == Kind::Nested {
        ensure!(
            ours.iter().any(|w| w[8] == json!(true)),
            "{}: the member collected none of the page, so the answers do not show that PostGraphile reads the \
             viewer from its JWT",
            q.name
        );
    }
    let statements = statements.unwrap_or_else(|| "?".into());
    let extra = match q.kind {
        Kind::Nested => format!(
            ", {} of them collected by the viewer",
            ours.iter().filter(|w| w[8] == json!(true)).count()
        ),
        Kind::Search => {
            let count = |k: i64| ours.iter().filter(|h| h[0].as_i64() == Some(k)).count();
            format!(
                ", {} works, {} articles, {} members",
                count(3),
                count(2),
                count(1)
            )
        }
        Kind::Policy => String::new(),
    };
    println!(
        "checked {}: both servers answer the same {} items{extra}; Portico issues {statements} SQL statements",
        q.name,
        ours.len()
    );
    Ok(Checked {
        statements,
        pgbench_vars: vars,
    })
}

/// The policy as comparable rows: the version, then each purpose.
fn policy_of(policy: &Value, postgraphile: bool) -> Vec<Value> {
    let purposes = if postgraphile {
        &policy["purposes"]["nodes"]
    } else {
        &policy["purposes"]
    };
    let mut rows = vec![policy["version"].clone()];
    for p in purposes.as_array().into_iter().flatten() {
        rows.push(json!([
            p["key"],
            p["title"],
            p["description"],
            p["required"],
            p["dataCategories"],
            p["recipients"]
        ]));
    }
    rows
}

/// The feed page as comparable rows: [work, title, cover, tags, author, username, avatar, count, collected].
fn nested_of(works: &Value, postgraphile: bool) -> Vec<Value> {
    let key = |id: &Value, kind: &str| {
        if postgraphile {
            postgraphile_key(id)
        } else {
            portico_key(id, kind)
        }
    };
    let id = if postgraphile { "nodeId" } else { "id" };
    works["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let n = &e["node"];
            let a = &n["author"];
            json!([
                key(&n[id], "Work"),
                n["title"],
                n["coverUrl"],
                n["tags"],
                key(&a[id], "User"),
                a["username"],
                a["avatarUrl"],
                int(&n["collectionCount"]),
                n["viewerHasCollected"]
            ])
        })
        .collect()
}

/// The search page as comparable rows: [kind (3 work, 2 article, 1 member), id, title or username, author].
fn search_of(search: &Value, postgraphile: bool) -> Vec<Value> {
    let mut rows = Vec::new();
    for e in search["edges"].as_array().into_iter().flatten() {
        let n = &e["node"];
        let row = if postgraphile {
            let kind = n["kind"].as_i64().unwrap_or(0);
            let hit = match kind {
                3 => &n["work"],
                2 => &n["article"],
                _ => &n["user"],
            };
            json!([
                kind,
                postgraphile_key(&hit["nodeId"]),
                if kind == 1 {
                    &hit["username"]
                } else {
                    &hit["title"]
                },
                postgraphile_key(&hit["author"]["nodeId"])
            ])
        } else {
            let (kind, name) = match n["__typename"].as_str() {
                Some("Work") => (3, "Work"),
                Some("Article") => (2, "Article"),
                _ => (1, "User"),
            };
            json!([
                kind,
                portico_key(&n["id"], name),
                if kind == 1 {
                    &n["username"]
                } else {
                    &n["title"]
                },
                portico_key(&n["author"]["id"], "User")
            ])
        };
        rows.push(row);
    }
    rows
}

/// `arg` as a POSIX shell word.
fn shell_quoted(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-=./:@".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// Portico's session settings (src/db/mod.rs), for pgbench's connections.
const PGOPTIONS: &str = "-c plan_cache_mode=force_generic_plan -c statement_timeout=10000";

/// Runs one pgbench script; returns transactions per second and the average latency line.
fn pgbench(
    url: &str,
    script: &str,
    vars: &[(String, String)],
    clients: usize,
    threads: usize,
    seconds: u64,
) -> anyhow::Result<(f64, String)> {
    let mut cmd = Command::new("pgbench");
    cmd.args(["-n", "-M", "prepared"])
        .arg(format!("-c{clients}"))
        .arg(format!("-j{threads}"))
        .arg(format!("-T{seconds}"))
        .arg("-f")
        .arg(bench_dir().join("pgbench").join(script));
    for (k, v) in vars {
        cmd.arg("-D").arg(format!("{k}={v}"));
    }
    cmd.arg(url);
    eprintln!(
        "PGOPTIONS='{PGOPTIONS}' pgbench {}",
        cmd.get_args()
            .map(|a| shell_quoted(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = cmd
        .env("PGOPTIONS", PGOPTIONS)
        .stdin(Stdio::null())
        .output()
        .context("running pgbench (PostgreSQL's client package)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "pgbench {script} failed: {}{}",
        text,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut tps = None;
    let mut latency = String::from("?");
    for line in out.stdout.lines().map_while(Result::ok) {
        if let Some(rest) = line.strip_prefix("tps = ") {
            tps = rest.split_whitespace().next().and_then(|t| t.parse().ok());
        } else if let Some(rest) = line.strip_prefix("latency average = ") {
            latency = rest.trim().to_string();
        } else if line.starts_with("number of failed transactions") && !line.contains(": 0 ") {
            eprintln!("pgbench {script}: {line}");
        }
    }
    let tps = tps.with_context(|| format!("no tps in pgbench's output: {text}"))?;
    Ok((tps, latency))
}
