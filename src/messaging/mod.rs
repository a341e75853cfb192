//! SMS and email delivery through a transactional outbox, so no verification code is ever lost.
//!
//! A domain calls [`enqueue`] inside its own transaction: the message is sealed (no phone number, address or
//! code is stored in plaintext) and a `NOTIFY` wakes the [`worker`] when the transaction commits. The worker
//! claims due messages with `FOR UPDATE SKIP LOCKED` and a lease, hands them to a [`Sender`], and marks them
//! sent, or schedules a retry with exponential backoff. Delivery is at least once: receivers deduplicate by the
//! `X-Portico-Message-Id` header.
//!
//! In development ([`LogSender`]) messages are written to the log; in production ([`WebhookSender`]) they are
//! POSTed, signed with HMAC-SHA256, to the configured SMS and email webhooks.

pub mod outbox;
pub mod sender;
pub mod worker;

use serde::{Deserialize, Serialize};

pub use outbox::enqueue;
pub use sender::{
    LogSender, SendError, Sender, WebhookSender, sender_from_config, sign, verify_signature,
};
pub use worker::{Settings, deliver_due, deliver_due_with, start, start_with};

/// How a message reaches its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// A text message to an E.164 phone number.
    Sms,
    /// An email to an address.
    Email,
}

impl Channel {
    /// The name stored in `outbox_messages.channel` and used as a metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }

    /// The blind-index domain of this channel's destinations (`phone` or `email`), shared with the accounts
    /// that hold them.
    pub fn index_domain(self) -> &'static str {
        match self {
            Channel::Sms => "phone",
            Channel::Email => "email",
        }
    }

    /// The channel named `name` (as stored), if any.
    pub fn parse(name: &str) -> Option<Channel> {
        match name {
            "sms" => Some(Channel::Sms),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }
}

/// One message to deliver. Serialised whole, sealed, into the outbox; POSTed as JSON by the webhook sender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// SMS or email.
    pub channel: Channel,
    /// The recipient: an E.164 phone number for SMS, an email address for email.
    pub to: String,
    /// What the message is, for templates on the receiving side (e.g. `"verification_code"`).
    pub kind: String,
    /// The subject line (email only).
    pub subject: Option<String>,
    /// The rendered text.
    pub text: String,
    /// Structured values for templates (e.g. `{"code": "123456", "expires_in_minutes": 10}`).
    pub data: serde_json::Value,
}
