//! Correction (policy: inquire and modify): a new phone number confirmed by a code sent to it, and a new
//! username at most once in 30 days, with the old name held back from others for 30 days. Each refuses with
//! `BAD_USER_INPUT` on a conflict and then writes nothing; each records a security event and tells the account.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::Accounts;
use super::codes::Purpose;
use super::events::EventKind;
use super::store;
use crate::client::ClientInfo;
use crate::crypto::Column;
use crate::db::schema::{accounts, username_holds as uh};
use crate::error::{AppError, AppResult};
use crate::messaging::Channel;

/// How often a username may change, and how long an old one stays reserved for its former holder.
pub const USERNAME_PERIOD_DAYS: i64 = 30;

fn phone_taken() -> AppError {
    AppError::bad_input("newPhone", "this phone number belongs to another account")
}

impl Accounts {
    /// Replaces the account's phone number (or binds the first one) with `new_phone`, proven by the code sent
    /// to it (purpose `CHANGE_PHONE`).
    pub async fn change_phone(
        &self,
        account_id: i64,
        new_phone: &str,
        code: &str,
        client: &ClientInfo,
    ) -> AppResult<()> {
        let dest = self.destination(Channel::Sms, new_phone, "newPhone")?;
        let mut conn = self.pool.get().await?;
        let current = store::account(&mut conn, account_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let current_phone = current
            .phone_ciphertext
            .as_deref()
            .and_then(|c| self.keys.open_str(Column::AccountPhone, account_id, c).ok());
        if current_phone.as_deref() == Some(dest.value.as_str()) {
            return Err(AppError::bad_input(
                "newPhone",
                "this is already the account's phone number",
            ));
        }
        // The code proves the member holds the new phone; only then do they learn whether it is in use.
        self.consume_code(&dest.index, Purpose::ChangePhone, code)
            .await?;
        let first = current_phone.is_none();
        let this = self.clone();
        conn.transaction::<_, AppError, _>(async |conn| {
            if let Some(other) = store::account_by_phone_index(conn, &dest.index).await?
                && other.id != account_id
            {
                return Err(phone_taken());
            }
            let updated = diesel::update(accounts::table.find(account_id))
                .set((
                    accounts::phone_ciphertext.eq(this.keys.seal_str(
                        Column::AccountPhone,
                        account_id,
                        &dest.value,
                    )),
                    accounts::phone_index.eq(&dest.index),
                    accounts::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await;
            match updated {
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => return Err(phone_taken()),
                other => other?,
            };
            this.record_event(
                conn,
                account_id,
                EventKind::PhoneChanged,
                serde_json::json!({ "first": first }),
                client,
            )
            .await
        })
        .await
    }

    /// Renames the account. Refused when the name is taken or held back for someone else, or when the
    /// account was renamed in the last 30 days.
    pub async fn change_username(
        &self,
        account_id: i64,
        username: &str,
        client: &ClientInfo,
    ) -> AppResult<()> {
        let username = username.trim();
        super::signin::check_username(username)?;
        let mut conn = self.pool.get().await?;
        let this = self.clone();
        conn.transaction::<_, AppError, _>(async |conn| {
            let (old, changed_at): (String, Option<DateTime<Utc>>) = accounts::table
                .find(account_id)
                .select((accounts::username, accounts::username_changed_at))
                .for_update()
                .first(conn)
                .await?;
            if old == username {
                return Err(AppError::bad_input(
                    "username",
                    "this is already your username",
                ));
            }
            let now = Utc::now();
            if let Some(at) = changed_at
                && at + Duration::days(USERNAME_PERIOD_DAYS) > now
            {
                let next = (at + Duration::days(USERNAME_PERIOD_DAYS)).format("%Y-%m-%d");
                return Err(AppError::bad_input(
                    "username",
                    format!(
                        "a username can change once in {USERNAME_PERIOD_DAYS} days; the next change is possible on {next}"
                    ),
                ));
            }
            if store::username_taken(conn, username, Some(account_id)).await? {
                return Err(AppError::bad_input("username", "this username is taken"));
            }
            // The old name stays reserved for this account; taking back one's own held name releases it.
            diesel::delete(uh::table.filter(uh::username_lower.eq(username.to_lowercase())))
                .execute(conn)
                .await?;
            if old.to_lowercase() != username.to_lowercase() {
                diesel::insert_into(uh::table)
                    .values((
                        uh::username_lower.eq(old.to_lowercase()),
                        uh::account_id.eq(account_id),
                        uh::held_until.eq(now + Duration::days(USERNAME_PERIOD_DAYS)),
                    ))
                    .on_conflict(uh::username_lower)
                    .do_update()
                    .set((
                        uh::account_id.eq(account_id),
                        uh::held_until.eq(now + Duration::days(USERNAME_PERIOD_DAYS)),
                    ))
                    .execute(conn)
                    .await?;
            }
            let renamed = diesel::update(accounts::table.find(account_id))
                .set((
                    accounts::username.eq(username),
                    accounts::username_changed_at.eq(now),
                    accounts::updated_at.eq(now),
                ))
                .execute(conn)
                .await;
            match renamed {
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => return Err(AppError::bad_input("username", "this username is taken")),
                other => other?,
            };
            crate::content::service::index_account(conn, account_id, username).await?;
            this.record_event(
                conn,
                account_id,
                EventKind::UsernameChanged,
                serde_json::json!({ "from": old, "to": username }),
                client,
            )
            .await
        })
        .await
    }
}
