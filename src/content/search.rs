//! Search over works, articles and members: weighted search documents (title above tags above summary above
//! body), one ranked statement per page over the three `search` columns, and opaque cursors bound to the query.
//!
//! Documents hold words of Latin scripts and overlapping bigrams of CJK text ([`text::terms`]), so a
//! two-character Chinese query finds a title containing it, and longer ones match every bigram they hold.

use diesel::sql_types::{Array, BigInt, Float, SmallInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};

use super::model::{Article, Work};
use super::{store, text};
use crate::db::Cached;
use crate::error::{AppError, AppResult};

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;

/// The texts of a work or article by weight: title (A), tags (B), description or summary (C), body (D).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub title: String,
    pub tags: String,
    pub summary: String,
    pub body: String,
}

impl Document {
    /// The document of a work (it has no body: its description is the summary).
    pub fn work(w: &Work) -> Document {
        Self::new(
            &w.title,
            &w.tags(),
            w.description.as_deref().unwrap_or(""),
            "",
        )
    }

    /// The document of an article; the body is indexed as written (Markdown).
    pub fn article(a: &Article) -> Document {
        Self::new(
            &a.title,
            &a.tags(),
            a.summary.as_deref().unwrap_or(""),
            &a.body_markdown,
        )
    }

    /// Builds the search terms of each part.
    pub fn new(title: &str, tags: &[String], summary: &str, body: &str) -> Document {
        let tags = tags.iter().map(String::as_str).collect::<Vec<_>>();
        Document {
            title: text::search_document(&[title]),
            tags: text::search_document(&tags),
            summary: text::search_document(&[summary]),
            body: text::search_document(&[body]),
        }
    }
}

/// What a search hit is; the number orders equal ranks (works first, then articles, then members).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HitKind {
    User = 1,
    Article = 2,
    Work = 3,
}

impl HitKind {
    fn from_code(code: i16) -> Option<HitKind> {
        match code {
            1 => Some(HitKind::User),
            2 => Some(HitKind::Article),
            3 => Some(HitKind::Work),
            _ => None,
        }
    }
}

/// One ranked hit, before its row is loaded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub kind: HitKind,
    pub id: i64,
    pub rank: f32,
}

/// The table a document is written to.
#[derive(Debug, Clone, Copy)]
pub enum Indexed {
    Works,
    Articles,
}

/// Writes the weighted documents of `rows` (id, document) in one statement.
pub async fn write_documents(
    conn: &mut AsyncPgConnection,
    table: Indexed,
    rows: &[(i64, Document)],
) -> diesel::QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let table = match table {
        Indexed::Works => "works",
        Indexed::Articles => "articles",
    };
    let column =
        |f: fn(&Document) -> &String| rows.iter().map(|(_, d)| f(d).clone()).collect::<Vec<_>>();
    diesel::sql_query(format!(
        "UPDATE {table} t SET search = \
           setweight(to_tsvector('simple', d.a), 'A') || setweight(to_tsvector('simple', d.b), 'B') || \
           setweight(to_tsvector('simple', d.c), 'C') || setweight(to_tsvector('simple', d.d), 'D') \
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS d(id, a, b, c, d) \
         WHERE t.id = d.id"
    ))
    .bind::<Array<BigInt>, _>(rows.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(column(|d| &d.title))
    .bind::<Array<Text>, _>(column(|d| &d.tags))
    .bind::<Array<Text>, _>(column(|d| &d.summary))
    .bind::<Array<Text>, _>(column(|d| &d.body))
    .execute(conn)
    .await
}

/// Re-reads works and writes their documents.
pub async fn index_works(conn: &mut AsyncPgConnection, ids: &[i64]) -> diesel::QueryResult<usize> {
    let rows = store::works_by_ids(conn, ids).await?;
    let docs: Vec<_> = rows.iter().map(|w| (w.id, Document::work(w))).collect();
    write_documents(conn, Indexed::Works, &docs).await
}

/// Re-reads articles and writes their documents.
pub async fn index_articles(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
) -> diesel::QueryResult<usize> {
    let rows = store::articles_by_ids(conn, ids).await?;
    let docs: Vec<_> = rows.iter().map(|a| (a.id, Document::article(a))).collect();
    write_documents(conn, Indexed::Articles, &docs).await
}

