//! The realtime domain's GraphQL types: notifications, incidents and security announcements.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{ID, Object};

use super::enums::{IncidentStatus, NotificationKind, Severity};
use chrono::{DateTime, Utc};

use crate::graphql::ids;
use crate::graphql::viewer::{Role, RoleGuard};
use crate::realtime::model::{IncidentRow, Notice, NoticeKind};
use crate::realtime::service;

/// A notice to the signed-in account.
pub struct Notification(pub Notice);

/// A notice to the signed-in account: a security incident that affects it, a change to its security, other
/// members' activity, or an announcement.
#[Object]
impl Notification {
    /// Global id of this notification.
    pub async fn id(&self) -> ID {
        ids::encode("Notification", self.0.row.id)
    }
    /// Opaque position of this notification: `notifications(after:)` resumes after it.
    async fn cursor(&self) -> String {
        service::cursor(self.0.row.id)
    }
    /// What the notification is about.
    async fn kind(&self) -> NotificationKind {
        NoticeKind::parse(&self.0.row.kind)
            .unwrap_or(NoticeKind::Announcement)
            .into()
    }
    /// One-line summary.
    async fn title(&self) -> &str {
        &self.0.row.title
    }
    /// The full text.
    async fn body(&self) -> &str {
        &self.0.row.body
    }
    /// What the notification refers to, as ids (`{"incident": 3, "event": "declared"}`,
    /// `{"securityEvent": 12, "event": "password_changed"}`).
    async fn references(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.0.row.refs.clone())
    }
    /// When it was written.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.row.created_at
    }
    /// When it first went out on a WebSocket; null until then.
    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.row.delivered_at
    }
    /// When the account acknowledged it; null until then.
    async fn acknowledged_at(&self) -> Option<DateTime<Utc>> {
        self.0.row.acknowledged_at
    }
    /// The security incident it is about, for `SECURITY_INCIDENT` notices.
    async fn incident(&self) -> Option<Incident> {
        self.0.incident.clone().map(Incident)
    }
}

/// A page of notifications.
pub type NotificationConnection = Connection<String, Notification, EmptyFields, EmptyFields>;

/// Builds a connection from a page of notices (newest first).
pub fn notification_connection(
    notices: Vec<Notice>,
    has_previous: bool,
    has_next: bool,
) -> NotificationConnection {
    let mut connection = Connection::new(has_previous, has_next);
    connection.edges.extend(
        notices
            .into_iter()
            .map(|n| Edge::new(service::cursor(n.row.id), Notification(n))),
    );
    connection
}

/// A security incident as the accounts it affects and staff see it: what happened, what data it involves, what
/// it may cause, what was done, what to do, and whom to contact.
pub struct Incident(pub Arc<IncidentRow>);

/// A security incident as the accounts it affects and staff see it: what happened, what data it involves, what
/// it may cause, what was done, what to do, and whom to contact. Staff also see whom it affects;
/// its history is in `incidentReport`.
#[Object]
impl Incident {
    /// Global id of this incident.
    pub async fn id(&self) -> ID {
        ids::encode("Incident", self.0.id)
    }
    /// Short title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// What happened, in a few sentences.
    async fn description(&self) -> &str {
        &self.0.description
    }
    /// How serious it is.
    async fn severity(&self) -> Severity {
        self.0.severity
    }
    /// Where it stands.
    async fn status(&self) -> IncidentStatus {
        self.0.status
    }
    /// The categories of personal data involved (`phone`, `email`, `profile`, ...).
    async fn data_categories(&self) -> Vec<String> {
        self.0.categories()
    }
    /// What caused it.
    async fn cause(&self) -> &str {
        &self.0.cause
    }
    /// What it may lead to for the people affected.
    async fn possible_harm(&self) -> &str {
        &self.0.possible_harm
    }
    /// What the site has done about it.
    async fn remedial_measures(&self) -> &str {
        &self.0.remedial_measures
    }
    /// What the people affected can do to protect themselves.
    async fn user_actions(&self) -> &str {
        &self.0.user_actions
    }
    /// Whom to contact about it.
    async fn contact(&self) -> &str {
        &self.0.contact
    }
    /// When it was declared.
    async fn declared_at(&self) -> DateTime<Utc> {
        self.0.declared_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// When it was resolved; null while it is not.
    async fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.0.resolved_at
    }
    /// How it was resolved; null while it is not.
    async fn resolution_note(&self) -> Option<&str> {
        self.0.resolution_note.as_deref()
    }
    /// How many accounts it affects (staff only).
    #[graphql(guard = "RoleGuard { min: Role::Staff }")]
    async fn affected_count(&self) -> i64 {
        self.0.affected_count
    }
    /// Who it affects, as declared: `{"all": true}`, `{"accountIds": [...]}` or `{"dataCategories": [...]}`
    /// (staff only).
    #[graphql(guard = "RoleGuard { min: Role::Staff }")]
    async fn scope(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.0.scope.clone())
    }
    /// Whether it is published as a public security announcement (staff only).
    #[graphql(guard = "RoleGuard { min: Role::Staff }")]
    async fn announced(&self) -> bool {
        self.0.announced
    }
}
