//! Queries of the content domain.

use chrono::{DateTime, TimeZone, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::cursor::{Cursor, Order};
use super::model::{Article, Work};
use crate::db::Cached;
use crate::db::profile::{Member, PublicAccount, PublicProfile, profile_consent};
use crate::db::schema::{accounts, articles, collections, profiles, works};

/// Filters of a list of works.
#[derive(Debug, Clone, Default)]
pub struct WorkFilter {
    pub author_id: Option<i64>,
    pub tag: Option<String>,
    pub category: Option<String>,
}

pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(m: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(m).single().unwrap_or_else(Utc::now)
}

/// The sort key of a work in `order`.
pub fn work_key(w: &Work, order: Order) -> i64 {
    match order {
        Order::Newest => w.published_at.map(micros).unwrap_or(0),
        Order::MostCollected => w.collection_count,
        Order::MostViewed => w.view_count,
    }
}

/// What a page of works reads with its rows, in the same statement.
#[derive(Debug, Clone, Copy, Default)]
pub struct With {
    /// Each work's author: the public face and the owner's consent to `profile`.
    pub authors: bool,
    /// Whether this account collected each work.
    pub collected_by: Option<i64>,
}

/// One work of a page, with what [`With`] asked for.
pub struct PageRow {
    pub work: Work,
    /// When asked for: the author, or `None` when that account is not active (erased or cancelling).
    pub author: Option<Option<Member>>,
    /// When asked for: whether the account collected it.
    pub collected: Option<bool>,
}

/// A page row as the statement returns it: the work, the author's account and profile (left-joined), the
/// owner's consent to `profile`, and the collected flag.
type JoinedRow = (
    Work,
    Option<PublicAccount>,
    Option<PublicProfile>,
    bool,
    bool,
);

/// A bound boolean, as SQL (`$n`).
fn gate(flag: bool) -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql(if flag { "true" } else { "false" })
}

/// One page of published works (`limit` rows), after `after`, with their authors and the viewer's
/// collections when `with` asks for them: one statement. The author joins are gated by a literal `true` or
/// `false` (two statement texts, each prepared once), and the author's status is a literal too: with either
/// one a bound parameter, the generic plan cannot see that the join is one primary-key lookup per row, and
/// the statement ran at 0.84x the rate under pgbench.
pub async fn list_works(
    conn: &mut AsyncPgConnection,
    order: Order,
    filter: &WorkFilter,
    after: Option<Cursor>,
    limit: i64,
    with: With,
) -> QueryResult<Vec<PageRow>> {
    let collected = diesel::dsl::sql::<diesel::sql_types::Bool>(
        "EXISTS (SELECT 1 FROM collections c WHERE c.work_id = works.id AND c.account_id = ",
    )
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>, _>(with.collected_by)
    .sql(")");
    let mut q = works::table
        .left_join(
            accounts::table.on(accounts::id
                .eq(works::author_id)
                .and(diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "accounts.status = 'active'",
                ))
                .and(gate(with.authors))),
        )
        .left_join(
            profiles::table.on(profiles::account_id
                .eq(works::author_id)
                .and(gate(with.authors))),
        )
        .filter(works::published_at.is_not_null())
        .filter(works::deleted_at.is_null())
        .select((
            Work::as_select(),
            Option::<PublicAccount>::as_select(),
            Option::<PublicProfile>::as_select(),
            profile_consent(),
            collected,
        ))
        .limit(limit)
        .into_boxed();
    if let Some(a) = filter.author_id {
        q = q.filter(works::author_id.eq(a));
    }
    if let Some(t) = &filter.tag {
        q = q.filter(works::tags.contains(vec![t.clone()]));
    }
    if let Some(c) = &filter.category {
        q = q.filter(works::category.eq(c.clone()));
    }
    q = match (order, after) {
        (Order::Newest, Some(c)) => {
            let at = from_micros(c.key);
            q.filter(
                works::published_at
                    .lt(at)
                    .or(works::published_at.eq(at).and(works::id.lt(c.id))),
            )
        }
        (Order::MostCollected, Some(c)) => q.filter(
            works::collection_count
                .lt(c.key)
                .or(works::collection_count.eq(c.key).and(works::id.lt(c.id))),
        ),
        (Order::MostViewed, Some(c)) => q.filter(
            works::view_count
                .lt(c.key)
                .or(works::view_count.eq(c.key).and(works::id.lt(c.id))),
        ),
        (_, None) => q,
    };
    q = match order {
        Order::Newest => q.order((works::published_at.desc(), works::id.desc())),
        Order::MostCollected => q.order((works::collection_count.desc(), works::id.desc())),
        Order::MostViewed => q.order((works::view_count.desc(), works::id.desc())),
    };
    // The literal parts (consent, collected, the flags) are constant text: keep the statement prepared.
    let rows: Vec<JoinedRow> = Cached(q).load(conn).await?;
    Ok(rows
        .into_iter()
        .map(|(work, account, profile, consent, collected)| PageRow {
            work,
            author: with.authors.then(|| Member::of(account, profile, consent)),
            collected: with.collected_by.map(|_| collected),
        })
        .collect())
}

