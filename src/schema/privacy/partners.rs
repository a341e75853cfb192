//! Partners in the schema: the public registry, staff registration and tokens, the partner read path
//! (`partnerAccess`, for requests carrying a partner token) and the disclosures a member sees.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::statistics::{AggregateGroup, ReachDimension, aggregate_groups};
use crate::crypto::DataKeys;
use crate::error::AppError;
use crate::graphql::viewer::{Role, RoleGuard, Viewer};
use crate::graphql::{ids, pool};
use crate::privacy::partners::{self, PartnerPrincipal, SharedDevice, SharedUser};
use crate::privacy::statistics;
use crate::schema::accounts::types::Gender;

/// The kinds of authorized partner the privacy policy names (4.1(4)); each receives data for one purpose.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PartnerKind {
    /// Advertising partners: aggregate reach figures only (`partner-advertising`), never who anyone is.
    Advertising,
    /// A named business partner providing one service a member asks for (`partner-business`).
    Business,
    /// A payment provider (`partner-payment`).
    Payment,
    /// An analytics provider receiving device and log information (`partner-analytics`).
    Analytics,
}

impl From<partners::PartnerKind> for PartnerKind {
    fn from(k: partners::PartnerKind) -> Self {
        match k {
            partners::PartnerKind::Advertising => PartnerKind::Advertising,
            partners::PartnerKind::Business => PartnerKind::Business,
            partners::PartnerKind::Payment => PartnerKind::Payment,
            partners::PartnerKind::Analytics => PartnerKind::Analytics,
        }
    }
}

impl From<PartnerKind> for partners::PartnerKind {
    fn from(k: PartnerKind) -> Self {
        match k {
            PartnerKind::Advertising => partners::PartnerKind::Advertising,
            PartnerKind::Business => partners::PartnerKind::Business,
            PartnerKind::Payment => partners::PartnerKind::Payment,
            PartnerKind::Analytics => partners::PartnerKind::Analytics,
        }
    }
}

pub struct Partner(pub partners::Partner);

