//! The partner read path and the disclosure log.
//!
//! A business, payment or analytics partner reads the accounts whose latest consent record for the partner's
//! purpose *and this partner* is a grant, nothing else: the consent check is part of the statement that reads
//! the page, so a withdrawal stops sharing with the very next read. Only the partner's registered data
//! categories are filled in (`account`: username, gender, occupation, city; `profile`: the public profile fields
//! except contact details; `device` and `log`: sign-in devices and when they were used); phone numbers, email
//! addresses and contact details are never read. Every account on a page is logged as a disclosure by one
//! insert in the transaction that read the page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::{PartnerKind, PartnerPrincipal};
use crate::crypto::{Column, DataKeys};
use crate::db::Pool;
use crate::db::profile::ProfileText;
use crate::db::schema::{disclosures, partners, sessions};
use crate::error::{AppError, AppResult};

/// One account as a partner sees it: `None` for every field outside the partner's data categories.
#[derive(Debug, Clone)]
pub struct SharedUser {
    /// Stable for this partner, different for every other partner, and no key to any other identifier.
    pub pseudonymous_id: String,
    /// Opaque position of this account in the list.
    pub cursor: String,
    pub username: Option<String>,
    pub gender: Option<String>,
    pub occupation: Option<String>,
    pub city: Option<String>,
    /// The plain-text profile fields the owner made public (`profile`); all `None` outside it.
    pub text: ProfileText,
    pub labels: Option<Vec<String>>,
    pub devices: Option<Vec<SharedDevice>>,
}

/// A sign-in device as a partner sees it: its name and user agent (`device`), when it was used (`log`).
#[derive(Debug, Clone)]
pub struct SharedDevice {
    pub name: Option<String>,
    pub user_agent: Option<String>,
    pub first_seen_at: Option<DateTime<Utc>>,
    pub last_seen_at: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    username: String,
    #[diesel(sql_type = Text)]
    gender: String,
    #[diesel(sql_type = Text)]
    occupation: String,
    #[diesel(sql_type = Text)]
    city: String,
    #[diesel(embed)]
    text: ProfileText,
    #[diesel(sql_type = Array<Nullable<Text>>)]
    labels: Vec<Option<String>>,
    #[diesel(sql_type = Array<Nullable<Text>>)]
    private_fields: Vec<Option<String>>,
}

/// The page statement: the latest record per account for (purpose, partner) through the partial index on
/// `consent_records (partner_id, purpose, account_id, id DESC)`, kept when it is a grant of a live account.
const PAGE_SQL: &str = "WITH latest AS (
      SELECT DISTINCT ON (c.account_id) c.account_id,
             c.granted AND consent_counts(c.purpose, c.policy_version_id) AS granted
      FROM consent_records c
      WHERE c.partner_id = $1 AND c.purpose = $2 AND c.account_id > $3
      ORDER BY c.account_id, c.id DESC)
    SELECT a.id, a.username, a.gender, a.occupation, a.city,
           p.avatar_url, p.hometown, p.signature, p.bio, p.education, p.link, p.equipment,
           COALESCE(p.labels, '{}') AS labels, COALESCE(p.private_fields, '{}') AS private_fields
    FROM latest l
    JOIN accounts a ON a.id = l.account_id
    LEFT JOIN profiles p ON p.account_id = a.id
    WHERE l.granted AND a.status IN ('active', 'cancelling')
    ORDER BY a.id
    LIMIT $4";

/// What the partner's principal may read: its purpose, refusing advertising partners (aggregates only) and
/// tokens whose scopes leave the purpose out.
fn readable_purpose(principal: &PartnerPrincipal) -> AppResult<&'static str> {
    let purpose = principal.kind.purpose();
    if principal.kind == PartnerKind::Advertising {
        return Err(AppError::Forbidden(
            "advertising partners receive aggregates only: ask for `reach`".into(),
        ));
    }
    if !principal.may(purpose) {
        return Err(AppError::Forbidden(format!(
            "this partner token's scopes do not include `{purpose}`"
        )));
    }
    Ok(purpose)
}

fn pseudonym(keys: &DataKeys, partner_id: i64, account_id: i64) -> String {
    let hash = keys.pseudonym(
        &format!("partner-subject:{partner_id}"),
        &account_id.to_be_bytes(),
    );
    URL_SAFE_NO_PAD.encode(hash)
}

