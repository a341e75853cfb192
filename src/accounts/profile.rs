//! The profile (policy 1.1(2)): optional fields with per-field visibility, and email binding (policy 1.2).

use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::Accounts;
use super::codes::{Purpose, normalize_email};
use super::events::EventKind;
use super::store;
use crate::client::ClientInfo;
use crate::db::profile::ProfileText;
use crate::db::schema::{accounts, profiles};
use crate::error::{AppError, AppResult};
use crate::messaging::Channel;

/// The optional profile fields, by their stored names.
pub const FIELDS: &[&str] = &[
    "avatar_url",
    "hometown",
    "signature",
    "bio",
    "education",
    "contact",
    "link",
    "equipment",
    "labels",
];
pub const MAX_LABELS: usize = 10;
pub const MAX_LABEL_CHARS: usize = 20;

/// A profile change: `None` leaves a field as it is; `Some("")` clears it.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub text: ProfileText,
    pub contact: Option<String>,
    pub labels: Option<Vec<String>>,
    pub city: Option<String>,
    pub occupation: Option<String>,
    pub gender: Option<String>,
    /// An upload (by id) to show as the avatar, instead of `text.avatar_url`.
    pub avatar_image: Option<i64>,
}

fn text(value: &Option<String>, field: &str, max: usize) -> AppResult<Option<Option<String>>> {
    let Some(v) = value else { return Ok(None) };
    let v = v.trim();
    if v.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("{field} may have at most {max} characters"),
        ));
    }
    Ok(Some((!v.is_empty()).then(|| v.to_string())))
}

fn url(value: &Option<String>, field: &str) -> AppResult<Option<Option<String>>> {
    let checked = text(value, field, 512)?;
    if let Some(Some(u)) = &checked {
        let lower = u.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"));
        if !rest.is_some_and(|r| {
            !r.is_empty() && !r.starts_with('/') && !u.chars().any(char::is_whitespace)
        }) {
            return Err(AppError::bad_input(
                field,
                format!("{field} must be an http:// or https:// URL"),
            ));
        }
    }
    Ok(checked)
}

