//! `search(query:)`: one ranked statement for the page, then the hits hydrated through the request's
//! dataloaders (one statement per kind present), so a page costs at most four statements whatever its length.

use std::collections::HashMap;

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Object, Union};

use super::work::{ArticleNode, WorkNode};
use crate::accounts::loaders::Users;
use crate::content::loaders::{Articles, Works};
use crate::content::search::{self, Hit, HitKind};
use crate::error::{AppError, AppResult};
use crate::graphql::pool;
use crate::schema::accounts::User;

/// Something a search found: a published work, a published article or a member.
#[derive(Union)]
pub enum SearchResult {
    Work(WorkNode),
    Article(ArticleNode),
    User(User),
}

/// A page of search results, best match first.
pub type SearchConnection = Connection<String, SearchResult, EmptyFields, EmptyFields>;

#[derive(Default)]
pub struct SearchQuery;

/// Search, for visitors and members alike.
#[Object]
impl SearchQuery {
    /// Published works, published articles and members matching every word of `query` (the last word also as
    /// a prefix; Chinese text matches by substring), best match first: a match in a title or username ranks
    /// above one in tags, a summary or a body.
    #[graphql(complexity = "crate::graphql::page_cost(first, child_complexity)")]
    async fn search(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The words to look for; 1 to 200 characters with at least one letter or digit."
        )]
        query: String,
        #[graphql(desc = "At most 100; 20 when absent.")] first: Option<i32>,
        #[graphql(desc = "The `endCursor` of the previous page of the same search.")] after: Option<
            String,
        >,
    ) -> async_graphql::Result<SearchConnection> {
        Ok(search_page(ctx, &query, first, after).await?)
    }
}

async fn search_page(
    ctx: &Context<'_>,
    query: &str,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<SearchConnection> {
    let tsquery = search::prepare(query)?;
    let limit = crate::graphql::page_size(first)?;
    let after = after
        .map(|c| search::decode_cursor(&tsquery, &c))
        .transpose()?;
    let mut conn = pool(ctx).get().await?;
    let mut hits = search::hits(&mut conn, &tsquery, after, limit + 1).await?;
    drop(conn);
    let has_next = hits.len() as i64 > limit;
    hits.truncate(limit as usize);
    let mut nodes = hydrate(ctx, &hits).await?;
    let mut connection = Connection::new(after.is_some(), has_next);
    connection.edges.extend(hits.iter().filter_map(|hit| {
        let node = nodes.remove(&(hit.kind, hit.id))?;
        Some(Edge::new(search::encode_cursor(&tsquery, hit), node))
    }));
    Ok(connection)
}

/// Loads every hit through the dataloaders, the three kinds concurrently; a row that disappeared (or was
/// unpublished) since the ranking is left out.
async fn hydrate(
    ctx: &Context<'_>,
    hits: &[Hit],
) -> AppResult<HashMap<(HitKind, i64), SearchResult>> {
    let ids = |kind| {
        hits.iter()
            .filter(|h| h.kind == kind)
            .map(|h| h.id)
            .collect::<Vec<_>>()
    };
    let (works, articles, users) = futures_util::join!(
        ctx.data_unchecked::<Works>().load_many(ids(HitKind::Work)),
        ctx.data_unchecked::<Articles>()
            .load_many(ids(HitKind::Article)),
        ctx.data_unchecked::<Users>().load_many(ids(HitKind::User)),
    );
    let mut out = HashMap::with_capacity(hits.len());
    for (id, w) in works.map_err(AppError::from)? {
        if w.visible_to(None) {
            out.insert((HitKind::Work, id), SearchResult::Work(WorkNode::of(w)));
        }
    }
    for (id, a) in articles.map_err(AppError::from)? {
        if a.visible_to(None) {
            out.insert(
                (HitKind::Article, id),
                SearchResult::Article(ArticleNode::of(a)),
            );
        }
    }
    for (id, u) in users.map_err(AppError::from)? {
        out.insert((HitKind::User, id), SearchResult::User(User(u)));
    }
    Ok(out)
}
