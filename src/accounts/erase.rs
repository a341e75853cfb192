//! Erasure of an account's personal data when its cancellation falls due, inside the caller's transaction (the
//! privacy domain's erasure job runs every domain's part in one transaction, so nothing is ever half-erased).
//!
//! The `accounts` row stays as a tombstone, because works, consent records and staff records refer to it: its
//! phone, email, password, gender, occupation, city and search document are cleared, its username becomes a
//! non-identifying placeholder (`erased-<keyed hash>`, a prefix new usernames may not use) and its status
//! `erased`, which every sign-in path, token check, public lookup, search and audience refuses. Everything else
//! of the domain that belongs to the account is deleted: profile, sessions with their refresh tokens (so every
//! token it was issued stops working), security events, third-party bindings, OAuth states, verification codes
//! sent to its phone or email, and the sign-in throttle records keyed by its identifiers.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::crypto::{Column, DataKeys};
use crate::db::schema::{
    accounts, login_failures, oauth_states, profiles, refresh_tokens, security_events, sessions,
    third_party_bindings, verification_codes,
};
use crate::error::AppResult;

/// The prefix of erased accounts' placeholder usernames (refused for new usernames).
pub const ERASED_USERNAME_PREFIX: &str = "erased-";

/// The placeholder username of an erased account: the prefix and a keyed hash of its id, so it says nothing
/// about the person and never collides with a username someone chose.
pub fn placeholder_username(keys: &DataKeys, account_id: i64) -> String {
    let hash = keys.pseudonym("erased-username", account_id.to_string().as_bytes());
    let hex = hex::encode(&hash[..8]);
    format!("{ERASED_USERNAME_PREFIX}{hex}")
}

#[derive(Queryable)]
struct Held {
    username: String,
    phone_ciphertext: Option<Vec<u8>>,
    phone_index: Option<Vec<u8>>,
    email_ciphertext: Option<Vec<u8>>,
    email_index: Option<Vec<u8>>,
    status: super::model::AccountStatus,
}

/// Erases the personal data the accounts domain holds for `account_id`, in the caller's transaction. Returns
/// false when there was nothing to erase (no such account, or already erased).
pub async fn erase_account(
    conn: &mut AsyncPgConnection,
    keys: &DataKeys,
    account_id: i64,
) -> AppResult<bool> {
    let held: Option<Held> = accounts::table
        .find(account_id)
        .select((
            accounts::username,
            accounts::phone_ciphertext,
            accounts::phone_index,
            accounts::email_ciphertext,
            accounts::email_index,
            accounts::status,
        ))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let Some(held) = held.filter(|h| h.status != super::model::AccountStatus::Erased) else {
        return Ok(false);
    };

    // Sign-in throttle records are keyed by the account and by each identifier it could be named by.
    let mut subjects = vec![
        keys.pseudonym("login-account", account_id.to_string().as_bytes()),
        keys.pseudonym("login-subject", held.username.to_lowercase().as_bytes()),
    ];
    for (column, sealed) in [
        (Column::AccountPhone, &held.phone_ciphertext),
        (Column::AccountEmail, &held.email_ciphertext),
    ] {
        let Some(sealed) = sealed else { continue };
        if let Ok(value) = keys.open_str(column, account_id, sealed) {
            subjects.push(keys.pseudonym("login-subject", value.to_lowercase().as_bytes()));
        }
    }
    diesel::delete(login_failures::table.filter(login_failures::subject.eq_any(&subjects)))
        .execute(conn)
        .await?;
    let destinations: Vec<Vec<u8>> = [held.phone_index, held.email_index]
        .into_iter()
        .flatten()
        .collect();
    diesel::delete(
        verification_codes::table
            .filter(verification_codes::destination_index.eq_any(&destinations)),
    )
    .execute(conn)
    .await?;
    // Queued messages to its phone and email (codes, notices), delivered or not: they hold both, sealed.
    crate::messaging::outbox::delete_addressed_to(conn, &destinations).await?;
    diesel::delete(oauth_states::table.filter(oauth_states::account_id.eq(account_id)))
        .execute(conn)
        .await?;

    let its_sessions = sessions::table
        .filter(sessions::account_id.eq(account_id))
        .select(sessions::id);
    diesel::delete(refresh_tokens::table.filter(refresh_tokens::session_id.eq_any(its_sessions)))
        .execute(conn)
        .await?;
    diesel::delete(sessions::table.filter(sessions::account_id.eq(account_id)))
        .execute(conn)
        .await?;
    diesel::delete(security_events::table.filter(security_events::account_id.eq(account_id)))
        .execute(conn)
        .await?;
    diesel::delete(
        third_party_bindings::table.filter(third_party_bindings::account_id.eq(account_id)),
    )
    .execute(conn)
    .await?;
    diesel::delete(profiles::table.filter(profiles::account_id.eq(account_id)))
        .execute(conn)
        .await?;

    diesel::sql_query(
        "UPDATE accounts SET username = $2, role = 'user', \
           phone_ciphertext = NULL, phone_index = NULL, \
           email_ciphertext = NULL, email_index = NULL, email_verified_at = NULL, \
           password_hash = NULL, password_changed_at = NULL, \
           gender = 'undisclosed', occupation = '', city = '', adult_confirmed_at = NULL, \
           search = ''::tsvector, status = 'erased', updated_at = now() \
         WHERE id = $1",
    )
    .bind::<BigInt, _>(account_id)
    .bind::<Text, _>(placeholder_username(keys, account_id))
    .execute(conn)
    .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_short_keyed_and_distinct() {
        let config = crate::config::Config::for_database("postgres://localhost/x");
        let keys = DataKeys::from_config(&config).unwrap();
        let a = placeholder_username(&keys, 41);
        assert!(a.starts_with(ERASED_USERNAME_PREFIX));
        assert_eq!(a.chars().count(), ERASED_USERNAME_PREFIX.len() + 16, "{a}");
        assert!(
            a[ERASED_USERNAME_PREFIX.len()..]
                .chars()
                .all(|c| c.is_ascii_hexdigit())
        );
        assert_ne!(a, placeholder_username(&keys, 42));
        assert_eq!(a, placeholder_username(&keys, 41));
    }

    #[test]
    fn nobody_can_choose_a_placeholder_name() {
        let config = crate::config::Config::for_database("postgres://localhost/x");
        let keys = DataKeys::from_config(&config).unwrap();
        let taken = placeholder_username(&keys, 7);
        for name in [taken.as_str(), "Erased-me", "erased-"] {
            assert!(
                super::super::signin::check_username(name).is_err(),
                "{name}"
            );
        }
        assert!(super::super::signin::check_username("erasedmei").is_ok());
    }
}
