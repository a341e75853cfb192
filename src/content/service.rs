//! The rules of the content domain: publishing and editing works and articles (owners only, soft delete),
//! and collections. Every multi-row change runs in one transaction.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::images::{new_images, set_images};
use super::model::{Article, Image, Work};
use super::{store, text};

pub use super::erase::{AuthoredContent, Erased, erase_author};
use crate::db::Pool;
use crate::db::schema::{articles, collections, works};
use crate::error::{AppError, AppResult};

pub const MAX_TAGS: usize = 10;
pub const MAX_TAG_CHARS: usize = 24;
pub const MAX_IMAGES: usize = 20;

/// A new or changed work; `None` leaves a field unchanged on update.
#[derive(Debug, Clone, Default)]
pub struct WorkDraft {
    pub title: Option<String>,
    pub description: Option<String>,
    pub images: Option<Vec<Image>>,
    /// Uploaded images by id, in order (instead of `images`).
    pub image_ids: Option<Vec<i64>>,
    pub tags: Option<Vec<String>>,
    pub category: Option<String>,
    pub draft: Option<bool>,
}

/// A new or changed article; `None` leaves a field unchanged on update.
#[derive(Debug, Clone, Default)]
pub struct ArticleDraft {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub body: Option<String>,
    pub tags: Option<Vec<String>>,
    pub draft: Option<bool>,
}

fn title(value: &str, max: usize) -> AppResult<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(AppError::bad_input(
            "title",
            format!("the title needs 1 to {max} characters"),
        ));
    }
    Ok(v.to_string())
}

fn optional_text(value: &str, field: &str, max: usize) -> AppResult<Option<String>> {
    let v = value.trim();
    if v.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("{field} may have at most {max} characters"),
        ));
    }
    Ok((!v.is_empty()).then(|| v.to_string()))
}

