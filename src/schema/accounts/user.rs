//! `User`: an account's public face. The optional profile fields show only while the owner consents to
//! `profile`, and fields the owner made private resolve to null; email and phone do not exist on this type.

use std::ops::Deref;
use std::sync::Arc;

use async_graphql::{Context, ID, Object};

use super::types::Gender;
use crate::db::profile::Member;
use crate::graphql::ids;

/// A member as everyone sees them: the account and its optional profile, as the user loader read them.
#[derive(Clone)]
pub struct User(pub Arc<Member>);

impl Deref for User {
    type Target = Member;
    fn deref(&self) -> &Member {
        &self.0
    }
}

impl User {
    /// Whether an optional field may be shown: its owner consents to `profile` (policy 1.1(2); read with the
    /// account by the user loader) and has not made the field private.
    fn shown(&self, field: &str) -> bool {
        self.profile_consent && !self.profile.is_private(field)
    }

    fn field<'a>(&self, name: &str, value: &'a Option<String>) -> Option<&'a str> {
        value.as_deref().filter(|_| self.shown(name))
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
    async fn avatar_url(&self) -> Option<&str> {
        self.field("avatar_url", &self.profile.text.avatar_url)
    }
    /// Hometown; null unless shown (consent to `profile`, field public).
    async fn hometown(&self) -> Option<&str> {
        self.field("hometown", &self.profile.text.hometown)
    }
    /// Signature line; null unless shown (consent to `profile`, field public).
    async fn signature(&self) -> Option<&str> {
        self.field("signature", &self.profile.text.signature)
    }
    /// Biography; null unless shown (consent to `profile`, field public).
    async fn bio(&self) -> Option<&str> {
        self.field("bio", &self.profile.text.bio)
    }
    /// Educational background; null unless shown (consent to `profile`, field public).
    async fn education(&self) -> Option<&str> {
        self.field("education", &self.profile.text.education)
    }
    /// Contact information; null unless shown (consent to `profile`, field public).
    async fn contact(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        if !self.shown("contact") {
            return Ok(None);
        }
        let Some(sealed) = ctx
            .data_unchecked::<crate::accounts::loaders::Contacts>()
            .load_one(self.account.id)
            .await
            .map_err(crate::error::AppError::from)?
        else {
            return Ok(None);
        };
        Ok(super::accounts(ctx)
            .keys
            .open_str(
                crate::crypto::Column::ProfileContact,
                self.account.id,
                &sealed,
            )
            .ok())
    }
    /// Personal link; null unless shown (consent to `profile`, field public).
    async fn link(&self) -> Option<&str> {
        self.field("link", &self.profile.text.link)
    }
    /// Personal equipment; null unless shown (consent to `profile`, field public).
    async fn equipment(&self) -> Option<&str> {
        self.field("equipment", &self.profile.text.equipment)
    }
    /// Their published works, newest first.
    #[graphql(complexity = "crate::graphql::page_cost(first, child_complexity)")]
    async fn works(
        &self,
        ctx: &async_graphql::Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<crate::schema::content::WorkConnection> {
        let filter = crate::content::store::WorkFilter {
            author_id: Some(self.account.id),
            ..Default::default()
        };
        Ok(
            crate::schema::content::lists::works(ctx, first, after, Default::default(), filter)
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
    ) -> async_graphql::Result<crate::schema::content::lists::ArticleConnection> {
        Ok(
            crate::schema::content::lists::articles(ctx, first, after, Some(self.account.id), None)
                .await?,
        )
    }
    /// Personal labels; null unless shown (consent to `profile`, field public).
    async fn labels(&self) -> Option<Vec<String>> {
        self.shown("labels").then(|| self.profile.labels())
    }
}
