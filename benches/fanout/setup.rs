//! The fan-out bench's database: a fresh one on the local server, migrated, with the accounts, sessions and
//! a welcome notice per account written in set-based statements; dropped at the end.

use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use portico::db::url_with_database;

/// The server the bench runs against (`PORTICO_TEST_DATABASE_URL`, as the tests).
fn server_url() -> String {
    std::env::var("PORTICO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub struct BenchDb {
    pub name: String,
    pub url: String,
}

#[derive(diesel::QueryableByName)]
pub struct Pair {
    #[diesel(sql_type = BigInt)]
    pub account_id: i64,
    #[diesel(sql_type = BigInt)]
    pub session_id: i64,
}

impl BenchDb {
    /// Creates and migrates the database, with `accounts` members (each with a session and a welcome notice)
    /// and one staff account.
    pub async fn create(accounts: usize) -> anyhow::Result<BenchDb> {
        let name = format!("portico_fanout_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(&server_url()).await?;
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await?;
        let url = url_with_database(&server_url(), &name);
        portico::db::migrations::run_pending(&url).await?;
        let mut conn = AsyncPgConnection::establish(&url).await?;
        for sql in [
            format!(
                "INSERT INTO accounts (username) SELECT 'fan' || g FROM generate_series(1, {accounts}) g"
            ),
            "INSERT INTO sessions (account_id, method) SELECT id, 'password' FROM accounts".into(),
            "INSERT INTO notifications (account_id, kind, title, body) \
             SELECT id, 'announcement', 'Welcome', 'Welcome to Portico.' FROM accounts ORDER BY id"
                .into(),
            "INSERT INTO accounts (username, role) VALUES ('officer', 'staff')".into(),
            "VACUUM ANALYZE".into(),
        ] {
            diesel::sql_query(sql).execute(&mut conn).await?;
        }
        Ok(BenchDb { name, url })
    }

    /// (account, session) of every member, and the staff account's id.
    pub async fn members(&self) -> anyhow::Result<(Vec<Pair>, i64)> {
        let mut conn = AsyncPgConnection::establish(&self.url).await?;
        let pairs: Vec<Pair> = diesel::sql_query(
            "SELECT account_id, id AS session_id FROM sessions ORDER BY account_id",
        )
        .load(&mut conn)
        .await?;
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = BigInt)]
            id: i64,
        }
        let staff: Id = diesel::sql_query("SELECT id FROM accounts WHERE role = 'staff'")
            .get_result(&mut conn)
            .await?;
        Ok((pairs, staff.id))
    }

    /// How many notices of an incident are recorded as delivered.
    pub async fn delivered(&self, incident_id: i64) -> anyhow::Result<i64> {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let mut conn = AsyncPgConnection::establish(&self.url).await?;
        let row: Count = diesel::sql_query(format!(
            "SELECT count(delivered_at) AS n FROM notifications WHERE incident_id = {incident_id}"
        ))
        .get_result(&mut conn)
        .await?;
        Ok(row.n)
    }

    pub async fn drop_database(&self) -> anyhow::Result<()> {
        let mut admin = AsyncPgConnection::establish(&server_url()).await?;
        diesel::sql_query(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await?;
        Ok(())
    }
}

/// This process's resident memory (VmRSS), in bytes.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The open-file limit of this process (soft).
pub fn open_file_limit() -> usize {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024)
}

/// A low-severity drill incident for every account: `title` and `description` name the bench; `announced`
/// puts it on the public page too.
pub fn drill(
    title: &str,
    description: &str,
    announced: bool,
) -> portico::realtime::service::Declaration<portico::accounts::service::Audience> {
    portico::realtime::service::Declaration {
        audience: portico::accounts::service::Audience::All,
        announced,
        content: portico::realtime::model::IncidentContent {
            title: title.into(),
            description: description.into(),
            severity: portico::realtime::model::Severity::Low,
            data_categories: vec!["account".into()],
            cause: "A benchmark.".into(),
            possible_harm: "None.".into(),
            remedial_measures: "None needed.".into(),
            user_actions: "Nothing.".into(),
            contact: "bench@example.com".into(),
        },
    }
}