impl Accounts {
    /// Applies a profile change in one transaction.
    pub async fn update_profile(&self, account_id: i64, change: ProfileChange) -> AppResult<()> {
        let avatar = url(&change.text.avatar_url, "avatarUrl")?;
        if avatar.is_some() && change.avatar_image.is_some() {
            return Err(AppError::bad_input(
                "avatarImageId",
                "give either avatarUrl or avatarImageId, not both",
            ));
        }
        let link = url(&change.text.link, "link")?;
        let hometown = text(&change.text.hometown, "hometown", 64)?;
        let signature = text(&change.text.signature, "signature", 120)?;
        let bio = text(&change.text.bio, "bio", 2000)?;
        let education = text(&change.text.education, "education", 120)?;
        let contact = text(&change.contact, "contact", 120)?;
        let equipment = text(&change.text.equipment, "equipment", 500)?;
        let labels = match &change.labels {
            None => None,
            Some(list) => {
                if list.len() > MAX_LABELS {
                    return Err(AppError::bad_input(
                        "labels",
                        format!("at most {MAX_LABELS} labels"),
                    ));
                }
                let mut out: Vec<String> = Vec::new();
                for l in list {
                    let l = l.trim();
                    if l.is_empty() || l.chars().count() > MAX_LABEL_CHARS {
                        return Err(AppError::bad_input(
                            "labels",
                            format!("each label needs 1 to {MAX_LABEL_CHARS} characters"),
                        ));
                    }
                    if !out.iter().any(|o| o == l) {
                        out.push(l.to_string());
                    }
                }
                Some(out)
            }
        };
        let city = change
            .city
            .as_deref()
            .map(|c| super::signin::check_short(c, "city"))
            .transpose()?;
        let occupation = change
            .occupation
            .as_deref()
            .map(|c| super::signin::check_short(c, "occupation"))
            .transpose()?;
        let contact_sealed = contact.map(|c| {
            c.map(|c| {
                self.keys
                    .seal_str(crate::crypto::Column::ProfileContact, account_id, &c)
            })
        });
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, AppError, _>(async |conn| {
            diesel::insert_into(profiles::table)
                .values(profiles::account_id.eq(account_id))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            let p = profiles::table.find(account_id);
            macro_rules! set {
                ($col:expr, $val:expr) => {
                    if let Some(v) = $val {
                        diesel::update(p)
                            .set(($col.eq(v), profiles::updated_at.eq(diesel::dsl::now)))
                            .execute(conn)
                            .await?;
                    }
                };
            }
            // An uploaded avatar is attached (the previous upload goes); a URL or a cleared avatar lets it go.
            let avatar = match change.avatar_image {
                Some(id) => Some(Some(
                    crate::media::store::attach_avatar(conn, account_id, id)
                        .await?
                        .url(),
                )),
                None => {
                    if avatar.is_some() {
                        crate::media::store::detach_avatar(conn, account_id).await?;
                    }
                    avatar
                }
            };
            set!(profiles::avatar_url, avatar);
            set!(profiles::link, link);
            set!(profiles::hometown, hometown);
            set!(profiles::signature, signature);
            set!(profiles::bio, bio);
            set!(profiles::education, education);
            set!(profiles::contact_ciphertext, contact_sealed);
            set!(profiles::equipment, equipment);
            set!(profiles::labels, labels);
            let a = accounts::table.find(account_id);
            if let Some(city) = city {
                diesel::update(a)
                    .set(accounts::city.eq(city))
                    .execute(conn)
                    .await?;
            }
            if let Some(occupation) = occupation {
                diesel::update(a)
                    .set(accounts::occupation.eq(occupation))
                    .execute(conn)
                    .await?;
            }
            if let Some(gender) = &change.gender {
                diesel::update(a)
                    .set(accounts::gender.eq(gender))
                    .execute(conn)
                    .await?;
            }
            Ok(())
        })
        .await
    }

    /// Makes one optional field public or visible only to its owner.
    pub async fn set_visibility(
        &self,
        account_id: i64,
        field: &str,
        private: bool,
    ) -> AppResult<()> {
        if !FIELDS.contains(&field) {
            return Err(AppError::bad_input("field", "not a profile field"));
        }
        let mut conn = self.pool.get().await?;
        diesel::sql_query(
            "INSERT INTO profiles (account_id, private_fields) VALUES ($1, CASE WHEN $3 THEN ARRAY[$2] ELSE '{}'::text[] END)
             ON CONFLICT (account_id) DO UPDATE SET
               private_fields = CASE WHEN $3 THEN array_append(array_remove(profiles.private_fields, $2), $2)
                                     ELSE array_remove(profiles.private_fields, $2) END,
               updated_at = now()",
        )
        .bind::<diesel::sql_types::BigInt, _>(account_id)
        .bind::<diesel::sql_types::Text, _>(field)
        .bind::<diesel::sql_types::Bool, _>(private)
        .execute(&mut conn)
        .await?;
        Ok(())
    }

