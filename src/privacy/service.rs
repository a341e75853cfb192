//! The rules of the privacy domain.

pub use super::audit::{
    PersonalData, StaffAccessRow, access_personal_data, check_reason, staff_accesses_page,
};
pub use super::cancellation::{
    Cancellation, cancellation_of, pending_cancellation, request_cancellation, revoke_cancellation,
};
pub use super::consent::{
    AGGREGATE_PURPOSE, ConsentPlan, ConsentState, PER_PARTNER_PURPOSES,
    check_registration_consents, consent_history, current_consents, grant_consents, granted_among,
    has_consent, needs_reconsent, partner_consent_granted, record_consents, withdraw_consents,
};
pub use super::erasure::run_due as erase_due_accounts;
pub use super::export::link::{LinkError, verify as verify_export_link};
pub use super::export::{
    ExportRow, ExportStatus, Refusal as ExportRefusal, archive_for as export_archive, export_of,
    recent_exports, request_export, run_pending_exports,
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
