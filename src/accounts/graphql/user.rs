//! `User`: an account's public face. Fields the owner made private resolve to null; email and phone do not
//! exist on this type at all.

use async_graphql::{ID, Object};

use super::types::Gender;
use crate::accounts::model::{Account, Profile};
use crate::graphql::ids;

pub struct User {
    pub account: Account,
    pub profile: Profile,
}

impl User {
    fn public(&self, field: &str) -> bool {
        !self.profile.is_private(field)
    }

    fn field<'a>(&'a self, name: &str, value: &'a Option<String>) -> Option<&'a str> {
        if self.public(name) {
            value.as_deref()
        } else {
            None
        }
    }
}

/// A member of the community, as everyone sees them.
#[Object]
impl User {
    pub async fn id(&self) -> ID {
        ids::encode("User", self.account.id)
    }
    async fn username(&self) -> &str {
        &self.account.username
    }
    async fn gender(&self) -> Gender {
        Gender::parse(&self.account.gender)
    }
    async fn city(&self) -> &str {
        &self.account.city
    }
    async fn occupation(&self) -> &str {
        &self.account.occupation
    }
    async fn avatar_url(&self) -> Option<&str> {
        self.field("avatar_url", &self.profile.avatar_url)
    }
    async fn hometown(&self) -> Option<&str> {
        self.field("hometown", &self.profile.hometown)
    }
    async fn signature(&self) -> Option<&str> {
        self.field("signature", &self.profile.signature)
    }
    async fn bio(&self) -> Option<&str> {
        self.field("bio", &self.profile.bio)
    }
    async fn education(&self) -> Option<&str> {
        self.field("education", &self.profile.education)
    }
    /// Contact information, when its owner made it public.
    async fn contact(&self, ctx: &async_graphql::Context<'_>) -> Option<String> {
        if !self.public("contact") {
            return None;
        }
        let sealed = self.profile.contact_ciphertext.as_deref()?;
        super::accounts(ctx).keys.open_str(sealed).ok()
    }
    async fn link(&self) -> Option<&str> {
        self.field("link", &self.profile.link)
    }
    async fn equipment(&self) -> Option<&str> {
        self.field("equipment", &self.profile.equipment)
    }
    /// Their published works, newest first.
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
    /// Personal labels; null when private.
    async fn labels(&self) -> Option<Vec<String>> {
        self.public("labels").then(|| self.profile.labels())
    }
}