/// Writes the documents of accounts (id, username): the username, at the title's weight.
pub async fn index_usernames(
    conn: &mut AsyncPgConnection,
    rows: &[(i64, String)],
) -> diesel::QueryResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    diesel::sql_query(
        "UPDATE accounts t SET search = setweight(to_tsvector('simple', d.doc), 'A') \
         FROM unnest($1::bigint[], $2::text[]) AS d(id, doc) WHERE t.id = d.id",
    )
    .bind::<Array<BigInt>, _>(rows.iter().map(|(id, _)| *id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(
        rows.iter()
            .map(|(_, u)| text::search_document(&[u]))
            .collect::<Vec<_>>(),
    )
    .execute(conn)
    .await
}

/// Checks a query and turns it into a `to_tsquery('simple', ...)` expression: blank, unsearchable (only
/// punctuation) and over-long queries are `BAD_USER_INPUT` on `query`.
pub fn prepare(query: &str) -> AppResult<String> {
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::bad_input(
            "query",
            format!("a search query may have at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    text::search_query(query)
        .ok_or_else(|| AppError::bad_input("query", "the search query has no word to search for"))
}

/// Where a page of hits ends: after this rank, kind and id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct After {
    pub rank: f32,
    pub kind: HitKind,
    pub id: i64,
}

/// A short fingerprint of the prepared query, so a cursor only continues the search it came from.
fn fingerprint(tsquery: &str) -> String {
    hex::encode(&Sha256::digest(tsquery.as_bytes())[..4])
}

/// The opaque cursor of a hit of the search `tsquery`.
pub fn encode_cursor(tsquery: &str, hit: &Hit) -> String {
    crate::graphql::cursor::encode(
        "s",
        &[
            &fingerprint(tsquery),
            &hit.rank.to_bits(),
            &(hit.kind as i16),
            &hit.id,
        ],
    )
}

/// Decodes a cursor of the search `tsquery`; anything else is `BAD_USER_INPUT` on `after`.
pub fn decode_cursor(tsquery: &str, cursor: &str) -> AppResult<After> {
    let bad = || {
        AppError::bad_input(
            "after",
            "this cursor is malformed or belongs to another search",
        )
    };
    let [print, rank, kind, id] = crate::graphql::cursor::decode(cursor, "s").ok_or_else(bad)?;
    if print != fingerprint(tsquery) {
        return Err(bad());
    }
    let rank = f32::from_bits(rank.parse().map_err(|_| bad())?);
    let kind = kind
        .parse()
        .ok()
        .and_then(HitKind::from_code)
        .ok_or_else(bad)?;
    if !rank.is_finite() {
        return Err(bad());
    }
    Ok(After {
        rank,
        kind,
        id: id.parse().map_err(|_| bad())?,
    })
}

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = SmallInt)]
    kind: i16,
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Float)]
    rank: f32,
}

const HITS: &str = "SELECT kind, id, rank FROM ( \
     SELECT 3::smallint AS kind, w.id, ts_rank_cd(w.search, q) AS rank \
       FROM works w, to_tsquery('simple', $1) q \
      WHERE w.search @@ q AND w.published_at IS NOT NULL AND w.deleted_at IS NULL \
     UNION ALL \
     SELECT 2::smallint, a.id, ts_rank_cd(a.search, q) \
       FROM articles a, to_tsquery('simple', $1) q \
      WHERE a.search @@ q AND a.published_at IS NOT NULL AND a.deleted_at IS NULL \
     UNION ALL \
     SELECT 1::smallint, u.id, ts_rank_cd(u.search, q) \
       FROM accounts u, to_tsquery('simple', $1) q \
      WHERE u.search @@ q AND u.status = 'active' \
   ) hits";

const ORDER: &str = " ORDER BY rank DESC, kind DESC, id DESC LIMIT $2";

