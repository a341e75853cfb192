//! Consent in the schema: `grantConsent`, `withdrawConsent`, the `Consent` state and the `ConsentRecord`
//! history, and the consent check other domains' types use to gate what they show.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::client::ClientInfo;
use crate::crypto::DataKeys;
use crate::error::{AppError, AppResult};
use crate::graphql::viewer::Viewer;
use crate::graphql::{ids, pool};
use crate::privacy::model::ConsentRecordRow;
use crate::privacy::service::{self, ConsentState};

/// The current answer for one purpose: in general, or for one named partner.
#[derive(SimpleObject)]
pub struct Consent {
    /// The purpose's key (`analytics`, `partner-business`, ...).
    pub purpose: String,
    /// True while consent is given and counts; false once withdrawn, or while `awaitingAnswer`.
    pub granted: bool,
    /// True when a newer policy version added or changed this purpose after this answer: a grant given before
    /// stops counting (its data stops flowing) until the member answers again with `grantConsent` or
    /// `withdrawConsent`.
    pub awaiting_answer: bool,
    /// The policy version this answer was given under.
    pub policy_version: String,
    /// When this answer was given.
    pub updated_at: DateTime<Utc>,
    /// The partner this answer names (a `Partner` id); null for a general answer.
    pub partner: Option<ID>,
    /// The name of the partner this answer names; null for a general answer.
    pub partner_name: Option<String>,
}

impl From<ConsentState> for Consent {
    fn from(c: ConsentState) -> Self {
        Consent {
            purpose: c.purpose,
            granted: c.granted,
            awaiting_answer: c.awaiting_answer,
            policy_version: c.policy_version,
            updated_at: c.updated_at,
            partner: c.partner_id.map(|id| ids::encode("Partner", id)),
            partner_name: c.partner_name,
        }
    }
}

/// One entry of the consent ledger: a grant or a withdrawal, as it was recorded. Entries are never changed.
#[derive(SimpleObject)]
pub struct ConsentRecord {
    /// The purpose's key.
    pub purpose: String,
    /// True for a grant, false for a withdrawal.
    pub granted: bool,
    /// The policy version the answer was given under.
    pub policy_version: String,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// How it was given: `registration`, `grant`, `withdraw`, or a third-party sign-in (`wechat`, ...).
    pub method: String,
    /// The partner it names (a `Partner` id); null for a general answer.
    pub partner: Option<ID>,
    /// The name of the partner it names; null for a general answer.
    pub partner_name: Option<String>,
}

impl From<ConsentRecordRow> for ConsentRecord {
    fn from(r: ConsentRecordRow) -> Self {
        ConsentRecord {
            purpose: r.purpose,
            granted: r.granted,
            policy_version: r.policy_version,
            at: r.created_at,
            method: r.method,
            partner: r.partner_id.map(|id| ids::encode("Partner", id)),
            partner_name: r.partner_name,
        }
    }
}

/// A page of the consent ledger, newest first.
pub type ConsentRecordConnection = Connection<String, ConsentRecord, EmptyFields, EmptyFields>;

const CURSOR_KIND: &str = "ConsentRecordCursor";

/// One page of `account_id`'s consent history: `first` (20 when absent, at most 100) records older than the
/// cursor `after`.
pub async fn consent_history(
    ctx: &Context<'_>,
    account_id: i64,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<ConsentRecordConnection> {
    let first = crate::graphql::page_size(first)? as usize;
    let before = after
        .map(|c| match ids::decode(&c) {
            Some((kind, key)) if kind == CURSOR_KIND => key
                .parse::<i64>()
                .map_err(|_| AppError::bad_input("after", "not a consent history cursor")),
            _ => Err(AppError::bad_input("after", "not a consent history cursor")),
        })
        .transpose()?;
    let (rows, more) = service::consent_history(pool(ctx), account_id, before, first).await?;
    let mut connection = Connection::new(before.is_some(), more);
    connection.edges.extend(
        rows.into_iter()
            .map(|r| Edge::new(ids::encode(CURSOR_KIND, r.id).0, ConsentRecord::from(r))),
    );
    Ok(connection)
}

/// A `Partner` id from a consent mutation; anything else is `BAD_USER_INPUT` on `partner`.
fn partner_key(id: &ID) -> AppResult<i64> {
    match ids::decode(id) {
        Some((kind, key)) if kind == "Partner" => key
            .parse()
            .map_err(|_| AppError::bad_input("partner", "not a partner id")),
        _ => Err(AppError::bad_input("partner", "not a partner id")),
    }
}

fn client(ctx: &Context<'_>) -> ClientInfo {
    ctx.data_opt::<ClientInfo>().cloned().unwrap_or_default()
}

#[derive(Default)]
pub struct ConsentMutation;

/// Giving and withdrawing consent (signed-in).
#[Object]
impl ConsentMutation {
    /// Grants consent to `purposes` under `policyVersion`, which must be the current policy version. Purposes
    /// that reach a named partner (`partner-business`, `partner-payment`, `partner-analytics`) are granted per
    /// partner: name it with `partner` (a `Partner` id). Each grant is recorded in the append-only ledger;
    /// returns the resulting answers.
    async fn grant_consent(
        &self,
        ctx: &Context<'_>,
        purposes: Vec<String>,
        policy_version: String,
        partner: Option<ID>,
    ) -> async_graphql::Result<Vec<Consent>> {
        let account_id = Viewer::from_ctx(ctx).require()?.account_id;
        let partner = partner.as_ref().map(partner_key).transpose()?;
        let states = service::grant_consents(
            pool(ctx),
            ctx.data_unchecked::<DataKeys>(),
            account_id,
            &purposes,
            &policy_version,
            partner,
            &client(ctx),
        )
        .await?;
        Ok(states.into_iter().map(Consent::from).collect())
    }

    /// Withdraws consent to `purposes`, effective at once everywhere (view counting, partner sharing,
    /// third-party profile refresh), recorded under the current policy version. With `partner`, only that
    /// partner's consent is withdrawn; without it, the general answer and every partner's consent to the
    /// purpose are. Required purposes cannot be withdrawn without cancelling the account
    /// (`requestAccountCancellation`). Returns the resulting answers.
    async fn withdraw_consent(
        &self,
        ctx: &Context<'_>,
        purposes: Vec<String>,
        partner: Option<ID>,
    ) -> async_graphql::Result<Vec<Consent>> {
        let account_id = Viewer::from_ctx(ctx).require()?.account_id;
        let partner = partner.as_ref().map(partner_key).transpose()?;
        let states = service::withdraw_consents(
            pool(ctx),
            ctx.data_unchecked::<DataKeys>(),
            account_id,
            &purposes,
            partner,
            &client(ctx),
        )
        .await?;
        Ok(states.into_iter().map(Consent::from).collect())
    }
}