/// Tags: at most ten, each 1 to 24 characters, compared without regard to case, kept in lower case.
pub fn tags(list: &[String]) -> AppResult<Vec<String>> {
    if list.len() > MAX_TAGS {
        return Err(AppError::bad_input(
            "tags",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for t in list {
        let t = t.trim().to_lowercase();
        if t.is_empty()
            || t.chars().count() > MAX_TAG_CHARS
            || t.chars().any(|c| c.is_control() || c == ',')
        {
            return Err(AppError::bad_input(
                "tags",
                format!("each tag needs 1 to {MAX_TAG_CHARS} characters, without commas"),
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// The ownership rule for changing content: only its author may; someone else's draft does not exist for them.
fn check_owner(what: &str, author_id: i64, published: bool, account_id: i64) -> AppResult<()> {
    match (author_id == account_id, published) {
        (true, _) => Ok(()),
        (false, true) => Err(AppError::Forbidden(format!(
            "only its author may change this {what}"
        ))),
        (false, false) => Err(AppError::NotFound(what.into())),
    }
}

/// When a work or article becomes (or stays) published: now, or its first publication; none for a draft.
fn publication(
    draft: bool,
    previous: Option<chrono::DateTime<chrono::Utc>>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    (!draft).then(|| previous.unwrap_or_else(chrono::Utc::now))
}

async fn owned_work(conn: &mut AsyncPgConnection, id: i64, account_id: i64) -> AppResult<Work> {
    let work = store::works_by_ids(conn, &[id])
        .await?
        .pop()
        .filter(|w| w.deleted_at.is_none())
        .ok_or_else(|| AppError::NotFound("work".into()))?;
    check_owner(
        "work",
        work.author_id,
        work.published_at.is_some(),
        account_id,
    )?;
    Ok(work)
}

async fn owned_article(
    conn: &mut AsyncPgConnection,
    id: i64,
    account_id: i64,
) -> AppResult<Article> {
    let article = store::articles_by_ids(conn, &[id])
        .await?
        .pop()
        .filter(|a| a.deleted_at.is_none())
        .ok_or_else(|| AppError::NotFound("article".into()))?;
    check_owner(
        "article",
        article.author_id,
        article.published_at.is_some(),
        account_id,
    )?;
    Ok(article)
}

async fn index_work(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<()> {
    super::search::index_works(conn, &[id]).await.map(drop)
}

/// Writes an article's weighted search document.
async fn index_article(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<()> {
    super::search::index_articles(conn, &[id]).await.map(drop)
}

/// Indexes an account's username for search (called when an account is created or renamed).
pub async fn index_account(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    username: &str,
) -> QueryResult<()> {
    super::search::index_usernames(conn, &[(account_id, username.to_string())])
        .await
        .map(drop)
}

/// Publishes a work (or saves a draft).
pub async fn publish_work(pool: &Pool, account_id: i64, d: WorkDraft) -> AppResult<Work> {
    let t = title(d.title.as_deref().unwrap_or(""), 100)?;
    let description = optional_text(d.description.as_deref().unwrap_or(""), "description", 2000)?;
    let imgs = new_images(
        Some(d.images.as_deref().unwrap_or(&[])),
        d.image_ids.as_deref(),
    )?
    .expect("a new work always has images");
    let tag_list = tags(d.tags.as_deref().unwrap_or(&[]))?;
    let category = d.category.unwrap_or_default().trim().to_lowercase();
    let draft = d.draft.unwrap_or(false);
    let mut conn = pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        if !store::category_exists(conn, &category).await? {
            return Err(AppError::bad_input(
                "category",
                format!("`{category}` is not a known category"),
            ));
        }
        let id: i64 = diesel::insert_into(works::table)
            .values((
                works::author_id.eq(account_id),
                works::title.eq(&t),
                works::description.eq(&description),
                works::category.eq(&category),
                works::images.eq(serde_json::json!([])),
                works::tags.eq(&tag_list),
                works::draft.eq(draft),
                works::published_at.eq((!draft).then(chrono::Utc::now)),
            ))
            .returning(works::id)
            .get_result(conn)
            .await?;
        set_images(conn, account_id, id, imgs).await?;
        index_work(conn, id).await?;
        Ok(store::works_by_ids(conn, &[id]).await?.remove(0))
    })
    .await
}

/// Changes the viewer's own work.
pub async fn update_work(pool: &Pool, account_id: i64, id: i64, d: WorkDraft) -> AppResult<Work> {
    let t = d.title.as_deref().map(|v| title(v, 100)).transpose()?;
    let description = d
        .description
        .as_deref()
        .map(|v| optional_text(v, "description", 2000))
        .transpose()?;
    let imgs = new_images(d.images.as_deref(), d.image_ids.as_deref())?;
    let tag_list = d.tags.as_deref().map(tags).transpose()?;
    let category = d.category.map(|c| c.trim().to_lowercase());
    let mut conn = pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let work = owned_work(conn, id, account_id).await?;
        if let Some(c) = &category
            && !store::category_exists(conn, c).await?
        {
            return Err(AppError::bad_input(
                "category",
                format!("`{c}` is not a known category"),
            ));
        }
        let target = works::table.find(id);
        diesel::update(target)
            .set((
                works::title.eq(t.unwrap_or(work.title)),
                works::description.eq(description.unwrap_or(work.description)),
                works::category.eq(category.unwrap_or(work.category)),
                works::tags
                    .eq(tag_list.unwrap_or_else(|| work.tags.iter().flatten().cloned().collect())),
                works::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        if let Some(imgs) = imgs {
            set_images(conn, account_id, id, imgs).await?;
        }
        if let Some(draft) = d.draft {
            let published_at = publication(draft, work.published_at);
            diesel::update(target)
                .set((works::draft.eq(draft), works::published_at.eq(published_at)))
                .execute(conn)
                .await?;
        }
        index_work(conn, id).await?;
        Ok(store::works_by_ids(conn, &[id]).await?.remove(0))
    })
    .await
}

/// Deletes the viewer's own work (soft delete: it disappears everywhere, collections included).
pub async fn delete_work(pool: &Pool, account_id: i64, id: i64) -> AppResult<()> {
    let mut conn = pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        owned_work(conn, id, account_id).await?;
        diesel::update(works::table.find(id))
            .set(works::deleted_at.eq(diesel::dsl::now))
            .execute(conn)
            .await?;
        // Its uploads leave storage (the media job removes the objects once the rows are gone).
        crate::media::store::detach_work(conn, id).await?;
        Ok(())
    })
    .await
}

/// Publishes an article (or saves a draft); the Markdown body is rendered to sanitised HTML.
pub async fn publish_article(pool: &Pool, account_id: i64, d: ArticleDraft) -> AppResult<Article> {
    let t = title(d.title.as_deref().unwrap_or(""), 120)?;
    let summary = optional_text(d.summary.as_deref().unwrap_or(""), "summary", 500)?;
    let body = d.body.unwrap_or_default();
    if body.trim().is_empty() || body.chars().count() > 100_000 {
        return Err(AppError::bad_input(
            "body",
            "the body needs 1 to 100000 characters",
        ));
    }
    let tag_list = tags(d.tags.as_deref().unwrap_or(&[]))?;
    let draft = d.draft.unwrap_or(false);
    let html = text::render_markdown(&body);
    let mut conn = pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let id: i64 = diesel::insert_into(articles::table)
            .values((
                articles::author_id.eq(account_id),
                articles::title.eq(&t),
                articles::summary.eq(&summary),
                articles::body_markdown.eq(&body),
                articles::body_html.eq(&html),
                articles::tags.eq(&tag_list),
                articles::draft.eq(draft),
                articles::published_at.eq((!draft).then(chrono::Utc::now)),
            ))
            .returning(articles::id)
            .get_result(conn)
            .await?;
        index_article(conn, id).await?;
        Ok(store::articles_by_ids(conn, &[id]).await?.remove(0))
    })
    .await
}

/// Changes the viewer's own article.
pub async fn update_article(
    pool: &Pool,
    account_id: i64,
    id: i64,
    d: ArticleDraft,
) -> AppResult<Article> {
    let t = d.title.as_deref().map(|v| title(v, 120)).transpose()?;
    let summary = d
        .summary
        .as_deref()
        .map(|v| optional_text(v, "summary", 500))
        .transpose()?;
    if let Some(b) = &d.body
        && (b.trim().is_empty() || b.chars().count() > 100_000)
    {
        return Err(AppError::bad_input(
            "body",
            "the body needs 1 to 100000 characters",
        ));
    }
    let tag_list = d.tags.as_deref().map(tags).transpose()?;
    let mut conn = pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = owned_article(conn, id, account_id).await?;
        let body = d.body.clone().unwrap_or(article.body_markdown);
        let target = articles::table.find(id);
        diesel::update(target)
            .set((
                articles::title.eq(t.unwrap_or(article.title)),
                articles::summary.eq(summary.unwrap_or(article.summary)),
                articles::body_html.eq(text::render_markdown(&body)),
                articles::body_markdown.eq(body),
                articles::tags
                    .eq(tag_list
                        .unwrap_or_else(|| article.tags.iter().flatten().cloned().collect())),
                articles::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        if let Some(draft) = d.draft {
            let published_at = publication(draft, article.published_at);
            diesel::update(target)
                .set((
                    articles::draft.eq(draft),
                    articles::published_at.eq(published_at),
                ))
                .execute(conn)
                .await?;
        }
        index_article(conn, id).await?;
        Ok(store::articles_by_ids(conn, &[id]).await?.remove(0))
    })
    .await
}

/// Deletes the viewer's own article (soft delete).
pub async fn delete_article(pool: &Pool, account_id: i64, id: i64) -> AppResult<()> {
    let mut conn = pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        owned_article(conn, id, account_id).await?;
        diesel::update(articles::table.find(id))
            .set(articles::deleted_at.eq(diesel::dsl::now))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
}

/// A published work anyone may see, or `NOT_FOUND`.
async fn visible_work(conn: &mut AsyncPgConnection, id: i64) -> AppResult<Work> {
    store::works_by_ids(conn, &[id])
        .await?
        .pop()
        .filter(|w| w.visible_to(None))
        .ok_or_else(|| AppError::NotFound("work".into()))
}

/// Collects a work (idempotent); returns the work with its new count.
pub async fn collect(pool: &Pool, account_id: i64, work_id: i64) -> AppResult<Work> {
    let mut conn = pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        visible_work(conn, work_id).await?;
        let added = diesel::insert_into(collections::table)
            .values((
                collections::account_id.eq(account_id),
                collections::work_id.eq(work_id),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        if added > 0 {
            diesel::update(works::table.find(work_id))
                .set(works::collection_count.eq(works::collection_count + 1))
                .execute(conn)
                .await?;
        }
        Ok(store::works_by_ids(conn, &[work_id]).await?.remove(0))
    })
    .await
}

/// Removes a work from the account's collection (idempotent).
pub async fn uncollect(pool: &Pool, account_id: i64, work_id: i64) -> AppResult<Work> {
    let mut conn = pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        visible_work(conn, work_id).await?;
        let removed = diesel::delete(
            collections::table
                .filter(collections::account_id.eq(account_id))
                .filter(collections::work_id.eq(work_id)),
        )
        .execute(conn)
        .await?;
        if removed > 0 {
            diesel::update(works::table.find(work_id))
                .set(works::collection_count.eq(works::collection_count - 1))
                .execute(conn)
                .await?;
        }
        Ok(store::works_by_ids(conn, &[work_id]).await?.remove(0))
    })
    .await
}
