//! Queries on `push_devices` and `push_deliveries`: registration, the set-based queueing of a notice's pushes,
//! and the claim/record cycle of the delivery worker.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bytea, Integer, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::push_devices as pd;

/// A registered device.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = pd)]
pub struct DeviceRow {
    pub id: i64,
    pub account_id: i64,
    pub kind: String,
    pub label: String,
    pub target_ciphertext: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub last_delivered_at: Option<DateTime<Utc>>,
}

/// Locks the account's row for the rest of the transaction, so two registrations cannot both pass the limit.
pub async fn lock_account(conn: &mut AsyncPgConnection, account_id: i64) -> QueryResult<bool> {
    use crate::db::schema::accounts as a;
    Ok(a::table
        .find(account_id)
        .select(a::id)
        .for_update()
        .first::<i64>(conn)
        .await
        .optional()?
        .is_some())
}

/// The device registered under a target's blind index, locked for the rest of the transaction.
pub async fn by_index(
    conn: &mut AsyncPgConnection,
    index: &[u8],
) -> QueryResult<Option<DeviceRow>> {
    pd::table
        .filter(pd::target_index.eq(index))
        .select(DeviceRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn count_of(conn: &mut AsyncPgConnection, account_id: i64) -> QueryResult<i64> {
    pd::table
        .filter(pd::account_id.eq(account_id))
        .count()
        .get_result(conn)
        .await
}

pub async fn next_id(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    diesel::select(diesel::dsl::sql::<BigInt>(
        "nextval(pg_get_serial_sequence('push_devices', 'id'))",
    ))
    .get_result(conn)
    .await
}

pub struct NewDeviceRow<'a> {
    pub id: i64,
    pub account_id: i64,
    pub kind: &'a str,
    pub label: &'a str,
    pub target_ciphertext: Vec<u8>,
    pub target_index: Vec<u8>,
}

pub async fn insert(conn: &mut AsyncPgConnection, row: NewDeviceRow<'_>) -> QueryResult<DeviceRow> {
    diesel::insert_into(pd::table)
        .values((
            pd::id.eq(row.id),
            pd::account_id.eq(row.account_id),
            pd::kind.eq(row.kind),
            pd::label.eq(row.label),
            pd::target_ciphertext.eq(row.target_ciphertext),
            pd::target_index.eq(row.target_index),
        ))
        .returning(DeviceRow::as_returning())
        .get_result(conn)
        .await
}

/// Gives a device registered again its new owner, label and keys; what was queued for the old owner goes.
pub async fn replace(
    conn: &mut AsyncPgConnection,
    id: i64,
    account_id: i64,
    label: &str,
    target_ciphertext: Vec<u8>,
) -> QueryResult<DeviceRow> {
    let before: i64 = pd::table
        .find(id)
        .select(pd::account_id)
        .first(conn)
        .await?;
    if before != account_id {
        use crate::db::schema::push_deliveries as d;
        diesel::delete(d::table.filter(d::device_id.eq(id)))
            .execute(conn)
            .await?;
    }
    diesel::update(pd::table.find(id))
        .set((
            pd::account_id.eq(account_id),
            pd::label.eq(label),
            pd::target_ciphertext.eq(target_ciphertext),
        ))
        .returning(DeviceRow::as_returning())
        .get_result(conn)
        .await
}

/// An account's devices, oldest first.
pub async fn of_account(
    conn: &mut AsyncPgConnection,
    account_id: i64,
) -> QueryResult<Vec<DeviceRow>> {
    pd::table
        .filter(pd::account_id.eq(account_id))
        .order(pd::id.asc())
        .select(DeviceRow::as_select())
        .load(conn)
        .await
}

/// Deletes one device of an account (its queued pushes go with it); false when it is not the account's.
pub async fn delete_of(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    id: i64,
) -> QueryResult<bool> {
    Ok(diesel::delete(
        pd::table
            .filter(pd::id.eq(id))
            .filter(pd::account_id.eq(account_id)),
    )
    .execute(conn)
    .await?
        > 0)
}

/// Deletes every device of an account.
pub async fn delete_all_of(conn: &mut AsyncPgConnection, account_id: i64) -> QueryResult<usize> {
    diesel::delete(pd::table.filter(pd::account_id.eq(account_id)))
        .execute(conn)
        .await
}

/// Deletes devices by id (gone at their service).
pub async fn delete_ids(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::delete(pd::table.filter(pd::id.eq_any(ids)))
        .execute(conn)
        .await
}

/// The SQL that queues a push of every notice in the CTE `ins` (columns `id`, `account_id`, `kind`) to each
/// device of its account: high urgency and three days for incidents, a day for the rest. Used as one more
/// CTE of the statement that writes the notices, so a fan-out to any number of accounts stays one statement.
pub const FAN_OUT_CTE: &str = "pushed AS ( \
     INSERT INTO push_deliveries (device_id, notification_id, urgency, expires_at) \
     SELECT d.id, ins.id, \
            CASE WHEN ins.kind = 'security_incident' THEN 'high' ELSE 'normal' END, \
            now() + CASE WHEN ins.kind = 'security_incident' THEN interval '72 hours' ELSE interval '24 hours' END \
     FROM ins JOIN push_devices d ON d.account_id = ins.account_id)";

/// A delivery claimed for one attempt, with what it needs: its device and its notice.
#[derive(Debug, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub device_id: i64,
    #[diesel(sql_type = BigInt)]
    pub notification_id: i64,
    #[diesel(sql_type = Text)]
    pub urgency: String,
    #[diesel(sql_type = Timestamptz)]
    pub expires_at: DateTime<Utc>,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Bytea)]
    pub target_ciphertext: Vec<u8>,
    #[diesel(sql_type = Text)]
    pub notice_kind: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub body: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub incident_id: Option<i64>,
}

