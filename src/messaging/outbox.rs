//! Queries on `outbox_messages`: enqueue (in the caller's transaction), claim with a lease, mark sent or failed.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Integer, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::Message;
use crate::broker::notify_sql;
use crate::crypto::{Column, DataKeys};
use crate::db::schema::outbox_messages;

/// The broker topic the outbox notifies (`portico` channel, payload `outbox:<id>`).
pub const TOPIC: &str = "outbox";

/// Longest `last_error` stored, in characters.
const MAX_ERROR_CHARS: usize = 500;

/// Queues `msg` for delivery and returns its outbox id.
///
/// Runs on the caller's connection, inside the caller's transaction when there is one: the message is sent only
/// if that transaction commits, and the `NOTIFY` that wakes the workers is delivered only then too. The whole
/// message is serialised to JSON and sealed with `keys`, bound to its row, so the row holds no phone number,
/// address or code; the destination's blind index lets an account's erasure find its queued messages.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    keys: &DataKeys,
    msg: &Message,
) -> QueryResult<i64> {
    enqueue_about(conn, keys, msg, None).await
}

/// [`enqueue`], recording the notice the message carries (so an incident's report counts it per channel).
pub async fn enqueue_about(
    conn: &mut AsyncPgConnection,
    keys: &DataKeys,
    msg: &Message,
    notification_id: Option<i64>,
) -> QueryResult<i64> {
    let json = serde_json::to_vec(msg)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    // The id is taken first, so the payload can be bound to its row.
    let id: i64 = diesel::select(diesel::dsl::sql::<BigInt>(
        "nextval('outbox_messages_id_seq')",
    ))
    .get_result(conn)
    .await?;
    diesel::insert_into(outbox_messages::table)
        .values((
            outbox_messages::id.eq(id),
            outbox_messages::channel.eq(msg.channel.as_str()),
            outbox_messages::payload_ciphertext.eq(keys.seal(Column::OutboxPayload, id, &json)),
            outbox_messages::destination_index
                .eq(keys.blind_index(msg.channel.index_domain(), &msg.to)),
            outbox_messages::notification_id.eq(notification_id),
        ))
        .execute(conn)
        .await?;
    diesel::sql_query(notify_sql(TOPIC, id))
        .execute(conn)
        .await?;
    Ok(id)
}

/// Opens a queued message's payload (sealed for its row).
pub fn open_payload(keys: &DataKeys, id: i64, sealed: &[u8]) -> Option<Message> {
    let json = keys.open(Column::OutboxPayload, id, sealed).ok()?;
    serde_json::from_slice(&json).ok()
}

/// Deletes the queued messages addressed to any of `indexes` (an erased account's phone and email), sent or
/// not; returns how many.
pub async fn delete_addressed_to(
    conn: &mut AsyncPgConnection,
    indexes: &[Vec<u8>],
) -> QueryResult<usize> {
    if indexes.is_empty() {
        return Ok(0);
    }
    diesel::delete(
        outbox_messages::table.filter(outbox_messages::destination_index.eq_any(indexes)),
    )
    .execute(conn)
    .await
}

/// Deletes queued messages older than `period`: delivered ones (they hold sealed phones, emails and codes), and
/// undelivered ones, whose codes expired long before. Returns how many.
pub async fn purge_older_than(
    conn: &mut AsyncPgConnection,
    period: Duration,
) -> QueryResult<usize> {
    let mut total = 0;
    loop {
        let n = diesel::sql_query(
            "DELETE FROM outbox_messages WHERE id IN (SELECT id FROM outbox_messages \
               WHERE COALESCE(sent_at, created_at) < now() - $1 * interval '1 millisecond' LIMIT 5000)",
        )
        .bind::<BigInt, _>(millis(period))
        .execute(conn)
        .await?;
        total += n;
        if n < 5000 {
            return Ok(total);
        }
    }
}

/// A message claimed for one delivery attempt.
#[derive(Debug, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = Bytea)]
    pub payload_ciphertext: Vec<u8>,
    /// Failed attempts so far.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

/// Claims up to `limit` due messages, oldest first, and pushes their `next_attempt_at` forward by `lease`, in one
/// statement (its own short transaction). `SKIP LOCKED` lets several gateway instances claim side by side, and the
/// lease keeps a claimed message away from the others while it is being sent. A claim whose holder dies is
/// retried when its lease runs out.
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    limit: i64,
    lease: Duration,
) -> QueryResult<Vec<Claimed>> {
    let mut rows: Vec<Claimed> = diesel::sql_query(
        "UPDATE outbox_messages \
         SET next_attempt_at = now() + $2 * interval '1 millisecond' \
         WHERE id = ANY(ARRAY( \
             SELECT id FROM outbox_messages \
             WHERE sent_at IS NULL AND next_attempt_at <= now() \
             ORDER BY id LIMIT $1 \
             FOR UPDATE SKIP LOCKED)) \
         RETURNING id, channel, payload_ciphertext, attempts",
    )
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(millis(lease))
    .load(conn)
    .await?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// Marks a message delivered.
pub async fn mark_sent(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE outbox_messages SET sent_at = now() WHERE id = $1 AND sent_at IS NULL",
    )
    .bind::<BigInt, _>(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed attempt: one more attempt, the (truncated) error, and the next attempt `retry_in` from now.
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    id: i64,
    error: &str,
    retry_in: Duration,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE outbox_messages \
         SET attempts = attempts + 1, last_error = $2, \
             next_attempt_at = now() + $3 * interval '1 millisecond' \
         WHERE id = $1 AND sent_at IS NULL",
    )
    .bind::<BigInt, _>(id)
    .bind::<Text, _>(truncate(error, MAX_ERROR_CHARS))
    .bind::<BigInt, _>(millis(retry_in))
    .execute(conn)
    .await?;
    Ok(())
}

/// Whole milliseconds, capped at a year so the interval arithmetic in SQL cannot overflow.
fn millis(d: Duration) -> i64 {
    const YEAR_MS: i64 = 365 * 24 * 3600 * 1000;
    i64::try_from(d.as_millis()).map_or(YEAR_MS, |ms| ms.min(YEAR_MS))
}

/// The first `max` characters of `s`.
fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_truncated_on_character_boundaries() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abcdef", 3), "abc");
        assert_eq!(truncate("éèêë", 2), "éè");
    }
}
