//! Data exports (policy: users may inquire into what is held about them; GDPR Art. 15 and 20, PIPL Art. 45).
//!
//! `requestDataExport` inserts a pending row (one pending export per account: asking again while one is
//! pending answers with that one) and wakes the export job through the broker (`NOTIFY portico,
//! 'export:<id>'`, sent when the request commits, heard by every gateway instance). The job also sweeps every
//! `privacy_job_interval` for rows a crash left behind. It claims one pending row at a time with `FOR UPDATE
//! SKIP LOCKED`, builds the archive on the same connection, seals it with the data key and marks it ready, all
//! in one transaction; a failure rolls the archive back to a savepoint and records the attempt, and after
//! [`MAX_ATTEMPTS`] the export is `failed`. A ready archive is downloadable by its owner through a signed link
//! until `export_link_ttl` has passed; the sweep then drops the sealed archive.

mod archive;
pub mod link;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

pub use archive::FORMAT;

use crate::broker::{Broker, BrokerEvent, notify_sql};
use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::DataKeys;
use crate::db::Pool;
use crate::db::schema::data_exports as de;
use crate::error::{AppError, AppResult};

/// The broker topic that wakes the export job (`export:<id>`).
pub const TOPIC: &str = "export";

/// Attempts before an export is given up as `failed`.
pub const MAX_ATTEMPTS: i32 = 5;

/// How many of an account's exports `Me.dataExports` lists.
pub const RECENT: i64 = 10;

/// Longest `last_error` stored, in characters.
const MAX_ERROR_CHARS: usize = 500;

/// An export request as stored (without its archive).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = de)]
pub struct ExportRow {
    pub id: i64,
    pub account_id: i64,
    pub status: ExportState,
    pub attempts: i32,
    pub requested_at: DateTime<Utc>,
    pub ready_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What `data_exports.status` stores.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum ExportState {
    Pending,
    Ready,
    Failed,
}

crate::text_enum!(ExportState { Pending => "pending", Ready => "ready", Failed => "failed" });

/// Where an export stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportStatus {
    Pending,
    Ready,
    Failed,
    Expired,
}

impl ExportRow {
    /// The status at `now`: a ready export whose link has run out is expired.
    pub fn status_at(&self, now: DateTime<Utc>) -> ExportStatus {
        match self.status {
            ExportState::Ready if self.expires_at.is_some_and(|e| e > now) => ExportStatus::Ready,
            ExportState::Ready => ExportStatus::Expired,
            ExportState::Failed => ExportStatus::Failed,
            ExportState::Pending => ExportStatus::Pending,
        }
    }

    /// The signed download link while the export is ready and unexpired.
    pub fn download_url(&self, keys: &DataKeys, now: DateTime<Utc>) -> Option<String> {
        match (self.status_at(now), self.expires_at) {
            (ExportStatus::Ready, Some(expires_at)) => Some(link::url(keys, self.id, expires_at)),
            _ => None,
        }
    }
}

/// Asks for an export of `account_id`'s data; while one is pending, answers with that one.
pub async fn request_export(pool: &Pool, account_id: i64) -> AppResult<ExportRow> {
    let mut conn = pool.get().await?;
    // A pending export can turn ready between the insert that found it and the read that looks for it; the
    // next round then inserts a new one.
    for _ in 0..3 {
        let inserted = conn
            .transaction::<_, AppError, _>(async |conn| {
                let row: Option<ExportRow> = diesel::insert_into(de::table)
                    .values(de::account_id.eq(account_id))
                    .on_conflict_do_nothing()
                    .returning(ExportRow::as_returning())
                    .get_result(conn)
                    .await
                    .optional()?;
                if let Some(row) = &row {
                    diesel::sql_query(notify_sql(TOPIC, row.id))
                        .execute(conn)
                        .await?;
                }
                Ok(row)
            })
            .await?;
        if let Some(row) = inserted {
            return Ok(row);
        }
        let pending: Option<ExportRow> = de::table
            .filter(de::account_id.eq(account_id))
            .filter(de::status.eq(ExportState::Pending))
            .select(ExportRow::as_select())
            .first(&mut conn)
            .await
            .optional()?;
        if let Some(row) = pending {
            return Ok(row);
        }
    }
    Err(AppError::Internal(anyhow::anyhow!(
        "no export request could be recorded for account {account_id}"
    )))
}

