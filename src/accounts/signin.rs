//! Registration and sign-in: by phone and SMS code, by password (phone, email or username), and password
//! changes and resets. Every multi-row change runs in one transaction.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::Accounts;
use super::codes::Purpose;
use super::events::EventKind;
use super::model::NewAccount;
use super::password::{self, Verdict};
use super::sessions::SignedInTokens;
use super::{store, throttle};
use crate::client::ClientInfo;
use crate::db::schema::{accounts, profiles};
use crate::error::{AppError, AppResult};
use crate::messaging::Channel;

/// What `register` takes.
#[derive(Debug, Clone)]
pub struct Registration {
    pub phone: String,
    pub code: String,
    pub password: String,
    pub username: String,
    pub gender: String,
    pub occupation: String,
    pub city: String,
    pub adult_confirmed: bool,
    pub consents: Vec<String>,
    pub policy_version: String,
    pub device: Option<String>,
}

/// Checks a username: 2 to 32 letters, digits, `_` or `-` (any script), not only digits.
pub fn check_username(username: &str) -> AppResult<()> {
    let n = username.chars().count();
    if !(2..=32).contains(&n) {
        return Err(AppError::bad_input(
            "username",
            "the username must have 2 to 32 characters",
        ));
    }
    if !username
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(AppError::bad_input(
            "username",
            "the username may only hold letters, digits, `_` and `-`",
        ));
    }
    if username.chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::bad_input(
            "username",
            "the username must not be only digits",
        ));
    }
    if username
        .to_lowercase()
        .starts_with(super::erase::ERASED_USERNAME_PREFIX)
    {
        return Err(AppError::bad_input(
            "username",
            "usernames beginning with `erased-` are reserved",
        ));
    }
    Ok(())
}

/// Checks a required short text field (city, occupation).
pub fn check_short(value: &str, field: &str) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AppError::bad_input(field, format!("{field} is required")));
    }
    if v.chars().count() > 64 {
        return Err(AppError::bad_input(
            field,
            format!("{field} may have at most 64 characters"),
        ));
    }
    Ok(v.to_string())
}

fn unique_violation(e: &diesel::result::Error) -> Option<String> {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            info,
        ) => Some(info.constraint_name().unwrap_or("").to_string()),
        _ => None,
    }
}

impl Accounts {
    /// Registers an account: validates everything first, then consumes the SMS code, then writes the account,
    /// its profile, its consents, its first session and security event in one transaction.
    pub async fn register(
        &self,
        r: Registration,
        client: &ClientInfo,
    ) -> AppResult<SignedInTokens> {
        let dest = self.destination(Channel::Sms, &r.phone, "phone")?;
        check_username(&r.username)?;
        password::check_strength(&r.password, &r.username, Some(&dest.value), "password").await?;
        let occupation = check_short(&r.occupation, "occupation")?;
        let city = check_short(&r.city, "city")?;
        if !r.adult_confirmed {
            return Err(AppError::bad_input(
                "adultConfirmed",
                "you must confirm that you are 18 or older",
            ));
        }
        let consent = crate::privacy::service::check_registration_consents(
            &self.pool,
            &r.policy_version,
            &r.consents,
        )
        .await?;
        let hash = password::hash(&r.password).await?;
        self.consume_code(&dest.index, Purpose::Register, &r.code)
            .await?;

        let mut conn = self.pool.get().await?;
        let this = self.clone();
        conn.transaction::<_, AppError, _>(async |conn| {
            let now = Utc::now();
            if store::username_taken(conn, &r.username, None).await? {
                return Err(AppError::bad_input("username", "this username is taken"));
            }
            // The id is taken first, so the sealed phone can be bound to its row.
            let id = store::next_account_id(conn).await?;
            let inserted = diesel::insert_into(accounts::table)
                .values(NewAccount {
                    id,
                    username: &r.username,
                    phone_ciphertext: Some(this.keys.seal_str(
                        crate::crypto::Column::AccountPhone,
                        id,
                        &dest.value,
                    )),
                    phone_index: Some(dest.index.clone()),
                    password_hash: Some(hash),
                    password_changed_at: Some(now),
                    gender: &r.gender,
                    occupation: &occupation,
                    city: &city,
                    adult_confirmed_at: Some(now),
                })
                .returning(accounts::id)
                .get_result::<i64>(conn)
                .await;
            let account_id = match inserted {
                Ok(id) => id,
                Err(e) => {
                    return Err(match unique_violation(&e).as_deref() {
                        Some("accounts_username_lower") => {
                            AppError::bad_input("username", "this username is taken")
                        }
                        Some(_) => AppError::bad_input(
                            "phone",
                            "this phone number already has an account; sign in instead",
                        ),
                        None => e.into(),
                    });
                }
            };
            crate::content::service::index_account(conn, account_id, &r.username).await?;
            diesel::insert_into(profiles::table)
                .values(profiles::account_id.eq(account_id))
                .execute(conn)
                .await?;
            crate::privacy::service::record_consents(
                conn,
                &this.keys,
                account_id,
                &consent,
                "registration",
                client,
            )
            .await?;
            this.record_event(
                conn,
                account_id,
                EventKind::Registered,
                serde_json::json!({}),
                client,
            )
            .await?;
            this.open_session(conn, account_id, "register", r.device.as_deref(), client)
                .await
        })
        .await
    }

