//! The command line and the zero-config start, run as a real process or through the library.

use std::process::Command;
use std::time::Duration;

use diesel_async::RunQueryDsl;

use crate::harness::{TestDb, server_url};

const BIN: &str = env!("CARGO_BIN_EXE_portico");

fn portico(db_url: Option<&str>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORTICO_LOG", "warn")
        .current_dir(std::env::temp_dir());
    if let Some(url) = db_url {
        cmd.env("DATABASE_URL", url);
    }
    cmd
}

#[test]
fn help_documents_every_command() {
    let out = portico(None).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in ["serve", "migrate", "schema", "users", "demo-data"] {
        assert!(text.contains(cmd), "--help misses {cmd}: {text}");
    }
    let out = portico(None)
        .args(["users", "grant-role", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("user, staff or admin"));
}

#[test]
fn schema_prints_the_sdl() {
    let out = portico(None).arg("schema").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        portico::schema::sdl()
    );
}

/// Starts `portico serve` with `envs` and returns what it printed when it refused to start.
fn refused_at_start(envs: &[(&str, &str)]) -> String {
    let out = portico(Some("postgres://postgres@127.0.0.1:5432/unused"))
        .envs(envs.iter().copied())
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn production_refuses_development_secrets() {
    let err = refused_at_start(&[("PORTICO_ENV", "production")]);
    assert!(
        err.contains("PORTICO_JWT_SECRET") && err.contains("PORTICO_DATA_KEY"),
        "{err}"
    );
}

#[tokio::test]
async fn migrate_creates_a_missing_database_and_is_idempotent() {
    let name = format!("portico_cli_{}", uuid::Uuid::new_v4().simple());
    let url = portico::db::url_with_database(&server_url(), &name);
    let first = portico(Some(&url)).arg("migrate").output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("applied"));
    let second = portico(Some(&url)).arg("migrate").output().unwrap();
    assert!(String::from_utf8_lossy(&second.stdout).contains("up to date"));
    // Clean up through the same drop path as test databases.
    drop(TestDb { name, url });
}