/// The account's most recent exports, newest first.
pub async fn recent_exports(pool: &Pool, account_id: i64) -> AppResult<Vec<ExportRow>> {
    let mut conn = pool.get().await?;
    Ok(de::table
        .filter(de::account_id.eq(account_id))
        .order(de::id.desc())
        .limit(RECENT)
        .select(ExportRow::as_select())
        .load(&mut conn)
        .await?)
}

/// One export of the account; `None` when it does not exist or belongs to someone else.
pub async fn export_of(pool: &Pool, account_id: i64, id: i64) -> AppResult<Option<ExportRow>> {
    let mut conn = pool.get().await?;
    Ok(de::table
        .find(id)
        .filter(de::account_id.eq(account_id))
        .select(ExportRow::as_select())
        .first(&mut conn)
        .await
        .optional()?)
}

/// What happened to one claimed export.
enum Outcome {
    Built,
    Failed,
}

/// Builds every pending export that is not locked by another worker, each at most once per call; returns how
/// many became ready. Failures are recorded on their rows (and retried by a later call).
pub async fn run_pending_exports(
    pool: &Pool,
    keys: &DataKeys,
    config: &Config,
    clock: &Clock,
) -> AppResult<usize> {
    let ttl = chrono::Duration::from_std(config.export_link_ttl)
        .map_err(|e| AppError::Internal(anyhow::Error::new(e).context("export_link_ttl")))?;
    let mut tried: Vec<i64> = Vec::new();
    let mut built = 0;
    let mut conn = pool.get().await?;
    loop {
        let claimed = conn
            .transaction::<_, AppError, _>(async |conn| {
                let Some((id, account_id, attempts)) = de::table
                    .filter(de::status.eq(ExportState::Pending))
                    .filter(diesel::dsl::not(de::id.eq_any(&tried)))
                    .order(de::id.asc())
                    .select((de::id, de::account_id, de::attempts))
                    .for_update()
                    .skip_locked()
                    .first::<(i64, i64, i32)>(conn)
                    .await
                    .optional()?
                else {
                    return Ok(None);
                };
                // The archive is built and stored under a savepoint: a failure undoes it and is recorded on the
                // claimed row, which stays locked until this transaction ends.
                let attempt = conn
                    .transaction::<_, AppError, _>(async |conn| {
                        let now = clock.now();
                        let archive = archive::build(conn, keys, account_id, now).await?;
                        let bytes = serde_json::to_vec_pretty(&archive)
                            .map_err(|e| AppError::Internal(e.into()))?;
                        diesel::update(de::table.find(id))
                            .set((
                                de::status.eq(ExportState::Ready),
                                de::archive_ciphertext.eq(keys.seal(crate::crypto::Column::ExportArchive, id, &bytes)),
                                de::ready_at.eq(now),
                                de::expires_at.eq(now + ttl),
                                de::last_error.eq(None::<String>),
                            ))
                            .execute(conn)
                            .await?;
                        Ok(())
                    })
                    .await;
                let outcome = match attempt {
                    Ok(()) => Outcome::Built,
                    Err(e) => {
                        let attempts = attempts + 1;
                        let status = if attempts >= MAX_ATTEMPTS {
                            ExportState::Failed
                        } else {
                            ExportState::Pending
                        };
                        tracing::warn!(export_id = id, attempts, error = %format!("{e:#}"), "data export failed");
                        let message: String = format!("{e:#}").chars().take(MAX_ERROR_CHARS).collect();
                        diesel::update(de::table.find(id))
                            .set((
                                de::attempts.eq(attempts),
                                de::last_error.eq(message),
                                de::status.eq(status),
                            ))
                            .execute(conn)
                            .await?;
                        Outcome::Failed
                    }
                };
                Ok(Some((id, outcome)))
            })
            .await?;
        match claimed {
            None => return Ok(built),
            Some((id, outcome)) => {
                tried.push(id);
                if matches!(outcome, Outcome::Built) {
                    built += 1;
                }
            }
        }
    }
}

