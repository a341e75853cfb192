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
}

/// A policy version with its purposes, in catalogue order.
#[derive(Debug, Clone)]
pub struct Policy {
    pub version: PolicyVersion,
    pub purposes: Vec<Purpose>,
}
