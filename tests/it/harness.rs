//! The test harness: a migrated template database built once per run, a fresh database per test, an app
//! for in-process requests and a real TCP server for WebSocket and conformance tests.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, Response};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use portico::config::Config;
use portico::db::url_with_database;
use portico::state::AppState;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

/// The server tests run against (`PORTICO_TEST_DATABASE_URL`, default: the local trust-auth server).
pub fn server_url() -> String {
    std::env::var("PORTICO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The template's name changes whenever a migration changes, so a stale template is never used.
fn template_name() -> String {
    let mut hasher = Sha256::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut entries: Vec<_> = walk(&dir);
    entries.sort();
    for path in entries {
        hasher.update(path.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&path).unwrap_or_default());
    }
    let digest = hasher.finalize();
    format!("portico_template_{}", hex::encode(&digest[..6]))
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

async fn admin() -> AsyncPgConnection {
    AsyncPgConnection::establish(&server_url())
        .await
        .expect("PostgreSQL must be running for the tests (see README)")
}

#[derive(diesel::QueryableByName)]
struct Flag {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    flag: bool,
}

/// Builds the template once per migration set; concurrent test processes wait on an advisory lock.
async fn ensure_template() -> String {
    static READY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    READY
        .get_or_init(|| async {
            let name = template_name();
            let mut conn = admin().await;
            diesel::sql_query("SELECT pg_advisory_lock(88120931)")
                .execute(&mut conn)
                .await
                .unwrap();
            let ready: Vec<Flag> = diesel::sql_query(
                "SELECT datistemplate AS flag FROM pg_database WHERE datname = $1",
            )
            .bind::<diesel::sql_types::Text, _>(&name)
            .load(&mut conn)
            .await
            .unwrap();
            if !ready.iter().any(|f| f.flag) {
                diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let url = url_with_database(&server_url(), &name);
                portico::db::migrations::run_pending(&url)
                    .await
                    .expect("migrations apply");
                diesel::sql_query(format!("ALTER DATABASE \"{name}\" WITH is_template true"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            diesel::sql_query("SELECT pg_advisory_unlock(88120931)")
                .execute(&mut conn)
                .await
                .unwrap();
            name
        })
        .await
        .clone()
}

/// A fresh database cloned from the template, dropped when the value is dropped.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let template = ensure_template().await;
        let name = format!("portico_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = admin().await;
        // Cloning needs the template to have no other sessions; retry while a sibling is cloning it.
        let mut attempt = 0;
        loop {
            match diesel::sql_query(format!(
                "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
            ))
            .execute(&mut conn)
            .await
            {
                Ok(_) => break,
                Err(e) if attempt < 50 && e.to_string().contains("being accessed") => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50 + 20 * attempt)).await;
                }
                Err(e) => panic!("could not create test database: {e}"),
            }
        }
        let url = url_with_database(&server_url(), &name);
        TestDb { name, url }
    }

    /// The folder uploads of this database are stored in (under cargo's target directory).
    pub fn media_dir(&self) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("media")
            .join(&self.name)
    }

    /// A direct connection for assertions on raw tables.
    pub async fn conn(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.url).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.media_dir());
        let name = self.name.clone();
        // Drop on a thread of its own: a runtime may be shutting down around us.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = AsyncPgConnection::establish(&server_url()).await {
                    let _ = diesel::sql_query(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    ))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

/// An application over a fresh database.
pub struct TestApp {
    /// Shared by [`TestApp::reconfigured`] siblings; dropped with the last of them.
    pub db: Arc<TestDb>,
    pub state: AppState,
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with_config(|_| {}).await
    }

    /// An app whose configuration `tweak` adjusts (limits, environment, origins).
    pub async fn with_config(tweak: impl FnOnce(&mut Config)) -> TestApp {
        Self::over(Arc::new(TestDb::new().await), tweak)
    }

    /// Another gateway over the same database, as after a restart with a changed configuration (a rotated key).
    pub fn reconfigured(&self, tweak: impl FnOnce(&mut Config)) -> TestApp {
        Self::over(self.db.clone(), tweak)
    }

    fn over(db: Arc<TestDb>, tweak: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = Config::for_database(&db.url);
        config.pool_size = 4;
        // Each database has its own media folder, as each deployment has its own storage.
        config.media.storage = portico::config::MediaStorage::Local(db.media_dir());
        tweak(&mut config);
        // Logs go through the test writer, so a passing test stays quiet and a failing one shows them.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("warn,portico=info")
            .try_init();
        let state = AppState::connect(config, &db.url).unwrap();
        TestApp { db, state }
    }

    /// Sends one request to the router in-process.
    pub async fn request(&self, req: Request<Body>) -> Response<Body> {
        portico::http::router(self.state.clone())
            .oneshot(req)
            .await
            .unwrap()
    }

    /// Sends a plain GET for `uri` to the router in-process.
    pub async fn get(&self, uri: &str) -> Response<Body> {
        self.request(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    /// POSTs a GraphQL operation as JSON and returns the status and JSON body.
    pub async fn graphql(
        &self,
        query: &str,
        variables: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let body = serde_json::json!({ "query": query, "variables": variables });
        let req = Request::post("/graphql")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let res = self.request(req).await;
        let status = res.status().as_u16();
        (status, json_body(res).await)
    }

    /// Starts a real server on a free loopback port.
    pub async fn serve(&self) -> TestServer {
        TestServer::start(self.state.clone()).await
    }
}

/// Reads a response body as JSON (`Null` when it is not JSON).
pub async fn json_body(res: Response<Body>) -> serde_json::Value {
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
}

/// A gateway listening on TCP, stopped (gracefully) when dropped or by `shutdown`.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
    _state: Arc<AppState>,
}

