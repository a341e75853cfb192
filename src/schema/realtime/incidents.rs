//! Incident inputs and the regulator's report.

use std::sync::Arc;

use async_graphql::{ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::enums::{IncidentEvent, Severity};
use super::incident::Incident;
use crate::accounts::service::Audience;
use crate::error::{AppError, AppResult};
use crate::graphql::ids;
use crate::realtime::model::{
    ChannelFigures, IncidentChanges, IncidentContent, IncidentReport, StageFigures,
};
use crate::realtime::service::{Declaration, incident_body};

/// A security incident to declare: what a notice must tell the people affected, and who they are.
#[derive(InputObject)]
pub struct DeclareIncidentInput {
    /// Short title (at most 200 characters).
    pub title: String,
    /// What happened, in a few sentences.
    pub description: String,
    /// How serious it is.
    pub severity: Severity,
    /// The categories of personal data involved (`phone`, `email`, `profile`, ...).
    pub data_categories: Vec<String>,
    /// What caused it.
    pub cause: String,
    /// What it may lead to for the people affected.
    pub possible_harm: String,
    /// What the site has done about it.
    pub remedial_measures: String,
    /// What the people affected can do to protect themselves.
    pub user_actions: String,
    /// Whom to contact about it.
    pub contact: String,
    /// Who is affected: exactly one of its fields.
    pub scope: IncidentScopeInput,
    /// Also publish it as a public security announcement (default true).
    pub announce: Option<bool>,
}

/// Who an incident affects: set exactly one field.
#[derive(InputObject)]
pub struct IncidentScopeInput {
    /// `true`: every account.
    pub all: Option<bool>,
    /// These accounts (their `User` ids).
    pub account_ids: Option<Vec<ID>>,
    /// The accounts holding data of any of these categories: `account`, `username`, `gender`, `occupation`,
    /// `city`, `phone`, `password`, `email`, `profile`, `contact`, `third-party-profile`, `device`, `log`.
    pub data_categories: Option<Vec<String>>,
}

/// Changes to an open incident; absent fields stay as they are. The affected accounts are told.
#[derive(InputObject)]
pub struct UpdateIncidentInput {
    /// What changed, for the people affected.
    pub note: String,
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New severity.
    pub severity: Option<Severity>,
    /// New data categories.
    pub data_categories: Option<Vec<String>>,
    /// New cause.
    pub cause: Option<String>,
    /// New possible harm.
    pub possible_harm: Option<String>,
    /// New remedial measures.
    pub remedial_measures: Option<String>,
    /// New advice to the people affected.
    pub user_actions: Option<String>,
    /// New contact.
    pub contact: Option<String>,
}

impl IncidentScopeInput {
    /// The audience this scope names; none or several fields set is `BAD_USER_INPUT`.
    fn audience(self) -> AppResult<Audience> {
        let mut set = Vec::new();
        if self.all == Some(true) {
            set.push(Audience::All);
        }
        if let Some(ids) = self.account_ids {
            let ids = ids
                .iter()
                .map(|id| match ids::decode(id) {
                    Some((kind, key)) if kind == "User" => key.parse().ok(),
                    _ => None,
                })
                .collect::<Option<Vec<i64>>>()
                .ok_or_else(|| {
                    AppError::bad_input("scope.accountIds", "every entry must be a User id")
                })?;
            set.push(Audience::Accounts(ids));
        }
        if let Some(categories) = self.data_categories {
            set.push(Audience::DataCategories(categories));
        }
        match set.len() {
            1 => Ok(set.remove(0)),
            0 => Err(AppError::bad_input(
                "scope",
                "set one of all (true), accountIds or dataCategories",
            )),
            _ => Err(AppError::bad_input(
                "scope",
                "set only one of all, accountIds or dataCategories",
            )),
        }
    }
}

impl DeclareIncidentInput {
    pub fn into_declaration(self) -> AppResult<Declaration<Audience>> {
        Ok(Declaration {
            audience: self.scope.audience()?,
            announced: self.announce.unwrap_or(true),
            content: IncidentContent {
                title: self.title,
                description: self.description,
                severity: self.severity,
                data_categories: self.data_categories,
                cause: self.cause,
                possible_harm: self.possible_harm,
                remedial_measures: self.remedial_measures,
                user_actions: self.user_actions,
                contact: self.contact,
            },
        })
    }
}

impl UpdateIncidentInput {
    pub fn into_changes(self) -> (IncidentChanges, String) {
        let changes = IncidentChanges {
            title: self.title,
            description: self.description,
            severity: self.severity,
            data_categories: self.data_categories,
            cause: self.cause,
            possible_harm: self.possible_harm,
            remedial_measures: self.remedial_measures,
            user_actions: self.user_actions,
            contact: self.contact,
        };
        (changes, self.note)
    }
}

/// One stage of an incident (its declaration, an update, its resolution): what it said, and how its notices
/// reached people.
#[derive(SimpleObject)]
pub struct IncidentStageReport {
    /// The stage.
    pub event: IncidentEvent,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The note sent with it (empty for the declaration).
    pub note: String,
    /// The fields an update changed.
    pub changed_fields: Vec<String>,
    /// Accounts sent a notice.
    pub notified: i64,
    /// Accounts whose notice went out on a WebSocket.
    pub delivered: i64,
    /// Accounts that acknowledged the notice.
    pub acknowledged: i64,
    /// The first delivery.
    pub first_delivered_at: Option<DateTime<Utc>>,
    /// The last delivery so far.
    pub last_delivered_at: Option<DateTime<Utc>>,
}

fn seconds_between(from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> Option<f64> {
    to.map(|to| (to - from).num_milliseconds() as f64 / 1000.0)
}

/// The report on an incident for the supervisory authority (GDPR Art. 33, PIPL Art. 57): what happened, whom it
/// affects, and how the notices reached them. The figures are about the declaration's notices.
pub struct IncidentReportObject(pub IncidentReport);

impl IncidentReportObject {
    fn declaration(&self) -> Option<&StageFigures> {
        self.0.stages.first()
    }
}

/// The report on a security incident for the supervisory authority: what happened, whom it affects, and how
/// the notices reached them (accounts notified, delivered and acknowledged, time to the first and last delivery).
#[Object(name = "IncidentReport")]
impl IncidentReportObject {
    /// The incident.
    async fn incident(&self) -> Incident {
        Incident::of(Arc::clone(&self.0.incident))
    }
    /// When this report was made.
    async fn generated_at(&self) -> DateTime<Utc> {
        self.0.generated_at
    }
    /// Accounts the incident affects.
    async fn accounts_affected(&self) -> i64 {
        self.0.incident.affected_count
    }
    /// Accounts sent the declaration's notice.
    async fn accounts_notified(&self) -> i64 {
        self.declaration().map_or(0, |s| s.notified)
    }
    /// Accounts whose notice went out on a WebSocket.
    async fn accounts_delivered(&self) -> i64 {
        self.declaration().map_or(0, |s| s.delivered)
    }
    /// Accounts that acknowledged the notice.
    async fn accounts_acknowledged(&self) -> i64 {
        self.declaration().map_or(0, |s| s.acknowledged)
    }
    /// Seconds from the declaration to the first delivery; null before any.
    async fn seconds_to_first_delivery(&self) -> Option<f64> {
        let first = self.declaration().and_then(|s| s.first_delivered_at);
        seconds_between(self.0.incident.declared_at, first)
    }
    /// Seconds from the declaration to the last delivery so far; null before any.
    async fn seconds_to_last_delivery(&self) -> Option<f64> {
        let last = self.declaration().and_then(|s| s.last_delivered_at);
        seconds_between(self.0.incident.declared_at, last)
    }
    /// Every stage: the declaration, each update, the resolution.
    async fn stages(&self) -> Vec<IncidentStageReport> {
        self.0.stages.iter().map(stage).collect()
    }
    /// How the notices of every stage went out on each channel: in the app and on open sockets, as push
    /// notifications, by SMS and by email (high and critical incidents).
    async fn channels(&self) -> Vec<IncidentChannelReport> {
        self.0.channels.iter().map(channel).collect()
    }
    /// The whole report as one JSON document, to file with the authority.
    async fn document(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.to_json())
    }
}

/// A channel notices go out on.
#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum NoticeChannel {
    /// The in-app notice, live on an open WebSocket.
    Socket,
    /// Web Push, FCM or APNs to the member's registered devices.
    Push,
    /// A text message to the account's phone.
    Sms,
    /// An email to the account's verified address.
    Email,
}

