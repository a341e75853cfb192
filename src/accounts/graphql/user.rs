//! `User`: an account's public face. The optional profile fields show only while the owner consents to
//! `profile`, and fields the owner made private resolve to null; email and phone do not exist on this type.

use async_graphql::{Context, ID, Object};

use super::types::Gender;
use crate::accounts::model::{Account, Profile};
use crate::graphql::ids;

/// A member as everyone sees them: the account and its optional profile.
pub struct User {
    pub account: Account,
    pub profile: Profile,
    /// The owner's answer for `profile` when it was read with the account (the batch loader does);
    /// `None` asks the per-request consent loader.
    pub profile_consent: Option<bool>,
}

/// The purpose that lets the optional profile fields be shown to others (policy 1.1(2)).
pub const PUBLIC_PROFILE_PURPOSE: &str = "profile";

impl User {
    /// Whether an optional field may be shown: its owner consents to showing the profile (their current
    /// answer for `profile`, batched per request) and has not made the field private.
    async fn shown(&self, ctx: &Context<'_>, field: &str) -> async_graphql::Result<bool> {
        if self.profile.is_private(field) {
            return Ok(false);
        }
        match self.profile_consent {
            Some(granted) => Ok(granted),
            None => Ok(crate::privacy::graphql::consented(
                ctx,
                self.account.id,
                PUBLIC_PROFILE_PURPOSE,
            )
            .await?),
        }
    }

    async fn field<'a>(
        &'a self,
        ctx: &Context<'_>,
        name: &str,
        value: &'a Option<String>,
    ) -> async_graphql::Result<Option<&'a str>> {
        Ok(match value {
            Some(v) if self.shown(ctx, name).await? => Some(v.as_str()),
            _ => None,
        })
    }
}

/// A member of the community, as everyone sees them.
#[Object]
impl User {
    /// Global id.
    pub async fn id(&self) -> ID {
        ids::encode("User", self.account.id)
    }
    /// The username, as its owner spelled it.
    async fn username(&self) -> &str {
        &self.account.username
    }
    /// Gender, as its owner stated it.
    async fn gender(&self) -> Gender {
        Gender::parse(&self.account.gender)
    }
    /// The city given at registration.
    async fn city(&self) -> &str {
        &self.account.city
    }
    /// The occupation given at registration.
    async fn occupation(&self) -> &str {
        &self.account.occupation
    }
    /// Avatar image URL; null unless shown (consent to `profile`, field public).
    async fn avatar_url(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        self.field(ctx, "avatar_url", &self.profile.avatar_url)
            .await
    }
    /// Hometown; null unless shown (consent to `profile`, field public).
    async fn hometown(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        self.field(ctx, "hometown", &self.profile.hometown).await
    }
    /// Signature line; null unless shown (consent to `profile`, field public).
    async fn signature(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        self.field(ctx, "signature", &self.profile.signature).await
    }
    /// Biography; null unless shown (consent to `profile`, field public).
    async fn bio(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        self.field(ctx, "bio", &self.profile.bio).await
    }
    /// Educational background; null unless shown (consent to `profile`, field public).
    async fn education(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        self.field(ctx, "education", &self.profile.education).await
    }
    /// Contact information; null unless shown (consent to `profile`, field public).
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let Some(sealed) = self.profile.contact_ciphertext.as_deref() else {
            return Ok(None);
        };
        if !self.shown(ctx, "contact").await? {
            return Ok(None);
        }
        Ok(super::accounts(ctx).keys.open_str(sealed).ok())
    }
    /// Personal link; null unless shown (consent to `profile`, field public).
    async fn link(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        self.field(ctx, "link", &self.profile.link).await
    }
    /// Personal equipment; null unless shown (consent to `profile`, field public).
    async fn equipment(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        self.field(ctx, "equipment", &self.profile.equipment).await
    }
    /// Their published works, newest first.
    #[graphql(complexity = "crate::graphql::page_cost(first, child_complexity)")]
    async fn works(
        &self,
        ctx: &async_graphql::Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<crate::content::graphql::WorkConnection> {
        let filter = crate::content::store::WorkFilter {
            author_id: Some(self.account.id),
            ..Default::default()
        };
        Ok(
            crate::content::graphql::lists::works(ctx, first, after, Default::default(), filter)
                .await?,
        )
    }
    /// Their published articles, newest first.
    #[graphql(complexity = "crate::graphql::page_cost(first, child_complexity)")]
    async fn articles(
        &self,
        ctx: &async_graphql::Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<crate::content::graphql::lists::ArticleConnection> {
        Ok(
            crate::content::graphql::lists::articles(
                ctx,
                first,
                after,
                Some(self.account.id),
                None,
            )
            .await?,
        )
    }
    /// Personal labels; null unless shown (consent to `profile`, field public).
    async fn labels(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<String>>> {
        Ok(self
            .shown(ctx, "labels")
            .await?
            .then(|| self.profile.labels()))
    }
}