/// An authorized partner: who may receive data, for which purposes and which categories.
#[Object]
impl Partner {
    /// Global id (`node(id:)` resolves it); members name it when they consent to share with this partner.
    pub async fn id(&self) -> ID {
        ids::encode("Partner", self.0.id)
    }
    /// The partner's name (unique, case-insensitively).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What kind of partner it is.
    async fn kind(&self) -> PartnerKind {
        self.0.kind().into()
    }
    /// How to reach the partner about the data it receives.
    async fn contact(&self) -> &str {
        &self.0.contact
    }
    /// The policy purposes under which it may receive data (members consent to these for this partner).
    async fn purposes(&self) -> Vec<String> {
        self.0.purposes()
    }
    /// The data categories it may receive, among those the policy names for its purposes.
    async fn data_categories(&self) -> Vec<String> {
        self.0.data_categories()
    }
    /// When staff registered it.
    async fn registered_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// True when it is suspended: its tokens are refused and it receives nothing.
    async fn suspended(&self) -> bool {
        self.0.suspended_at.is_some()
    }
    /// Its tokens, newest first (staff only; secrets are never shown again after issue).
    #[graphql(guard = "RoleGuard { min: Role::Staff }")]
    async fn tokens(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PartnerToken>> {
        let rows = partners::tokens_of(pool(ctx), self.0.id).await?;
        Ok(rows.into_iter().map(PartnerToken::from).collect())
    }
}

/// A partner token as staff see it after issue: everything but the secret.
#[derive(SimpleObject)]
pub struct PartnerToken {
    /// Global id (for `revokePartnerToken`).
    pub id: ID,
    /// What staff called it.
    pub label: String,
    /// The purposes it may be used for.
    pub scopes: Vec<String>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<partners::TokenRow> for PartnerToken {
    fn from(t: partners::TokenRow) -> Self {
        PartnerToken {
            id: ids::encode("PartnerToken", t.id),
            label: t.label,
            scopes: t.scopes.into_iter().flatten().collect(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            last_used_at: t.last_used_at,
        }
    }
}

/// A partner token just issued. `token` is shown this once: only its hash is kept.
#[derive(SimpleObject)]
pub struct IssuedPartnerToken {
    /// Global id of the token (for `revokePartnerToken`).
    pub id: ID,
    /// The secret (`ptk_...`): the partner sends it as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// The purposes it may be used for.
    pub scopes: Vec<String>,
    /// What staff called it.
    pub label: String,
}

/// A partner to register.
#[derive(InputObject)]
pub struct RegisterPartnerInput {
    /// Its name: 2 to 80 characters, unique regardless of case.
    pub name: String,
    /// What kind of partner it is.
    pub kind: PartnerKind,
    /// How to reach it (an address, a person, a department).
    pub contact: String,
    /// The partner purposes of the current policy it receives data for: the one matching its kind
    /// (`partner-advertising`, `partner-business`, `partner-payment` or `partner-analytics`).
    pub purposes: Vec<String>,
    /// The data categories it may receive, among those the current policy names for its purposes.
    pub data_categories: Vec<String>,
}

/// One account as a partner sees it. Fields outside the partner's data categories are null: `account` gives
/// username, gender, occupation and city; `profile` the profile fields its owner made public (contact details
/// excepted); `device` and `log` the sign-in devices and when they were used. Phone numbers and email addresses
/// are never shared and have no field here.
#[derive(SimpleObject)]
pub struct PartnerUser {
    /// A pseudonym of this account for this partner: stable across requests, different for every partner, and
    /// unrelated to any other identifier.
    pub pseudonymous_id: String,
    /// Username (`account`).
    pub username: Option<String>,
    /// Gender (`account`).
    pub gender: Option<Gender>,
    /// Occupation (`account`).
    pub occupation: Option<String>,
    /// City (`account`).
    pub city: Option<String>,
    /// Avatar URL (`profile`, when public).
    pub avatar_url: Option<String>,
    /// Hometown (`profile`, when public).
    pub hometown: Option<String>,
    /// Signature (`profile`, when public).
    pub signature: Option<String>,
    /// Bio (`profile`, when public).
    pub bio: Option<String>,
    /// Education (`profile`, when public).
    pub education: Option<String>,
    /// Personal link (`profile`, when public).
    pub link: Option<String>,
    /// Personal equipment (`profile`, when public).
    pub equipment: Option<String>,
    /// Personal labels (`profile`, when public).
    pub labels: Option<Vec<String>>,
    /// Sign-in devices, most recently used first (`device` or `log`).
    pub devices: Option<Vec<PartnerDevice>>,
}

/// A sign-in device as a partner sees it.
#[derive(SimpleObject)]
pub struct PartnerDevice {
    /// The device name given at sign-in (`device`).
    pub name: Option<String>,
    /// The browser or app user agent (`device`).
    pub user_agent: Option<String>,
    /// When it was first used (`log`).
    pub first_seen_at: Option<DateTime<Utc>>,
    /// When it was last used (`log`).
    pub last_seen_at: Option<DateTime<Utc>>,
}

impl From<SharedDevice> for PartnerDevice {
    fn from(d: SharedDevice) -> Self {
        PartnerDevice {
            name: d.name,
            user_agent: d.user_agent,
            first_seen_at: d.first_seen_at,
            last_seen_at: d.last_seen_at,
        }
    }
}

impl From<SharedUser> for PartnerUser {
    fn from(u: SharedUser) -> Self {
        PartnerUser {
            pseudonymous_id: u.pseudonymous_id,
            username: u.username,
            gender: u.gender.as_deref().map(Gender::parse),
            occupation: u.occupation,
            city: u.city,
            avatar_url: u.text.avatar_url,
            hometown: u.text.hometown,
            signature: u.text.signature,
            bio: u.text.bio,
            education: u.text.education,
            link: u.text.link,
            equipment: u.text.equipment,
            labels: u.labels,
            devices: u
                .devices
                .map(|list| list.into_iter().map(PartnerDevice::from).collect()),
        }
    }
}

/// The accounts a partner may read, a page at a time.
pub type PartnerUserConnection = Connection<String, PartnerUser, EmptyFields, EmptyFields>;

pub struct PartnerAccess(PartnerPrincipal);

/// What a partner reads with its token: the accounts that consented to share with it, or, for advertising
/// partners, aggregate reach.
#[Object]
impl PartnerAccess {
    /// The partner the token belongs to.
    async fn partner(&self, ctx: &Context<'_>) -> async_graphql::Result<Partner> {
        let partner = partners::partner_by_id(pool(ctx), self.0.partner_id)
            .await?
            .ok_or_else(|| AppError::NotFound("partner".into()))?;
        Ok(Partner(partner))
    }

    /// The accounts that gave separate consent to share with this partner for its purpose, in a stable order,
    /// with only the partner's data categories. For business, payment and analytics partners whose token is
    /// scoped to their purpose; anyone else is `FORBIDDEN`. Every account returned is logged as a disclosure
    /// its owner can see; an account that withdraws consent is left out from the next read on.
    #[graphql(complexity = "crate::graphql::page_cost(first, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most 100; 20 when absent.")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<PartnerUserConnection> {
        let first = crate::graphql::page_size(first)?;
        let keys = ctx.data_unchecked::<DataKeys>();
        let (users, more) =
            partners::shared_users(pool(ctx), keys, &self.0, first, after.as_deref()).await?;
        let mut connection = Connection::new(after.is_some(), more);
        connection.edges.extend(users.into_iter().map(|u| {
            let cursor = u.cursor.clone();
            Edge::new(cursor, PartnerUser::from(u))
        }));
        Ok(connection)
    }

    /// Advertising reach: how many accounts that consented to `partner-advertising` fall in each group of the
    /// dimension. Groups of fewer than 10 accounts are left out; when those left out together number at least
    /// 10, their total is one more group whose `key` is null. For advertising partners whose token is scoped to
    /// `partner-advertising`; anyone else is `FORBIDDEN`.
    async fn reach(
        &self,
        ctx: &Context<'_>,
        group_by: ReachDimension,
    ) -> async_graphql::Result<Vec<AggregateGroup>> {
        let figures = statistics::reach(pool(ctx), &self.0, group_by.into()).await?;
        Ok(aggregate_groups(figures))
    }
}

/// One disclosure of the member's data to a partner.
#[derive(SimpleObject)]
pub struct Disclosure {
    /// The partner's name.
    pub recipient: String,
    /// What kind of partner it is.
    pub recipient_kind: PartnerKind,
    /// The purpose it was shared for.
    pub purpose: String,
    /// The data categories shared.
    pub data_categories: Vec<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A member's disclosures, newest first.
pub type DisclosureConnection = Connection<String, Disclosure, EmptyFields, EmptyFields>;

/// The disclosures of `account_id`, newest first (for `Me.disclosures`).
pub async fn disclosures(
    ctx: &Context<'_>,
    account_id: i64,
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<DisclosureConnection> {
    let first = crate::graphql::page_size(first)?;
    let before = after
        .as_deref()
        .map(|c| ids::decode_i64(c, "DisclosureCursor", "after"))
        .transpose()?;
    let (rows, more) = partners::disclosures_page(pool(ctx), account_id, first, before).await?;
    let mut connection = Connection::new(before.is_some(), more);
    connection.edges.extend(rows.into_iter().map(|d| {
        Edge::new(
            ids::encode("DisclosureCursor", d.id).0,
            Disclosure {
                recipient: d.recipient,
                recipient_kind: d.recipient_kind.into(),
                purpose: d.purpose,
                data_categories: d.data_categories,
                at: d.at,
            },
        )
    }));
    Ok(connection)
}

/// Resolves a `Partner` global id.
pub async fn partner_node(ctx: &Context<'_>, id: i64) -> async_graphql::Result<Option<Partner>> {
    Ok(partners::partner_by_id(pool(ctx), id).await?.map(Partner))
}

fn staff_id(ctx: &Context<'_>) -> Result<i64, AppError> {
    Ok(Viewer::from_ctx(ctx).require()?.account_id)
}

#[derive(Default)]
pub struct PartnersQuery;

/// The partner registry and the partner read path.
#[Object]
impl PartnersQuery {
    /// Every authorized partner (public, like the policy's list of recipients): members need a partner's id
    /// to consent to sharing with it.
    async fn partners(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Partner>> {
        Ok(partners::list_partners(pool(ctx))
            .await?
            .into_iter()
            .map(Partner)
            .collect())
    }

    /// What the partner behind this request may read. Only for requests that carry a partner token
    /// (`Authorization: Bearer ptk_...`); anyone else is `FORBIDDEN`.
    async fn partner_access(&self, ctx: &Context<'_>) -> async_graphql::Result<PartnerAccess> {
        match ctx.data_opt::<PartnerPrincipal>() {
            Some(principal) => Ok(PartnerAccess(principal.clone())),
            None => Err(AppError::Forbidden(
                "partnerAccess needs a partner token (Authorization: Bearer ptk_...)".into(),
            )
            .into()),
        }
    }
}

#[derive(Default)]
pub struct PartnersMutation;

/// Staff manage partners and their tokens.
#[Object]
impl PartnersMutation {
    /// Registers a partner (staff). A taken name, purposes that do not match the kind or are not in the
    /// current policy, or data categories the policy does not name for them are `BAD_USER_INPUT`.
    #[graphql(guard = "RoleGuard { min: Role::Staff }")]
    async fn register_partner(
        &self,
        ctx: &Context<'_>,
        input: RegisterPartnerInput,
    ) -> async_graphql::Result<Partner> {
        let new = partners::NewPartner {
            name: input.name,
            kind: input.kind.into(),
            contact: input.contact,
            purposes: input.purposes,
            data_categories: input.data_categories,
        };
        Ok(Partner(
            partners::register_partner(pool(ctx), staff_id(ctx)?, new).await?,
        ))
    }

    /// Issues a token for a partner (staff), scoped to some of its purposes, valid `expiresInDays` days (1 to
    /// 365). The secret is in the answer and nowhere else: only its hash is stored.
    #[graphql(guard = "RoleGuard { min: Role::Staff }")]
    async fn issue_partner_token(
        &self,
        ctx: &Context<'_>,
        partner: ID,
        scopes: Vec<String>,
        label: Option<String>,
        #[graphql(default = 90)] expires_in_days: i32,
    ) -> async_graphql::Result<IssuedPartnerToken> {
        let partner_id = ids::decode_i64(&partner, "Partner", "partner")?;
        let issued = partners::issue_token(
            pool(ctx),
            staff_id(ctx)?,
            partner_id,
            &scopes,
            label.as_deref(),
            expires_in_days,
        )
        .await?;
        Ok(IssuedPartnerToken {
            id: ids::encode("PartnerToken", issued.row.id),
            token: issued.token,
            expires_at: issued.row.expires_at,
            scopes: issued.row.scopes.into_iter().flatten().collect(),
            label: issued.row.label,
        })
    }

    /// Revokes a partner token at once (staff). False when it was already revoked.
    #[graphql(guard = "RoleGuard { min: Role::Staff }")]
    async fn revoke_partner_token(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let token_id = ids::decode_i64(&id, "PartnerToken", "id")?;
        Ok(partners::revoke_token(pool(ctx), token_id).await?)
    }
}
