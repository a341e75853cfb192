//! Embedded, reversible migrations: applied by `portico migrate` and at start; checked by `/readyz`.

use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The versions of every embedded migration, oldest first.
pub fn embedded_versions() -> Vec<String> {
    MigrationSource::<Pg>::migrations(&MIGRATIONS)
        .expect("embedded migrations are readable")
        .iter()
        .map(|m| m.name().version().to_string())
        .collect()
}

/// Applies every pending migration on a dedicated connection; returns the versions applied.
pub async fn run_pending(url: &str) -> anyhow::Result<Vec<String>> {
    let url = url.to_string();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        use diesel::Connection;
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)?;
        // One gateway migrates at a time when several start together.
        diesel::RunQueryDsl::execute(
            diesel::sql_query("SELECT pg_advisory_lock(7346102)"),
            &mut conn,
        )?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|v| v.iter().map(|m| m.to_string()).collect())
            .map_err(|e| anyhow::anyhow!("migration failed: {e}"));
        diesel::RunQueryDsl::execute(
            diesel::sql_query("SELECT pg_advisory_unlock(7346102)"),
            &mut conn,
        )?;
        applied
    })
    .await?
}

#[derive(diesel::QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

/// True when every embedded migration has been applied to the database behind `conn`.
pub async fn is_current(conn: &mut AsyncPgConnection, expected: &[String]) -> bool {
    let applied: Result<Vec<Version>, _> =
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
            .load(conn)
            .await;
    match applied {
        Ok(rows) => expected
            .iter()
            .all(|v| rows.iter().any(|r| &r.version == v)),
        Err(_) => false,
    }
}
