//! The database: one pool builder, embedded migrations, the generated `schema`, and the zero-config bootstrap.

pub mod bootstrap;
mod cached;
pub mod migrations;
pub mod profile;
pub mod schema;
mod text_enum;

pub use cached::Cached;

use std::time::Duration;

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;
use diesel_async::pooled_connection::deadpool::{Hook, HookError, Object, Pool as DeadPool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, SimpleAsyncConnection};
use futures_util::FutureExt;

use crate::config::Config;

/// A stored `text[]` (whose elements diesel reads as nullable: tags, labels) as the strings it holds.
pub fn listed(stored: &[Option<String>]) -> Vec<String> {
    stored.iter().flatten().cloned().collect()
}

/// The connection pool every domain uses.
pub type Pool = DeadPool<AsyncPgConnection>;
/// A connection checked out of the pool.
pub type Conn = Object<AsyncPgConnection>;
/// Errors from checking out a connection.
pub type PoolError = diesel_async::pooled_connection::deadpool::PoolError;

/// Counts every statement a connection starts (`/metrics` and the per-request counter).
struct StatementCounter;

impl Instrumentation for StatementCounter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            crate::telemetry::count_statement();
        }
    }
}

/// Opens one connection with the statement counter attached.
pub async fn establish(url: &str) -> diesel::ConnectionResult<AsyncPgConnection> {
    let mut conn = AsyncPgConnection::establish(url).await?;
    conn.set_instrumentation(StatementCounter);
    Ok(conn)
}

/// Builds the pool: bounded size, wait and create timeouts, fast recycling (no `SELECT 1` per checkout),
/// and a `post_create` hook that sets `statement_timeout`, `application_name` and the plan cache mode.
pub fn build_pool(config: &Config, url: &str) -> anyhow::Result<Pool> {
    let mut manager_config = ManagerConfig::<AsyncPgConnection>::default();
    manager_config.recycling_method = RecyclingMethod::Fast;
    manager_config.custom_setup = Box::new(|url| establish(url).boxed());
    let manager = AsyncDieselConnectionManager::new_with_config(url, manager_config);
    let statement_timeout_ms = config.statement_timeout.as_millis() as u64;
    let pool = DeadPool::builder(manager)
        .max_size(config.pool_size)
        .wait_timeout(Some(config.pool_wait_timeout))
        .create_timeout(Some(Duration::from_secs(5)))
        .recycle_timeout(Some(Duration::from_secs(5)))
        .runtime(deadpool::Runtime::Tokio1)
        .post_create(Hook::async_fn(move |conn: &mut AsyncPgConnection, _| {
            Box::pin(async move {
                let setup = format!(
                    "SET statement_timeout = {statement_timeout_ms}; \
                     SET application_name = 'portico'; \
                     SET plan_cache_mode = force_generic_plan"
                );
                conn.batch_execute(&setup)
                    .await
                    .map_err(|e| HookError::message(format!("connection setup failed: {e}")))
            })
        }))
        .build()?;
    Ok(pool)
}

/// Reports the pool's state to the metrics recorder.
pub fn record_pool_metrics(pool: &Pool) {
    let status = pool.status();
    metrics::gauge!("portico_db_pool_size").set(status.size as f64);
    metrics::gauge!("portico_db_pool_available").set(status.available as f64);
    metrics::gauge!("portico_db_pool_waiting").set(status.waiting as f64);
}

/// True when the database answers a trivial query within a second.
pub async fn ping(pool: &Pool) -> bool {
    let fut = async {
        let mut conn = pool.get().await.ok()?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.ok()
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), fut).await,
        Ok(Some(_))
    )
}

/// Replaces the database name in a PostgreSQL URL (percent-encoded as the URL needs); a URL that does not
/// parse is returned as it is, and fails where it is used.
pub fn url_with_database(url: &str, database: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_path("");
            parsed
                .path_segments_mut()
                .map(|mut p| {
                    p.push(database);
                })
                .ok();
            parsed.to_string()
        }
        Err(_) => url.to_string(),
    }
}

/// The database name in a PostgreSQL URL, percent-decoded.
pub fn database_name(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let name = parsed.path_segments()?.next()?;
    let name = percent_decode(name);
    (!name.is_empty()).then_some(name)
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_swapped() {
        assert_eq!(
            url_with_database("postgres://postgres@127.0.0.1:5432/portico", "postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
        assert_eq!(
            url_with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(url_with_database("postgres://h:1", "x"), "postgres://h:1/x");
        assert_eq!(database_name("postgres://h/db?a=b").as_deref(), Some("db"));
        assert_eq!(database_name("postgres://h"), None);
        // Names and passwords that need percent-encoding survive.
        assert_eq!(
            url_with_database("postgres://u:p%40ss@h/db", "my db"),
            "postgres://u:p%40ss@h/my%20db"
        );
        assert_eq!(
            database_name("postgres://h/my%20db").as_deref(),
            Some("my db")
        );
        assert_eq!(database_name("postgres://h/a+b").as_deref(), Some("a+b"));
    }
}
