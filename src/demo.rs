//! `portico demo-data`: a few hundred members with English and Chinese names, cities, occupations and profiles,
//! their works (images, tags, categories) and Markdown articles, and collections between them, so GraphiQL and
//! the benchmarks have something real to show.
//!
//! Everything is written set-based in one transaction, and only what is missing: the data set is generated
//! deterministically, accounts are matched by username and works and articles by (author, title), so loading
//! twice changes nothing. Search documents are written through the content domain's indexing.

mod dataset;
mod words;

use std::collections::HashMap;

use diesel::sql_types::{Array, BigInt, Jsonb, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;

pub use dataset::{Dataset, generate};

use crate::content::{search, text};
use crate::db::Pool;

/// What a load found and added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    pub accounts: Count,
    pub works: Count,
    pub articles: Count,
    pub collections: Count,
}

/// How many demonstration rows exist after a load, and how many of them it added.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub total: usize,
    pub added: usize,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = |c: Count, what: &str| format!("{} {what} ({} new)", c.total, c.added);
        write!(
            f,
            "demonstration data: {}, {}, {}, {}",
            line(self.accounts, "accounts"),
            line(self.works, "works"),
            line(self.articles, "articles"),
            line(self.collections, "collections")
        )
    }
}

/// Loads whatever of the demonstration data is missing, in one transaction, and reports what is there.
pub async fn load(pool: &Pool) -> anyhow::Result<Report> {
    let data = generate();
    let mut conn = pool.get().await?;
    let report = conn
        .transaction::<_, anyhow::Error, _>(async |conn| load_in(conn, &data).await)
        .await?;
    // Fresh statistics for the planner: a bulk load outruns autovacuum (or meets it turned off), and a
    // feed planned against empty-table estimates joins its authors by scanning every account.
    diesel::sql_query("ANALYZE").execute(&mut conn).await?;
    Ok(report)
}

#[derive(diesel::QueryableByName)]
struct Keyed {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    key: String,
}

#[derive(diesel::QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn load_in(conn: &mut AsyncPgConnection, data: &Dataset) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let users: Vec<_> = data.users.iter().map(|u| json!(u)).collect();
    report.accounts.added = diesel::sql_query(
        "INSERT INTO accounts (username, gender, occupation, city, adult_confirmed_at, created_at) \
         SELECT d.username, d.gender, d.occupation, d.city, now(), now() - make_interval(days => d.joined_days_ago) \
         FROM jsonb_to_recordset($1) AS d(username text, gender text, occupation text, city text, joined_days_ago int) \
         ON CONFLICT ((lower(username))) DO NOTHING",
    )
    .bind::<Jsonb, _>(json!(users))
    .execute(conn)
    .await?;
    let rows: Vec<Keyed> = diesel::sql_query(
        "SELECT a.id, lower(a.username) AS key FROM accounts a WHERE lower(a.username) = ANY($1)",
    )
    .bind::<Array<Text>, _>(
        data.users
            .iter()
            .map(|u| u.username.to_lowercase())
            .collect::<Vec<_>>(),
    )
    .load(conn)
    .await?;
    let by_name: HashMap<String, i64> = rows.into_iter().map(|r| (r.key, r.id)).collect();
    let account_ids: Vec<i64> = data
        .users
        .iter()
        .map(|u| by_name[&u.username.to_lowercase()])
        .collect();
    report.accounts.total = account_ids.len();
    profiles_and_consents(conn, data, &account_ids).await?;
    let usernames: Vec<_> = data
        .users
        .iter()
        .zip(&account_ids)
        .map(|(u, id)| (*id, u.username.clone()))
        .collect();
    search::index_usernames(conn, &usernames).await?;

    let work_ids = works(conn, data, &account_ids, &mut report.works).await?;
    articles(conn, data, &account_ids, &mut report.articles).await?;
    collections(conn, data, &account_ids, &work_ids, &mut report.collections).await?;
    Ok(report)
}