/// One page of hits for the prepared query, best first (published, not deleted works and articles; active
/// members), in one statement.
pub async fn hits(
    conn: &mut AsyncPgConnection,
    tsquery: &str,
    after: Option<After>,
    limit: i64,
) -> diesel::QueryResult<Vec<Hit>> {
    let rows: Vec<Row> = match after {
        None => {
            // Two constant texts (first page, later pages): cached prepared statements.
            Cached(
                diesel::sql_query(format!("{HITS}{ORDER}"))
                    .bind::<Text, _>(tsquery)
                    .bind::<BigInt, _>(limit),
            )
            .load(conn)
            .await?
        }
        Some(a) => {
            Cached(
                diesel::sql_query(format!(
                    "{HITS} WHERE (rank, kind, id) < ($3, $4, $5){ORDER}"
                ))
                .bind::<Text, _>(tsquery)
                .bind::<BigInt, _>(limit)
                .bind::<Float, _>(a.rank)
                .bind::<SmallInt, _>(a.kind as i16)
                .bind::<BigInt, _>(a.id),
            )
            .load(conn)
            .await?
        }
    };
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Hit {
                kind: HitKind::from_code(r.kind)?,
                id: r.id,
                rank: r.rank,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn cursors_round_trip_and_stay_with_their_query() {
        let hit = Hit {
            kind: HitKind::Article,
            id: 7,
            rank: 0.35,
        };
        let c = encode_cursor("'lake':*", &hit);
        assert_eq!(
            decode_cursor("'lake':*", &c).unwrap(),
            After {
                rank: 0.35,
                kind: HitKind::Article,
                id: 7
            }
        );
        assert!(decode_cursor("'river':*", &c).is_err(), "another query");
        let nan =
            URL_SAFE_NO_PAD.encode(format!("s:{}:{}:1:1", fingerprint("q"), f32::NAN.to_bits()));
        for bad in [
            "",
            "!!",
            "czox",
            &URL_SAFE_NO_PAD.encode("n:1:2"),
            &nan,
            &URL_SAFE_NO_PAD.encode(format!("s:{}:0:9:1", fingerprint("q"))),
        ] {
            assert!(decode_cursor("q", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn queries_are_checked() {
        assert_eq!(prepare("Lake").unwrap(), "'lake':*");
        assert!(prepare("  ").is_err() && prepare("?!").is_err());
        assert!(prepare(&"a".repeat(MAX_QUERY_CHARS + 1)).is_err());
    }

    #[test]
    fn documents_keep_parts_apart() {
        let d = Document::new("西湖 Sketch", &["ink".into()], "A walk", "");
        assert_eq!(
            d,
            Document {
                title: "西湖 sketch".into(),
                tags: "ink".into(),
                summary: "a walk".into(),
                body: String::new()
            }
        );
    }
}

#[cfg(test)]
mod props {
    //! Property tests: search cursors round-trip for every finite rank, stay with their query, and any other
    //! input is a clean `BAD_USER_INPUT` on `after`, never a panic.

    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    fn kind() -> impl Strategy<Value = HitKind> {
        prop_oneof![
            Just(HitKind::User),
            Just(HitKind::Article),
            Just(HitKind::Work)
        ]
    }

    fn assert_clean(result: AppResult<After>) -> Result<(), TestCaseError> {
        match result {
            Ok(after) => prop_assert!(after.rank.is_finite()),
            Err(AppError::BadUserInput { field, .. }) => {
                prop_assert_eq!(field.as_deref(), Some("after"))
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn cursors_round_trip(tsquery in "\\PC{1,40}", kind in kind(), id in any::<i64>(), rank in any::<f32>()) {
            let hit = Hit { kind, id, rank };
            let cursor = encode_cursor(&tsquery, &hit);
            let decoded = decode_cursor(&tsquery, &cursor);
            if rank.is_finite() {
                let after = decoded.unwrap();
                prop_assert_eq!((after.kind, after.id), (kind, id));
                prop_assert_eq!(after.rank.to_bits(), rank.to_bits());
            } else {
                prop_assert!(decoded.is_err());
            }
        }

        #[test]
        fn cursors_stay_with_their_query(a in "[a-z]{1,12}", b in "[a-z]{1,12}", id in any::<i64>()) {
            prop_assume!(fingerprint(&a) != fingerprint(&b));
            let cursor = encode_cursor(&a, &Hit { kind: HitKind::Work, id, rank: 0.5 });
            prop_assert!(decode_cursor(&b, &cursor).is_err());
        }

        #[test]
        fn arbitrary_strings_decode_cleanly(tsquery in "\\PC{0,20}", s in any::<String>()) {
            assert_clean(decode_cursor(&tsquery, &s))?;
        }

        #[test]
        fn arbitrary_texts_behind_base64_decode_cleanly(rest in "(:[-+0-9a-zA-Z.]{0,12}){0,5}|\\PC{0,60}") {
            let text = format!("s:{}{rest}", fingerprint("q"));
            assert_clean(decode_cursor("q", &URL_SAFE_NO_PAD.encode(&text)))?;
        }
    }
}
