//! Audited staff access to personal data (policy: only authorised personnel see personal data, and every
//! such read is accounted for). `accessPersonalData` is the one path by which staff read another account's
//! private fields: it needs a stated reason, and the read, the audit row and the owner's security event (with
//! its notice) commit together or not at all. Owners see every access in `Me.staffAccesses`.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamptz};
use diesel::{ExpressionMethods, QueryableByName};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::accounts::Accounts;
use crate::accounts::profile::FIELDS;
use crate::accounts::service::{EventKind, account_with_profile};
use crate::client::ClientInfo;
use crate::crypto::Column;
use crate::db::Pool;
use crate::db::profile::ProfileText;
use crate::db::schema::staff_access_log as sal;
use crate::error::{AppError, AppResult};

/// The shortest and longest reason, in characters (the table checks the same bounds).
pub const REASON_CHARS: std::ops::RangeInclusive<usize> = 10..=500;

/// What a staff member read about an account: its private fields, opened.
#[derive(Debug, Clone)]
pub struct PersonalData {
    pub account_id: i64,
    pub username: String,
    pub gender: String,
    pub occupation: String,
    pub city: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub text: ProfileText,
    pub contact: Option<String>,
    pub labels: Vec<String>,
    pub private_fields: Vec<String>,
    pub accessed_at: DateTime<Utc>,
}

impl PersonalData {
    /// The names of the fields that held a value, in the order the audit row lists them.
    fn fields_returned(&self) -> Vec<String> {
        let held = |field: &str| match field {
            "phone" => self.phone.is_some(),
            "email" => self.email.is_some(),
            "contact" => self.contact.is_some(),
            "labels" => !self.labels.is_empty(),
            text => self.text.get(text).is_some_and(Option::is_some),
        };
        let optional = ["phone", "email"].iter().chain(FIELDS).filter(|f| held(f));
        ["username", "gender", "occupation", "city"]
            .iter()
            .chain(optional)
            .map(|f| f.to_string())
            .collect()
    }
}

/// One staff read of an account's personal data, as its owner sees it.
#[derive(Debug, Clone, QueryableByName)]
pub struct StaffAccessRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Timestamptz)]
    pub accessed_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub reason: String,
    #[diesel(sql_type = Array<Nullable<Text>>)]
    pub fields: Vec<Option<String>>,
    /// The staff member's username; null when that account no longer exists.
    #[diesel(sql_type = Nullable<Text>)]
    pub staff: Option<String>,
}

/// Checks a stated reason: trimmed, 10 to 500 characters.
pub fn check_reason(reason: &str) -> AppResult<String> {
    let reason = reason.trim();
    if !REASON_CHARS.contains(&reason.chars().count()) {
        return Err(AppError::bad_input(
            "reason",
            format!(
                "state why you need this account's personal data in {} to {} characters",
                REASON_CHARS.start(),
                REASON_CHARS.end()
            ),
        ));
    }
    Ok(reason.to_string())
}

/// A staff member reads an account's personal data for a stated reason. In one transaction: the account is
/// read, the access is written to `staff_access_log`, and the owner gets a security event and a notice. An
/// unknown account is `NOT_FOUND` and nothing is logged; so is a reason out of bounds (`BAD_USER_INPUT`).
pub async fn access_personal_data(
    accounts: &Accounts,
    staff_id: i64,
    account_id: i64,
    reason: &str,
) -> AppResult<PersonalData> {
    let reason = check_reason(reason)?;
    let mut conn = accounts.pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let Some((account, profile)) = account_with_profile(conn, account_id).await? else {
            return Err(AppError::NotFound("account".into()));
        };
        let open = |column: Column, sealed: Option<&[u8]>| -> AppResult<Option<String>> {
            sealed
                .map(|s| {
                    accounts.keys.open_str(column, account_id, s).map_err(|e| {
                        AppError::Internal(
                            anyhow::Error::new(e).context("opening a personal field"),
                        )
                    })
                })
                .transpose()
        };
        let mut data = PersonalData {
            account_id,
            phone: open(Column::AccountPhone, account.phone_ciphertext.as_deref())?,
            email: open(Column::AccountEmail, account.email_ciphertext.as_deref())?,
            contact: open(
                Column::ProfileContact,
                profile.contact_ciphertext.as_deref(),
            )?,
            labels: profile.labels(),
            private_fields: profile.private_fields.iter().flatten().cloned().collect(),
            username: account.username,
            gender: account.gender,
            occupation: account.occupation,
            city: account.city,
            text: profile.text(),
            accessed_at: Utc::now(),
        };
        let fields = data.fields_returned();
        data.accessed_at = diesel::insert_into(sal::table)
            .values((
                sal::staff_id.eq(staff_id),
                sal::account_id.eq(account_id),
                sal::reason.eq(&reason),
                sal::fields.eq(&fields),
            ))
            .returning(sal::accessed_at)
            .get_result(conn)
            .await?;
        // The owner's record names what was read and why; the staff member's address and browser stay out of it.
        accounts
            .record_event(
                conn,
                account_id,
                EventKind::PersonalDataAccessed,
                serde_json::json!({ "reason": reason, "fields": fields }),
                &ClientInfo::default(),
            )
            .await?;
        Ok(data)
    })
    .await
}

/// Staff accesses to an account, newest first: up to `limit` older than the row `before` when given.
pub(super) async fn accesses_to(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    before: Option<i64>,
    limit: i64,
) -> diesel::QueryResult<Vec<StaffAccessRow>> {
    diesel::sql_query(
        "SELECT l.id, l.accessed_at, l.reason, l.fields, s.username AS staff
         FROM staff_access_log l LEFT JOIN accounts s ON s.id = l.staff_id
         WHERE l.account_id = $1 AND ($2::bigint IS NULL OR l.id < $2)
         ORDER BY l.id DESC LIMIT $3",
    )
    .bind::<BigInt, _>(account_id)
    .bind::<Nullable<BigInt>, _>(before)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// One page of the staff accesses to an account, newest first, and whether more follow.
pub async fn staff_accesses_page(
    pool: &Pool,
    account_id: i64,
    first: usize,
    before: Option<i64>,
) -> AppResult<(Vec<StaffAccessRow>, bool)> {
    let mut conn = pool.get().await?;
    let mut rows = accesses_to(&mut conn, account_id, before, first as i64 + 1).await?;
    let more = rows.len() > first;
    rows.truncate(first);
    Ok((rows, more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(
            check_reason("  customer complaint #4411  ").unwrap(),
            "customer complaint #4411"
        );
        assert!(check_reason("too short").is_err());
        assert!(check_reason("          x         ").is_err());
        assert!(check_reason(&"x".repeat(501)).is_err());
        assert!(check_reason(&"数".repeat(500)).is_ok());
        match check_reason("") {
            Err(AppError::BadUserInput { field, .. }) => {
                assert_eq!(field.as_deref(), Some("reason"))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
