//! Verification codes: six digits, valid five minutes, at most five attempts, one per minute per destination,
//! daily caps per destination and per client address; stored as keyed hashes. The answer never says whether
//! an account exists: a code for an unknown account is recorded (so limits and timing match) but not sent.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::Rng;

use super::Accounts;
use super::store;
use crate::client::ClientInfo;
use crate::db::schema::verification_codes as vc;
use crate::error::{AppError, AppResult};
use crate::messaging::{Channel, Message};

pub const CODE_TTL_MINUTES: i64 = 5;
pub const MAX_ATTEMPTS: i32 = 5;
pub const RESEND_SECONDS: i64 = 60;
pub const DAILY_PER_DESTINATION: i64 = 10;
pub const DAILY_PER_CLIENT: i64 = 50;

/// What a code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Register,
    Login,
    ResetPassword,
    BindEmail,
    CancelAccount,
    /// A new phone number for a signed-in account (`changePhone`), or the first one for an account made
    /// through WeChat, Weibo or QQ.
    ChangePhone,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::Login => "login",
            Purpose::ResetPassword => "reset_password",
            Purpose::BindEmail => "bind_email",
            Purpose::CancelAccount => "cancel_account",
            Purpose::ChangePhone => "change_phone",
        }
    }

    /// The channel a purpose's codes travel by.
    pub fn channel(self) -> Channel {
        match self {
            Purpose::BindEmail => Channel::Email,
            _ => Channel::Sms,
        }
    }

    /// Whether codes for this purpose may travel by `channel`: cancellation codes go by SMS to the account's
    /// phone, or by email to an account that has no phone number.
    pub fn travels_by(self, channel: Channel) -> bool {
        self.channel() == channel || self == Purpose::CancelAccount
    }
}

/// A code was issued (or pretended to be).
#[derive(Debug, Clone)]
pub struct Issued {
    pub retry_after_seconds: i64,
    pub expires_at: DateTime<Utc>,
}

/// A normalised destination and its blind index.
pub struct Destination {
    pub value: String,
    pub index: Vec<u8>,
}

impl Accounts {
    /// Normalises a destination for a channel (E.164 phone or lower-case email).
    pub fn destination(&self, channel: Channel, raw: &str, field: &str) -> AppResult<Destination> {
        let value = match channel {
            Channel::Sms => super::phone::normalize(raw, field)?,
            Channel::Email => normalize_email(raw, field)?,
        };
        let index = self.keys.blind_index(channel_domain(channel), &value);
        Ok(Destination { value, index })
    }

