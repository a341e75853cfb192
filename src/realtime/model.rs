//! Rows of the realtime domain: notifications, incidents and their history.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{incidents, notifications};

/// A notice to one account, as stored.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: i64,
    pub account_id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub incident_id: Option<i64>,
    pub incident_update_id: Option<i64>,
    pub refs: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// A notice with the incident it is about (loaded with it, so a notice never costs a query of its own).
#[derive(Debug, Clone)]
pub struct Notice {
    pub row: NotificationRow,
    pub incident: Option<Arc<IncidentRow>>,
}

/// The kinds of notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// About a security incident that affects the account.
    SecurityIncident,
    /// About the account's own security: a new device, a changed password, a binding, a cancellation.
    AccountSecurity,
    /// About other members' activity.
    Social,
    /// A site-wide announcement.
    Announcement,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::SecurityIncident => "security_incident",
            NoticeKind::AccountSecurity => "account_security",
            NoticeKind::Social => "social",
            NoticeKind::Announcement => "announcement",
        }
    }

    pub fn parse(s: &str) -> Option<NoticeKind> {
        match s {
            "security_incident" => Some(NoticeKind::SecurityIncident),
            "account_security" => Some(NoticeKind::AccountSecurity),
            "social" => Some(NoticeKind::Social),
            "announcement" => Some(NoticeKind::Announcement),
            _ => None,
        }
    }
}

/// A notice to write for one account.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub account_id: i64,
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
    /// What the notice refers to (`{"securityEvent": 12, "event": "password_changed"}`).
    pub refs: serde_json::Value,
}

/// How serious a security incident is.
#[derive(
    async_graphql::Enum,
    Copy,
    Clone,
    Eq,
    PartialEq,
    Debug,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Severity {
    /// Little data or little risk; no action needed from the people affected.
    Low,
    /// Some risk; the people affected may want to act.
    Medium,
    /// Significant risk; the people affected should act.
    High,
    /// Serious and immediate risk; the people affected must act at once.
    Critical,
}

/// Where a security incident stands.
#[derive(
    async_graphql::Enum,
    Copy,
    Clone,
    Eq,
    PartialEq,
    Debug,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum IncidentStatus {
    /// Declared; the affected accounts were told.
    Open,
    /// Declared and since updated; the affected accounts were told again.
    Updated,
    /// Over; the affected accounts were told how it ended.
    Resolved,
}

/// What happened to an incident: its declaration, an update, or its resolution.
#[derive(
    async_graphql::Enum,
    Copy,
    Clone,
    Eq,
    PartialEq,
    Debug,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum IncidentEvent {
    /// The incident was declared.
    Declared,
    /// The incident was updated.
    Updated,
    /// The incident was resolved.
    Resolved,
}

crate::text_enum!(Severity { Low => "low", Medium => "medium", High => "high", Critical => "critical" });
crate::text_enum!(IncidentStatus { Open => "open", Updated => "updated", Resolved => "resolved" });
crate::text_enum!(IncidentEvent { Declared => "declared", Updated => "updated", Resolved => "resolved" });

/// A security incident, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = incidents)]
pub struct IncidentRow {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub data_categories: Vec<Option<String>>,
    pub cause: String,
    pub possible_harm: String,
    pub remedial_measures: String,
    pub user_actions: String,
    pub contact: String,
    pub scope: serde_json::Value,
    pub announced: bool,
    pub declared_by: Option<i64>,
    pub declared_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution_note: Option<String>,
    pub affected_count: i64,
}

impl IncidentRow {
    /// The data categories, without the nulls PostgreSQL arrays may hold.
    pub fn categories(&self) -> Vec<String> {
        self.data_categories.iter().flatten().cloned().collect()
    }
}

/// What an incident notice says, as staff wrote it.
#[derive(Debug, Clone)]
pub struct IncidentContent {
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub data_categories: Vec<String>,
    pub cause: String,
    pub possible_harm: String,
    pub remedial_measures: String,
    pub user_actions: String,
    pub contact: String,
}

/// A change to an incident's content; `None` keeps a field as it is.
#[derive(Debug, Clone, Default)]
pub struct IncidentChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub severity: Option<Severity>,
    pub data_categories: Option<Vec<String>>,
    pub cause: Option<String>,
    pub possible_harm: Option<String>,
    pub remedial_measures: Option<String>,
    pub user_actions: Option<String>,
    pub contact: Option<String>,
}

/// One stage of an incident (its declaration, an update, its resolution): what it said and how its notices
/// reached people.
#[derive(Debug, Clone, QueryableByName)]
pub struct StageFigures {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub update_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub event: IncidentEvent,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub note: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub changes: serde_json::Value,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub notified: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub delivered: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub acknowledged: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub first_delivered_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pub last_delivered_at: Option<DateTime<Utc>>,
}

/// How an incident's notices went out on one channel (`socket`, `push`, `sms`, `email`): sent, delivered, and
/// acknowledged after delivery.
#[derive(Debug, Clone, QueryableByName)]
pub struct ChannelFigures {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub channel: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub notified: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub delivered: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub acknowledged: i64,
}

/// The regulator's report on an incident: who was affected and how the notices reached them.
#[derive(Debug, Clone)]
pub struct IncidentReport {
    pub incident: Arc<IncidentRow>,
    pub generated_at: DateTime<Utc>,
    /// One entry per stage, oldest first; the first is the declaration.
    pub stages: Vec<StageFigures>,
    /// Every channel (`socket`, `push`, `sms`, `email`), over all stages; a channel never used counts zeros.
    pub channels: Vec<ChannelFigures>,
}