impl TestServer {
    pub async fn start(state: AppState) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let handle = tokio::spawn({
            let state = state.clone();
            async move {
                portico::app::serve_on(listener, state, async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
            }
        });
        TestServer {
            addr,
            stop: Some(tx),
            handle: Some(handle),
            _state: Arc::new(state),
        }
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql/ws", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish, and waits for the server to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl TestApp {
    /// POSTs a GraphQL operation with `Authorization: Bearer <token>` (when given) and extra headers.
    pub async fn graphql_with(
        &self,
        token: Option<&str>,
        headers: &[(&str, &str)],
        query: &str,
        variables: serde_json::Value,
    ) -> (u16, serde_json::Value, axum::http::HeaderMap) {
        let body = serde_json::json!({ "query": query, "variables": variables });
        let mut req = Request::post("/graphql").header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self
            .request(req.body(Body::from(body.to_string())).unwrap())
            .await;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (status, json_body(res).await, headers)
    }

    /// Like [`TestApp::graphql`], signed in with `token`.
    pub async fn graphql_as(
        &self,
        token: &str,
        query: &str,
        variables: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let (status, body, _) = self.graphql_with(Some(token), &[], query, variables).await;
        (status, body)
    }

    /// The newest message in the outbox addressed to `to`, opened (tests read codes from here).
    pub async fn last_message_to(&self, to: &str) -> Option<portico::messaging::Message> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            id: i64,
            #[diesel(sql_type = diesel::sql_types::Bytea)]
            payload_ciphertext: Vec<u8>,
        }
        let mut conn = self.db.conn().await;
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT id, payload_ciphertext FROM outbox_messages ORDER BY id DESC",
        )
        .load(&mut conn)
        .await
        .unwrap();
        rows.into_iter()
            .filter_map(|r| {
                portico::messaging::outbox::open_payload(
                    &self.state.keys,
                    r.id,
                    &r.payload_ciphertext,
                )
            })
            .find(|m| m.to == to)
    }

    /// Requests a code and returns it from the outbox.
    pub async fn code_for(&self, channel: &str, to: &str, purpose: &str) -> String {
        let (_, body) = self
            .graphql(
                "mutation($input: RequestVerificationCodeInput!) { requestVerificationCode(input: $input) { retryAfterSeconds expiresAt } }",
                serde_json::json!({ "input": { "channel": channel, "destination": to, "purpose": purpose } }),
            )
            .await;
        assert!(body["errors"].is_null(), "code request failed: {body}");
        let message = self
            .last_message_to(to)
            .await
            .expect("a message was queued");
        message.data["code"]
            .as_str()
            .expect("a code message")
            .to_string()
    }

    /// Registers `username` with `phone` (E.164) and returns (access token, refresh token).
    pub async fn register(&self, username: &str, phone: &str) -> (String, String) {
        let code = self.code_for("SMS", phone, "REGISTER").await;
        let (_, body) = self
            .graphql(
                "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken viewer { id username } } }",
                serde_json::json!({ "input": {
                    "phone": phone, "code": code, "password": STRONG_PASSWORD, "username": username,
                    "gender": "FEMALE", "occupation": "illustrator", "city": "Hangzhou", "adultConfirmed": true,
                    "consents": ["account", "security"], "policyVersion": "1", "device": "test phone"
                } }),
            )
            .await;
        let r = &body["data"]["register"];
        assert!(r.is_object(), "registration failed: {body}");
        (
            r["accessToken"].as_str().unwrap().to_string(),
            r["refreshToken"].as_str().unwrap().to_string(),
        )
    }

    /// Binds `email` to the account of `token` with the code sent to it.
    pub async fn bind_email(&self, token: &str, email: &str) {
        let code = self.code_for("EMAIL", email, "BIND_EMAIL").await;
        let (_, body) = self
            .graphql_as(
                token,
                "mutation BindEmail($email: String!, $code: String!) { bindEmail(email: $email, code: $code) { id email } }",
                serde_json::json!({ "email": email, "code": code }),
            )
            .await;
        assert_eq!(body["data"]["bindEmail"]["email"], email, "{body}");
    }

    /// Signs in with a password and returns the access token, or the response when it fails.
    pub async fn login(
        &self,
        identifier: &str,
        password: &str,
    ) -> Result<String, serde_json::Value> {
        let (_, body) = self
            .graphql(
                "mutation($input: LoginInput!) { login(input: $input) { accessToken } }",
                serde_json::json!({ "input": { "identifier": identifier, "password": password } }),
            )
            .await;
        body["data"]["login"]["accessToken"]
            .as_str()
            .map(str::to_string)
            .ok_or(body)
    }

    /// Publishes a work (or saves a draft) as `token` and returns its id.
    pub async fn publish_work(&self, token: &str, title: &str, draft: bool) -> String {
        let input = serde_json::json!({ "input": {
            "title": title, "description": "Pencil and wash.", "category": "painting", "tags": ["study"], "draft": draft,
            "images": [{ "url": "https://img.example.com/w.jpg", "width": 800, "height": 600 }]
        } });
        let (_, body) = self
            .graphql_as(
                token,
                "mutation($input: PublishWorkInput!) { publishWork(input: $input) { id } }",
                input,
            )
            .await;
        body["data"]["publishWork"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string()
    }

    /// The titles of the newest notices of the account of `token`, newest first.
    pub async fn notice_titles(&self, token: &str) -> Vec<String> {
        let (_, body) = self
            .graphql_as(
                token,
                "{ viewer { notifications(first: 50) { edges { node { title } } } } }",
                serde_json::json!({}),
            )
            .await;
        body["data"]["viewer"]["notifications"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|e| e["node"]["title"].as_str().unwrap().to_string())
            .collect()
    }

    /// Runs `sql` on the test database (for moving time forward in rows, or reading them).
    pub async fn sql(&self, sql: &str) {
        let mut conn = self.db.conn().await;
        diesel::sql_query(sql).execute(&mut conn).await.unwrap();
    }

    /// Runs the export job once; how many exports it built.
    pub async fn run_exports(&self) -> usize {
        portico::rights::service::run_pending_exports(
            &self.state.pool,
            &self.state.keys,
            &self.state.config,
            &self.state.accounts.clock,
        )
        .await
        .unwrap()
    }

    /// Requests `token`'s data export, builds it, and downloads the archive through its signed link.
    pub async fn export_archive(&self, token: &str) -> serde_json::Value {
        self.graphql_as(
            token,
            "mutation { requestDataExport { id } }",
            serde_json::json!({}),
        )
        .await;
        self.run_exports().await;
        let (_, body) = self
            .graphql_as(
                token,
                "{ viewer { dataExports { downloadUrl } } }",
                serde_json::json!({}),
            )
            .await;
        let url = body["data"]["viewer"]["dataExports"][0]["downloadUrl"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_string();
        let req = Request::get(url)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        json_body(self.request(req).await).await
    }

    /// Cancels `token`'s account (with the SMS code to `phone`), lets the cooling-off period pass on the
    /// clock, and runs the erasure job, which must erase exactly that account.
    pub async fn cancel_and_erase(&self, token: &str, phone: &str) {
        let code = self.code_for("SMS", phone, "CANCEL_ACCOUNT").await;
        let (_, body) = self
            .graphql_as(
                token,
                "mutation($code: String!) { requestAccountCancellation(code: $code) { id } }",
                serde_json::json!({ "code": code }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        self.state.accounts.clock.advance(
            self.state.config.cancellation_cooling_off + std::time::Duration::from_secs(1),
        );
        assert_eq!(self.erase_due().await, 1);
    }

    /// Runs the erasure job once, at the time of the clock every deadline reads; how many accounts it erased.
    pub async fn erase_due(&self) -> usize {
        portico::rights::erasure::run_due(
            &self.state.pool,
            &self.state.keys,
            self.state.accounts.clock.now(),
        )
        .await
        .unwrap()
    }

    /// Counts the rows `sql` (a `SELECT count(*) ...`) returns.
    pub async fn count(&self, sql: &str) -> i64 {
        let mut conn = self.db.conn().await;
        let n: Count = diesel::sql_query(format!("SELECT ({sql}) AS n"))
            .get_result(&mut conn)
            .await
            .unwrap();
        n.n
    }

    /// Registers `username` and gives it the staff role; returns its access token.
    pub async fn staff(&self, username: &str, phone: &str) -> String {
        let (token, _) = self.register(username, phone).await;
        portico::accounts::service::grant_role(&self.state.pool, username, "staff")
            .await
            .unwrap();
        token
    }
}

/// A password that passes the strength rules.
pub const STRONG_PASSWORD: &str = "violet harbour lantern 42";

/// The `extensions.code` of a response's first error (empty when there is none).
/// Waits until every app's broker is listening (events sent before then would not reach it).
pub async fn brokers_connected(apps: &[&TestApp]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !apps.iter().all(|a| a.state.broker.is_connected()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the brokers did not connect"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

pub fn code(body: &serde_json::Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

/// The `extensions.field` of a response's first error (empty when there is none).
pub fn field(body: &serde_json::Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or("")
}

/// One number read by a raw query (`SELECT count(*) AS n ...`), for counts that need binds.
#[derive(diesel::QueryableByName)]
pub struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}
