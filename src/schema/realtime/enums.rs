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

pub use crate::realtime::model::{IncidentEvent, IncidentStatus, Severity};
