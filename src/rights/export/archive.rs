//! The archive of a data export: everything Portico holds about one account, as machine-readable JSON.
//!
//! The account and its profile come through the accounts service. The rest is read here with read-only
//! queries over the other domains' tables, on purpose: an archive must hold *everything* (drafts, deleted
//! works, revoked sessions, acknowledged notices, the whole consent ledger), read on the one connection the
//! export job holds, while the other domains' service functions serve paged, visibility-filtered views over a
//! pool of their own. Nothing here writes; personal fields sealed at rest are opened for their owner.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

use crate::accounts::service::account_with_profile;
use crate::content::model::{Article, Work};
use crate::crypto::{Column, DataKeys};
use crate::db::schema::{
    account_cancellations as ac, articles, collections, notifications, security_events, sessions,
    third_party_bindings as tpb, works,
};
use crate::error::{AppError, AppResult};
use crate::graphql::ids;
use crate::realtime::model::NotificationRow;

/// The archive format's name and version (`format` at the top of every archive).
pub const FORMAT: &str = "portico-export/1";

fn opened(
    keys: &DataKeys,
    column: Column,
    row: i64,
    sealed: Option<&[u8]>,
) -> AppResult<Option<String>> {
    sealed
        .map(|s| {
            keys.open_str(column, row, s).map_err(|e| {
                AppError::Internal(anyhow::Error::new(e).context("opening a personal field"))
            })
        })
        .transpose()
}

fn strings(list: &[Option<String>]) -> Vec<String> {
    list.iter().flatten().cloned().collect()
}

/// Builds the archive of `account_id` on `conn`; `NOT_FOUND` when the account is gone.
pub async fn build(
    conn: &mut AsyncPgConnection,
    keys: &DataKeys,
    account_id: i64,
    generated_at: DateTime<Utc>,
) -> AppResult<Value> {
    let Some((account, profile)) = account_with_profile(conn, account_id).await? else {
        return Err(AppError::NotFound("account".into()));
    };
    let account_json = json!({
        "id": ids::encode("User", account.id).0,
        "username": account.username,
        "role": account.role.as_str(),
        "status": account.status.as_str(),
        "gender": account.gender,
        "occupation": account.occupation,
        "city": account.city,
        "phone": opened(keys, Column::AccountPhone, account.id, account.phone_ciphertext.as_deref())?,
        "email": opened(keys, Column::AccountEmail, account.id, account.email_ciphertext.as_deref())?,
        "emailVerifiedAt": account.email_verified_at,
        "createdAt": account.created_at,
    });
    let profile_json = json!({
        "avatarUrl": profile.avatar_url,
        "hometown": profile.hometown,
        "signature": profile.signature,
        "bio": profile.bio,
        "education": profile.education,
        "contact": opened(keys, Column::ProfileContact, account.id, profile.contact_ciphertext.as_deref())?,
        "link": profile.link,
        "equipment": profile.equipment,
        "labels": profile.labels(),
        "privateFields": strings(&profile.private_fields),
    });
    let (consents, consent_history) = consents(conn, account_id).await?;
    Ok(json!({
        "format": FORMAT,
        "generatedAt": generated_at,
        "account": account_json,
        "profile": profile_json,
        "thirdPartyBindings": bindings(conn, account_id).await?,
        "sessions": sessions_of(conn, account_id).await?,
        "consents": consents,
        "consentHistory": consent_history,
        "works": works_of(conn, account_id).await?,
        "images": images_of(conn, account_id).await?,
        "articles": articles_of(conn, account_id).await?,
        "collections": collections_of(conn, account_id).await?,
        "notifications": notifications_of(conn, account_id).await?,
        "pushDevices": crate::realtime::devices::export_rows(conn, keys, account_id).await?,
        "securityEvents": security_events_of(conn, account_id).await?,
        "disclosures": disclosures_of(conn, account_id).await?,
        "staffAccesses": staff_accesses_of(conn, account_id).await?,
        "cancellationRequests": cancellations_of(conn, account_id).await?,
    }))
}

async fn bindings(conn: &mut AsyncPgConnection, account_id: i64) -> QueryResult<Vec<Value>> {
    type Row = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        DateTime<Utc>,
    );
    let rows: Vec<Row> = tpb::table
        .filter(tpb::account_id.eq(account_id))
        .order(tpb::bound_at.asc())
        .select((
            tpb::provider,
            tpb::subject,
            tpb::union_id,
            tpb::nickname,
            tpb::avatar_url,
            tpb::gender,
            tpb::bound_at,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(provider, subject, union_id, nickname, avatar, gender, at)| {
            json!({ "provider": provider, "subject": subject, "unionId": union_id, "nickname": nickname,
                    "avatarUrl": avatar, "gender": gender, "boundAt": at })
        })
        .collect())
}

