//! Queries on `incident_dispatches`: the stages of high and critical incidents whose SMS and email messages are
//! still to be queued, worked through in batches of accounts; and the per-channel delivery figures.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::realtime::model::ChannelFigures;

/// Records that a stage's notices are also to go out by SMS and email.
pub async fn insert_dispatch(conn: &mut AsyncPgConnection, update_id: i64) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO incident_dispatches (update_id) VALUES ($1) ON CONFLICT DO NOTHING",
    )
    .bind::<BigInt, _>(update_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A pending dispatch, locked for the rest of the transaction (others skip it).
#[derive(Debug, QueryableByName)]
pub struct PendingDispatch {
    #[diesel(sql_type = BigInt)]
    pub update_id: i64,
    #[diesel(sql_type = BigInt)]
    pub after_account: i64,
}

pub async fn claim_dispatch(conn: &mut AsyncPgConnection) -> QueryResult<Option<PendingDispatch>> {
    diesel::sql_query(
        "SELECT update_id, after_account FROM incident_dispatches WHERE done_at IS NULL \
         ORDER BY update_id LIMIT 1 FOR UPDATE SKIP LOCKED",
    )
    .get_result(conn)
    .await
    .optional()
}

/// One notice of a dispatched stage.
#[derive(Debug, Clone, QueryableByName)]
pub struct DispatchNotice {
    #[diesel(sql_type = BigInt)]
    pub notification_id: i64,
    #[diesel(sql_type = BigInt)]
    pub account_id: i64,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub body: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub incident_id: Option<i64>,
}

/// The stage's notices to accounts after `after`, by account, at most `limit`.
pub async fn dispatch_batch(
    conn: &mut AsyncPgConnection,
    update_id: i64,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<DispatchNotice>> {
    diesel::sql_query(
        "SELECT id AS notification_id, account_id, title, body, incident_id FROM notifications \
         WHERE incident_update_id = $1 AND account_id > $2 ORDER BY account_id LIMIT $3",
    )
    .bind::<BigInt, _>(update_id)
    .bind::<BigInt, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Moves a dispatch past `after`, and ends it when `done`.
pub async fn advance_dispatch(
    conn: &mut AsyncPgConnection,
    update_id: i64,
    after: i64,
    done: bool,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE incident_dispatches SET after_account = $2, \
             done_at = CASE WHEN $3 THEN now() ELSE NULL END WHERE update_id = $1",
    )
    .bind::<BigInt, _>(update_id)
    .bind::<BigInt, _>(after)
    .bind::<diesel::sql_types::Bool, _>(done)
    .execute(conn)
    .await?;
    Ok(())
}

/// The per-channel figures of an incident, over all its stages: the in-app notice and socket, push (notices
/// with at least one push), SMS and email (messages queued).
pub async fn channel_figures(
    conn: &mut AsyncPgConnection,
    incident_id: i64,
) -> QueryResult<Vec<ChannelFigures>> {
    diesel::sql_query(
        "WITH n AS (SELECT id, delivered_at, acknowledged_at FROM notifications WHERE incident_id = $1) \
         SELECT 'socket' AS channel, count(*) AS notified, count(delivered_at) AS delivered, \
                count(*) FILTER (WHERE delivered_at IS NOT NULL AND acknowledged_at IS NOT NULL) AS acknowledged \
         FROM n \
         UNION ALL \
         SELECT 'push', count(*), count(*) FILTER (WHERE p.delivered), \
                count(*) FILTER (WHERE p.delivered AND n.acknowledged_at IS NOT NULL) \
         FROM (SELECT notification_id, bool_or(outcome = 'delivered') AS delivered FROM push_deliveries \
               WHERE notification_id IN (SELECT id FROM n) GROUP BY notification_id) p \
         JOIN n ON n.id = p.notification_id \
         UNION ALL \
         SELECT o.channel, count(*), count(o.sent_at), \
                count(*) FILTER (WHERE o.sent_at IS NOT NULL AND n.acknowledged_at IS NOT NULL) \
         FROM outbox_messages o JOIN n ON n.id = o.notification_id GROUP BY o.channel",
    )
    .bind::<BigInt, _>(incident_id)
    .load(conn)
    .await
}