async fn profiles_and_consents(
    conn: &mut AsyncPgConnection,
    data: &Dataset,
    ids: &[i64],
) -> anyhow::Result<()> {
    let rows: Vec<_> = data
        .users
        .iter()
        .zip(ids)
        .map(|(u, id)| json!({ "account_id": id, "avatar_url": u.avatar_url, "hometown": u.hometown,
            "signature": u.signature, "bio": u.bio, "link": u.link, "equipment": u.equipment, "labels": u.labels,
            "consents": u.consents }))
        .collect();
    diesel::sql_query(
        "INSERT INTO profiles (account_id, avatar_url, hometown, signature, bio, link, equipment, labels) \
         SELECT d.account_id, d.avatar_url, d.hometown, d.signature, d.bio, d.link, d.equipment, d.labels \
         FROM jsonb_to_recordset($1) AS d(account_id bigint, avatar_url text, hometown text, signature text, \
              bio text, link text, equipment text, labels text[]) \
         ON CONFLICT (account_id) DO NOTHING",
    )
    .bind::<Jsonb, _>(json!(rows))
    .execute(conn)
    .await?;
    // The consents a member gives at registration (required ones, and some optional ones).
    diesel::sql_query(
        "INSERT INTO consent_records (account_id, purpose, policy_version_id, granted, method) \
         SELECT d.account_id, p.purpose, v.id, true, 'demo-data' \
         FROM jsonb_to_recordset($1) AS d(account_id bigint, consents text[]) \
         CROSS JOIN LATERAL unnest(d.consents) AS p(purpose) \
         CROSS JOIN (SELECT id FROM policy_versions ORDER BY published_at DESC, id DESC LIMIT 1) v \
         WHERE NOT EXISTS (SELECT 1 FROM consent_records c WHERE c.account_id = d.account_id AND c.purpose = p.purpose)",
    )
    .bind::<Jsonb, _>(json!(rows))
    .execute(conn)
    .await?;
    Ok(())
}

/// The demonstration works by (author id, title), once inserted.
async fn works(
    conn: &mut AsyncPgConnection,
    data: &Dataset,
    ids: &[i64],
    count: &mut Count,
) -> anyhow::Result<HashMap<(i64, String), i64>> {
    let rows: Vec<_> = data
        .works
        .iter()
        .map(|w| {
            let mut row = json!(w);
            row["author_id"] = json!(ids[w.author]);
            row
        })
        .collect();
    count.added = diesel::sql_query(
        "INSERT INTO works (author_id, title, description, category, images, tags, draft, published_at, created_at, updated_at, view_count) \
         SELECT d.author_id, d.title, d.description, d.category, d.images, d.tags, d.draft, \
                CASE WHEN d.draft THEN NULL ELSE now() - make_interval(mins => d.minutes_ago) END, \
                now() - make_interval(mins => d.minutes_ago), now() - make_interval(mins => d.minutes_ago), d.view_count \
         FROM jsonb_to_recordset($1) AS d(author_id bigint, title text, description text, category text, images jsonb, \
              tags text[], draft boolean, minutes_ago int, view_count bigint) \
         WHERE NOT EXISTS (SELECT 1 FROM works w WHERE w.author_id = d.author_id AND w.title = d.title)",
    )
    .bind::<Jsonb, _>(json!(rows))
    .execute(conn)
    .await?;
    let keyed = keyed(
        conn,
        "works",
        data.works.iter().map(|w| (ids[w.author], w.title.clone())),
    )
    .await?;
    count.total = keyed.len();
    search::index_works(conn, &keyed.values().copied().collect::<Vec<_>>()).await?;
    Ok(keyed)
}

