//! Authorized partners (privacy policy 4.1(4)): the registry staff keep of who may receive data, for which
//! purpose and which data categories; scoped partner tokens (stored hashed); and the partner read path, where
//! consent is enforced as data flows: a partner sees only the accounts whose current answer for its purpose,
//! given to that very partner, is a grant (PIPL Art. 23), only the categories it was registered for, and every
//! account it sees is logged as a disclosure the account's owner can read.

mod access;
mod tokens;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::store;
use crate::db::Pool;
use crate::db::schema::partners;
use crate::error::{AppError, AppResult};

pub use access::{Disclosure, SharedDevice, SharedUser, disclosures_page, shared_users};
pub use tokens::{
    IssuedToken, MAX_TOKEN_DAYS, PartnerPrincipal, TokenRow, authenticate, issue_token,
    revoke_token, tokens_of,
};

/// The prefix every partner token starts with (how the HTTP layer tells it from an access token).
pub const TOKEN_PREFIX: &str = "ptk_";

/// The kinds of partner the policy names, each with the one purpose it may receive data for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnerKind {
    Advertising,
    Business,
    Payment,
    Analytics,
}

impl PartnerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PartnerKind::Advertising => "advertising",
            PartnerKind::Business => "business",
            PartnerKind::Payment => "payment",
            PartnerKind::Analytics => "analytics",
        }
    }

    pub fn parse(s: &str) -> Option<PartnerKind> {
        match s {
            "advertising" => Some(PartnerKind::Advertising),
            "business" => Some(PartnerKind::Business),
            "payment" => Some(PartnerKind::Payment),
            "analytics" => Some(PartnerKind::Analytics),
            _ => None,
        }
    }

    /// The policy purpose under which this kind of partner receives data.
    pub fn purpose(self) -> &'static str {
        match self {
            PartnerKind::Advertising => "partner-advertising",
            PartnerKind::Business => "partner-business",
            PartnerKind::Payment => "partner-payment",
            PartnerKind::Analytics => "partner-analytics",
        }
    }
}

/// A registered partner.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = partners)]
pub struct Partner {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub contact: String,
    pub purposes: Vec<Option<String>>,
    pub data_categories: Vec<Option<String>>,
    pub created_at: DateTime<Utc>,
    pub suspended_at: Option<DateTime<Utc>>,
}

impl Partner {
    pub fn kind(&self) -> PartnerKind {
        PartnerKind::parse(&self.kind).expect("the kind column is constrained to the four kinds")
    }

    pub fn purposes(&self) -> Vec<String> {
        self.purposes.iter().flatten().cloned().collect()
    }

    pub fn data_categories(&self) -> Vec<String> {
        self.data_categories.iter().flatten().cloned().collect()
    }
}

/// What staff register.
#[derive(Debug, Clone)]
pub struct NewPartner {
    pub name: String,
    pub kind: PartnerKind,
    pub contact: String,
    pub purposes: Vec<String>,
    pub data_categories: Vec<String>,
}

fn distinct(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for item in list.iter().map(|s| s.trim()) {
        if !out.iter().any(|o| o == item) {
            out.push(item.to_string());
        }
    }
    out
}