    /// Issues a code for `purpose` to `destination` over `channel`.
    pub async fn request_code(
        &self,
        channel: Channel,
        destination: &str,
        purpose: Purpose,
        client: &ClientInfo,
    ) -> AppResult<Issued> {
        if !purpose.travels_by(channel) {
            let expected = match purpose.channel() {
                Channel::Sms => "SMS",
                Channel::Email => "EMAIL",
            };
            return Err(AppError::bad_input(
                "channel",
                format!("codes for this purpose travel by {expected}"),
            ));
        }
        let dest = self.destination(channel, destination, "destination")?;
        let client_hash = self.client_hash(client);
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
        let code_hash = self.code_hash(&dest.index, &code);
        let now = Utc::now();
        let expires_at = now + Duration::minutes(CODE_TTL_MINUTES);
        let mut conn = self.pool.get().await?;
        let this = self.clone();
        conn.transaction::<_, AppError, _>(async |conn| {
            // One issuer per destination at a time, so two quick requests cannot both pass the resend check.
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended(encode($1, 'hex'), 11))")
                .bind::<diesel::sql_types::Bytea, _>(&dest.index)
                .execute(conn)
                .await?;
            this.check_limits(conn, &dest.index, purpose, client_hash.as_deref(), now).await?;
            diesel::insert_into(vc::table)
                .values((
                    vc::channel.eq(channel.as_str()),
                    vc::destination_index.eq(&dest.index),
                    vc::purpose.eq(purpose.as_str()),
                    vc::code_hash.eq(&code_hash),
                    vc::client_addr_hash.eq(&client_hash),
                    vc::expires_at.eq(expires_at),
                ))
                .execute(conn)
                .await?;
            let account = match channel {
                Channel::Sms => store::account_by_phone_index(conn, &dest.index).await?,
                Channel::Email => store::account_by_email_index(conn, &dest.index).await?,
            };
            // A cancellation code goes by email only to an account without a phone number: one with a phone
            // confirms by SMS (that is where `requestAccountCancellation` looks for the code).
            let exists = account.is_some_and(|a| {
                !(purpose == Purpose::CancelAccount
                    && channel == Channel::Email
                    && a.phone_ciphertext.is_some())
            });
            let message = match (purpose, exists) {
                (Purpose::Register, false) | (Purpose::BindEmail, false) => Some(code_message(channel, &dest.value, purpose, &code)),
                (Purpose::Register, true) => Some(Message {
                    channel,
                    to: dest.value.clone(),
                    kind: "account_exists".into(),
                    subject: None,
                    text: "Someone asked to register with this number, which already has an account. If it was you, sign in instead; otherwise ignore this message.".into(),
                    data: serde_json::json!({}),
                }),
                (Purpose::BindEmail, true) => Some(Message {
                    channel,
                    to: dest.value.clone(),
                    kind: "email_in_use".into(),
                    subject: Some("Your email address".into()),
                    text: "Someone asked to bind this address to another account. It stays bound to yours; if you did not ask, you can ignore this message.".into(),
                    data: serde_json::json!({}),
                }),
                // Always sent: only whoever holds the phone learns, from `changePhone`, that it is in use.
                (Purpose::ChangePhone, _) => Some(code_message(channel, &dest.value, purpose, &code)),
                (_, true) => Some(code_message(channel, &dest.value, purpose, &code)),
                (_, false) => None,
            };
            if let Some(message) = message {
                crate::messaging::enqueue(conn, &this.keys, &message).await?;
            }
            Ok(())
        })
        .await?;
        Ok(Issued {
            retry_after_seconds: RESEND_SECONDS,
            expires_at,
        })
    }

    async fn check_limits(
        &self,
        conn: &mut AsyncPgConnection,
        index: &[u8],
        purpose: Purpose,
        client_hash: Option<&[u8]>,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let day_ago = now - Duration::days(1);
        let recent: Vec<DateTime<Utc>> = vc::table
            .filter(vc::destination_index.eq(index))
            .filter(vc::created_at.gt(day_ago))
            .order(vc::created_at.desc())
            .select(vc::created_at)
            .load(conn)
            .await?;
        let last_for_purpose: Option<DateTime<Utc>> = vc::table
            .filter(vc::destination_index.eq(index))
            .filter(vc::purpose.eq(purpose.as_str()))
            .order(vc::created_at.desc())
            .select(vc::created_at)
            .first(conn)
            .await
            .optional()?;
        if let Some(last) = last_for_purpose {
            let elapsed = (now - last).num_seconds();
            if elapsed < RESEND_SECONDS {
                return Err(AppError::RateLimited {
                    retry_after_seconds: (RESEND_SECONDS - elapsed).max(1) as u64,
                });
            }
        }
        if recent.len() as i64 >= DAILY_PER_DESTINATION {
            let oldest = recent[recent.len() - 1];
            return Err(AppError::RateLimited {
                retry_after_seconds: (oldest + Duration::days(1) - now).num_seconds().max(1) as u64,
            });
        }
        if let Some(hash) = client_hash {
            let from_client: i64 = vc::table
                .filter(vc::client_addr_hash.eq(hash))
                .filter(vc::created_at.gt(day_ago))
                .count()
                .get_result(conn)
                .await?;
            if from_client >= DAILY_PER_CLIENT {
                return Err(AppError::RateLimited {
                    retry_after_seconds: 3600,
                });
            }
        }
        Ok(())
    }

    /// Checks a code and consumes it, in a transaction of its own so a failed attempt is always counted.
    pub async fn consume_code(&self, index: &[u8], purpose: Purpose, code: &str) -> AppResult<()> {
        let wrong = || {
            AppError::bad_input(
                "code",
                "the code is wrong or has expired; request a new one",
            )
        };
        let code = code.trim();
        if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(wrong());
        }
        let expected = self.code_hash(index, code);
        let mut conn = self.pool.get().await?;
        let outcome = conn
            .transaction::<_, AppError, _>(async |conn| {
                let row: Option<(i64, Vec<u8>, i32)> = vc::table
                    .filter(vc::destination_index.eq(index))
                    .filter(vc::purpose.eq(purpose.as_str()))
                    .filter(vc::consumed_at.is_null())
                    .filter(vc::expires_at.gt(diesel::dsl::now))
                    .order(vc::created_at.desc())
                    .select((vc::id, vc::code_hash, vc::attempts))
                    .for_update()
                    .first(conn)
                    .await
                    .optional()?;
                let Some((id, hash, attempts)) = row else {
                    return Ok(false);
                };
                if attempts >= MAX_ATTEMPTS {
                    return Ok(false);
                }
                let right = constant_time_eq(&hash, &expected);
                let update = diesel::update(vc::table.find(id));
                if right {
                    update
                        .set(vc::consumed_at.eq(diesel::dsl::now))
                        .execute(conn)
                        .await?;
                } else {
                    update
                        .set(vc::attempts.eq(vc::attempts + 1))
                        .execute(conn)
                        .await?;
                }
                Ok(right)
            })
            .await?;
        if outcome { Ok(()) } else { Err(wrong()) }
    }

    fn code_hash(&self, index: &[u8], code: &str) -> Vec<u8> {
        let mut input = index.to_vec();
        input.extend_from_slice(code.as_bytes());
        self.keys.pseudonym("verification-code", &input)
    }
}

fn code_message(channel: Channel, to: &str, purpose: Purpose, code: &str) -> Message {
    let what = match purpose {
        Purpose::Register => "finish registering",
        Purpose::Login => "sign in",
        Purpose::ResetPassword => "reset your password",
        Purpose::BindEmail => "bind this email address",
        Purpose::CancelAccount => "cancel your account",
        Purpose::ChangePhone => "make this your account's phone number",
    };
    Message {
        channel,
        to: to.to_string(),
        kind: "verification_code".into(),
        subject: matches!(channel, Channel::Email).then(|| "Your verification code".to_string()),
        text: format!(
            "Your verification code to {what} is {code}. It is valid for {CODE_TTL_MINUTES} minutes. Never share it."
        ),
        data: serde_json::json!({ "code": code, "purpose": purpose.as_str() }),
    }
}

fn channel_domain(channel: Channel) -> &'static str {
    channel.index_domain()
}

/// Lower-cases and checks an email address.
pub fn normalize_email(raw: &str, field: &str) -> AppResult<String> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && local.len() <= 64
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && domain
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        })
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c == '<' || c == '>');
    if valid {
        Ok(email)
    } else {
        Err(AppError::bad_input(field, "this is not an email address"))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email(" Mei@Example.COM ", "email").unwrap(),
            "mei@example.com"
        );
        for bad in [
            "",
            "mei",
            "mei@",
            "@x.com",
            "mei@x",
            "a b@x.com",
            "mei@.com",
        ] {
            assert!(normalize_email(bad, "email").is_err(), "{bad}");
        }
    }
}
