//! The rules of the privacy domain.

pub use super::consent::{
    AGGREGATE_PURPOSE, ConsentPlan, ConsentState, PER_PARTNER_PURPOSES,
    check_registration_consents, consent_history, current_consents, grant_consents, granted_among,
    has_consent, needs_reconsent, partner_consent_granted, record_consents, withdraw_consents,
};
use super::model::Policy;
pub use super::policy::{POLICY_TOPIC, REQUIRED_PURPOSES, publish_policy_version};
use super::store;
use crate::db::Pool;
use crate::error::AppResult;

/// The policy in force now, with its purposes.
pub async fn current_policy(pool: &Pool) -> AppResult<Option<Policy>> {
    let mut conn = pool.get().await?;
    let Some(version) = store::current_version(&mut conn).await? else {
        return Ok(None);
    };
    let purposes = store::purposes_of(&mut conn, version.id).await?;
    Ok(Some(Policy { version, purposes }))
}

/// A policy version by its name (`"1"`), with its purposes.
pub async fn policy_by_version(pool: &Pool, version: &str) -> AppResult<Option<Policy>> {
    let mut conn = pool.get().await?;
    let Some(version) = store::version_by_name(&mut conn, version).await? else {
        return Ok(None);
    };
    let purposes = store::purposes_of(&mut conn, version.id).await?;
    Ok(Some(Policy { version, purposes }))
}
