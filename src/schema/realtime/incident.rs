//! The two faces of a security incident: `Incident`, as the accounts it affects and staff see it, and
//! `SecurityAnnouncement`, as published to everyone (privacy policy 5.4). Each is merged from parts, so every
//! field they share is defined once; they differ in their id, in how they word the data categories, in the cause
//! (not published) and in what staff see.

use std::sync::Arc;

use async_graphql::{Context, ID, MergedObject, Object};
use chrono::{DateTime, Utc};

use super::enums::{IncidentStatus, Severity};
use crate::graphql::ids;
use crate::graphql::viewer::{Role, RoleGuard};
use crate::realtime::model::IncidentRow;

/// A security incident as the accounts it affects and staff see it: what happened, what data it involves, what
/// it may cause, what was done, what to do, and whom to contact. Staff also see whom it affects;
/// its history is in `incidentReport`.
#[derive(MergedObject)]
#[graphql(name = "Incident")]
pub struct Incident(IncidentId, Summary, IncidentData, Aftermath, Resolution);

impl Incident {
    pub fn of(row: Arc<IncidentRow>) -> Incident {
        Incident(
            IncidentId(row.clone()),
            Summary(row.clone()),
            IncidentData(row.clone()),
            Aftermath(row.clone()),
            Resolution(row),
        )
    }

    /// The `Node` interface's `id`.
    pub async fn id(&self, _: &Context<'_>) -> async_graphql::Result<ID> {
        Ok(ids::encode("Incident", self.0.0.id))
    }
}

/// A security incident as published to everyone: what happened, what data it involves, what it may cause,
/// what was done, what to do, and whom to contact.
#[derive(MergedObject)]
#[graphql(name = "SecurityAnnouncement")]
pub struct SecurityAnnouncement(AnnouncementId, Summary, AnnouncementData, Aftermath);

impl SecurityAnnouncement {
    pub fn of(row: Arc<IncidentRow>) -> SecurityAnnouncement {
        SecurityAnnouncement(
            AnnouncementId(row.clone()),
            Summary(row.clone()),
            AnnouncementData(row.clone()),
            Aftermath(row),
        )
    }

    /// The `Node` interface's `id`.
    pub async fn id(&self, _: &Context<'_>) -> async_graphql::Result<ID> {
        Ok(ids::encode("SecurityAnnouncement", self.0.0.id))
    }
}

pub struct IncidentId(Arc<IncidentRow>);

#[Object]
impl IncidentId {
    /// Global id of this incident.
    async fn id(&self) -> ID {
        ids::encode("Incident", self.0.id)
    }
}

pub struct AnnouncementId(Arc<IncidentRow>);

#[Object]
impl AnnouncementId {
    /// Global id of this announcement.
    async fn id(&self) -> ID {
        ids::encode("SecurityAnnouncement", self.0.id)
    }
}

/// What both faces open with.
pub struct Summary(Arc<IncidentRow>);

#[Object]
impl Summary {
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
}

pub struct IncidentData(Arc<IncidentRow>);

#[Object]
impl IncidentData {
    /// The categories of personal data involved (`phone`, `email`, `profile`, ...).
    async fn data_categories(&self) -> Vec<String> {
        self.0.categories()
    }
    /// What caused it.
    async fn cause(&self) -> &str {
        &self.0.cause
    }
}

pub struct AnnouncementData(Arc<IncidentRow>);

#[Object]
impl AnnouncementData {
    /// The categories of personal data involved.
    async fn data_categories(&self) -> Vec<String> {
        self.0.categories()
    }
}

/// What it means for the people affected and how it has gone since.
pub struct Aftermath(Arc<IncidentRow>);

#[Object]
impl Aftermath {
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

/// How an incident ended, and what staff see of it.
pub struct Resolution(Arc<IncidentRow>);

#[Object]
impl Resolution {
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
