//! High and critical incidents by SMS and email (privacy policy 5.4: notices that reach every affected user).
//!
//! Declaring, updating or resolving a high or critical incident writes its in-app notices and a dispatch row in
//! one transaction (`realtime::service::dispatch`). This job works the dispatch through in batches of accounts:
//! each batch, in one transaction, opens the accounts' phone numbers and verified email addresses and queues one
//! SMS and one email per account in the outbox, recording the notice each carries, and moves the dispatch
//! past the batch. A crash repeats nothing: the batch and its progress commit together. The declaration itself
//! stays one set-based statement however many accounts it reaches.

use std::time::Duration;

use anyhow::Context;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::broker::Broker;
use crate::crypto::{Column, DataKeys};
use crate::db::Pool;
use crate::db::schema::accounts as a;
use crate::error::AppError;
use crate::messaging::{Channel, Message};
use crate::realtime::feed::INCIDENT_TOPIC;
use crate::realtime::service::dispatch::{self, DispatchNotice};

/// Accounts per transaction.
pub const BATCH: i64 = 500;

/// Queues the messages of every pending dispatch; returns how many messages were queued.
pub async fn run_due(pool: &Pool, keys: &DataKeys) -> anyhow::Result<usize> {
    let mut queued = 0;
    loop {
        let mut conn = pool.get().await.context("no database connection")?;
        let step = conn
            .transaction::<_, AppError, _>(async |conn| step(conn, keys).await)
            .await?;
        match step {
            Some(n) => queued += n,
            None => return Ok(queued),
        }
    }
}

/// One batch of one dispatch; `None` when nothing is pending.
async fn step(conn: &mut AsyncPgConnection, keys: &DataKeys) -> Result<Option<usize>, AppError> {
    let Some(pending) = dispatch::claim(conn).await? else {
        return Ok(None);
    };
    let notices = dispatch::batch(conn, &pending, BATCH).await?;
    let done = (notices.len() as i64) < BATCH;
    let after = notices
        .last()
        .map_or(pending.after_account, |n| n.account_id);
    let ids: Vec<i64> = notices.iter().map(|n| n.account_id).collect();
    type Row = (i64, Option<Vec<u8>>, Option<Vec<u8>>, bool);
    let contacts: Vec<Row> = a::table
        .filter(a::id.eq_any(&ids))
        .filter(a::status.ne("erased"))
        .select((
            a::id,
            a::phone_ciphertext,
            a::email_ciphertext,
            a::email_verified_at.is_not_null(),
        ))
        .load(conn)
        .await?;
    let contacts: std::collections::HashMap<i64, Row> =
        contacts.into_iter().map(|r| (r.0, r)).collect();
    let mut queued = 0;
    for notice in &notices {
        let Some((id, phone, email, verified)) = contacts.get(&notice.account_id) else {
            continue;
        };
        let phone = phone
            .as_deref()
            .and_then(|c| keys.open_str(Column::AccountPhone, *id, c).ok());
        let email = email
            .as_deref()
            .filter(|_| *verified)
            .and_then(|c| keys.open_str(Column::AccountEmail, *id, c).ok());
        for msg in messages(notice, phone, email) {
            crate::messaging::outbox::enqueue_about(conn, keys, &msg, Some(notice.notification_id))
                .await?;
            queued += 1;
        }
    }
    dispatch::advance(conn, &pending, after, done).await?;
    Ok(Some(queued))
}

/// The SMS (short: the title and where to read more) and the email (the whole notice) of one notice.
fn messages(notice: &DispatchNotice, phone: Option<String>, email: Option<String>) -> Vec<Message> {
    let data = json!({
        "notification": crate::graphql::ids::encode("Notification", notice.notification_id).0,
        "incident": notice.incident_id.map(|i| crate::graphql::ids::encode("Incident", i).0),
    });
    let mut out = Vec::new();
    if let Some(phone) = phone {
        out.push(Message {
            channel: Channel::Sms,
            to: phone,
            kind: "security_incident".into(),
            subject: None,
            text: format!(
                "[Portico] {}. Open the app or your email for what happened and what you can do.",
                crate::push::shorten(&notice.title, 120)
            ),
            data: data.clone(),
        });
    }
    if let Some(email) = email {
        out.push(Message {
            channel: Channel::Email,
            to: email,
            kind: "security_incident".into(),
            subject: Some(notice.title.clone()),
            text: notice.body.clone(),
            data,
        });
    }
    out
}

/// Runs [`run_due`] when an incident is announced (`incident:<id>`), on a resync, and every `every`.
pub fn start(
    pool: Pool,
    keys: DataKeys,
    broker: Broker,
    every: Duration,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let mut events = broker.subscribe();
    tokio::spawn(async move {
        loop {
            match run_due(&pool, &keys).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(messages = n, "queued incident messages by SMS and email"),
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "the incident message job could not run")
                }
            }
            if !crate::broker::wait_for(&mut events, &shutdown, every, &[INCIDENT_TOPIC]).await {
                return;
            }
        }
    })
}
