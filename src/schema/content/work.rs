//! The `Work` and `Article` types. Each is merged from parts, so the fields they share word for word (the
//! dates) are defined once, in [`Dates`], and both read their author through one function. (The author cannot
//! sit in a shared part: registering it reaches `User`, whose works and articles reach the part again while it
//! is still being registered, and async-graphql would merge it empty.)

use std::sync::Arc;

use async_graphql::{Context, ID, MergedObject, Object};
use chrono::{DateTime, Utc};

use crate::accounts::loaders::Users;
use crate::content::loaders::Collected;
use crate::content::model::{Article, Work};
use crate::error::AppError;
use crate::graphql::ids;
use crate::schema::accounts::User;

/// A published piece of visual work: an illustration, photograph, painting, design, ...
#[derive(MergedObject)]
#[graphql(name = "Work")]
pub struct WorkNode(WorkBody, Dates, WorkTail);

impl WorkNode {
    pub fn of(work: Arc<Work>) -> WorkNode {
        WorkNode::read_with(work, None, None)
    }

    /// A work whose author (`Some(None)`: the account is gone) and viewer-collected flag were read with it,
    /// so those fields need no loader; `None` for either leaves it to the loaders.
    pub fn read_with(
        work: Arc<Work>,
        author: Option<Option<User>>,
        collected: Option<bool>,
    ) -> WorkNode {
        let dates = Dates::of(work.created_at, work.updated_at, work.published_at);
        WorkNode(
            WorkBody(work.clone(), author),
            dates,
            WorkTail(work, collected),
        )
    }

    /// The `Node` interface's `id`.
    pub async fn id(&self, _: &Context<'_>) -> async_graphql::Result<ID> {
        Ok(ids::encode("Work", self.0.0.id))
    }
}

/// A written article, in Markdown and as sanitised HTML.
#[derive(MergedObject)]
#[graphql(name = "Article")]
pub struct ArticleNode(ArticleBody, Dates, ArticleTail);

impl ArticleNode {
    pub fn of(article: Arc<Article>) -> ArticleNode {
        let dates = Dates::of(article.created_at, article.updated_at, article.published_at);
        ArticleNode(ArticleBody(article.clone()), dates, ArticleTail(article))
    }

    /// The `Node` interface's `id`.
    pub async fn id(&self, _: &Context<'_>) -> async_graphql::Result<ID> {
        Ok(ids::encode("Article", self.0.0.id))
    }
}

/// The author of a work or an article, through the request's user loader; `None` when the account is gone.
async fn author(ctx: &Context<'_>, author_id: i64) -> async_graphql::Result<Option<User>> {
    Ok(ctx
        .data_unchecked::<Users>()
        .load_one(author_id)
        .await
        .map_err(AppError::from)?
        .map(User))
}

pub struct WorkBody(Arc<Work>, Option<Option<User>>);

#[Object]
impl WorkBody {
    async fn id(&self) -> ID {
        ids::encode("Work", self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The images, in order; the first is the cover.
    async fn images(&self) -> Vec<crate::schema::media::Image> {
        self.0.images().into_iter().map(Into::into).collect()
    }
    /// The first image's URL.
    async fn cover_url(&self) -> Option<&str> {
        self.0.cover_url()
    }
    /// Tags, lower case.
    async fn tags(&self) -> Vec<String> {
        self.0.tags()
    }
    /// The category key (`illustration`, `photography`, ...).
    async fn category(&self) -> &str {
        &self.0.category
    }
    /// Who published it; null when that account is gone.
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        match &self.1 {
            Some(read) => Ok(read.clone()),
            None => author(ctx, self.0.author_id).await,
        }
    }
    /// True while it is a draft, visible only to its author.
    async fn draft(&self) -> bool {
        self.0.published_at.is_none()
    }
}

pub struct ArticleBody(Arc<Article>);

#[Object]
impl ArticleBody {
    async fn id(&self) -> ID {
        ids::encode("Article", self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }
    /// The body as its author wrote it (Markdown).
    async fn body(&self) -> &str {
        &self.0.body_markdown
    }
    /// The body rendered to HTML with scripts, event handlers and unsafe URLs removed.
    async fn body_html(&self) -> &str {
        &self.0.body_html
    }
    async fn tags(&self) -> Vec<String> {
        self.0.tags()
    }
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        author(ctx, self.0.author_id).await
    }
    async fn draft(&self) -> bool {
        self.0.published_at.is_none()
    }
}

/// When a work or an article was created, last changed and published.
pub struct Dates {
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
}

impl Dates {
    fn of(
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
        published_at: Option<DateTime<Utc>>,
    ) -> Dates {
        Dates {
            created_at,
            updated_at,
            published_at,
        }
    }
}

#[Object]
impl Dates {
    async fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.published_at
    }
}

pub struct WorkTail(Arc<Work>, Option<bool>);

#[Object]
impl WorkTail {
    /// Page views counted with consent (de-identified).
    async fn view_count(&self) -> i64 {
        self.0.view_count
    }
    /// How many members collected it.
    async fn collection_count(&self) -> i64 {
        self.0.collection_count
    }
    /// Whether the signed-in viewer collected it (false for visitors).
    async fn viewer_has_collected(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        if let Some(read) = self.1 {
            return Ok(read);
        }
        let Some(loader) = ctx.data_opt::<Collected>() else {
            return Ok(false);
        };
        Ok(loader
            .load_one(self.0.id)
            .await
            .map_err(AppError::from)?
            .unwrap_or(false))
    }
}

pub struct ArticleTail(Arc<Article>);

#[Object]
impl ArticleTail {
    async fn view_count(&self) -> i64 {
        self.0.view_count
    }
}
