//! Queries on notifications.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Jsonb, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::notifications as n;
use crate::realtime::devices::store::FAN_OUT_CTE;
use crate::realtime::model::{NewNotice, NotificationRow};

/// Writes one notice and queues its pushes to the account's devices, in one statement; returns its id.
pub async fn insert_notice(conn: &mut AsyncPgConnection, notice: &NewNotice) -> QueryResult<i64> {
    let row: Id = diesel::sql_query(format!(
        "WITH ins AS (INSERT INTO notifications (account_id, kind, title, body, refs) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id, account_id, kind), {FAN_OUT_CTE} \
         SELECT id FROM ins"
    ))
    .bind::<BigInt, _>(notice.account_id)
    .bind::<Text, _>(notice.kind.as_str())
    .bind::<Text, _>(&notice.title)
    .bind::<Text, _>(&notice.body)
    .bind::<Jsonb, _>(&notice.refs)
    .get_result(conn)
    .await?;
    Ok(row.id)
}

/// Writes one notice to every live account (not erased), and queues its pushes, in one statement; returns how
/// many notices were written.
pub async fn insert_notice_for_everyone(
    conn: &mut AsyncPgConnection,
    kind: &str,
    title: &str,
    body: &str,
    refs: &serde_json::Value,
) -> QueryResult<usize> {
    let row: Written = diesel::sql_query(format!(
        "WITH ins AS (INSERT INTO notifications (account_id, kind, title, body, refs) \
             SELECT a.id, $1, $2, $3, $4 FROM accounts a WHERE a.status <> 'erased' ORDER BY a.id \
             RETURNING id, account_id, kind), {FAN_OUT_CTE} \
         SELECT count(*) AS written FROM ins"
    ))
    .bind::<Text, _>(kind)
    .bind::<Text, _>(title)
    .bind::<Text, _>(body)
    .bind::<Jsonb, _>(refs)
    .get_result(conn)
    .await?;
    Ok(row.written as usize)
}

/// How many notices a set-based statement wrote.
#[derive(QueryableByName)]
pub struct Written {
    #[diesel(sql_type = BigInt)]
    pub written: i64,
}

/// A notice read for a reader that asked for its account's notices after an id.
#[derive(QueryableByName)]
pub struct KeyedRow {
    #[diesel(sql_type = BigInt)]
    pub key_account: i64,
    #[diesel(sql_type = BigInt)]
    pub key_after: i64,
    #[diesel(embed)]
    pub row: NotificationRow,
}

/// For each (account, after id) pair, that account's notices after the id, oldest first, at most `per_key` each:
/// one statement for any number of readers.
pub async fn notices_after(
    conn: &mut AsyncPgConnection,
    keys: &[(i64, i64)],
    per_key: i64,
) -> QueryResult<Vec<KeyedRow>> {
    let (accounts, afters): (Vec<i64>, Vec<i64>) = keys.iter().copied().unzip();
    diesel::sql_query(
        "SELECT k.account_id AS key_account, k.after_id AS key_after, n.* \
         FROM unnest($1::bigint[], $2::bigint[]) AS k(account_id, after_id) \
         CROSS JOIN LATERAL (SELECT * FROM notifications n \
             WHERE n.account_id = k.account_id AND n.id > k.after_id ORDER BY n.id LIMIT $3) n \
         ORDER BY n.id",
    )
    .bind::<Array<BigInt>, _>(accounts)
    .bind::<Array<BigInt>, _>(afters)
    .bind::<BigInt, _>(per_key)
    .load(conn)
    .await
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Where a subscription without a cursor starts: just before the account's oldest notice that never went out
/// on a socket, or at its newest notice when every one did (0 when it has none).
pub async fn start_point(conn: &mut AsyncPgConnection, account_id: i64) -> QueryResult<i64> {
    let row: Id = diesel::sql_query(
        "SELECT COALESCE( \
             (SELECT min(id) - 1 FROM notifications WHERE account_id = $1 AND delivered_at IS NULL), \
             (SELECT max(id) FROM notifications WHERE account_id = $1), \
             0) AS id",
    )
    .bind::<BigInt, _>(account_id)
    .get_result(conn)
    .await?;
    Ok(row.id)
}

/// One page of an account's notices, newest first, older than `before` when given.
pub async fn page(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    before: Option<i64>,
    unacknowledged_only: bool,
    limit: i64,
) -> QueryResult<Vec<NotificationRow>> {
    let mut query = n::table
        .filter(n::account_id.eq(account_id))
        .select(NotificationRow::as_select())
        .order(n::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(n::id.lt(before));
    }
    if unacknowledged_only {
        query = query.filter(n::acknowledged_at.is_null());
    }
    query.load(conn).await
}

/// One notice of an account.
pub async fn notice_of(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    id: i64,
) -> QueryResult<Option<NotificationRow>> {
    n::table
        .find(id)
        .filter(n::account_id.eq(account_id))
        .select(NotificationRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Marks a notice of an account acknowledged (the first acknowledgement's time stays).
pub async fn acknowledge(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    id: i64,
) -> QueryResult<Option<NotificationRow>> {
    diesel::sql_query(
        "UPDATE notifications SET acknowledged_at = COALESCE(acknowledged_at, now()) \
         WHERE id = $1 AND account_id = $2 RETURNING *",
    )
    .bind::<BigInt, _>(id)
    .bind::<BigInt, _>(account_id)
    .get_result(conn)
    .await
    .optional()
}

/// Deletes an account's notices other than security-incident notices.
pub async fn delete_personal_notices(
    conn: &mut AsyncPgConnection,
    account_id: i64,
) -> QueryResult<usize> {
    diesel::delete(
        n::table
            .filter(n::account_id.eq(account_id))
            .filter(n::incident_id.is_null()),
    )
    .execute(conn)
    .await
}

/// Records when notices first went out on a socket (later deliveries keep the first time).
pub async fn mark_delivered(
    conn: &mut AsyncPgConnection,
    ids: Vec<i64>,
    at: Vec<DateTime<Utc>>,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE notifications n SET delivered_at = d.at \
         FROM unnest($1::bigint[], $2::timestamptz[]) AS d(id, at) \
         WHERE n.id = d.id AND n.delivered_at IS NULL",
    )
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Array<Timestamptz>, _>(at)
    .execute(conn)
    .await
}

/// Whether an account received any notice about an incident.
pub async fn was_notified_of(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    incident_id: i64,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        n::table
            .filter(n::account_id.eq(account_id))
            .filter(n::incident_id.eq(incident_id)),
    ))
    .get_result(conn)
    .await
}