/// Drops the sealed archives of exports whose links have expired; returns how many.
pub async fn purge_expired_exports(pool: &Pool, now: DateTime<Utc>) -> AppResult<usize> {
    let mut conn = pool.get().await?;
    Ok(diesel::update(
        de::table
            .filter(de::status.eq(ExportState::Ready))
            .filter(de::expires_at.le(now))
            .filter(de::archive_ciphertext.is_not_null()),
    )
    .set(de::archive_ciphertext.eq(None::<Vec<u8>>))
    .execute(&mut conn)
    .await?)
}

/// Why a download is refused after its link checked out.
#[derive(Debug)]
pub enum Refusal {
    NotFound,
    Forbidden,
    Expired,
    Internal(AppError),
}

impl From<AppError> for Refusal {
    fn from(e: AppError) -> Self {
        Refusal::Internal(e)
    }
}

impl From<diesel::result::Error> for Refusal {
    fn from(e: diesel::result::Error) -> Self {
        Refusal::Internal(e.into())
    }
}

/// The archive of export `id` for `account_id`, opened: only its owner gets it, only while it is ready and
/// unexpired.
pub async fn archive_for(
    pool: &Pool,
    keys: &DataKeys,
    id: i64,
    account_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<u8>, Refusal> {
    let mut conn = pool.get().await.map_err(AppError::from)?;
    let row: Option<(ExportRow, Option<Vec<u8>>)> = de::table
        .find(id)
        .select((ExportRow::as_select(), de::archive_ciphertext))
        .first(&mut conn)
        .await
        .optional()?;
    let Some((row, sealed)) = row else {
        return Err(Refusal::NotFound);
    };
    if row.account_id != account_id {
        return Err(Refusal::Forbidden);
    }
    match (row.status_at(now), sealed) {
        (ExportStatus::Ready, Some(sealed)) => keys
            .open(crate::crypto::Column::ExportArchive, id, &sealed)
            .map_err(|e| {
                Refusal::Internal(AppError::Internal(
                    anyhow::Error::new(e).context("opening an export archive"),
                ))
            }),
        (ExportStatus::Ready | ExportStatus::Expired, _) => Err(Refusal::Expired),
        _ => Err(Refusal::NotFound),
    }
}

/// One round of the export job: drop expired archives, then build what is pending.
pub async fn sweep(
    pool: &Pool,
    keys: &DataKeys,
    config: &Config,
    clock: &Clock,
) -> AppResult<usize> {
    let purged = purge_expired_exports(pool, clock.now()).await?;
    if purged > 0 {
        tracing::debug!(purged, "dropped expired export archives");
    }
    run_pending_exports(pool, keys, config, clock).await
}

/// Starts the export job: a sweep at once, then whenever an export is requested (on any instance) and every
/// `privacy_job_interval`, until `shutdown` is cancelled. A sweep in progress finishes first.
pub fn start_job(
    pool: Pool,
    keys: DataKeys,
    config: Arc<Config>,
    broker: Broker,
    clock: Clock,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    // Subscribe before the first sweep, so a request made during it still wakes us.
    let mut events = broker.subscribe();
    tokio::spawn(async move {
        let mut listening = true;
        while !shutdown.is_cancelled() {
            match sweep(&pool, &keys, &config, &clock).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(exports = n, "data exports ready"),
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "data export sweep failed"),
            }
            let deadline = tokio::time::sleep(config.privacy_job_interval);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => return,
                    _ = &mut deadline => break,
                    event = events.recv(), if listening => match event {
                        Ok(BrokerEvent::Notify { topic, .. }) if topic == TOPIC => break,
                        Ok(BrokerEvent::Resync) | Err(RecvError::Lagged(_)) => break,
                        Ok(BrokerEvent::Notify { .. }) => {}
                        Err(RecvError::Closed) => listening = false,
                    },
                }
            }
        }
    })
}
