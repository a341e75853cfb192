//! Audited staff access in the schema: `accessPersonalData` (staff only, with a stated reason) and the
//! `StaffAccess` entries an account's owner reads in `Me.staffAccesses`.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::accounts::Accounts;
use crate::graphql::viewer::{Role, RoleGuard, Viewer};
use crate::graphql::{ids, pool};
use crate::rights::service::{self, PersonalData, StaffAccessRow};
use crate::schema::accounts::types::Gender;

/// An account's personal data as a staff member read it, private fields included. Every read is written to
/// the account's audit log with its reason, and the owner is told.
#[derive(SimpleObject)]
pub struct PersonalDataRecord {
    /// The account's global id (a `User` id).
    pub account_id: ID,
    /// The account's username.
    pub username: String,
    /// The gender the account states.
    pub gender: Gender,
    /// The occupation given at registration or since.
    pub occupation: String,
    /// The city given at registration or since.
    pub city: String,
    /// The full phone number (E.164); null for accounts made through WeChat, Weibo or QQ.
    pub phone: Option<String>,
    /// The bound email address, if any.
    pub email: Option<String>,
    /// Contact information from the profile, whatever its visibility.
    pub contact: Option<String>,
    /// Avatar URL, whatever its visibility.
    pub avatar_url: Option<String>,
    /// Hometown, whatever its visibility.
    pub hometown: Option<String>,
    /// Signature, whatever its visibility.
    pub signature: Option<String>,
    /// Biography, whatever its visibility.
    pub bio: Option<String>,
    /// Education, whatever its visibility.
    pub education: Option<String>,
    /// Personal link, whatever its visibility.
    pub link: Option<String>,
    /// Personal equipment, whatever its visibility.
    pub equipment: Option<String>,
    /// Personal labels, whatever their visibility.
    pub labels: Vec<String>,
    /// The profile fields the owner keeps private.
    pub private_fields: Vec<String>,
    /// When this read happened (the time written to the audit log).
    pub accessed_at: DateTime<Utc>,
}

impl From<PersonalData> for PersonalDataRecord {
    fn from(d: PersonalData) -> Self {
        PersonalDataRecord {
            account_id: ids::encode("User", d.account_id),
            username: d.username,
            gender: Gender::parse(&d.gender),
            occupation: d.occupation,
            city: d.city,
            phone: d.phone,
            email: d.email,
            contact: d.contact,
            avatar_url: d.text.avatar_url,
            hometown: d.text.hometown,
            signature: d.text.signature,
            bio: d.text.bio,
            education: d.text.education,
            link: d.text.link,
            equipment: d.text.equipment,
            labels: d.labels,
            private_fields: d.private_fields,
            accessed_at: d.accessed_at,
        }
    }
}

/// One read of this account's personal data by a staff member.
#[derive(SimpleObject)]
pub struct StaffAccess {
    /// When the data was read.
    pub at: DateTime<Utc>,
    /// The reason the staff member gave.
    pub reason: String,
    /// The fields that were read (`phone`, `email`, `contact`, ...).
    pub fields: Vec<String>,
    /// The staff member's username, for accountability; null when that account no longer exists.
    pub staff: Option<String>,
}

impl From<StaffAccessRow> for StaffAccess {
    fn from(r: StaffAccessRow) -> Self {
        StaffAccess {
            at: r.accessed_at,
            reason: r.reason,
            fields: r.fields.into_iter().flatten().collect(),
            staff: r.staff,
        }
    }
}

/// A page of staff accesses, newest first.
pub type StaffAccessConnection = Connection<String, StaffAccess, EmptyFields, EmptyFields>;

const CURSOR: &str = "StaffAccessCursor";

/// One page of the staff accesses to `account_id`, newest first.
pub async fn staff_accesses(
    ctx: &Context<'_>,
    account_id: i64,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<StaffAccessConnection> {
    let first = crate::graphql::page_size(first)? as usize;
    let before = after
        .map(|c| ids::decode_i64(&c, CURSOR, "after"))
        .transpose()?;
    let (rows, more) = service::staff_accesses_page(pool(ctx), account_id, first, before).await?;
    let mut connection = Connection::new(before.is_some(), more);
    connection.edges.extend(
        rows.into_iter()
            .map(|r| Edge::new(ids::encode(CURSOR, r.id).0, StaffAccess::from(r))),
    );
    Ok(connection)
}

#[derive(Default)]
pub struct StaffAccessMutation;

/// Audited access to personal data (staff).
#[Object]
impl StaffAccessMutation {
    /// Reads an account's personal data, private fields included, for a stated reason (10 to 500
    /// characters). The read is written to the account's audit log, which its owner sees in
    /// `viewer { staffAccesses }`, and the owner gets a notice (staff only).
    #[graphql(guard = "RoleGuard { min: Role::Staff }")]
    async fn access_personal_data(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's `User` id.")] account_id: ID,
        #[graphql(desc = "Why the data is needed; 10 to 500 characters.")] reason: String,
    ) -> async_graphql::Result<PersonalDataRecord> {
        let staff_id = Viewer::from_ctx(ctx).require()?.account_id;
        let account_id = ids::decode_i64(&account_id, "User", "accountId")?;
        let accounts = ctx.data_unchecked::<Accounts>();
        let data = service::access_personal_data(accounts, staff_id, account_id, &reason).await?;
        Ok(data.into())
    }
}
