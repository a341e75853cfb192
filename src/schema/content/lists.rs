//! Relay connections of works, articles and collections, with keyset cursors.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum};

use super::work::{ArticleNode, WorkNode};
use crate::accounts::loaders::Users;
use crate::content::cursor::{self, Order};
use crate::content::loaders::Collected;
use crate::content::model::Work;
use crate::content::store::{self, WorkFilter};
use crate::error::{AppError, AppResult};
use crate::graphql::pool;
use crate::schema::accounts::User;

pub type WorkConnection = Connection<String, WorkNode, EmptyFields, EmptyFields>;
pub type ArticleConnection = Connection<String, ArticleNode, EmptyFields, EmptyFields>;

/// How a list of works is ordered.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum WorkOrder {
    /// Most recently published first.
    #[default]
    Newest,
    MostCollected,
    MostViewed,
}

impl From<WorkOrder> for Order {
    fn from(o: WorkOrder) -> Order {
        match o {
            WorkOrder::Newest => Order::Newest,
            WorkOrder::MostCollected => Order::MostCollected,
            WorkOrder::MostViewed => Order::MostViewed,
        }
    }
}

/// Loads, in one batch each, what the page's nodes will ask for (authors, viewer-collected flags), so the
/// fields resolve from the request's loader cache.
async fn prefetch_works(ctx: &Context<'_>, rows: &[Work]) -> AppResult<()> {
    let node = ctx.look_ahead().field("edges").field("node");
    let authors = async {
        if node.field("author").exists() {
            let ids: Vec<i64> = rows.iter().map(|w| w.author_id).collect();
            ctx.data_unchecked::<Users>()
                .load_many(ids)
                .await
                .map(|_| ())
                .map_err(|e| e.as_ref().clone_internal())
        } else {
            Ok(())
        }
    };
    let collected = async {
        match ctx.data_opt::<Collected>() {
            Some(loader) if node.field("viewerHasCollected").exists() => loader
                .load_many(rows.iter().map(|w| w.id))
                .await
                .map(|_| ())
                .map_err(|e| e.as_ref().clone_internal()),
            _ => Ok(()),
        }
    };
    futures_util::try_join!(authors, collected)?;
    Ok(())
}

async fn prefetch_authors(ctx: &Context<'_>, authors: Vec<i64>) -> AppResult<()> {
    if ctx
        .look_ahead()
        .field("edges")
        .field("node")
        .field("author")
        .exists()
    {
        ctx.data_unchecked::<Users>()
            .load_many(authors)
            .await
            .map_err(|e| e.as_ref().clone_internal())?;
    }
    Ok(())
}

/// A page of published works.
pub async fn works(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    order: WorkOrder,
    filter: WorkFilter,
) -> AppResult<WorkConnection> {
    let order: Order = order.into();
    let limit = crate::graphql::page_size(first)?;
    let after = after.map(|c| cursor::decode(order, &c)).transpose()?;
    // The page reads its authors and the viewer's collections in its own statement when they are asked for.
    let node = ctx.look_ahead().field("edges").field("node");
    let with = store::With {
        authors: node.field("author").exists(),
        collected_by: ctx
            .data_opt::<Collected>()
            .filter(|_| node.field("viewerHasCollected").exists())
            .map(|loader| loader.loader().account_id),
    };
    let mut conn = pool(ctx).get().await?;
    let mut rows = store::list_works(&mut conn, order, &filter, after, limit + 1, with).await?;
    drop(conn);
    let has_next = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let mut connection = Connection::new(after.is_some(), has_next);
    connection.edges.extend(rows.into_iter().map(|row| {
        let c = cursor::encode(order, store::work_key(&row.work, order), row.work.id);
        let author = row.author.map(|a| a.map(|m| User(Arc::new(m))));
        Edge::new(
            c,
            WorkNode::read_with(Arc::new(row.work), author, row.collected),
        )
    }));
    Ok(connection)
}

/// A page of published articles, newest first.
pub async fn articles(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    author_id: Option<i64>,
    tag: Option<String>,
) -> AppResult<ArticleConnection> {
    let limit = crate::graphql::page_size(first)?;
    let after = after
        .map(|c| cursor::decode(Order::Newest, &c))
        .transpose()?;
    let mut conn = pool(ctx).get().await?;
    let mut rows =
        store::list_articles(&mut conn, author_id, tag.as_deref(), after, limit + 1).await?;
    drop(conn);
    let has_next = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    prefetch_authors(ctx, rows.iter().map(|a| a.author_id).collect()).await?;
    let mut connection = Connection::new(after.is_some(), has_next);
    connection.edges.extend(rows.into_iter().map(|a| {
        let c = cursor::encode(
            Order::Newest,
            a.published_at.map(store::micros).unwrap_or(0),
            a.id,
        );
        Edge::new(c, ArticleNode::of(Arc::new(a)))
    }));
    Ok(connection)
}

/// The account's collected works, most recently collected first.
pub async fn collections(
    ctx: &Context<'_>,
    account_id: i64,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<WorkConnection> {
    let limit = crate::graphql::page_size(first)?;
    let after = after
        .map(|c| cursor::decode(Order::Newest, &c))
        .transpose()?;
    let mut conn = pool(ctx).get().await?;
    let mut rows = store::collection_page(&mut conn, account_id, after, limit + 1).await?;
    drop(conn);
    let has_next = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let works: Vec<Work> = rows.iter().map(|(_, w)| w.clone()).collect();
    prefetch_works(ctx, &works).await?;
    let mut connection = Connection::new(after.is_some(), has_next);
    connection.edges.extend(rows.into_iter().map(|(at, w)| {
        Edge::new(
            cursor::encode(Order::Newest, store::micros(at), w.id),
            WorkNode::of(Arc::new(w)),
        )
    }));
    Ok(connection)
}

/// Resolves an author filter given as a `User` global id.
pub fn author_filter(author: Option<&async_graphql::ID>) -> AppResult<Option<i64>> {
    match author {
        None => Ok(None),
        Some(id) => crate::graphql::ids::decode_i64(id, "User", "author")
            .map(Some)
            .map_err(|e| match e {
                AppError::NotFound(_) => AppError::bad_input("author", "author must be a User id"),
                other => other,
            }),
    }
}