    /// Signs in with a password, by phone number, email address or username. Failures slow down and then
    /// lock per identifier and per client address; an unknown identifier costs the same time as a known one.
    pub async fn login(
        &self,
        identifier: &str,
        password_text: &str,
        device: Option<&str>,
        client: &ClientInfo,
    ) -> AppResult<SignedInTokens> {
        let identifier = identifier.trim();
        if identifier.is_empty() || identifier.len() > 254 {
            return Err(AppError::bad_input(
                "identifier",
                "enter your phone number, email address or username",
            ));
        }
        let subject = self
            .keys
            .pseudonym("login-subject", identifier.to_lowercase().as_bytes());
        let client_subject = self.client_hash(client);
        let mut conn = self.pool.get().await?;
        throttle::check(&mut conn, &subject, throttle::FREE_FAILURES).await?;
        if let Some(c) = &client_subject {
            throttle::check(&mut conn, c, throttle::FREE_FAILURES_PER_CLIENT).await?;
        }
        let account = if identifier.contains('@') {
            match super::codes::normalize_email(identifier, "identifier") {
                Ok(email) => {
                    store::account_by_email_index(
                        &mut conn,
                        &self.keys.blind_index("email", &email),
                    )
                    .await?
                }
                Err(_) => None,
            }
        } else if identifier.starts_with('+')
            || identifier
                .chars()
                .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
        {
            match super::phone::normalize(identifier, "identifier") {
                Ok(phone) => {
                    store::account_by_phone_index(
                        &mut conn,
                        &self.keys.blind_index("phone", &phone),
                    )
                    .await?
                }
                Err(_) => None,
            }
        } else {
            store::account_by_username(&mut conn, identifier).await?
        };
        let account = account.filter(|a| a.status != crate::accounts::model::AccountStatus::Erased);
        // One account has several identifiers (phone, email, username): it is throttled as itself too.
        let account_subject = account.as_ref().map(|a| {
            self.keys
                .pseudonym("login-account", a.id.to_string().as_bytes())
        });
        if let Some(a) = &account_subject {
            throttle::check(&mut conn, a, throttle::FREE_FAILURES).await?;
        }
        let verdict = password::verify(
            password_text,
            account.as_ref().and_then(|a| a.password_hash.as_deref()),
        )
        .await;
        let this = self.clone();
        // A failure is committed (it must count) and then answered as an error.
        conn.transaction::<_, AppError, _>(async |conn| match (&account, verdict) {
            (Some(account), Verdict::Right | Verdict::RightNeedsRehash) => {
                if verdict == Verdict::RightNeedsRehash {
                    let rehashed = password::hash(password_text).await?;
                    diesel::update(accounts::table.find(account.id))
                        .set(accounts::password_hash.eq(rehashed))
                        .execute(conn)
                        .await?;
                }
                throttle::clear(conn, &subject).await?;
                if let Some(a) = &account_subject {
                    throttle::clear(conn, a).await?;
                }
                Ok(Ok(this
                    .open_session(conn, account.id, "password", device, client)
                    .await?))
            }
            _ => {
                let mut subjects: Vec<&[u8]> = vec![&subject];
                if let Some(c) = &client_subject {
                    subjects.push(c);
                }
                if let Some(a) = &account_subject {
                    subjects.push(a);
                }
                throttle::fail(conn, &subjects).await?;
                if let Some(account) = &account {
                    this.record_event(
                        conn,
                        account.id,
                        EventKind::SignInFailed,
                        serde_json::json!({ "method": "password" }),
                        client,
                    )
                    .await?;
                }
                Ok(Err(AppError::WrongCredentials))
            }
        })
        .await?
    }