/// One page of published articles, newest first.
pub async fn list_articles(
    conn: &mut AsyncPgConnection,
    author_id: Option<i64>,
    tag: Option<&str>,
    after: Option<Cursor>,
    limit: i64,
) -> QueryResult<Vec<Article>> {
    let mut q = articles::table
        .filter(articles::published_at.is_not_null())
        .filter(articles::deleted_at.is_null())
        .select(Article::as_select())
        .order((articles::published_at.desc(), articles::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(a) = author_id {
        q = q.filter(articles::author_id.eq(a));
    }
    if let Some(t) = tag {
        q = q.filter(articles::tags.contains(vec![t.to_string()]));
    }
    if let Some(c) = after {
        let at = from_micros(c.key);
        q = q.filter(
            articles::published_at
                .lt(at)
                .or(articles::published_at.eq(at).and(articles::id.lt(c.id))),
        );
    }
    q.load(conn).await
}

pub async fn works_by_ids(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<Work>> {
    works::table
        .filter(works::id.eq_any(ids))
        .select(Work::as_select())
        .load(conn)
        .await
}

pub async fn articles_by_ids(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> QueryResult<Vec<Article>> {
    articles::table
        .filter(articles::id.eq_any(ids))
        .select(Article::as_select())
        .load(conn)
        .await
}

/// Which of `work_ids` the account has collected.
pub async fn collected_among(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    work_ids: &[i64],
) -> QueryResult<Vec<i64>> {
    collections::table
        .filter(collections::account_id.eq(account_id))
        .filter(collections::work_id.eq_any(work_ids))
        .select(collections::work_id)
        .load(conn)
        .await
}

/// The account's collection, most recent first: (collected at, work).
pub async fn collection_page(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    after: Option<Cursor>,
    limit: i64,
) -> QueryResult<Vec<(DateTime<Utc>, Work)>> {
    let mut q = collections::table
        .inner_join(works::table)
        .filter(collections::account_id.eq(account_id))
        .filter(works::deleted_at.is_null())
        .filter(works::published_at.is_not_null())
        .order((collections::created_at.desc(), collections::work_id.desc()))
        .select((collections::created_at, Work::as_select()))
        .limit(limit)
        .into_boxed();
    if let Some(c) = after {
        let at = from_micros(c.key);
        q = q.filter(
            collections::created_at.lt(at).or(collections::created_at
                .eq(at)
                .and(collections::work_id.lt(c.id))),
        );
    }
    q.load(conn).await
}

/// Whether `category` is one of the known categories.
pub async fn category_exists(conn: &mut AsyncPgConnection, category: &str) -> QueryResult<bool> {
    use crate::db::schema::work_categories;
    let n: i64 = work_categories::table
        .filter(work_categories::key.eq(category))
        .count()
        .get_result(conn)
        .await?;
    Ok(n > 0)
}

/// The category keys, in catalogue order.
pub async fn categories(conn: &mut AsyncPgConnection) -> QueryResult<Vec<String>> {
    use crate::db::schema::work_categories;
    work_categories::table
        .order(work_categories::position.asc())
        .select(work_categories::key)
        .load(conn)
        .await
}