/// Registers a partner after checking it against the current policy: its purposes must be the partner purpose
/// of its kind, and its data categories must be among those the policy lists for that purpose.
pub async fn register_partner(pool: &Pool, staff_id: i64, new: NewPartner) -> AppResult<Partner> {
    let name = new.name.trim();
    if !(2..=80).contains(&name.chars().count()) {
        return Err(AppError::bad_input(
            "name",
            "a partner name has 2 to 80 characters",
        ));
    }
    let contact = new.contact.trim();
    if contact.is_empty() || contact.chars().count() > 200 {
        return Err(AppError::bad_input(
            "contact",
            "a contact has 1 to 200 characters",
        ));
    }
    let purposes = distinct(&new.purposes);
    let wanted = new.kind.purpose();
    if purposes.is_empty() {
        return Err(AppError::bad_input(
            "purposes",
            format!(
                "a {} partner needs the purpose `{wanted}`",
                new.kind.as_str()
            ),
        ));
    }
    if let Some(other) = purposes.iter().find(|p| p.as_str() != wanted) {
        return Err(AppError::bad_input(
            "purposes",
            format!(
                "`{other}` is not a purpose for a {} partner; it may only receive data for `{wanted}`",
                new.kind.as_str()
            ),
        ));
    }
    let categories = distinct(&new.data_categories);
    let mut conn = pool.get().await?;
    let allowed = policy_categories(&mut conn, &purposes).await?;
    if categories.is_empty() {
        return Err(AppError::bad_input(
            "dataCategories",
            format!("name at least one data category ({})", allowed.join(", ")),
        ));
    }
    if let Some(other) = categories.iter().find(|c| !allowed.contains(c)) {
        return Err(AppError::bad_input(
            "dataCategories",
            format!(
                "`{other}` is not a data category the current policy names for {}; allowed: {}",
                purposes.join(", "),
                allowed.join(", ")
            ),
        ));
    }
    let inserted = diesel::insert_into(partners::table)
        .values((
            partners::name.eq(name),
            partners::kind.eq(new.kind.as_str()),
            partners::contact.eq(contact),
            partners::purposes.eq(&purposes),
            partners::data_categories.eq(&categories),
            partners::registered_by.eq(staff_id),
        ))
        .returning(Partner::as_returning())
        .get_result(&mut conn)
        .await;
    match inserted {
        Ok(p) => Ok(p),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(AppError::bad_input(
            "name",
            format!("a partner named `{name}` is already registered"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The data categories the current policy names for `purposes`; a purpose it does not name is refused.
async fn policy_categories(
    conn: &mut AsyncPgConnection,
    purposes: &[String],
) -> AppResult<Vec<String>> {
    let current = super::policy::in_force(conn).await?;
    let catalogue = store::purposes_of(conn, current.id).await?;
    let mut allowed = Vec::new();
    for purpose in purposes {
        let Some(p) = catalogue.iter().find(|p| &p.key == purpose) else {
            return Err(AppError::bad_input(
                "purposes",
                format!(
                    "`{purpose}` is not a purpose of the current policy (version {})",
                    current.version
                ),
            ));
        };
        for c in p.data_categories.iter().flatten() {
            if !allowed.contains(c) {
                allowed.push(c.clone());
            }
        }
    }
    Ok(allowed)
}

/// Every registered partner, oldest first (the registry is public, like the policy's list of recipients).
pub async fn list_partners(pool: &Pool) -> AppResult<Vec<Partner>> {
    let mut conn = pool.get().await?;
    Ok(partners::table
        .order(partners::id.asc())
        .select(Partner::as_select())
        .load(&mut conn)
        .await?)
}

/// A partner by id.
pub async fn partner_by_id(pool: &Pool, id: i64) -> AppResult<Option<Partner>> {
    let mut conn = pool.get().await?;
    Ok(find(&mut conn, id).await?)
}

async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Partner>> {
    partners::table
        .find(id)
        .select(Partner::as_select())
        .first(conn)
        .await
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_name_their_purpose() {
        for kind in [
            PartnerKind::Advertising,
            PartnerKind::Business,
            PartnerKind::Payment,
            PartnerKind::Analytics,
        ] {
            assert_eq!(PartnerKind::parse(kind.as_str()), Some(kind));
            assert_eq!(kind.purpose(), format!("partner-{}", kind.as_str()));
        }
        assert_eq!(PartnerKind::parse("affiliate"), None);
    }

    #[test]
    fn distinct_keeps_first_occurrences_trimmed() {
        let list = ["a", " b", "a", "b ", "c"].map(String::from);
        assert_eq!(distinct(&list), ["a", "b", "c"]);
    }
}
