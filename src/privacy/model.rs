//! Rows of the privacy domain.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{policy_purposes, policy_versions};

/// A published version of the privacy policy.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = policy_versions)]
pub struct PolicyVersion {
    pub id: i64,
    pub version: String,
    pub body: String,
    pub published_at: DateTime<Utc>,
}

/// One purpose a policy version asks consent for.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = policy_purposes)]
pub struct Purpose {
    pub policy_version_id: i64,
    pub key: String,
    pub position: i32,
    pub title: String,
    pub description: String,
    pub required: bool,
    pub data_categories: Vec<Option<String>>,
    pub recipients: Vec<Option<String>>,
    /// The earliest version since which this purpose is defined as it is here (this version's id when it
    /// adds or changes the purpose).
    pub since_version_id: i64,
}

/// A policy version with its purposes, in catalogue order.
#[derive(Debug, Clone)]
pub struct Policy {
    pub version: PolicyVersion,
    pub purposes: Vec<Purpose>,
}

/// A purpose as a new policy version declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPurpose {
    pub key: String,
    pub title: String,
    pub description: String,
    pub required: bool,
    pub data_categories: Vec<String>,
    pub recipients: Vec<String>,
}

/// A policy version to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPolicy {
    pub version: String,
    pub text: String,
    pub purposes: Vec<NewPurpose>,
}

/// One row to append to the consent ledger.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = crate::db::schema::consent_records)]
pub struct NewConsentRecord {
    pub account_id: Option<i64>,
    pub purpose: String,
    pub partner_id: Option<i64>,
    pub policy_version_id: i64,
    pub granted: bool,
    pub method: String,
    pub client_addr_hash: Option<Vec<u8>>,
    pub user_agent_hash: Option<Vec<u8>>,
}

/// A ledger row as its owner reads it: the answer, the policy version it was given under and the partner
/// it names (if any).
#[derive(Debug, Clone, QueryableByName)]
pub struct ConsentRecordRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub purpose: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub granted: bool,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub policy_version: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub method: String,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    pub partner_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub partner_name: Option<String>,
    /// Whether this answer still counts: its purpose is in the current policy version, defined as it was
    /// when the answer was given (SQL `consent_counts`).
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub current: bool,
}

/// What consent needs to know of a partner: whether it may receive a purpose.
#[derive(Debug, Clone, Queryable)]
pub struct ConsentPartner {
    pub id: i64,
    pub name: String,
    pub purposes: Vec<Option<String>>,
    pub suspended_at: Option<DateTime<Utc>>,
}

impl ConsentPartner {
    /// Whether the partner is registered for `purpose` and not suspended.
    pub fn may_receive(&self, purpose: &str) -> bool {
        self.suspended_at.is_none() && self.purposes.iter().flatten().any(|p| p == purpose)
    }
}
