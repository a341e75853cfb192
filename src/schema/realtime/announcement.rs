//! Security announcements: incidents as published to everyone.

use std::sync::Arc;

use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};

use super::enums::{IncidentStatus, Severity};
use crate::graphql::ids;
use crate::realtime::model::IncidentRow;

/// A security incident as published to everyone (privacy policy 5.4: users are informed by announcement).
pub struct SecurityAnnouncement(pub Arc<IncidentRow>);

/// A security incident as published to everyone: what happened, what data it involves, what it may cause,
/// what was done, what to do, and whom to contact.
#[Object]
impl SecurityAnnouncement {
    /// Global id of this announcement.
    pub async fn id(&self) -> ID {
        ids::encode("SecurityAnnouncement", self.0.id)
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
    /// The categories of personal data involved.
    async fn data_categories(&self) -> Vec<String> {
        self.0.categories()
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
}
