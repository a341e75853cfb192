//! The consent ledger: append-only grants and withdrawals per purpose, policy version and (for purposes that
//! reach a partner) partner. The current state of (purpose, partner) is its latest record; a general answer
//! has no partner.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::model::{ConsentRecordRow, NewConsentRecord};
use super::store;
use crate::client::ClientInfo;
use crate::crypto::DataKeys;
use crate::db::Pool;
use crate::db::schema::consent_records as cr;
use crate::error::{AppError, AppResult};

/// Purposes consented to per partner (PIPL Art. 23): a grant names the partner that receives the data.
pub const PER_PARTNER_PURPOSES: &[&str] =
    &["partner-business", "partner-payment", "partner-analytics"];
/// The advertising purpose: advertisers receive aggregates only, so it is granted without a partner.
pub const AGGREGATE_PURPOSE: &str = "partner-advertising";
/// The ledger method of a grant given through `grantConsent`.
pub const METHOD_GRANT: &str = "grant";
/// The ledger method of a withdrawal through `withdrawConsent`.
pub const METHOD_WITHDRAW: &str = "withdraw";

/// Consents checked against the current policy, ready to record.
#[derive(Debug, Clone)]
pub struct ConsentPlan {
    pub policy_version_id: i64,
    pub purposes: Vec<String>,
}

/// The current state of one purpose (for one partner, or in general) for an account.
#[derive(Debug, Clone)]
pub struct ConsentState {
    pub purpose: String,
    /// Granted and still counting (see `awaiting_answer`).
    pub granted: bool,
    /// The purpose was added or changed by a newer policy version since this answer, so a grant no longer
    /// counts until the member answers again.
    pub awaiting_answer: bool,
    pub policy_version: String,
    pub updated_at: DateTime<Utc>,
    /// The partner this answer names; `None` for a general answer.
    pub partner_id: Option<i64>,
    pub partner_name: Option<String>,
}

impl From<ConsentRecordRow> for ConsentState {
    fn from(r: ConsentRecordRow) -> Self {
        ConsentState {
            purpose: r.purpose,
            granted: r.granted && r.current,
            awaiting_answer: !r.current,
            policy_version: r.policy_version,
            updated_at: r.created_at,
            partner_id: r.partner_id,
            partner_name: r.partner_name,
        }
    }
}

/// Checks the consents given at registration: the policy version must be the current one, every purpose must
/// exist in it, and every required purpose must be among them.
pub async fn check_registration_consents(
    pool: &Pool,
    version: &str,
    consents: &[String],
) -> AppResult<ConsentPlan> {
    let mut conn = pool.get().await?;
    let current = super::policy::in_force(&mut conn).await?;
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
    let (addr, ua) = client_hashes(keys, client);
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

/// The current state per purpose and partner (latest record of each): general answers and per-partner
/// answers, by purpose, the general answer first.
pub async fn current_consents(pool: &Pool, account_id: i64) -> AppResult<Vec<ConsentState>> {
    let mut conn = pool.get().await?;
    let rows = store::current_records(&mut conn, account_id).await?;
    Ok(rows.into_iter().map(ConsentState::from).collect())
}

/// True when a policy version newer than the one the account registered under adds or changes a purpose
/// that the account has not answered since (a grant or withdrawal, general or for a partner, under that
/// version or a later one).
pub async fn needs_reconsent(pool: &Pool, account_id: i64) -> AppResult<bool> {
    #[derive(QueryableByName)]
    struct Flag {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        needs: bool,
    }
    let mut conn = pool.get().await?;
    // `since_version_id` is the earliest version since which a purpose is defined as it is in the current
    // version; the account needs to answer again when its latest record for that purpose is older than that.
    let flag: Flag = diesel::sql_query(
        "SELECT EXISTS (
           SELECT 1 FROM policy_purposes p
           WHERE p.policy_version_id = (SELECT id FROM policy_versions ORDER BY published_at DESC, id DESC LIMIT 1)
             AND p.since_version_id > (SELECT COALESCE(MIN(policy_version_id), 0) FROM consent_records WHERE account_id = $1)
             AND NOT EXISTS (
               SELECT 1 FROM consent_records c
               WHERE c.account_id = $1 AND c.purpose = p.key AND c.policy_version_id >= p.since_version_id)
         ) AS needs",
    )
    .bind::<diesel::sql_types::BigInt, _>(account_id)
    .get_result(&mut conn)
    .await?;
    Ok(flag.needs)
}

/// Whether the account's latest answer for `purpose` is a grant that still counts (no answer means no; a
/// grant under a policy version older than the purpose's last change waits for a new answer).
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
        .select(cr::granted.and(store::consent_counts(cr::purpose, cr::policy_version_id)))
        .first(conn)
        .await
        .optional()?;
    Ok(latest.unwrap_or(false))
}

