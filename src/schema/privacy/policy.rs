//! Publishing a policy version (staff): `publishPolicyVersion`.

use async_graphql::{Context, InputObject, Object};

use super::PrivacyPolicy;
use crate::graphql::pool;
use crate::graphql::viewer::{Role, RoleGuard, Viewer};
use crate::privacy::model::{NewPolicy, NewPurpose};
use crate::privacy::service;

/// A purpose a new policy version asks consent for.
#[derive(InputObject)]
pub struct PolicyPurposeInput {
    /// Stable key: a lower-case letter, then 1 to 47 lower-case letters, digits or `-`; unique in the version.
    /// Keep a key when the purpose stays the same: answers to it carry over.
    pub key: String,
    /// Short human title.
    pub title: String,
    /// What the purpose covers, in plain words.
    pub description: String,
    /// Whether the service cannot work without it. `account` and `security` must stay required.
    pub required: bool,
    /// The categories of personal data it uses (`phone`, `profile`, `usage`, ...).
    #[graphql(default)]
    pub data_categories: Vec<String>,
    /// Who receives data under it (empty when it stays with the site).
    #[graphql(default)]
    pub recipients: Vec<String>,
}

/// A new version of the privacy policy.
#[derive(InputObject)]
pub struct PublishPolicyVersionInput {
    /// The version name members consent to (1 to 32 characters, never used before).
    pub version: String,
    /// The full text of this version.
    pub text: String,
    /// The purposes it asks consent for, in catalogue order; it must keep `account` and `security`, required.
    pub purposes: Vec<PolicyPurposeInput>,
}

#[derive(Default)]
pub struct PolicyMutation;

/// Publishing the privacy policy (staff).
#[Object]
impl PolicyMutation {
    /// Publishes a new policy version, which becomes the one in force at once: `privacyPolicy` serves it,
    /// open `privacyPolicy` subscriptions receive it, and members asked for consent to a purpose it adds or
    /// changes see `needsReconsent` until they answer (staff only).
    #[graphql(guard = "RoleGuard { min: Role::Staff }")]
    async fn publish_policy_version(
        &self,
        ctx: &Context<'_>,
        input: PublishPolicyVersionInput,
    ) -> async_graphql::Result<PrivacyPolicy> {
        let staff_id = Viewer::from_ctx(ctx).require()?.account_id;
        let policy = NewPolicy {
            version: input.version,
            text: input.text,
            purposes: input
                .purposes
                .into_iter()
                .map(|p| NewPurpose {
                    key: p.key,
                    title: p.title,
                    description: p.description,
                    required: p.required,
                    data_categories: p.data_categories,
                    recipients: p.recipients,
                })
                .collect(),
        };
        Ok(PrivacyPolicy(
            service::publish_policy_version(pool(ctx), staff_id, &policy).await?,
        ))
    }
}