async fn sessions_of(conn: &mut AsyncPgConnection, account_id: i64) -> QueryResult<Vec<Value>> {
    type Row = (
        i64,
        String,
        String,
        String,
        DateTime<Utc>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<String>,
    );
    let rows: Vec<Row> = sessions::table
        .filter(sessions::account_id.eq(account_id))
        .order(sessions::id.asc())
        .select((
            sessions::id,
            sessions::device,
            sessions::user_agent,
            sessions::method,
            sessions::created_at,
            sessions::last_seen_at,
            sessions::revoked_at,
            sessions::revoked_reason,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, device, ua, method, created, seen, revoked, reason)| {
            json!({ "id": ids::encode("Session", id).0, "device": device, "userAgent": ua, "method": method,
                    "createdAt": created, "lastSeenAt": seen, "revokedAt": revoked, "revokedReason": reason })
        })
        .collect())
}

#[derive(QueryableByName)]
struct ConsentRow {
    #[diesel(sql_type = Text)]
    purpose: String,
    #[diesel(sql_type = Nullable<Text>)]
    partner: Option<String>,
    #[diesel(sql_type = Bool)]
    granted: bool,
    #[diesel(sql_type = Text)]
    policy_version: String,
    #[diesel(sql_type = Text)]
    method: String,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

/// The current answer per purpose (and partner), and the whole ledger, oldest first.
async fn consents(
    conn: &mut AsyncPgConnection,
    account_id: i64,
) -> QueryResult<(Vec<Value>, Vec<Value>)> {
    let rows: Vec<ConsentRow> = diesel::sql_query(
        "SELECT c.purpose, p.name AS partner, c.granted, v.version AS policy_version, c.method, c.created_at
         FROM consent_records c
         JOIN policy_versions v ON v.id = c.policy_version_id
         LEFT JOIN partners p ON p.id = c.partner_id
         WHERE c.account_id = $1
         ORDER BY c.id",
    )
    .bind::<BigInt, _>(account_id)
    .load(conn)
    .await?;
    let history: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({ "purpose": r.purpose, "partner": r.partner, "granted": r.granted,
                    "policyVersion": r.policy_version, "method": r.method, "at": r.created_at })
        })
        .collect();
    // The latest record per (purpose, partner) is the current answer; keep the ledger's order of first answers.
    let mut current: Vec<&ConsentRow> = Vec::new();
    for r in &rows {
        match current
            .iter_mut()
            .find(|c| c.purpose == r.purpose && c.partner == r.partner)
        {
            Some(c) => *c = r,
            None => current.push(r),
        }
    }
    let current = current
        .into_iter()
        .map(|r| {
            json!({ "purpose": r.purpose, "partner": r.partner, "granted": r.granted,
                    "policyVersion": r.policy_version, "updatedAt": r.created_at })
        })
        .collect();
    Ok((current, history))
}

async fn works_of(conn: &mut AsyncPgConnection, account_id: i64) -> QueryResult<Vec<Value>> {
    let rows: Vec<Work> = works::table
        .filter(works::author_id.eq(account_id))
        .order(works::id.asc())
        .select(Work::as_select())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|w| {
            json!({ "id": ids::encode("Work", w.id).0, "title": w.title, "description": w.description,
                    "category": w.category, "images": w.images, "tags": strings(&w.tags), "draft": w.draft,
                    "publishedAt": w.published_at, "createdAt": w.created_at, "updatedAt": w.updated_at,
                    "deletedAt": w.deleted_at, "viewCount": w.view_count,
                    "collectionCount": w.collection_count })
        })
        .collect())
}

/// Every upload of the account: where it is served, its size and what it is attached to.
async fn images_of(conn: &mut AsyncPgConnection, account_id: i64) -> QueryResult<Vec<Value>> {
    let rows = crate::media::store::of_owner(conn, account_id).await?;
    Ok(rows
        .iter()
        .map(|i| {
            json!({ "id": ids::encode("Image", i.id).0, "url": i.url(), "contentType": i.content_type,
                    "width": i.width, "height": i.height, "bytes": i.bytes,
                    "work": i.work_id.map(|w| ids::encode("Work", w).0), "avatar": i.avatar,
                    "thumbnails": i.thumbnails().iter().map(|t| json!({ "url": crate::media::url(&t.key),
                        "width": t.width, "height": t.height })).collect::<Vec<_>>(),
                    "createdAt": i.created_at })
        })
        .collect())
}