/// A cursor the partner cannot read: the account id sealed with the partner's id, so it names no account.
fn seal_cursor(keys: &DataKeys, partner_id: i64, account_id: i64) -> String {
    crate::graphql::cursor::seal(&keys.seal_str(
        Column::PartnerCursor,
        partner_id,
        &format!("partner-cursor:{partner_id}:{account_id}"),
    ))
}

fn open_cursor(keys: &DataKeys, partner_id: i64, cursor: &str) -> AppResult<i64> {
    let bad = || AppError::bad_input("after", "not a cursor of this list");
    let sealed = crate::graphql::cursor::open(cursor, 200).ok_or_else(bad)?;
    let text = keys
        .open_str(Column::PartnerCursor, partner_id, &sealed)
        .map_err(|_| bad())?;
    let rest = text.strip_prefix("partner-cursor:").ok_or_else(bad)?;
    let (partner, account) = rest.split_once(':').ok_or_else(bad)?;
    if partner.parse::<i64>().ok() != Some(partner_id) {
        return Err(bad());
    }
    account.parse().map_err(|_| bad())
}

/// A page of the accounts that consented to share with this partner, in a stable order, with whether more
/// follow; each returned account is logged as a disclosure in the same transaction.
pub async fn shared_users(
    pool: &Pool,
    keys: &DataKeys,
    principal: &PartnerPrincipal,
    first: i64,
    after: Option<&str>,
) -> AppResult<(Vec<SharedUser>, bool)> {
    let purpose = readable_purpose(principal)?;
    let after_id = after
        .map(|c| open_cursor(keys, principal.partner_id, c))
        .transpose()?
        .unwrap_or(0);
    let categories = &principal.data_categories;
    let has = |c: &str| categories.iter().any(|x| x == c);
    let (account, profile, device, log) =
        (has("account"), has("profile"), has("device"), has("log"));
    let mut conn = pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let mut rows: Vec<Row> = diesel::sql_query(PAGE_SQL)
            .bind::<BigInt, _>(principal.partner_id)
            .bind::<Text, _>(purpose)
            .bind::<BigInt, _>(after_id)
            .bind::<BigInt, _>(first + 1)
            .load(conn)
            .await?;
        let more = rows.len() as i64 > first;
        rows.truncate(first as usize);
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let devices = if (device || log) && !ids.is_empty() {
            devices_of(conn, &ids).await?
        } else {
            Vec::new()
        };
        if !ids.is_empty() {
            let log_rows: Vec<_> = ids
                .iter()
                .map(|id| {
                    (
                        disclosures::account_id.eq(*id),
                        disclosures::partner_id.eq(principal.partner_id),
                        disclosures::token_id.eq(principal.token_id),
                        disclosures::purpose.eq(purpose),
                        disclosures::data_categories.eq(categories),
                    )
                })
                .collect();
            diesel::insert_into(disclosures::table)
                .values(log_rows)
                .execute(conn)
                .await?;
        }
        let users = rows
            .into_iter()
            .map(|r| {
                let shows =
                    |field: &str| profile && !r.private_fields.iter().flatten().any(|f| f == field);
                let own_devices = (device || log).then(|| {
                    devices
                        .iter()
                        .filter(|(owner, ..)| *owner == r.id)
                        .map(|(_, name, agent, first_seen, last_seen)| SharedDevice {
                            name: device.then(|| name.clone()),
                            user_agent: device.then(|| agent.clone()),
                            first_seen_at: log.then_some(*first_seen),
                            last_seen_at: log.then_some(*last_seen),
                        })
                        .collect()
                });
                SharedUser {
                    pseudonymous_id: pseudonym(keys, principal.partner_id, r.id),
                    cursor: seal_cursor(keys, principal.partner_id, r.id),
                    text: r.text.only(shows),
                    labels: shows("labels").then(|| r.labels.into_iter().flatten().collect()),
                    username: account.then_some(r.username),
                    gender: account.then_some(r.gender),
                    occupation: account.then_some(r.occupation),
                    city: account.then_some(r.city),
                    devices: own_devices,
                }
            })
            .collect();
        Ok((users, more))
    })
    .await
}

type DeviceRow = (i64, String, String, DateTime<Utc>, DateTime<Utc>);

