//! The content domain's part of the schema: works, articles, collections.

pub mod events;
pub mod lists;
mod mutations;
pub mod search;
pub mod work;

use async_graphql::{Context, ID, Object};

pub use lists::{WorkConnection, WorkOrder};
pub use mutations::ContentMutation;
pub use work::{ArticleNode, WorkNode};

use crate::content::loaders::{Articles, Works};
use crate::content::store::WorkFilter;
use crate::error::AppError;
use crate::graphql::ids;
use crate::graphql::viewer::Viewer;

fn viewer_id(ctx: &Context<'_>) -> Option<i64> {
    Viewer::from_ctx(ctx).account.as_ref().map(|s| s.account_id)
}

/// A work the viewer may see, by id.
pub async fn work_by_id(ctx: &Context<'_>, id: i64) -> async_graphql::Result<Option<WorkNode>> {
    let work = ctx
        .data_unchecked::<Works>()
        .load_one(id)
        .await
        .map_err(AppError::from)?;
    Ok(work
        .filter(|w| w.visible_to(viewer_id(ctx)))
        .map(WorkNode::of))
}

/// An article the viewer may see, by id.
pub async fn article_by_id(
    ctx: &Context<'_>,
    id: i64,
) -> async_graphql::Result<Option<ArticleNode>> {
    let article = ctx
        .data_unchecked::<Articles>()
        .load_one(id)
        .await
        .map_err(AppError::from)?;
    Ok(article
        .filter(|a| a.visible_to(viewer_id(ctx)))
        .map(ArticleNode::of))
}

#[derive(Default)]
pub struct ContentQuery;

/// Works and articles, for visitors and members alike.
#[Object]
impl ContentQuery {
    /// Published works, newest first by default; filter by author, tag or category.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::page_cost(first, child_complexity)")]
    async fn works(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most 100; 20 when absent.")] first: Option<i32>,
        after: Option<String>,
        #[graphql(default)] order_by: WorkOrder,
        #[graphql(desc = "A `User` id.")] author: Option<ID>,
        tag: Option<String>,
        category: Option<String>,
    ) -> async_graphql::Result<WorkConnection> {
        let filter = WorkFilter {
            author_id: lists::author_filter(author.as_ref())?,
            tag: tag.map(|t| t.trim().to_lowercase()),
            category: category.map(|c| c.trim().to_lowercase()),
        };
        Ok(lists::works(ctx, first, after, order_by, filter).await?)
    }

    /// One work by id; `NOT_FOUND` when it does not exist or is not visible to the viewer.
    async fn work(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WorkNode> {
        let id = ids::decode_i64(&id, "Work", "id")?;
        work_by_id(ctx, id)
            .await?
            .ok_or_else(|| AppError::NotFound("work".into()).into())
    }

    /// Published articles, newest first; filter by author or tag.
    #[graphql(complexity = "crate::graphql::page_cost(first, child_complexity)")]
    async fn articles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        author: Option<ID>,
        tag: Option<String>,
    ) -> async_graphql::Result<lists::ArticleConnection> {
        let author = lists::author_filter(author.as_ref())?;
        Ok(lists::articles(
            ctx,
            first,
            after,
            author,
            tag.map(|t| t.trim().to_lowercase()),
        )
        .await?)
    }

    /// One article by id; `NOT_FOUND` when it does not exist or is not visible to the viewer.
    async fn article(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ArticleNode> {
        let id = ids::decode_i64(&id, "Article", "id")?;
        article_by_id(ctx, id)
            .await?
            .ok_or_else(|| AppError::NotFound("article".into()).into())
    }

    /// The categories a work can belong to.
    async fn work_categories(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        let mut conn = crate::graphql::pool(ctx)
            .get()
            .await
            .map_err(AppError::from)?;
        Ok(crate::content::store::categories(&mut conn)
            .await
            .map_err(AppError::from)?)
    }
}