async fn articles(
    conn: &mut AsyncPgConnection,
    data: &Dataset,
    ids: &[i64],
    count: &mut Count,
) -> anyhow::Result<()> {
    let rows: Vec<_> = data
        .articles
        .iter()
        .map(|a| {
            json!({ "author_id": ids[a.author], "title": a.title, "summary": a.summary, "body": a.body,
                "html": text::render_markdown(&a.body), "tags": a.tags, "minutes_ago": a.minutes_ago,
                "view_count": a.view_count })
        })
        .collect();
    count.added = diesel::sql_query(
        "INSERT INTO articles (author_id, title, summary, body_markdown, body_html, tags, published_at, created_at, updated_at, view_count) \
         SELECT d.author_id, d.title, d.summary, d.body, d.html, d.tags, now() - make_interval(mins => d.minutes_ago), \
                now() - make_interval(mins => d.minutes_ago), now() - make_interval(mins => d.minutes_ago), d.view_count \
         FROM jsonb_to_recordset($1) AS d(author_id bigint, title text, summary text, body text, html text, tags text[], \
              minutes_ago int, view_count bigint) \
         WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.author_id = d.author_id AND a.title = d.title)",
    )
    .bind::<Jsonb, _>(json!(rows))
    .execute(conn)
    .await?;
    let keyed = keyed(
        conn,
        "articles",
        data.articles
            .iter()
            .map(|a| (ids[a.author], a.title.clone())),
    )
    .await?;
    count.total = keyed.len();
    search::index_articles(conn, &keyed.values().copied().collect::<Vec<_>>()).await?;
    Ok(())
}

/// Ids of rows of `table` (works or articles) by (author id, title).
async fn keyed(
    conn: &mut AsyncPgConnection,
    table: &str,
    keys: impl Iterator<Item = (i64, String)>,
) -> anyhow::Result<HashMap<(i64, String), i64>> {
    let (authors, titles): (Vec<i64>, Vec<String>) = keys.unzip();
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = BigInt)]
        author_id: i64,
        #[diesel(sql_type = Text)]
        title: String,
    }
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT DISTINCT ON (t.author_id, t.title) t.id, t.author_id, t.title \
         FROM {table} t JOIN unnest($1::bigint[], $2::text[]) AS k(author_id, title) \
           ON t.author_id = k.author_id AND t.title = k.title ORDER BY t.author_id, t.title, t.id"
    ))
    .bind::<Array<BigInt>, _>(authors)
    .bind::<Array<Text>, _>(titles)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ((r.author_id, r.title), r.id))
        .collect())
}

async fn collections(
    conn: &mut AsyncPgConnection,
    data: &Dataset,
    ids: &[i64],
    work_ids: &HashMap<(i64, String), i64>,
    count: &mut Count,
) -> anyhow::Result<()> {
    let (collectors, works): (Vec<i64>, Vec<i64>) = data
        .collections
        .iter()
        .filter_map(|(c, w)| {
            let work = &data.works[*w];
            Some((
                ids[*c],
                *work_ids.get(&(ids[work.author], work.title.clone()))?,
            ))
        })
        .unzip();
    count.added = diesel::sql_query(
        "INSERT INTO collections (account_id, work_id, created_at) \
         SELECT k.account_id, k.work_id, greatest(w.published_at, now() - make_interval(hours => (k.work_id % 500)::int)) \
         FROM unnest($1::bigint[], $2::bigint[]) AS k(account_id, work_id) \
         JOIN works w ON w.id = k.work_id AND w.published_at IS NOT NULL AND w.deleted_at IS NULL \
         ON CONFLICT DO NOTHING",
    )
    .bind::<Array<BigInt>, _>(&collectors)
    .bind::<Array<BigInt>, _>(&works)
    .execute(conn)
    .await?;
    let total: Total = diesel::sql_query(
        "SELECT count(*) AS n FROM collections c JOIN unnest($1::bigint[], $2::bigint[]) AS k(account_id, work_id) \
           ON c.account_id = k.account_id AND c.work_id = k.work_id",
    )
    .bind::<Array<BigInt>, _>(&collectors)
    .bind::<Array<BigInt>, _>(&works)
    .get_result(conn)
    .await?;
    count.total = total.n as usize;
    // Keep every demonstration work's counter equal to its collections.
    diesel::sql_query(
        "UPDATE works w SET collection_count = c.n \
         FROM (SELECT w2.id, count(c.work_id) AS n FROM works w2 LEFT JOIN collections c ON c.work_id = w2.id \
               WHERE w2.author_id = ANY($1) GROUP BY w2.id) c \
         WHERE w.id = c.id AND w.collection_count <> c.n",
    )
    .bind::<Array<BigInt>, _>(ids)
    .execute(conn)
    .await?;
    Ok(())
}