/// The live sign-in devices of a page's accounts, in one statement.
async fn devices_of(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<DeviceRow>> {
    sessions::table
        .filter(sessions::account_id.eq_any(ids))
        .filter(sessions::revoked_at.is_null())
        .order((sessions::account_id.asc(), sessions::last_seen_at.desc()))
        .select((
            sessions::account_id,
            sessions::device,
            sessions::user_agent,
            sessions::created_at,
            sessions::last_seen_at,
        ))
        .load(conn)
        .await
}

/// One disclosure of an account's data to a partner.
#[derive(Debug, Clone)]
pub struct Disclosure {
    pub id: i64,
    pub recipient: String,
    pub recipient_kind: PartnerKind,
    pub purpose: String,
    pub data_categories: Vec<String>,
    pub at: DateTime<Utc>,
}

/// id, partner name, partner kind, purpose, data categories, time.
type DisclosureRow = (
    i64,
    String,
    String,
    String,
    Vec<Option<String>>,
    DateTime<Utc>,
);

/// An account's disclosures, newest first, before the disclosure id `before` when given; with whether more
/// follow.
pub async fn disclosures_page(
    pool: &Pool,
    account_id: i64,
    first: i64,
    before: Option<i64>,
) -> AppResult<(Vec<Disclosure>, bool)> {
    let mut conn = pool.get().await?;
    let mut query = disclosures::table
        .inner_join(partners::table)
        .filter(disclosures::account_id.eq(account_id))
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(disclosures::id.lt(before));
    }
    let mut rows: Vec<DisclosureRow> = query
        .order(disclosures::id.desc())
        .limit(first + 1)
        .select((
            disclosures::id,
            partners::name,
            partners::kind,
            disclosures::purpose,
            disclosures::data_categories,
            disclosures::disclosed_at,
        ))
        .load(&mut conn)
        .await?;
    let more = rows.len() as i64 > first;
    rows.truncate(first as usize);
    let page = rows
        .into_iter()
        .map(
            |(id, recipient, kind, purpose, categories, at)| Disclosure {
                id,
                recipient,
                recipient_kind: PartnerKind::parse(&kind).unwrap_or(PartnerKind::Business),
                purpose,
                data_categories: categories.into_iter().flatten().collect(),
                at,
            },
        )
        .collect();
    Ok((page, more))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn keys() -> DataKeys {
        let config = crate::config::Config::from_map(&BTreeMap::new()).unwrap();
        DataKeys::from_config(&config).unwrap()
    }

    fn principal(kind: PartnerKind, scopes: &[&str]) -> PartnerPrincipal {
        PartnerPrincipal {
            partner_id: 7,
            token_id: 1,
            kind,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            data_categories: vec!["account".into()],
            name: "Acme".into(),
        }
    }

    #[test]
    fn cursors_are_opaque_and_bound_to_their_partner() {
        let k = keys();
        let cursor = seal_cursor(&k, 7, 42);
        assert!(!cursor.contains("42"));
        assert_eq!(open_cursor(&k, 7, &cursor).unwrap(), 42);
        assert!(open_cursor(&k, 8, &cursor).is_err());
        assert!(open_cursor(&k, 7, "garbage").is_err());
        assert!(open_cursor(&k, 7, &URL_SAFE_NO_PAD.encode("partner-cursor:7:42")).is_err());
    }

    #[test]
    fn pseudonyms_are_stable_per_partner_and_differ_across_partners() {
        let k = keys();
        assert_eq!(pseudonym(&k, 1, 42), pseudonym(&k, 1, 42));
        assert_ne!(pseudonym(&k, 1, 42), pseudonym(&k, 2, 42));
        assert_ne!(pseudonym(&k, 1, 42), pseudonym(&k, 1, 43));
    }

    #[test]
    fn only_scoped_non_advertising_partners_read_accounts() {
        let business = principal(PartnerKind::Business, &["partner-business"]);
        assert_eq!(readable_purpose(&business).unwrap(), "partner-business");
        let unscoped = principal(PartnerKind::Business, &[]);
        assert!(matches!(
            readable_purpose(&unscoped),
            Err(AppError::Forbidden(_))
        ));
        let ads = principal(PartnerKind::Advertising, &["partner-advertising"]);
        assert!(matches!(
            readable_purpose(&ads),
            Err(AppError::Forbidden(_))
        ));
    }
}
