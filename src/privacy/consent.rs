//! The consent ledger: append-only grants and withdrawals per purpose and policy version. The current state
//! of a purpose is its latest record.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::crypto::DataKeys;
use super::store;
use crate::accounts::model::ClientInfo;
use crate::db::Pool;
use crate::db::schema::{consent_records as cr, policy_versions as pv};
use crate::error::{AppError, AppResult};

/// Consents checked against the current policy, ready to record.
#[derive(Debug, Clone)]
pub struct ConsentPlan {
    pub policy_version_id: i64,
    pub purposes: Vec<String>,
}

/// The current state of one purpose for an account.
#[derive(Debug, Clone)]
pub struct ConsentState {
    pub purpose: String,
    pub granted: bool,
    pub policy_version: String,
    pub updated_at: DateTime<Utc>,
}

/// Checks the consents given at registration: the policy version must be the current one, every purpose must
/// exist in it, and every required purpose must be among them.
pub async fn check_registration_consents(
    pool: &Pool,
    version: &str,
    consents: &[String],
) -> AppResult<ConsentPlan> {
    let mut conn = pool.get().await?;
    let current = store::current_version(&mut conn)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no policy version is published")))?;
    if current.version != version {
        return Err(AppError::bad_input(
            "policyVersion",
            format!(
                "policy version `{version}` is not the current one (`{}`); read the current policy",
                current.version
            ),
        ));
    }
    let purposes = store::purposes_of(&mut conn, current.id).await?;
    for c in consents {
        if !purposes.iter().any(|p| &p.key == c) {
            return Err(AppError::bad_input(
                "consents",
                format!("`{c}` is not a purpose of policy version {version}"),
            ));
        }
    }
    let missing: Vec<&str> = purposes
        .iter()
        .filter(|p| p.required && !consents.contains(&p.key))
        .map(|p| p.key.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(AppError::bad_input(
            "consents",
            format!(
                "registration needs consent to the required purposes: {}",
                missing.join(", ")
            ),
        ));
    }
    let mut list = consents.to_vec();
    list.sort();
    list.dedup();
    Ok(ConsentPlan {
        policy_version_id: current.id,
        purposes: list,
    })
}

/// Records grants for every purpose of `plan`, inside the caller's transaction.
pub async fn record_consents(
    conn: &mut AsyncPgConnection,
    keys: &DataKeys,
    account_id: i64,
    plan: &ConsentPlan,
    method: &str,
    client: &ClientInfo,
) -> QueryResult<()> {
    let addr = client
        .addr
        .map(|a| keys.pseudonym("client-address", a.to_string().as_bytes()));
    let ua = (!client.user_agent.is_empty())
        .then(|| keys.pseudonym("user-agent", client.user_agent.as_bytes()));
    let rows: Vec<_> = plan
        .purposes
        .iter()
        .map(|p| {
            (
                cr::account_id.eq(account_id),
                cr::purpose.eq(p),
                cr::policy_version_id.eq(plan.policy_version_id),
                cr::granted.eq(true),
                cr::method.eq(method),
                cr::client_addr_hash.eq(addr.clone()),
                cr::user_agent_hash.eq(ua.clone()),
            )
        })
        .collect();
    diesel::insert_into(cr::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// The current state per purpose (latest record of each).
pub async fn current_consents(pool: &Pool, account_id: i64) -> AppResult<Vec<ConsentState>> {
    let mut conn = pool.get().await?;
    let rows: Vec<(String, bool, String, DateTime<Utc>)> = cr::table
        .inner_join(pv::table)
        .filter(cr::account_id.eq(account_id))
        .filter(cr::partner_id.is_null())
        .distinct_on(cr::purpose)
        .order((cr::purpose.asc(), cr::id.desc()))
        .select((cr::purpose, cr::granted, pv::version, cr::created_at))
        .load(&mut conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(purpose, granted, policy_version, updated_at)| ConsentState {
                purpose,
                granted,
                policy_version,
                updated_at,
            },
        )
        .collect())
}

/// True when a policy version newer than the one the account registered under adds or changes a purpose
/// that the account has not answered since.
pub async fn needs_reconsent(pool: &Pool, account_id: i64) -> AppResult<bool> {
    #[derive(QueryableByName)]
    struct Flag {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        needs: bool,
    }
    let mut conn = pool.get().await?;
    // For each purpose of the current version, the earliest version since which its definition is unchanged;
    // the account needs to answer again when its latest record for that purpose is older than that.
    let flag: Flag = diesel::sql_query(
        "WITH cur AS (SELECT id FROM policy_versions ORDER BY published_at DESC, id DESC LIMIT 1),
              since AS (
                SELECT p.key, MIN(v.id) AS since_id
                FROM policy_purposes p JOIN cur ON p.policy_version_id = cur.id
                JOIN policy_purposes q ON q.key = p.key AND q.title = p.title AND q.description = p.description
                     AND q.required = p.required AND q.data_categories = p.data_categories AND q.recipients = p.recipients
                JOIN policy_versions v ON v.id = q.policy_version_id
                WHERE NOT EXISTS (
                  SELECT 1 FROM policy_versions w JOIN policy_purposes r ON r.policy_version_id = w.id AND r.key = p.key
                  WHERE w.id > v.id AND w.id < cur.id
                    AND (r.title, r.description, r.required, r.data_categories, r.recipients)
                        IS DISTINCT FROM (p.title, p.description, p.required, p.data_categories, p.recipients))
                GROUP BY p.key)
         SELECT EXISTS (
           SELECT 1 FROM since s
           WHERE s.since_id > (SELECT COALESCE(MIN(policy_version_id), 0) FROM consent_records WHERE account_id = $1)
             AND NOT EXISTS (
             SELECT 1 FROM consent_records c
             WHERE c.account_id = $1 AND c.purpose = s.key AND c.partner_id IS NULL AND c.policy_version_id >= s.since_id)
         ) AS needs",
    )
    .bind::<diesel::sql_types::BigInt, _>(account_id)
    .get_result(&mut conn)
    .await?;
    Ok(flag.needs)
}

/// Whether the account's latest answer for `purpose` is a grant (no answer means no).
pub async fn has_consent(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    purpose: &str,
) -> QueryResult<bool> {
    let latest: Option<bool> = cr::table
        .filter(cr::account_id.eq(account_id))
        .filter(cr::purpose.eq(purpose))
        .filter(cr::partner_id.is_null())
        .order(cr::id.desc())
        .select(cr::granted)
        .first(conn)
        .await
        .optional()?;
    Ok(latest.unwrap_or(false))
}
