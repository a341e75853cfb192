//! Queries of the privacy domain.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::model::{
    ConsentPartner, ConsentRecordRow, NewConsentRecord, NewPolicy, NewPurpose, PolicyVersion,
    Purpose,
};
use crate::db::schema::{consent_records, partners, policy_purposes, policy_versions};

diesel::define_sql_function! {
    /// Whether an answer given under policy version `version_id` for `purpose` still counts (migration 7):
    /// the purpose is in the current version and unchanged since that version.
    fn consent_counts(purpose: diesel::sql_types::Text, version_id: diesel::sql_types::BigInt) -> diesel::sql_types::Bool;
}

pub async fn current_version(conn: &mut AsyncPgConnection) -> QueryResult<Option<PolicyVersion>> {
    policy_versions::table
        .order((
            policy_versions::published_at.desc(),
            policy_versions::id.desc(),
        ))
        .select(PolicyVersion::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn version_by_name(
    conn: &mut AsyncPgConnection,
    version: &str,
) -> QueryResult<Option<PolicyVersion>> {
    policy_versions::table
        .filter(policy_versions::version.eq(version))
        .select(PolicyVersion::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn purposes_of(
    conn: &mut AsyncPgConnection,
    version_id: i64,
) -> QueryResult<Vec<Purpose>> {
    policy_purposes::table
        .filter(policy_purposes::policy_version_id.eq(version_id))
        .order(policy_purposes::position.asc())
        .select(Purpose::as_select())
        .load(conn)
        .await
}

/// The newest publication time, for ordering a new version after every earlier one.
pub async fn latest_published_at(
    conn: &mut AsyncPgConnection,
) -> QueryResult<Option<DateTime<Utc>>> {
    policy_versions::table
        .select(diesel::dsl::max(policy_versions::published_at))
        .first(conn)
        .await
}

/// Serialises publishers, so two versions published at once still get distinct, ordered times.
pub async fn lock_versions(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("LOCK TABLE policy_versions IN SHARE ROW EXCLUSIVE MODE")
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn insert_version(
    conn: &mut AsyncPgConnection,
    policy: &NewPolicy,
    published_at: DateTime<Utc>,
    published_by: i64,
) -> QueryResult<PolicyVersion> {
    diesel::insert_into(policy_versions::table)
        .values((
            policy_versions::version.eq(&policy.version),
            policy_versions::body.eq(&policy.text),
            policy_versions::published_at.eq(published_at),
            policy_versions::published_by.eq(published_by),
        ))
        .returning(PolicyVersion::as_returning())
        .get_result(conn)
        .await
}

pub async fn insert_purposes(
    conn: &mut AsyncPgConnection,
    version_id: i64,
    purposes: &[NewPurpose],
) -> QueryResult<()> {
    let rows: Vec<_> = purposes
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                policy_purposes::policy_version_id.eq(version_id),
                policy_purposes::key.eq(&p.key),
                policy_purposes::position.eq(i as i32 + 1),
                policy_purposes::title.eq(&p.title),
                policy_purposes::description.eq(&p.description),
                policy_purposes::required.eq(p.required),
                policy_purposes::data_categories.eq(&p.data_categories),
                policy_purposes::recipients.eq(&p.recipients),
            )
        })
        .collect();
    diesel::insert_into(policy_purposes::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether any published version names the purpose `key`.
pub async fn purpose_ever_published(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        policy_purposes::table.filter(policy_purposes::key.eq(key)),
    ))
    .get_result(conn)
    .await
}

/// A partner as consent sees it.
pub async fn consent_partner(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> QueryResult<Option<ConsentPartner>> {
    partners::table
        .find(id)
        .select((
            partners::id,
            partners::name,
            partners::purposes,
            partners::suspended_at,
        ))
        .first(conn)
        .await
        .optional()
}

/// Appends rows to the consent ledger; returns their ids.
pub async fn append_consents(
    conn: &mut AsyncPgConnection,
    rows: &[NewConsentRecord],
) -> QueryResult<Vec<i64>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    diesel::insert_into(consent_records::table)
        .values(rows)
        .returning(consent_records::id)
        .get_results(conn)
        .await
}

/// The partners `account_id` currently consents to for `purpose` (latest row per partner is a grant).
pub async fn granted_partners(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    purpose: &str,
) -> QueryResult<Vec<i64>> {
    let latest: Vec<(Option<i64>, bool)> = consent_records::table
        .filter(consent_records::account_id.eq(account_id))
        .filter(consent_records::purpose.eq(purpose))
        .filter(consent_records::partner_id.is_not_null())
        .distinct_on(consent_records::partner_id)
        .order((
            consent_records::partner_id.asc(),
            consent_records::id.desc(),
        ))
        .select((consent_records::partner_id, consent_records::granted))
        .load(conn)
        .await?;
    Ok(latest
        .into_iter()
        .filter(|(_, granted)| *granted)
        .filter_map(|(partner, _)| partner)
        .collect())
}

const RECORD_COLUMNS: &str = "c.id, c.purpose, c.granted, v.version AS policy_version, c.method, c.created_at, \
     c.partner_id, p.name AS partner_name, consent_counts(c.purpose, c.policy_version_id) AS current \
     FROM consent_records c JOIN policy_versions v ON v.id = c.policy_version_id \
     LEFT JOIN partners p ON p.id = c.partner_id";

/// Ledger rows by id, in id order.
pub async fn records_by_ids(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> QueryResult<Vec<ConsentRecordRow>> {
    diesel::sql_query(format!(
        "SELECT {RECORD_COLUMNS} WHERE c.id = ANY($1) ORDER BY c.id"
    ))
    .bind::<Array<BigInt>, _>(ids)
    .load(conn)
    .await
}

/// The current answer per (purpose, partner) of an account: the latest row of each, general answers before
/// partner answers, by purpose.
pub async fn current_records(
    conn: &mut AsyncPgConnection,
    account_id: i64,
) -> QueryResult<Vec<ConsentRecordRow>> {
    diesel::sql_query(format!(
        "SELECT * FROM (SELECT DISTINCT ON (c.purpose, c.partner_id) {RECORD_COLUMNS} \
           WHERE c.account_id = $1 ORDER BY c.purpose, c.partner_id NULLS FIRST, c.id DESC) cur \
         ORDER BY purpose, partner_id NULLS FIRST"
    ))
    .bind::<BigInt, _>(account_id)
    .load(conn)
    .await
}

/// One page of an account's ledger, newest first: up to `limit` rows older than `before`.
pub async fn history_page(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<ConsentRecordRow>> {
    diesel::sql_query(format!(
        "SELECT {RECORD_COLUMNS} WHERE c.account_id = $1 AND ($2::bigint IS NULL OR c.id < $2) \
         ORDER BY c.id DESC LIMIT $3"
    ))
    .bind::<BigInt, _>(account_id)
    .bind::<Nullable<BigInt>, _>(before)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// The latest general answer for each (account, purpose) asked, in one statement; pairs never answered are
/// absent.
pub async fn latest_answers(
    conn: &mut AsyncPgConnection,
    account_ids: &[i64],
    purposes: &[&str],
) -> QueryResult<Vec<(Option<i64>, String, bool)>> {
    consent_records::table
        .filter(consent_records::account_id.eq_any(account_ids))
        .filter(consent_records::purpose.eq_any(purposes))
        .filter(consent_records::partner_id.is_null())
        .distinct_on((consent_records::account_id, consent_records::purpose))
        .order((
            consent_records::account_id.asc(),
            consent_records::purpose.asc(),
            consent_records::id.desc(),
        ))
        .select((
            consent_records::account_id,
            consent_records::purpose,
            consent_records::granted.and(consent_counts(
                consent_records::purpose,
                consent_records::policy_version_id,
            )),
        ))
        .load(conn)
        .await
}
