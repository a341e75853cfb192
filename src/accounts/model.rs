//! Rows of the accounts domain.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::profile::ProfileText;
use crate::db::schema::{accounts, profiles, security_events, sessions, third_party_bindings};

/// Where an account stands (`accounts.status`).
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
pub enum AccountStatus {
    Active,
    /// A cancellation is pending (the account works until the cooling-off period ends).
    Cancelling,
    /// Erased: a tombstone without personal data.
    Erased,
}

crate::text_enum!(AccountStatus { Active => "active", Cancelling => "cancelling", Erased => "erased" });

/// An account as stored (personal fields sealed).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub role: crate::graphql::viewer::Role,
    pub created_at: DateTime<Utc>,
    pub phone_ciphertext: Option<Vec<u8>>,
    pub email_ciphertext: Option<Vec<u8>>,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub password_hash: Option<String>,
    pub gender: String,
    pub occupation: String,
    pub city: String,
    pub status: AccountStatus,
    /// When the username last changed (at most once in 30 days).
    pub username_changed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = accounts)]
pub struct NewAccount<'a> {
    /// Taken from the sequence first ([`super::store::next_account_id`]), so sealed fields can name their row.
    pub id: i64,
    pub username: &'a str,
    pub phone_ciphertext: Option<Vec<u8>>,
    pub phone_index: Option<Vec<u8>>,
    pub password_hash: Option<String>,
    pub password_changed_at: Option<DateTime<Utc>>,
    pub gender: &'a str,
    pub occupation: &'a str,
    pub city: &'a str,
    pub adult_confirmed_at: Option<DateTime<Utc>>,
}

/// The optional profile of an account.
#[derive(Debug, Clone, Default, Queryable, Selectable)]
#[diesel(table_name = profiles)]
pub struct Profile {
    pub account_id: i64,
    pub avatar_url: Option<String>,
    pub hometown: Option<String>,
    pub signature: Option<String>,
    pub bio: Option<String>,
    pub education: Option<String>,
    pub contact_ciphertext: Option<Vec<u8>>,
    pub link: Option<String>,
    pub equipment: Option<String>,
    pub labels: Vec<Option<String>>,
    pub private_fields: Vec<Option<String>>,
}

impl Profile {
    /// The plain-text optional fields of this profile.
    pub fn text(&self) -> ProfileText {
        ProfileText {
            avatar_url: self.avatar_url.clone(),
            hometown: self.hometown.clone(),
            signature: self.signature.clone(),
            bio: self.bio.clone(),
            education: self.education.clone(),
            link: self.link.clone(),
            equipment: self.equipment.clone(),
        }
    }

    pub fn labels(&self) -> Vec<String> {
        crate::db::listed(&self.labels)
    }
}

/// A sign-in.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct Session {
    pub id: i64,
    pub account_id: i64,
    pub device: String,
    pub user_agent: String,
    pub method: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A bound WeChat, Weibo or QQ account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = third_party_bindings)]
pub struct Binding {
    pub account_id: i64,
    pub provider: String,
    pub subject: String,
    pub nickname: Option<String>,
    pub avatar_url: Option<String>,
    pub gender: Option<String>,
    pub bound_at: DateTime<Utc>,
}

/// A security event of an account.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = security_events)]
pub struct SecurityEvent {
    pub id: i64,
    pub account_id: i64,
    pub kind: String,
    pub detail: serde_json::Value,
    pub user_agent: String,
    pub created_at: DateTime<Utc>,
}
