//! Queries of the accounts domain.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::accounts;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// Sets the role of the account named `username` (any case); returns how many rows changed.
pub async fn set_role(
    conn: &mut AsyncPgConnection,
    username: &str,
    role: &str,
) -> QueryResult<usize> {
    diesel::update(accounts::table)
        .filter(lower(accounts::username).eq(lower(username)))
        .set((
            accounts::role.eq(role),
            accounts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
}
