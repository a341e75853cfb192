//! The privacy domain's part of the schema.

pub mod consent;
mod partners;
mod policy;
mod statistics;

pub use consent::{
    Consent, ConsentMutation, ConsentRecord, ConsentRecordConnection, consent_history,
};
pub use partners::{
    DisclosureConnection, Partner, PartnerAccess, PartnersMutation, PartnersQuery, disclosures,
    partner_node,
};
pub use policy::{PolicyMutation, PolicyPurposeInput, PublishPolicyVersionInput};
pub use statistics::StatisticsQuery;

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use crate::graphql::{ids, pool};
use crate::privacy::model::Policy;
use crate::privacy::service;

pub struct PrivacyPolicy(pub Policy);

/// A published version of the site's privacy policy and the purposes it asks consent for.
#[Object]
impl PrivacyPolicy {
    /// Global id of this policy version.
    pub async fn id(&self) -> ID {
        ids::encode("PrivacyPolicy", &self.0.version.version)
    }

    /// The version string users consent to (`policyVersion` in consent mutations).
    async fn version(&self) -> &str {
        &self.0.version.version
    }

    /// When this version was published.
    async fn published_at(&self) -> DateTime<Utc> {
        self.0.version.published_at
    }

    /// The full text of this version.
    async fn text(&self) -> &str {
        &self.0.version.body
    }

    /// The purposes this version names, in catalogue order.
    async fn purposes(&self) -> Vec<PolicyPurpose> {
        self.0
            .purposes
            .iter()
            .map(|p| PolicyPurpose {
                key: p.key.clone(),
                title: p.title.clone(),
                description: p.description.clone(),
                required: p.required,
                data_categories: p.data_categories.iter().flatten().cloned().collect(),
                recipients: p.recipients.iter().flatten().cloned().collect(),
            })
            .collect()
    }
}

/// One purpose for which personal data is used.
#[derive(SimpleObject)]
pub struct PolicyPurpose {
    /// Stable key (`account`, `analytics`, `partner-business`, ...) used when granting or withdrawing consent.
    pub key: String,
    /// Short human title.
    pub title: String,
    /// What the purpose covers.
    pub description: String,
    /// Whether the service cannot be used without it (required purposes are consented to at registration).
    pub required: bool,
    /// The categories of personal data this purpose uses.
    pub data_categories: Vec<String>,
    /// Who receives data under this purpose (empty when it stays with the site).
    pub recipients: Vec<String>,
}

#[derive(Default)]
pub struct PrivacyQuery;

/// Privacy queries.
#[Object]
impl PrivacyQuery {
    /// The privacy policy in force now.
    async fn privacy_policy(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<PrivacyPolicy>> {
        let current = ctx.data_unchecked::<crate::privacy::current::CurrentPolicy>();
        Ok(current
            .get(pool(ctx))
            .await?
            .map(|p| PrivacyPolicy(p.as_ref().clone())))
    }
}

/// Resolves a `PrivacyPolicy` global id.
pub async fn node(
    ctx: &Context<'_>,
    version: &str,
) -> async_graphql::Result<Option<PrivacyPolicy>> {
    Ok(service::policy_by_version(pool(ctx), version)
        .await?
        .map(PrivacyPolicy))
}
