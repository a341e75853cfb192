//! Content mutations: publish, edit and delete works and articles; collect works.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::work::{ArticleNode, WorkNode};
use crate::content::model::Image;
use crate::content::service::{self, ArticleDraft, WorkDraft};
use crate::error::AppError;
use crate::graphql::viewer::Viewer;
use crate::graphql::{ids, pool};

/// One image of a work.
#[derive(InputObject)]
pub struct ImageInput {
    /// An http(s) URL.
    pub url: String,
    pub width: i32,
    pub height: i32,
}

/// A new work.
#[derive(InputObject)]
pub struct PublishWorkInput {
    /// 1 to 100 characters.
    pub title: String,
    /// At most 2000 characters.
    pub description: Option<String>,
    /// 1 to 20 images by URL; the first is the cover. Leave empty when giving `imageIds`.
    #[graphql(default)]
    pub images: Vec<ImageInput>,
    /// 1 to 20 of the viewer's uploads (`uploadImage`), in order; the first is the cover.
    pub image_ids: Option<Vec<ID>>,
    /// At most 10 tags of at most 24 characters.
    pub tags: Option<Vec<String>>,
    /// One of `workCategories`.
    pub category: String,
    /// Save without publishing.
    pub draft: Option<bool>,
}

/// Changes to a work; absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateWorkInput {
    pub title: Option<String>,
    pub description: Option<String>,
    /// New images by URL (the work's uploads are then removed).
    pub images: Option<Vec<ImageInput>>,
    /// New images from the viewer's uploads, in order; uploads the work showed before and no longer lists
    /// are removed.
    pub image_ids: Option<Vec<ID>>,
    pub tags: Option<Vec<String>>,
    pub category: Option<String>,
    /// true makes it a draft again; false publishes it.
    pub draft: Option<bool>,
}

/// A new article.
#[derive(InputObject)]
pub struct PublishArticleInput {
    /// 1 to 120 characters.
    pub title: String,
    /// At most 500 characters.
    pub summary: Option<String>,
    /// Markdown; rendered to sanitised HTML.
    pub body: String,
    pub tags: Option<Vec<String>>,
    pub draft: Option<bool>,
}

/// Changes to an article; absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateArticleInput {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub body: Option<String>,
    pub tags: Option<Vec<String>>,
    pub draft: Option<bool>,
}

/// The outcome of a deletion.
#[derive(SimpleObject)]
pub struct Deleted {
    /// The id of what was deleted.
    pub id: ID,
}

fn images(list: Vec<ImageInput>) -> Vec<Image> {
    list.into_iter()
        .map(|i| Image::external(i.url, i.width, i.height))
        .collect()
}

fn image_ids(list: Option<Vec<ID>>) -> Result<Option<Vec<i64>>, AppError> {
    list.map(|ids| {
        ids.iter()
            .map(|id| ids::decode_i64(id, "Image", "imageIds"))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| AppError::bad_input("imageIds", "each of imageIds must be an Image id"))
    })
    .transpose()
}

fn me(ctx: &Context<'_>) -> Result<i64, AppError> {
    Ok(Viewer::from_ctx(ctx).require()?.account_id)
}

/// The viewer, when what it saves becomes public (`draft` not true): it needs a confirmed phone number.
fn publisher(ctx: &Context<'_>, draft: Option<bool>) -> Result<i64, AppError> {
    let viewer = Viewer::from_ctx(ctx);
    Ok(match draft {
        Some(true) => viewer.require()?.account_id,
        _ => viewer.require_publisher()?.account_id,
    })
}

/// The viewer, when a change may make something public (`draft: false`).
fn editor(ctx: &Context<'_>, draft: Option<bool>) -> Result<i64, AppError> {
    match draft {
        Some(false) => publisher(ctx, draft),
        _ => me(ctx),
    }
}

#[derive(Default)]
pub struct ContentMutation;

/// Publishing and collecting.
#[Object]
impl ContentMutation {
    /// Publishes a work (or saves a draft).
    async fn publish_work(
        &self,
        ctx: &Context<'_>,
        input: PublishWorkInput,
    ) -> async_graphql::Result<WorkNode> {
        let account = publisher(ctx, input.draft)?;
        let d = WorkDraft {
            title: Some(input.title),
            description: input.description,
            images: Some(images(input.images)),
            image_ids: image_ids(input.image_ids)?,
            tags: input.tags,
            category: Some(input.category),
            draft: input.draft,
        };
        Ok(WorkNode::of(Arc::new(
            service::publish_work(pool(ctx), account, d).await?,
        )))
    }

    /// Changes one of the viewer's works.
    async fn update_work(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWorkInput,
    ) -> async_graphql::Result<WorkNode> {
        let account = editor(ctx, input.draft)?;
        let id = ids::decode_i64(&id, "Work", "id")?;
        let d = WorkDraft {
            title: input.title,
            description: input.description,
            images: input.images.map(images),
            image_ids: image_ids(input.image_ids)?,
            tags: input.tags,
            category: input.category,
            draft: input.draft,
        };
        Ok(WorkNode::of(Arc::new(
            service::update_work(pool(ctx), account, id, d).await?,
        )))
    }

    /// Deletes one of the viewer's works.
    async fn delete_work(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Deleted> {
        let account = me(ctx)?;
        let key = ids::decode_i64(&id, "Work", "id")?;
        service::delete_work(pool(ctx), account, key).await?;
        Ok(Deleted { id })
    }

    /// Publishes an article (or saves a draft).
    async fn publish_article(
        &self,
        ctx: &Context<'_>,
        input: PublishArticleInput,
    ) -> async_graphql::Result<ArticleNode> {
        let account = publisher(ctx, input.draft)?;
        let d = ArticleDraft {
            title: Some(input.title),
            summary: input.summary,
            body: Some(input.body),
            tags: input.tags,
            draft: input.draft,
        };
        Ok(ArticleNode::of(Arc::new(
            service::publish_article(pool(ctx), account, d).await?,
        )))
    }

    /// Changes one of the viewer's articles.
    async fn update_article(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateArticleInput,
    ) -> async_graphql::Result<ArticleNode> {
        let account = editor(ctx, input.draft)?;
        let id = ids::decode_i64(&id, "Article", "id")?;
        let d = ArticleDraft {
            title: input.title,
            summary: input.summary,
            body: input.body,
            tags: input.tags,
            draft: input.draft,
        };
        Ok(ArticleNode::of(Arc::new(
            service::update_article(pool(ctx), account, id, d).await?,
        )))
    }

    /// Deletes one of the viewer's articles.
    async fn delete_article(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Deleted> {
        let account = me(ctx)?;
        let key = ids::decode_i64(&id, "Article", "id")?;
        service::delete_article(pool(ctx), account, key).await?;
        Ok(Deleted { id })
    }

    /// Adds a work to the viewer's collection (doing it twice changes nothing).
    async fn collect_work(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WorkNode> {
        let account = me(ctx)?;
        let id = ids::decode_i64(&id, "Work", "id")?;
        Ok(WorkNode::of(Arc::new(
            service::collect(pool(ctx), account, id).await?,
        )))
    }

    /// Removes a work from the viewer's collection (doing it twice changes nothing).
    async fn uncollect_work(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<WorkNode> {
        let account = me(ctx)?;
        let id = ids::decode_i64(&id, "Work", "id")?;
        Ok(WorkNode::of(Arc::new(
            service::uncollect(pool(ctx), account, id).await?,
        )))
    }
}
