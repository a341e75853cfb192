//! The realtime domain's GraphQL types: notifications and their connection.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{ID, Object};

use super::enums::NotificationKind;
use chrono::{DateTime, Utc};

use crate::graphql::ids;
use crate::realtime::model::{Notice, NoticeKind};

use super::incident::Incident;
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
        self.0.incident.clone().map(Incident::of)
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