async fn articles_of(conn: &mut AsyncPgConnection, account_id: i64) -> QueryResult<Vec<Value>> {
    let rows: Vec<Article> = articles::table
        .filter(articles::author_id.eq(account_id))
        .order(articles::id.asc())
        .select(Article::as_select())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|a| {
            json!({ "id": ids::encode("Article", a.id).0, "title": a.title, "summary": a.summary,
                    "bodyMarkdown": a.body_markdown, "tags": strings(&a.tags), "draft": a.draft,
                    "publishedAt": a.published_at, "createdAt": a.created_at, "updatedAt": a.updated_at,
                    "deletedAt": a.deleted_at, "viewCount": a.view_count })
        })
        .collect())
}

async fn collections_of(conn: &mut AsyncPgConnection, account_id: i64) -> QueryResult<Vec<Value>> {
    let rows: Vec<(i64, String, DateTime<Utc>)> = collections::table
        .inner_join(works::table)
        .filter(collections::account_id.eq(account_id))
        .order((collections::created_at.asc(), collections::work_id.asc()))
        .select((works::id, works::title, collections::created_at))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, title, at)| {
            json!({ "work": ids::encode("Work", id).0, "title": title, "collectedAt": at })
        })
        .collect())
}

async fn notifications_of(
    conn: &mut AsyncPgConnection,
    account_id: i64,
) -> QueryResult<Vec<Value>> {
    let rows: Vec<NotificationRow> = notifications::table
        .filter(notifications::account_id.eq(account_id))
        .order(notifications::id.asc())
        .select(NotificationRow::as_select())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|n| {
            json!({ "id": ids::encode("Notification", n.id).0, "kind": n.kind, "title": n.title,
                    "body": n.body, "references": n.refs, "createdAt": n.created_at,
                    "deliveredAt": n.delivered_at, "acknowledgedAt": n.acknowledged_at })
        })
        .collect())
}

async fn security_events_of(
    conn: &mut AsyncPgConnection,
    account_id: i64,
) -> QueryResult<Vec<Value>> {
    let rows: Vec<(i64, String, Value, String, DateTime<Utc>)> = security_events::table
        .filter(security_events::account_id.eq(account_id))
        .order(security_events::id.asc())
        .select((
            security_events::id,
            security_events::kind,
            security_events::detail,
            security_events::user_agent,
            security_events::created_at,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, detail, ua, at)| {
            json!({ "id": ids::encode("SecurityEvent", id).0, "kind": kind, "detail": detail,
                    "userAgent": ua, "at": at })
        })
        .collect())
}

#[derive(QueryableByName)]
struct DisclosureRow {
    #[diesel(sql_type = Text)]
    partner: String,
    #[diesel(sql_type = Text)]
    partner_kind: String,
    #[diesel(sql_type = Text)]
    purpose: String,
    #[diesel(sql_type = Array<Nullable<Text>>)]
    data_categories: Vec<Option<String>>,
    #[diesel(sql_type = Timestamptz)]
    disclosed_at: DateTime<Utc>,
}

async fn disclosures_of(conn: &mut AsyncPgConnection, account_id: i64) -> QueryResult<Vec<Value>> {
    let rows: Vec<DisclosureRow> = diesel::sql_query(
        "SELECT p.name AS partner, p.kind AS partner_kind, d.purpose, d.data_categories, d.disclosed_at
         FROM disclosures d JOIN partners p ON p.id = d.partner_id
         WHERE d.account_id = $1
         ORDER BY d.id",
    )
    .bind::<BigInt, _>(account_id)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|d| {
            json!({ "partner": d.partner, "partnerKind": d.partner_kind, "purpose": d.purpose,
                    "dataCategories": strings(&d.data_categories), "at": d.disclosed_at })
        })
        .collect())
}

async fn staff_accesses_of(
    conn: &mut AsyncPgConnection,
    account_id: i64,
) -> QueryResult<Vec<Value>> {
    let mut rows = crate::rights::audit::accesses_to(conn, account_id, None, i64::MAX).await?;
    rows.reverse();
    Ok(rows
        .into_iter()
        .map(|r| {
            json!({ "at": r.accessed_at, "reason": r.reason, "fields": strings(&r.fields),
                    "staff": r.staff })
        })
        .collect())
}

async fn cancellations_of(
    conn: &mut AsyncPgConnection,
    account_id: i64,
) -> QueryResult<Vec<Value>> {
    type Row = (String, DateTime<Utc>, DateTime<Utc>, Option<DateTime<Utc>>);
    let rows: Vec<Row> = ac::table
        .filter(ac::account_id.eq(account_id))
        .order(ac::id.asc())
        .select((
            ac::content,
            ac::requested_at,
            ac::scheduled_for,
            ac::revoked_at,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(content, requested, scheduled, revoked)| {
            json!({ "content": content, "requestedAt": requested, "scheduledFor": scheduled,
                    "revokedAt": revoked })
        })
        .collect())
}