/// How an incident's notices went out on one channel.
#[derive(SimpleObject)]
pub struct IncidentChannelReport {
    pub channel: NoticeChannel,
    /// Notices sent on this channel (for push: notices with at least one device; for SMS and email: messages).
    pub notified: i64,
    /// Of those, delivered: out on a socket, accepted by a push service, accepted by the SMS or email gateway.
    pub delivered: i64,
    /// Of those delivered, acknowledged by the member.
    pub acknowledged: i64,
}

fn channel(c: &ChannelFigures) -> IncidentChannelReport {
    IncidentChannelReport {
        channel: match c.channel.as_str() {
            "push" => NoticeChannel::Push,
            "sms" => NoticeChannel::Sms,
            "email" => NoticeChannel::Email,
            _ => NoticeChannel::Socket,
        },
        notified: c.notified,
        delivered: c.delivered,
        acknowledged: c.acknowledged,
    }
}

fn changed_fields(changes: &serde_json::Value) -> Vec<String> {
    changes["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn stage(s: &StageFigures) -> IncidentStageReport {
    IncidentStageReport {
        event: s.event,
        at: s.at,
        note: s.note.clone(),
        changed_fields: changed_fields(&s.changes),
        notified: s.notified,
        delivered: s.delivered,
        acknowledged: s.acknowledged,
        first_delivered_at: s.first_delivered_at,
        last_delivered_at: s.last_delivered_at,
    }
}

impl IncidentReportObject {
    fn to_json(&self) -> serde_json::Value {
        let i = &self.0.incident;
        let d = self.declaration();
        json!({
            "incident": {
                "id": ids::encode("Incident", i.id).0,
                "title": i.title,
                "description": i.description,
                "severity": i.severity.as_str(),
                "status": i.status.as_str(),
                "dataCategories": i.categories(),
                "cause": i.cause,
                "possibleHarm": i.possible_harm,
                "remedialMeasures": i.remedial_measures,
                "userActions": i.user_actions,
                "contact": i.contact,
                "scope": i.scope,
                "declaredAt": i.declared_at,
                "updatedAt": i.updated_at,
                "resolvedAt": i.resolved_at,
                "resolutionNote": i.resolution_note,
                "noticeText": incident_body(i),
            },
            "generatedAt": self.0.generated_at,
            "accountsAffected": i.affected_count,
            "accountsNotified": d.map_or(0, |s| s.notified),
            "accountsDelivered": d.map_or(0, |s| s.delivered),
            "accountsAcknowledged": d.map_or(0, |s| s.acknowledged),
            "firstDeliveredAt": d.and_then(|s| s.first_delivered_at),
            "lastDeliveredAt": d.and_then(|s| s.last_delivered_at),
            "secondsToFirstDelivery": seconds_between(i.declared_at, d.and_then(|s| s.first_delivered_at)),
            "secondsToLastDelivery": seconds_between(i.declared_at, d.and_then(|s| s.last_delivered_at)),
            "stages": self.0.stages.iter().map(|s| json!({
                "event": s.event.as_str(),
                "at": s.at,
                "note": s.note,
                "changedFields": changed_fields(&s.changes),
                "notified": s.notified,
                "delivered": s.delivered,
                "acknowledged": s.acknowledged,
                "firstDeliveredAt": s.first_delivered_at,
                "lastDeliveredAt": s.last_delivered_at,
            })).collect::<Vec<_>>(),
            "channels": self.0.channels.iter().map(|c| json!({
                "channel": c.channel,
                "notified": c.notified,
                "delivered": c.delivered,
                "acknowledged": c.acknowledged,
            })).collect::<Vec<_>>(),
        })
    }
}