    /// Binds an email address after checking the code sent to it; it can then be used to sign in.
    pub async fn bind_email(
        &self,
        account_id: i64,
        email: &str,
        code: &str,
        client: &ClientInfo,
    ) -> AppResult<()> {
        let email = normalize_email(email, "email")?;
        let dest = self.destination(Channel::Email, &email, "email")?;
        self.consume_code(&dest.index, Purpose::BindEmail, code)
            .await?;
        let mut conn = self.pool.get().await?;
        let this = self.clone();
        conn.transaction::<_, AppError, _>(async |conn| {
            if let Some(other) = store::account_by_email_index(conn, &dest.index).await?
                && other.id != account_id
            {
                return Err(AppError::bad_input(
                    "email",
                    "this email address is bound to another account",
                ));
            }
            diesel::update(accounts::table.find(account_id))
                .set((
                    accounts::email_ciphertext.eq(this.keys.seal_str(
                        crate::crypto::Column::AccountEmail,
                        account_id,
                        &email,
                    )),
                    accounts::email_index.eq(&dest.index),
                    accounts::email_verified_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
            this.record_event(
                conn,
                account_id,
                EventKind::EmailBound,
                serde_json::json!({}),
                client,
            )
            .await?;
            Ok(())
        })
        .await
    }

    /// Unbinds the email address, unless it is the account's last way to sign in.
    pub async fn unbind_email(&self, account_id: i64, client: &ClientInfo) -> AppResult<()> {
        let mut conn = self.pool.get().await?;
        let this = self.clone();
        conn.transaction::<_, AppError, _>(async |conn| {
            let account = store::account(conn, account_id)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            if account.email_ciphertext.is_none() {
                return Err(AppError::bad_input("email", "no email address is bound"));
            }
            let bindings = store::bindings(conn, account_id).await?;
            if account.phone_ciphertext.is_none() && bindings.is_empty() {
                return Err(AppError::bad_input(
                    "email",
                    "the email address is this account's only way to sign in",
                ));
            }
            diesel::update(accounts::table.find(account_id))
                .set((
                    accounts::email_ciphertext.eq(None::<Vec<u8>>),
                    accounts::email_index.eq(None::<Vec<u8>>),
                    accounts::email_verified_at.eq(None::<chrono::DateTime<chrono::Utc>>),
                ))
                .execute(conn)
                .await?;
            this.record_event(
                conn,
                account_id,
                EventKind::EmailUnbound,
                serde_json::json!({}),
                client,
            )
            .await?;
            Ok(())
        })
        .await
    }
}

/// The column that holds a profile field, and the value that erases it.
fn erased_column(field: &str) -> Option<(&'static str, &'static str)> {
    Some(match field {
        "avatar_url" => ("avatar_url", "NULL"),
        "hometown" => ("hometown", "NULL"),
        "signature" => ("signature", "NULL"),
        "bio" => ("bio", "NULL"),
        "education" => ("education", "NULL"),
        "contact" => ("contact_ciphertext", "NULL"),
        "link" => ("link", "NULL"),
        "equipment" => ("equipment", "NULL"),
        "labels" => ("labels", "'{}'::text[]"),
        _ => return None,
    })
}

impl Accounts {
    /// Erases one optional profile field (policy: users may delete their information): its value goes (labels
    /// become an empty list) together with its visibility setting, in one statement, so nothing shows it again,
    /// not `Me`, not the public `User`, not a later data export. No security event: erasing one's own optional
    /// data changes nothing about the account's security.
    pub async fn delete_personal_field(&self, account_id: i64, field: &str) -> AppResult<()> {
        let Some((column, erased)) = erased_column(field) else {
            return Err(AppError::bad_input("field", "not a profile field"));
        };
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, AppError, _>(async |conn| {
            // `column` and `erased` come from the fixed list above, never from the request.
            diesel::sql_query(format!(
                "UPDATE profiles SET {column} = {erased}, private_fields = array_remove(private_fields, $2),
                        updated_at = now()
                 WHERE account_id = $1"
            ))
            .bind::<diesel::sql_types::BigInt, _>(account_id)
            .bind::<diesel::sql_types::Text, _>(field)
            .execute(conn)
            .await?;
            if field == "avatar_url" {
                // An uploaded avatar leaves storage with the field.
                crate::media::store::detach_avatar(conn, account_id).await?;
            }
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_field_can_be_erased() {
        for field in FIELDS {
            assert!(erased_column(field).is_some(), "{field}");
        }
        assert_eq!(erased_column("contact").unwrap().0, "contact_ciphertext");
        assert!(erased_column("phone").is_none());
        assert!(erased_column("private_fields").is_none());
    }
}
