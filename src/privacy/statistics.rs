//! De-identified statistics (privacy policy 3.3) and advertising reach (4.1(4)a): counts only, never an
//! identifier, with every group smaller than [`K_ANONYMITY`] suppressed. Staff statistics count only accounts
//! whose current answer for `statistics` is a grant; advertising reach counts only accounts whose current answer
//! for `partner-advertising` is a grant. Erased accounts never count.

use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;

use super::partners::{PartnerKind, PartnerPrincipal};
use crate::db::Pool;
use crate::error::{AppError, AppResult};

/// The smallest group any aggregate reveals (k-anonymity): smaller groups are suppressed everywhere, in staff
/// statistics and in advertising reach alike.
pub const K_ANONYMITY: i64 = 10;

/// The purpose staff statistics need.
pub const STATISTICS_PURPOSE: &str = "statistics";
/// The purpose advertising reach needs.
pub const ADVERTISING_PURPOSE: &str = "partner-advertising";

/// What accounts can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    City,
    Occupation,
    Gender,
}

impl Dimension {
    /// The SQL expression (over `accounts a`) of the group key.
    fn sql(self) -> &'static str {
        match self {
            Dimension::City => "a.city",
            Dimension::Occupation => "a.occupation",
            Dimension::Gender => "upper(a.gender)",
        }
    }
}

/// One group that reached the threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub keys: Vec<String>,
    pub count: i64,
}

/// Groups after suppression: those with at least [`K_ANONYMITY`] members, largest first, and what was left out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Suppressed {
    pub groups: Vec<Group>,
    /// How many groups were left out.
    pub suppressed_groups: i64,
    /// How many were counted in the groups left out.
    pub suppressed_count: i64,
}

/// Applies the threshold: groups under [`K_ANONYMITY`] go, the rest are sorted by count (largest first), then
/// by key.
pub fn suppress(rows: Vec<Group>) -> Suppressed {
    let mut out = Suppressed::default();
    for g in rows {
        if g.count >= K_ANONYMITY {
            out.groups.push(g);
        } else if g.count > 0 {
            out.suppressed_groups += 1;
            out.suppressed_count += g.count;
        }
    }
    out.groups
        .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.keys.cmp(&b.keys)));
    out
}

#[derive(diesel::QueryableByName)]
struct KeyedCount {
    #[diesel(sql_type = Nullable<Text>)]
    k1: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    k2: Option<String>,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Counts the live accounts whose current answer for `purpose` (not given to a particular partner) is a grant,
/// grouped by `by` (one or two dimensions).
async fn consenting_accounts(
    pool: &Pool,
    purpose: &str,
    by: &[Dimension],
) -> AppResult<Vec<Group>> {
    let k1 = by.first().map_or("NULL", |d| d.sql());
    let k2 = by.get(1).map_or("NULL", |d| d.sql());
    let sql = format!(
        "WITH latest AS (
           SELECT DISTINCT ON (c.account_id) c.account_id,
                  c.granted AND consent_counts(c.purpose, c.policy_version_id) AS granted
           FROM consent_records c
           WHERE c.purpose = $1 AND c.partner_id IS NULL AND c.account_id IS NOT NULL
           ORDER BY c.account_id, c.id DESC)
         SELECT {k1}::text AS k1, {k2}::text AS k2, count(*) AS n
         FROM latest l JOIN accounts a ON a.id = l.account_id
         WHERE l.granted AND a.status IN ('active', 'cancelling')
         GROUP BY 1, 2"
    );
    let mut conn = pool.get().await?;
    let rows: Vec<KeyedCount> = diesel::sql_query(sql)
        .bind::<Text, _>(purpose)
        .load(&mut conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Group {
            keys: [r.k1, r.k2]
                .into_iter()
                .take(by.len())
                .map(Option::unwrap_or_default)
                .collect(),
            count: r.n,
        })
        .collect())
}

/// Sign-ups that consented to statistics, by city and/or occupation (a cross-tab when both), suppressed.
pub async fn sign_ups(pool: &Pool, by: &[Dimension]) -> AppResult<Suppressed> {
    let mut dims: Vec<Dimension> = Vec::new();
    for d in by {
        if *d == Dimension::Gender {
            return Err(AppError::bad_input(
                "by",
                "the statistics purpose covers city and occupation only",
            ));
        }
        if !dims.contains(d) {
            dims.push(*d);
        }
    }
    if dims.is_empty() {
        return Err(AppError::bad_input(
            "by",
            "name at least one dimension (CITY, OCCUPATION)",
        ));
    }
    Ok(suppress(
        consenting_accounts(pool, STATISTICS_PURPOSE, &dims).await?,
    ))
}

/// Views of published works per category (the rolled-up counters, which count only consented views and hold
/// no identity), suppressed like every other aggregate.
pub async fn views_by_category(pool: &Pool) -> AppResult<Suppressed> {
    let mut conn = pool.get().await?;
    let rows: Vec<KeyedCount> = diesel::sql_query(
        "SELECT w.category AS k1, NULL::text AS k2, COALESCE(SUM(w.view_count), 0)::bigint AS n
         FROM works w
         WHERE w.deleted_at IS NULL AND NOT w.draft
         GROUP BY w.category",
    )
    .load(&mut conn)
    .await?;
    Ok(suppress(
        rows.into_iter()
            .map(|r| Group {
                keys: vec![r.k1.unwrap_or_default()],
                count: r.n,
            })
            .collect(),
    ))
}

/// Advertising reach: the accounts that consented to `partner-advertising`, grouped by one dimension, for an
/// advertising partner whose token is scoped to that purpose; anyone else is `FORBIDDEN`.
pub async fn reach(
    pool: &Pool,
    principal: &PartnerPrincipal,
    by: Dimension,
) -> AppResult<Suppressed> {
    if principal.kind != PartnerKind::Advertising {
        return Err(AppError::Forbidden(
            "reach figures are for advertising partners".into(),
        ));
    }
    if !principal.may(ADVERTISING_PURPOSE) {
        return Err(AppError::Forbidden(format!(
            "this partner token's scopes do not include `{ADVERTISING_PURPOSE}`"
        )));
    }
    Ok(suppress(
        consenting_accounts(pool, ADVERTISING_PURPOSE, &[by]).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(key: &str, count: i64) -> Group {
        Group {
            keys: vec![key.into()],
            count,
        }
    }

    #[test]
    fn groups_under_k_are_suppressed_and_the_rest_sorted() {
        let out = suppress(vec![
            g("Suzhou", 3),
            g("Hangzhou", 10),
            g("Beijing", 25),
            g("Xian", 9),
            g("Anqing", 10),
            g("Empty", 0),
        ]);
        assert_eq!(
            out.groups,
            vec![g("Beijing", 25), g("Anqing", 10), g("Hangzhou", 10)]
        );
        assert_eq!(out.suppressed_groups, 2);
        assert_eq!(out.suppressed_count, 12);
    }

    #[test]
    fn nothing_to_suppress() {
        assert_eq!(suppress(vec![]), Suppressed::default());
    }
}
