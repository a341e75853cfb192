//! Fault tests: PostgreSQL stopped and started under load, the gateway killed with SIGKILL and restarted, and a
//! graceful shutdown with a request in flight.
//!
//! Every test runs on a private PostgreSQL cluster of its own (never the shared server the other tests use):
//! a data directory copied from a migrated template cluster, started on a free loopback port with the same
//! bootstrap functions the zero-config start uses (through the `postgres` system user when running as root).
//! The template is built once per migration set and reused across runs, so a test's cluster starts in a
//! fraction of a second.

mod database;
mod shutdown;
mod sigkill;

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use portico::config::Config;
use portico::db::bootstrap::{
    ensure_database, find_postgres_bin, start_private_cluster, stop_private_cluster,
};
use portico::state::AppState;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A free loopback port (bound, then released for the caller to bind).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private PostgreSQL cluster whose `portico` database is migrated; stopped and removed when dropped.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
}

impl Cluster {
    /// Copies the template's data directory and starts it on a free port.
    pub async fn start() -> Cluster {
        let bin = find_postgres_bin().expect("PostgreSQL's server binaries are installed");
        let template = template(&bin).await;
        let dir = std::env::temp_dir().join(format!(
            "portico-fault-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ));
        std::fs::create_dir_all(&dir).unwrap();
        copy_dir(&template.join("pgdata"), &dir.join("pgdata"));
        let port = free_port();
        start_private_cluster(&bin, &dir, port)
            .await
            .expect("the private cluster starts");
        Cluster { bin, dir, port }
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/portico", self.port)
    }

    /// The cluster's directory (its log and the gateways' logs live here).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `pg_ctl stop -m fast`: every session is terminated and the server exits.
    pub async fn stop(&self) {
        let (bin, dir) = (self.bin.clone(), self.dir.clone());
        tokio::task::spawn_blocking(move || stop_private_cluster(&bin, &dir))
            .await
            .unwrap()
            .expect("the private cluster stops");
    }

    /// Starts the stopped cluster again on the same port.
    pub async fn start_again(&self) {
        start_private_cluster(&self.bin, &self.dir, self.port)
            .await
            .expect("the private cluster starts again");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = stop_private_cluster(&self.bin, &self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(status.success(), "copying {} failed", from.display());
}

/// The migrated template cluster (stopped), built once per migration set and PostgreSQL version.
async fn template(bin: &Path) -> PathBuf {
    static TEMPLATE: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| build_template(bin.to_path_buf()))
        .await
        .clone()
}

async fn build_template(bin: PathBuf) -> PathBuf {
    let root = std::env::temp_dir();
    let name = root.join(format!("portico-fault-template-{}", fingerprint(&bin)));
    if name.join("pgdata").join("PG_VERSION").exists() {
        return name;
    }
    // Built aside and renamed into place, so a template that exists is complete; a concurrent run that
    // loses the race uses the winner's.
    let build = root.join(format!(
        "portico-fault-build-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ));
    let port = free_port();
    start_private_cluster(&bin, &build, port)
        .await
        .expect("the template cluster starts");
    let url = format!("postgres://postgres@127.0.0.1:{port}/portico");
    let migrated = async {
        ensure_database(&url).await?;
        portico::db::migrations::run_pending(&url).await
    }
    .await;
    stop_private_cluster(&bin, &build).expect("the template cluster stops");
    migrated.expect("the template migrates");
    if std::fs::rename(&build, &name).is_err() {
        let _ = std::fs::remove_dir_all(&build);
        assert!(
            name.join("pgdata").join("PG_VERSION").exists(),
            "no template at {}",
            name.display()
        );
    }
    name
}

/// Changes whenever a migration or the PostgreSQL installation changes.
fn fingerprint(bin: &Path) -> String {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"),
        &mut files,
    );
    files.sort();
    let mut hasher = Sha256::new();
    hasher.update(bin.to_string_lossy().as_bytes());
    for path in files {
        hasher.update(path.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&path).unwrap_or_default());
    }
    hasher.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An in-process gateway instance over `url` (its logs go through the test writer).
pub fn instance(url: &str) -> AppState {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("warn,portico=info")
        .try_init();
    let mut config = Config::for_database(url);
    config.pool_size = 4;
    config.pool_wait_timeout = Duration::from_secs(2);
    AppState::connect(config, url).unwrap()
}

#[derive(diesel::QueryableByName)]
pub struct Id {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
}

/// An account with a live session, made in SQL; returns (account id, access token).
pub async fn account(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    name: &str,
    role: &str,
) -> (i64, String) {
    let account: Id =
        diesel::sql_query("INSERT INTO accounts (username, role) VALUES ($1, $2) RETURNING id")
            .bind::<diesel::sql_types::Text, _>(name)
            .bind::<diesel::sql_types::Text, _>(role)
            .get_result(conn)
            .await
            .unwrap();
    // A confirmed phone, as every member registered by SMS has (publishing needs one).
    let phone = format!("+86139{:08}", account.id);
    diesel::sql_query("UPDATE accounts SET phone_ciphertext = $2, phone_index = $3 WHERE id = $1")
        .bind::<BigInt, _>(account.id)
        .bind::<diesel::sql_types::Bytea, _>(state.keys.seal_str(
            portico::crypto::Column::AccountPhone,
            account.id,
            &phone,
        ))
        .bind::<diesel::sql_types::Bytea, _>(state.keys.blind_index("phone", &phone))
        .execute(conn)
        .await
        .unwrap();
    let session: Id = diesel::sql_query(
        "INSERT INTO sessions (account_id, method) VALUES ($1, 'password') RETURNING id",
    )
    .bind::<BigInt, _>(account.id)
    .get_result(conn)
    .await
    .unwrap();
    let now = chrono::Utc::now().timestamp();
    let (token, _) = state.accounts.tokens.issue(account.id, session.id, now);
    (account.id, token)
}

/// A direct connection to a private cluster's database.
pub async fn connect(url: &str) -> AsyncPgConnection {
    AsyncPgConnection::establish(url).await.unwrap()
}

/// `publishWork`, as the web client sends it.
pub const PUBLISH: &str =
    "mutation Publish($input: PublishWorkInput!) { publishWork(input: $input) { id title } }";

/// The variables of a `publishWork` titled `title`.
pub fn work(title: &str) -> Value {
    json!({ "input": {
        "title": title, "category": "illustration", "tags": ["ink"],
        "images": [{ "url": "https://img.example.com/1.jpg", "width": 1200, "height": 800 }]
    } })
}

/// How many works carry `title`.
pub async fn works_titled(conn: &mut AsyncPgConnection, title: &str) -> i64 {
    let n: Id = diesel::sql_query("SELECT count(*) AS id FROM works WHERE title = $1")
        .bind::<diesel::sql_types::Text, _>(title)
        .get_result(conn)
        .await
        .unwrap();
    n.id
}

/// An HTTP client for a gateway listening on TCP.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// POSTs a GraphQL operation to `url` (as `token` when given); returns the status and the JSON body.
pub async fn post_graphql(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> reqwest::Result<(u16, Value)> {
    let mut req = http
        .post(url)
        .header("content-type", "application/json")
        .body(json!({ "query": query, "variables": variables }).to_string());
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = req.send().await?;
    let status = res.status().as_u16();
    let text = res.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// The status of `GET url` (0 when nothing answers).
pub async fn status_of(http: &reqwest::Client, url: &str) -> u16 {
    match http.get(url).timeout(Duration::from_secs(5)).send().await {
        Ok(res) => res.status().as_u16(),
        Err(_) => 0,
    }
}

/// Polls `check` every 25 ms until it holds; panics with `what` after `within`. Returns the time it took.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Words that would betray internals in an error a client sees.
const LEAKS: &[&str] = &[
    "refused",
    "connect",
    "postgres",
    "sql",
    "diesel",
    "pool",
    "socket",
    "tcp",
    "terminat",
    "127.0.0.1",
    "/tmp",
    "/usr",
    ".rs",
    "panick",
    "backtrace",
];

/// Why a failed answer is not a clean one: `None` when it is (HTTP 503 or 200, every error coded
/// `INTERNAL`, no internals in any message).
pub fn unclean(status: u16, body: &Value) -> Option<String> {
    if status != 200 && status != 503 {
        return Some(format!("HTTP {status}: {body}"));
    }
    let Some(errors) = body["errors"].as_array().filter(|e| !e.is_empty()) else {
        return Some(format!("HTTP {status} without errors: {body}"));
    };
    for e in errors {
        if e["extensions"]["code"] != "INTERNAL" {
            return Some(format!("HTTP {status}, not INTERNAL: {body}"));
        }
        let message = e["message"].as_str().unwrap_or("").to_ascii_lowercase();
        if let Some(word) = LEAKS.iter().find(|w| message.contains(*w)) {
            return Some(format!("HTTP {status}, leaks `{word}`: {body}"));
        }
    }
    None
}

/// The real binary.
const BIN: &str = env!("CARGO_BIN_EXE_portico");

/// `portico serve` as a child process, killed when dropped (its log is printed when a test fails).
pub struct Gateway {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Gateway {
    /// Starts `portico serve` on 127.0.0.1:`port` over `url`, appending its log to `log`.
    pub fn spawn(url: &str, port: u16, log: &Path) -> Gateway {
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let out = File::options().create(true).append(true).open(log).unwrap();
        let err = out.try_clone().unwrap();
        let child = Command::new(BIN)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", url)
            .env("PORTICO_ADDR", addr.to_string())
            .env("PORTICO_LOG", "info")
            .env("PORTICO_POOL_SIZE", "4")
            .current_dir(log.parent().unwrap())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("the gateway binary starts");
        Gateway {
            child,
            addr,
            log: log.to_path_buf(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql/ws", self.addr)
    }

    /// Waits until `/readyz` answers 200.
    pub async fn ready(&mut self, http: &reqwest::Client) {
        let started = Instant::now();
        loop {
            if status_of(http, &self.url("/readyz")).await == 200 {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the gateway exited with {status}:\n{}", self.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the gateway was not ready in time:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// SIGKILL, and reaps the process.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM: the gateway shuts down gracefully.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Whether the process still runs.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// The exit status, once the process exits within `within`.
    pub async fn exited_within(&mut self, within: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if started.elapsed() > within {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What the gateway logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- gateway log ---\n{}", self.log());
        }
    }
}