/// Whether the account's latest answer for `purpose` names `partner_id` with a grant (the partner read path
/// discloses only then).
pub async fn partner_consent_granted(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    purpose: &str,
    partner_id: i64,
) -> QueryResult<bool> {
    let latest: Option<bool> = cr::table
        .filter(cr::account_id.eq(account_id))
        .filter(cr::purpose.eq(purpose))
        .filter(cr::partner_id.eq(partner_id))
        .order(cr::id.desc())
        .select(cr::granted.and(store::consent_counts(cr::purpose, cr::policy_version_id)))
        .first(conn)
        .await
        .optional()?;
    Ok(latest.unwrap_or(false))
}

/// The keyed hashes of the client address and user agent a ledger row keeps (never the values).
fn client_hashes(keys: &DataKeys, client: &ClientInfo) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let addr = client
        .addr
        .map(|a| keys.pseudonym("client-address", a.to_string().as_bytes()));
    let ua = (!client.user_agent.is_empty())
        .then(|| keys.pseudonym("user-agent", client.user_agent.as_bytes()));
    (addr, ua)
}

/// The purposes of a grant or withdrawal: at least one, each named once, in the order given.
fn listed(purposes: &[String]) -> AppResult<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(purposes.len());
    for p in purposes {
        let p = p.trim();
        if !out.iter().any(|o| o == p) {
            out.push(p.to_string());
        }
    }
    if out.is_empty() {
        return Err(AppError::bad_input("purposes", "name at least one purpose"));
    }
    Ok(out)
}

fn unknown_purpose(purpose: &str) -> AppError {
    AppError::bad_input(
        "purposes",
        format!("`{purpose}` is not a purpose of the privacy policy"),
    )
}

fn no_partner(id: i64) -> AppError {
    AppError::bad_input("partner", format!("no partner has the id Partner:{id}"))
}

/// Checks that `partner` fits `purpose` when granting: per-partner purposes need a registered, active
/// partner for that purpose; every other purpose is granted without one.
fn check_grant_partner(
    purpose: &str,
    partner: Option<&super::model::ConsentPartner>,
) -> AppResult<()> {
    let per_partner = PER_PARTNER_PURPOSES.contains(&purpose);
    match partner {
        None if per_partner => Err(AppError::bad_input(
            "partner",
            format!(
                "`{purpose}` is consented to per partner: name the partner that receives the data"
            ),
        )),
        Some(_) if purpose == AGGREGATE_PURPOSE => Err(AppError::bad_input(
            "partner",
            format!("advertisers receive aggregates only: grant `{purpose}` without a partner"),
        )),
        Some(_) if !per_partner => Err(AppError::bad_input(
            "partner",
            format!("`{purpose}` is not given per partner: grant it without a partner"),
        )),
        Some(p) if !p.may_receive(purpose) => Err(AppError::bad_input(
            "partner",
            format!(
                "partner `{}` is suspended or not registered for `{purpose}`",
                p.name
            ),
        )),
        _ => Ok(()),
    }
}

/// Grants `purposes` under `policy_version`, which must be the current version. Purposes that reach a
/// named partner (`partner-business`, `partner-payment`, `partner-analytics`) need `partner`, registered for
/// them and not suspended; the others are granted without one. Appends one ledger row per purpose in one
/// transaction and returns the resulting states.
pub async fn grant_consents(
    pool: &Pool,
    keys: &DataKeys,
    account_id: i64,
    purposes: &[String],
    policy_version: &str,
    partner: Option<i64>,
    client: &ClientInfo,
) -> AppResult<Vec<ConsentState>> {
    let purposes = listed(purposes)?;
    let (addr, ua) = client_hashes(keys, client);
    let mut conn = pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = super::policy::in_force(conn).await?;
        if current.version != policy_version {
            return Err(AppError::bad_input(
                "policyVersion",
                format!(
                    "policy version `{policy_version}` is not the current one (`{}`); read the current policy and consent to it",
                    current.version
                ),
            ));
        }
        let catalogue = store::purposes_of(conn, current.id).await?;
        if let Some(p) = purposes
            .iter()
            .find(|p| !catalogue.iter().any(|c| &c.key == *p))
        {
            return Err(unknown_purpose(p));
        }
        let partner = match partner {
            None => None,
            Some(id) => Some(
                store::consent_partner(conn, id)
                    .await?
                    .ok_or_else(|| no_partner(id))?,
            ),
        };
        for p in &purposes {
            check_grant_partner(p, partner.as_ref())?;
        }
        let rows: Vec<NewConsentRecord> = purposes
            .iter()
            .map(|p| NewConsentRecord {
                account_id: Some(account_id),
                purpose: p.clone(),
                partner_id: partner.as_ref().map(|x| x.id),
                policy_version_id: current.id,
                granted: true,
                method: METHOD_GRANT.to_string(),
                client_addr_hash: addr.clone(),
                user_agent_hash: ua.clone(),
            })
            .collect();
        append(conn, &rows).await
    })
    .await
}

