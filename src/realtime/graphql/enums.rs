//! The realtime domain's GraphQL enums.

use async_graphql::Enum;

use crate::realtime::model::NoticeKind;

/// What a notification is about.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum NotificationKind {
    /// A security incident that affects this account.
    SecurityIncident,
    /// This account's own security: a sign-in from a new device, a password change or reset, an email or
    /// third-party account bound or unbound, a cancellation requested or revoked.
    AccountSecurity,
    /// Other members' activity.
    Social,
    /// A site-wide announcement.
    Announcement,
}

impl From<NoticeKind> for NotificationKind {
    fn from(kind: NoticeKind) -> Self {
        match kind {
            NoticeKind::SecurityIncident => NotificationKind::SecurityIncident,
            NoticeKind::AccountSecurity => NotificationKind::AccountSecurity,
            NoticeKind::Social => NotificationKind::Social,
            NoticeKind::Announcement => NotificationKind::Announcement,
        }
    }
}

/// How serious a security incident is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
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

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Severity {
        match s {
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            _ => Severity::Critical,
        }
    }
}

/// Where a security incident stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum IncidentStatus {
    /// Declared; the affected accounts were told.
    Open,
    /// Declared and since updated; the affected accounts were told again.
    Updated,
    /// Over; the affected accounts were told how it ended.
    Resolved,
}

impl IncidentStatus {
    pub fn parse(s: &str) -> IncidentStatus {
        match s {
            "open" => IncidentStatus::Open,
            "updated" => IncidentStatus::Updated,
            _ => IncidentStatus::Resolved,
        }
    }
}

/// What happened to an incident: its declaration, an update, or its resolution.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum IncidentEvent {
    /// The incident was declared.
    Declared,
    /// The incident was updated.
    Updated,
    /// The incident was resolved.
    Resolved,
}

impl IncidentEvent {
    pub fn parse(s: &str) -> IncidentEvent {
        match s {
            "declared" => IncidentEvent::Declared,
            "updated" => IncidentEvent::Updated,
            _ => IncidentEvent::Resolved,
        }
    }
}