#[tokio::test]
async fn grant_role_changes_an_accounts_role() {
    let db = TestDb::new().await;
    let mut conn = db.conn().await;
    diesel::sql_query("INSERT INTO accounts (username) VALUES ('Mei')")
        .execute(&mut conn)
        .await
        .unwrap();
    let out = portico(Some(&db.url))
        .args(["users", "grant-role", "mei", "staff"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    #[derive(diesel::QueryableByName)]
    struct Role {
        #[diesel(sql_type = diesel::sql_types::Text)]
        role: String,
    }
    let role: Role = diesel::sql_query("SELECT role FROM accounts WHERE username = 'Mei'")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(role.role, "staff");
    let out = portico(Some(&db.url))
        .args(["users", "grant-role", "nobody", "staff"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    let out = portico(Some(&db.url))
        .args(["users", "grant-role", "mei", "king"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test]
async fn serve_answers_and_stops_on_sigterm() {
    let db = TestDb::new().await;
    let port = free_port();
    let mut child = portico(Some(&db.url))
        .env("PORTICO_ADDR", format!("127.0.0.1:{port}"))
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(res) = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            && res.status() == 200
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the server did not become ready");
    let res = client
        .post(format!("http://127.0.0.1:{port}/graphql"))
        .header("content-type", "application/json")
        .body(r#"{"query":"{ privacyPolicy { version } }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["data"]["privacyPolicy"]["version"],
        "1"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let mut status = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("the server did not stop on SIGTERM")
    });
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn an_unreachable_database_is_explained() {
    let mut config =
        portico::config::Config::for_database("postgres://postgres@127.0.0.1:1/portico");
    config.pool_size = 1;
    let err = portico::db::bootstrap::prepare_database(&config)
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("could not reach it") && text.contains("DATABASE_URL"),
        "{text}"
    );
}

#[tokio::test]
async fn a_private_cluster_starts_when_binaries_are_installed() {
    let Some(bin) = portico::db::bootstrap::find_postgres_bin() else {
        panic!("PostgreSQL's server binaries are expected on this machine");
    };
    let dir =
        std::env::temp_dir().join(format!("portico-cluster-{}", uuid::Uuid::new_v4().simple()));
    let port = free_port();
    portico::db::bootstrap::start_private_cluster(&bin, &dir, port)
        .await
        .unwrap();
    let url = format!("postgres://postgres@127.0.0.1:{port}/portico");
    let result = portico::db::bootstrap::ensure_database(&url).await;
    let stopped = portico::db::bootstrap::stop_private_cluster(&bin, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result.unwrap();
    stopped.unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_wildcard_origin_or_a_missing_index_key_is_refused_at_start() {
    let out = portico(Some("postgres://postgres@127.0.0.1:5432/unused"))
        .env("PORTICO_ALLOWED_ORIGINS", "https://www.example.com,*")
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("PORTICO_ALLOWED_ORIGINS") && err.contains("wildcard"),
        "{err}"
    );
    let out = portico(Some("postgres://postgres@127.0.0.1:5432/unused"))
        .env("PORTICO_ENV", "production")
        .arg("serve")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("PORTICO_INDEX_KEY"));
}

#[tokio::test]
async fn keys_check_and_reseal_run_as_the_readme_says() {
    const NEW_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let app = crate::harness::TestApp::new().await;
    app.register("mei", "+8613800138021").await;
    app.register("jun", "+8613800138022").await;
    let run = |retired: &str, args: &[&str]| {
        let mut cmd = portico(Some(&app.db.url));
        cmd.env("PORTICO_DATA_KEY", NEW_KEY)
            .env("PORTICO_DATA_KEY_ID", "2");
        if !retired.is_empty() {
            cmd.env("PORTICO_DATA_KEYS_RETIRED", retired);
        }
        let out = cmd.args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let old = format!("1:{}", portico::config::DEV_DATA_KEY);
    // Dropping the old key before the reseal would orphan every value: refused, naming the key.
    let (ok, _, err) = run("", &["keys", "check"]);
    assert!(
        !ok && err.contains("PORTICO_DATA_KEYS_RETIRED") && err.contains("key id 1"),
        "{err}"
    );
    let (ok, out, err) = run(&old, &["keys", "reseal", "--batch-size", "1"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("accounts.phone_ciphertext: 2 resealed"),
        "{out}"
    );
    assert!(
        out.contains("accounts.phone_ciphertext: 1 of 1 stale value(s) resealed so far"),
        "{out}"
    );
    assert!(
        out.contains("every stored value is now sealed under key id 2"),
        "{out}"
    );
    let (ok, out, err) = run("", &["keys", "check"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("accounts.phone_ciphertext: 2 value(s) under key id 2 (format 2)"),
        "{out}"
    );
    let (ok, out, _) = run("", &["keys", "reseal"]);
    assert!(ok && out.contains("0 value(s) resealed"), "{out}");
}

/// Reverts the newest migration and applies it again, on a database with a member in it: the down migration
/// runs, the member's rows stay readable at each step, and the member signs in afterwards.
#[tokio::test]
async fn the_newest_migration_reverts_and_reapplies_keeping_rows() {
    use diesel_migrations::MigrationHarness;
    let app = crate::harness::TestApp::new().await;
    app.register("mei", "+8613800138031").await;
    let url = app.db.url.clone();
    let reverted = tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        let mut conn = diesel_async::async_connection_wrapper::AsyncConnectionWrapper::<
            diesel_async::AsyncPgConnection,
        >::establish(&url)
        .unwrap();
        let version = conn
            .revert_last_migration(portico::db::migrations::MIGRATIONS)
            .unwrap()
            .to_string();
        let names: Vec<String> = diesel::RunQueryDsl::load::<Name>(
            diesel::sql_query("SELECT username AS name FROM accounts"),
            &mut conn,
        )
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
        assert_eq!(names, ["mei"]);
        version
    })
    .await
    .unwrap();
    assert_eq!(
        Some(&reverted),
        portico::db::migrations::embedded_versions().last()
    );
    let applied = portico::db::migrations::run_pending(&app.db.url)
        .await
        .unwrap();
    assert_eq!(applied.len(), 1);
    let again = app.reconfigured(|_| {});
    again
        .login("mei", crate::harness::STRONG_PASSWORD)
        .await
        .expect("sign-in after the round trip");
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}