/// Withdraws `purposes`, effective at once, recorded under the current policy version. With `partner`, only
/// that partner's consent goes; without it, the general answer goes and so does every partner-specific grant
/// of the purpose, so one call is enough. A required purpose cannot be withdrawn: that takes cancelling the
/// account. Appends the rows in one transaction and returns the resulting states.
pub async fn withdraw_consents(
    pool: &Pool,
    keys: &DataKeys,
    account_id: i64,
    purposes: &[String],
    partner: Option<i64>,
    client: &ClientInfo,
) -> AppResult<Vec<ConsentState>> {
    let purposes = listed(purposes)?;
    let (addr, ua) = client_hashes(keys, client);
    let mut conn = pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = super::policy::in_force(conn).await?;
        let catalogue = store::purposes_of(conn, current.id).await?;
        for p in &purposes {
            match catalogue.iter().find(|c| &c.key == p) {
                Some(c) if c.required => {
                    return Err(AppError::bad_input(
                        "purposes",
                        format!(
                            "`{p}` is required to provide the service and cannot be withdrawn without cancelling \
                             the account; to stop it, cancel the account with requestAccountCancellation"
                        ),
                    ));
                }
                Some(_) => {}
                // A purpose an earlier version named can still be withdrawn; one never published cannot.
                None if store::purpose_ever_published(conn, p).await? => {}
                None => return Err(unknown_purpose(p)),
            }
        }
        let partner = match partner {
            None => None,
            Some(id) => Some(
                store::consent_partner(conn, id)
                    .await?
                    .ok_or_else(|| no_partner(id))?,
            ),
        };
        let row = |purpose: &str, partner_id: Option<i64>| NewConsentRecord {
            account_id: Some(account_id),
            purpose: purpose.to_string(),
            partner_id,
            policy_version_id: current.id,
            granted: false,
            method: METHOD_WITHDRAW.to_string(),
            client_addr_hash: addr.clone(),
            user_agent_hash: ua.clone(),
        };
        let mut rows = Vec::new();
        for p in &purposes {
            let per_partner = PER_PARTNER_PURPOSES.contains(&p.as_str());
            match &partner {
                Some(x) if per_partner => rows.push(row(p, Some(x.id))),
                Some(_) => {
                    return Err(AppError::bad_input(
                        "partner",
                        format!("`{p}` is not given per partner: withdraw it without a partner"),
                    ));
                }
                None => {
                    rows.push(row(p, None));
                    for partner_id in store::granted_partners(conn, account_id, p).await? {
                        rows.push(row(p, Some(partner_id)));
                    }
                }
            }
        }
        append(conn, &rows).await
    })
    .await
}

/// Appends `rows` to the ledger, on the caller's transaction, and returns the states they record.
async fn append(
    conn: &mut diesel_async::AsyncPgConnection,
    rows: &[NewConsentRecord],
) -> AppResult<Vec<ConsentState>> {
    let ids = store::append_consents(conn, rows).await?;
    let states = store::records_by_ids(conn, &ids).await?;
    Ok(states.into_iter().map(ConsentState::from).collect())
}

/// One page of an account's consent ledger, newest first: up to `first` records older than the record
/// `before`, and whether more follow.
pub async fn consent_history(
    pool: &Pool,
    account_id: i64,
    before: Option<i64>,
    first: usize,
) -> AppResult<(Vec<ConsentRecordRow>, bool)> {
    let mut conn = pool.get().await?;
    let mut rows = store::history_page(&mut conn, account_id, before, first as i64 + 1).await?;
    let more = rows.len() > first;
    rows.truncate(first);
    Ok((rows, more))
}

/// The latest general answers for `purpose` of many accounts in one statement: the accounts that granted it.
pub async fn granted_among(
    pool: &Pool,
    account_ids: &[i64],
    purpose: &str,
) -> AppResult<std::collections::HashSet<i64>> {
    if account_ids.is_empty() {
        return Ok(Default::default());
    }
    let mut conn = pool.get().await?;
    let rows = store::latest_answers(&mut conn, account_ids, &[purpose]).await?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, granted)| *granted)
        .filter_map(|(id, _, _)| id)
        .collect())
}

#[cfg(test)]
mod tests;