    /// Signs in with a phone number and an SMS code.
    pub async fn login_with_code(
        &self,
        phone: &str,
        code: &str,
        device: Option<&str>,
        client: &ClientInfo,
    ) -> AppResult<SignedInTokens> {
        let dest = self.destination(Channel::Sms, phone, "phone")?;
        self.consume_code(&dest.index, Purpose::Login, code).await?;
        let mut conn = self.pool.get().await?;
        let this = self.clone();
        conn.transaction::<_, AppError, _>(async |conn| {
            let account = store::account_by_phone_index(conn, &dest.index)
                .await?
                .filter(|a| a.status != crate::accounts::model::AccountStatus::Erased)
                .ok_or_else(|| {
                    AppError::bad_input(
                        "code",
                        "the code is wrong or has expired; request a new one",
                    )
                })?;
            this.open_session(conn, account.id, "sms_code", device, client)
                .await
        })
        .await
    }

    /// Changes the password (the current one is required) and ends every other session.
    pub async fn change_password(
        &self,
        account_id: i64,
        session_id: Option<i64>,
        current: &str,
        next: &str,
        client: &ClientInfo,
    ) -> AppResult<()> {
        let mut conn = self.pool.get().await?;
        let account = store::account(&mut conn, account_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if password::verify(current, account.password_hash.as_deref()).await == Verdict::Wrong {
            return Err(AppError::bad_input(
                "current",
                "the current password is wrong",
            ));
        }
        let phone = account.phone_ciphertext.as_deref().and_then(|c| {
            self.keys
                .open_str(crate::crypto::Column::AccountPhone, account_id, c)
                .ok()
        });
        password::check_strength(next, &account.username, phone.as_deref(), "next").await?;
        let hash = password::hash(next).await?;
        let this = self.clone();
        conn.transaction::<_, AppError, _>(async |conn| {
            diesel::update(accounts::table.find(account_id))
                .set((
                    accounts::password_hash.eq(hash),
                    accounts::password_changed_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
            let ended = this
                .revoke_other_sessions(conn, account_id, session_id, "password changed")
                .await?;
            this.record_event(
                conn,
                account_id,
                EventKind::PasswordChanged,
                serde_json::json!({ "sessionsEnded": ended }),
                client,
            )
            .await?;
            Ok(())
        })
        .await
    }

    /// Resets a forgotten password with an SMS code; ends every session.
    pub async fn reset_password(
        &self,
        phone: &str,
        code: &str,
        next: &str,
        client: &ClientInfo,
    ) -> AppResult<()> {
        let dest = self.destination(Channel::Sms, phone, "phone")?;
        let mut conn = self.pool.get().await?;
        let account = store::account_by_phone_index(&mut conn, &dest.index).await?;
        if let Some(account) = &account {
            password::check_strength(next, &account.username, Some(&dest.value), "password")
                .await?;
        }
        self.consume_code(&dest.index, Purpose::ResetPassword, code)
            .await?;
        let account = account.ok_or_else(|| {
            AppError::bad_input(
                "code",
                "the code is wrong or has expired; request a new one",
            )
        })?;
        let hash = password::hash(next).await?;
        let this = self.clone();
        conn.transaction::<_, AppError, _>(async |conn| {
            diesel::update(accounts::table.find(account.id))
                .set((
                    accounts::password_hash.eq(hash),
                    accounts::password_changed_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
            let ended = this
                .revoke_other_sessions(conn, account.id, None, "password reset")
                .await?;
            this.record_event(
                conn,
                account.id,
                EventKind::PasswordReset,
                serde_json::json!({ "sessionsEnded": ended }),
                client,
            )
            .await?;
            Ok(())
        })
        .await
    }
}