/// Claims up to `limit` due deliveries, oldest first, leasing them for `lease`, in one statement. A delivery
/// waits while an older one to the same device is unfinished and not due (held by another worker or waiting
/// for its retry), so each device receives its notices in order.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    limit: i64,
    lease: Duration,
) -> QueryResult<Vec<Claimed>> {
    let mut rows: Vec<Claimed> = diesel::sql_query(
        "WITH claimed AS ( \
             UPDATE push_deliveries SET next_attempt_at = now() + $2 * interval '1 millisecond' \
             WHERE id = ANY(ARRAY( \
                 SELECT p.id FROM push_deliveries p \
                 WHERE p.done_at IS NULL AND p.next_attempt_at <= now() \
                   AND NOT EXISTS (SELECT 1 FROM push_deliveries e \
                       WHERE e.device_id = p.device_id AND e.done_at IS NULL AND e.id < p.id \
                         AND e.next_attempt_at > now()) \
                 ORDER BY p.next_attempt_at, p.id LIMIT $1 \
                 FOR UPDATE SKIP LOCKED)) \
             RETURNING id, device_id, notification_id, urgency, expires_at, attempts) \
         SELECT c.*, d.target_ciphertext, n.kind AS notice_kind, n.title, n.body, n.incident_id \
         FROM claimed c JOIN push_devices d ON d.id = c.device_id \
         JOIN notifications n ON n.id = c.notification_id",
    )
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(millis(lease))
    .load(conn)
    .await?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// Marks deliveries delivered and their devices' `last_delivered_at`, in one statement.
pub async fn mark_delivered(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(
        "WITH done AS (UPDATE push_deliveries SET done_at = now(), outcome = 'delivered' \
             WHERE id = ANY($1) AND done_at IS NULL RETURNING device_id) \
         UPDATE push_devices SET last_delivered_at = now() WHERE id IN (SELECT device_id FROM done)",
    )
    .bind::<Array<BigInt>, _>(ids)
    .execute(conn)
    .await
}

/// Ends deliveries without sending them: `outcome` is `expired` or `refused`.
pub async fn mark_ended(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    outcome: &str,
    error: Option<&str>,
) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(
        "UPDATE push_deliveries SET done_at = now(), outcome = $2, last_error = COALESCE($3, last_error) \
         WHERE id = ANY($1) AND done_at IS NULL",
    )
    .bind::<Array<BigInt>, _>(ids)
    .bind::<Text, _>(outcome)
    .bind::<Nullable<Text>, _>(error)
    .execute(conn)
    .await
}

/// Records a failed attempt and when to try again.
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    id: i64,
    error: &str,
    retry_in: Duration,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE push_deliveries SET attempts = attempts + 1, last_error = $2, \
             next_attempt_at = now() + $3 * interval '1 millisecond' \
         WHERE id = $1 AND done_at IS NULL",
    )
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(error.chars().take(500).collect::<String>())
    .bind::<BigInt, _>(millis(retry_in))
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives back claimed deliveries that were not tried: due again at once, behind the older one they wait for.
pub async fn release(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(
        "UPDATE push_deliveries SET next_attempt_at = now() WHERE id = ANY($1) AND done_at IS NULL",
    )
    .bind::<Array<BigInt>, _>(ids)
    .execute(conn)
    .await
}

/// Deletes ended deliveries older than `period`; returns how many.
pub async fn purge_older_than(
    conn: &mut AsyncPgConnection,
    period: Duration,
) -> QueryResult<usize> {
    diesel::sql_query(
        "DELETE FROM push_deliveries WHERE done_at < now() - $1 * interval '1 millisecond'",
    )
    .bind::<BigInt, _>(millis(period))
    .execute(conn)
    .await
}

fn millis(d: Duration) -> i64 {
    const YEAR_MS: i64 = 365 * 24 * 3600 * 1000;
    i64::try_from(d.as_millis()).map_or(YEAR_MS, |ms| ms.min(YEAR_MS))
}
