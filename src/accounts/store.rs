//! Queries of the accounts domain.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::model::{Account, Binding, Profile, SecurityEvent, Session};
use super::oauth::{Identity, ProviderKind, ThirdPartyProfile};
use crate::db::schema::{accounts, profiles, security_events, sessions, third_party_bindings};

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// Sets the role of the account named `username` (any case); returns how many rows changed.
pub async fn set_role(
    conn: &mut AsyncPgConnection,
    username: &str,
    role: &str,
) -> QueryResult<usize> {
    diesel::update(accounts::table)
        .filter(lower(accounts::username).eq(lower(username)))
        .set((
            accounts::role.eq(role),
            accounts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
}

/// The next account id, taken before the insert so the sealed phone can be bound to its row.
pub async fn next_account_id(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "nextval('accounts_id_seq')",
    ))
    .get_result(conn)
    .await
}

pub async fn account(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Account>> {
    accounts::table
        .find(id)
        .select(Account::as_select())
        .first(conn)
        .await
        .optional()
}

/// Whether `username` (any case) belongs to an account other than `except`, or is held back for one after a
/// rename (for 30 days).
pub async fn username_taken(
    conn: &mut AsyncPgConnection,
    username: &str,
    except: Option<i64>,
) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        taken: bool,
    }
    let row: Taken = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE lower(username) = lower($1) AND id IS DISTINCT FROM $2) \
             OR EXISTS (SELECT 1 FROM username_holds WHERE username_lower = lower($1) \
                        AND held_until > now() AND account_id IS DISTINCT FROM $2) AS taken",
    )
    .bind::<diesel::sql_types::Text, _>(username)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>, _>(except)
    .get_result(conn)
    .await?;
    Ok(row.taken)
}

pub async fn account_by_username(
    conn: &mut AsyncPgConnection,
    username: &str,
) -> QueryResult<Option<Account>> {
    accounts::table
        .filter(lower(accounts::username).eq(lower(username)))
        .filter(accounts::status.ne("erased"))
        .select(Account::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn account_by_phone_index(
    conn: &mut AsyncPgConnection,
    index: &[u8],
) -> QueryResult<Option<Account>> {
    accounts::table
        .filter(accounts::phone_index.eq(index))
        .select(Account::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn account_by_email_index(
    conn: &mut AsyncPgConnection,
    index: &[u8],
) -> QueryResult<Option<Account>> {
    accounts::table
        .filter(accounts::email_index.eq(index))
        .select(Account::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn profile(conn: &mut AsyncPgConnection, account_id: i64) -> QueryResult<Profile> {
    Ok(profiles::table
        .find(account_id)
        .select(Profile::as_select())
        .first(conn)
        .await
        .optional()?
        .unwrap_or(Profile {
            account_id,
            ..Default::default()
        }))
}

pub async fn live_sessions(
    conn: &mut AsyncPgConnection,
    account_id: i64,
) -> QueryResult<Vec<Session>> {
    sessions::table
        .filter(sessions::account_id.eq(account_id))
        .filter(sessions::revoked_at.is_null())
        .order(sessions::last_seen_at.desc())
        .select(Session::as_select())
        .load(conn)
        .await
}

pub async fn bindings(conn: &mut AsyncPgConnection, account_id: i64) -> QueryResult<Vec<Binding>> {
    third_party_bindings::table
        .filter(third_party_bindings::account_id.eq(account_id))
        .order(third_party_bindings::bound_at.asc())
        .select(Binding::as_select())
        .load(conn)
        .await
}

/// Security events of an account, newest first, after the cursor id.
pub async fn security_events(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<SecurityEvent>> {
    let mut q = security_events::table
        .filter(security_events::account_id.eq(account_id))
        .order(security_events::id.desc())
        .limit(limit)
        .select(SecurityEvent::as_select())
        .into_boxed();
    if let Some(before) = before_id {
        q = q.filter(security_events::id.lt(before));
    }
    q.load(conn).await
}

/// Binds a provider account to `account_id`, with the profile read from it (only with consent).
pub async fn insert_binding(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    kind: ProviderKind,
    identity: &Identity,
    profile: Option<&ThirdPartyProfile>,
) -> QueryResult<()> {
    diesel::insert_into(third_party_bindings::table)
        .values((
            third_party_bindings::account_id.eq(account_id),
            third_party_bindings::provider.eq(kind.as_str()),
            third_party_bindings::subject.eq(&identity.subject),
            third_party_bindings::union_id.eq(&identity.union_id),
            third_party_bindings::nickname.eq(profile.and_then(|p| p.nickname.clone())),
            third_party_bindings::avatar_url.eq(profile.and_then(|p| p.avatar_url.clone())),
            third_party_bindings::gender.eq(profile.and_then(|p| p.gender).map(|g| g.as_str())),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Refreshes the stored provider profile of a binding.
pub async fn store_profile(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    kind: ProviderKind,
    p: &ThirdPartyProfile,
) -> QueryResult<()> {
    diesel::update(
        third_party_bindings::table
            .filter(third_party_bindings::account_id.eq(account_id))
            .filter(third_party_bindings::provider.eq(kind.as_str())),
    )
    .set((
        third_party_bindings::nickname.eq(&p.nickname),
        third_party_bindings::avatar_url.eq(&p.avatar_url),
        third_party_bindings::gender.eq(p.gender.map(|g| g.as_str())),
    ))
    .execute(conn)
    .await?;
    Ok(())
}
