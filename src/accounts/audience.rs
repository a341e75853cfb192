//! Audiences: the accounts a staff-declared scope covers (all accounts, listed accounts, or the accounts holding
//! data of given categories), as one SQL query other domains embed in set-based statements, so a notice to
//! 100,000 accounts is one `INSERT ... SELECT` and never a loop.
//!
//! Erased accounts hold no personal data and are never in an audience; accounts waiting for cancellation are.

use crate::error::{AppError, AppResult};

/// Who a scope covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every account.
    All,
    /// These accounts.
    Accounts(Vec<i64>),
    /// The accounts holding data in any of these categories (see [`DATA_CATEGORIES`]).
    DataCategories(Vec<String>),
}

/// The data categories an audience can name, what the accounts' tables hold for each, and the SQL condition
/// (on `accounts a`) that holds when an account has data of that category. The names are those of the privacy
/// policy's purpose catalogue.
pub const DATA_CATEGORIES: &[(&str, &str, &str)] = &[
    (
        "account",
        "registration data every account has (username, gender, occupation, city)",
        "true",
    ),
    ("username", "the username", "true"),
    ("gender", "a stated gender", "a.gender <> 'undisclosed'"),
    ("occupation", "an occupation", "a.occupation <> ''"),
    ("city", "a city", "a.city <> ''"),
    ("phone", "a phone number", "a.phone_ciphertext IS NOT NULL"),
    ("password", "a password hash", "a.password_hash IS NOT NULL"),
    (
        "email",
        "a bound email address",
        "a.email_ciphertext IS NOT NULL",
    ),
    (
        "profile",
        "any optional profile field (avatar, hometown, signature, bio, education, contact, link, equipment, labels)",
        "EXISTS (SELECT 1 FROM profiles p WHERE p.account_id = a.id AND (p.avatar_url IS NOT NULL \
         OR p.hometown IS NOT NULL OR p.signature IS NOT NULL OR p.bio IS NOT NULL OR p.education IS NOT NULL \
         OR p.contact_ciphertext IS NOT NULL OR p.link IS NOT NULL OR p.equipment IS NOT NULL \
         OR cardinality(p.labels) > 0))",
    ),
    (
        "contact",
        "the profile's contact information",
        "EXISTS (SELECT 1 FROM profiles p WHERE p.account_id = a.id AND p.contact_ciphertext IS NOT NULL)",
    ),
    (
        "third-party-profile",
        "a bound WeChat, Weibo or QQ account (nickname, avatar, gender)",
        "EXISTS (SELECT 1 FROM third_party_bindings b WHERE b.account_id = a.id)",
    ),
    (
        "device",
        "sign-in devices (sessions)",
        "EXISTS (SELECT 1 FROM sessions s WHERE s.account_id = a.id)",
    ),
    (
        "log",
        "sign-in logs (sessions and security events)",
        "(EXISTS (SELECT 1 FROM sessions s WHERE s.account_id = a.id) \
         OR EXISTS (SELECT 1 FROM security_events e WHERE e.account_id = a.id))",
    ),
];

/// A query selecting the ids of the accounts in `audience` (one column, `id`). When the audience lists accounts,
/// the query reads them from the `bigint[]` bind number `ids_param`, and the ids to bind are returned with it.
pub fn audience_sql(
    audience: &Audience,
    ids_param: usize,
) -> AppResult<(String, Option<Vec<i64>>)> {
    let base = "SELECT a.id FROM accounts a WHERE a.status <> 'erased'";
    Ok(match audience {
        Audience::All => (base.to_string(), None),
        Audience::Accounts(ids) => (
            format!("{base} AND a.id = ANY(${ids_param})"),
            Some(ids.clone()),
        ),
        Audience::DataCategories(categories) => {
            let mut conditions = Vec::new();
            for category in categories {
                let Some((_, _, condition)) =
                    DATA_CATEGORIES.iter().find(|(key, _, _)| key == category)
                else {
                    let known: Vec<&str> = DATA_CATEGORIES.iter().map(|(k, _, _)| *k).collect();
                    return Err(AppError::bad_input(
                        "scope.dataCategories",
                        format!(
                            "`{category}` is not a data category accounts hold; known: {}",
                            known.join(", ")
                        ),
                    ));
                };
                conditions.push(*condition);
            }
            if conditions.is_empty() {
                return Err(AppError::bad_input(
                    "scope.dataCategories",
                    "name at least one data category",
                ));
            }
            (format!("{base} AND ({})", conditions.join(" OR ")), None)
        }
    })
}

/// An audience is who an incident reaches: realtime writes every notice with the query this floor builds.
impl crate::realtime::service::Recipients for Audience {
    fn query(&self, ids_param: usize) -> AppResult<(String, Option<Vec<i64>>)> {
        audience_sql(self, ids_param)
    }

    fn scope(&self) -> serde_json::Value {
        match self {
            Audience::All => serde_json::json!({ "all": true }),
            Audience::Accounts(ids) => serde_json::json!({ "accountIds": ids }),
            Audience::DataCategories(categories) => {
                serde_json::json!({ "dataCategories": categories })
            }
        }
    }

    fn listed(&self) -> Option<usize> {
        let Audience::Accounts(ids) = self else {
            return None;
        };
        let mut distinct = ids.clone();
        distinct.sort_unstable();
        distinct.dedup();
        Some(distinct.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_one_query_per_audience() {
        assert_eq!(
            audience_sql(&Audience::All, 3).unwrap().0,
            "SELECT a.id FROM accounts a WHERE a.status <> 'erased'"
        );
        let (sql, ids) = audience_sql(&Audience::Accounts(vec![4, 5]), 3).unwrap();
        assert!(sql.ends_with("a.id = ANY($3)"), "{sql}");
        assert_eq!(ids, Some(vec![4, 5]));
        let (sql, _) = audience_sql(
            &Audience::DataCategories(vec!["email".into(), "phone".into()]),
            1,
        )
        .unwrap();
        assert!(sql.contains("a.email_ciphertext IS NOT NULL OR a.phone_ciphertext IS NOT NULL"));
    }

    #[test]
    fn refuses_unknown_and_missing_categories() {
        assert!(matches!(
            audience_sql(&Audience::DataCategories(vec!["x; DROP TABLE".into()]), 1),
            Err(AppError::BadUserInput { .. })
        ));
        assert!(audience_sql(&Audience::DataCategories(vec![]), 1).is_err());
    }
}
