//! `portico demo-data`: realistic demonstration accounts, in English and Chinese, for GraphiQL and benchmarks.
//! The content domain adds works and articles to what this loads.

use diesel_async::RunQueryDsl;

use crate::db::Pool;

const NAMES: &[&str] = &[
    "alice",
    "bob",
    "carol",
    "dmitri",
    "esther",
    "farid",
    "grace",
    "hiro",
    "ines",
    "jonas",
    "kemi",
    "lucia",
    "小明",
    "小红",
    "李雷",
    "韩梅梅",
    "王芳",
    "张伟",
    "陈静",
    "刘洋",
];

/// Inserts the demonstration accounts that are not there yet; returns how many exist afterwards.
pub async fn load(pool: &Pool) -> anyhow::Result<usize> {
    let mut conn = pool.get().await?;
    for (i, name) in NAMES.iter().enumerate() {
        let username = format!("{name}{}", i + 1);
        diesel::sql_query(
            "INSERT INTO accounts (username) SELECT $1 WHERE NOT EXISTS \
             (SELECT 1 FROM accounts WHERE lower(username) = lower($1))",
        )
        .bind::<diesel::sql_types::Text, _>(&username)
        .execute(&mut conn)
        .await?;
    }
    Ok(NAMES.len())
}
