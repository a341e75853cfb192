//! The content domain's part of erasing an account, inside the caller's transaction: the account's collections
//! go (with the counts they added), and its works and articles are removed or kept anonymously as the member
//! chose. Removal is a soft delete that also clears every text, image and tag, so nothing the member wrote stays
//! in the row; kept pieces stay published, and their author resolves to null once the account is erased.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::works;
use crate::error::AppResult;

/// The title a removed work or article keeps (the column requires one).
pub const REMOVED_TITLE: &str = "(deleted)";

/// What happens to an erased account's works and articles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthoredContent {
    /// Removed: soft-deleted, with their texts, images and tags cleared.
    Delete,
    /// Published pieces stay, without an author; drafts and pieces deleted earlier are cleared all the same.
    Anonymise,
}

/// What [`erase_author`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    pub collections: usize,
    pub works_removed: usize,
    pub articles_removed: usize,
}

/// Erases what the content domain holds of `account_id`, in the caller's transaction.
pub async fn erase_author(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    content: AuthoredContent,
) -> AppResult<Erased> {
    diesel::sql_query(
        "UPDATE works w SET collection_count = greatest(w.collection_count - 1, 0) \
         FROM collections c WHERE c.account_id = $1 AND c.work_id = w.id",
    )
    .bind::<BigInt, _>(account_id)
    .execute(conn)
    .await?;
    let collections = diesel::sql_query("DELETE FROM collections WHERE account_id = $1")
        .bind::<BigInt, _>(account_id)
        .execute(conn)
        .await?;
    let remove_published = content == AuthoredContent::Delete;
    let works_removed = diesel::sql_query(
        "UPDATE works SET deleted_at = coalesce(deleted_at, now()), title = $3, description = NULL, \
           images = '[]'::jsonb, tags = '{}', search = ''::tsvector, updated_at = now() \
         WHERE author_id = $1 AND ($2 OR published_at IS NULL OR deleted_at IS NOT NULL)",
    )
    .bind::<BigInt, _>(account_id)
    .bind::<Bool, _>(remove_published)
    .bind::<diesel::sql_types::Text, _>(REMOVED_TITLE)
    .execute(conn)
    .await?;
    // Uploads go with the works that were removed, and so do the avatar and those attached to nothing; a
    // kept work keeps its pictures. (The trigger queues their objects; the media job deletes them.)
    let kept: Vec<i64> = works::table
        .filter(works::author_id.eq(account_id))
        .filter(works::deleted_at.is_null())
        .select(works::id)
        .load(conn)
        .await?;
    crate::media::store::remove_owner_except(conn, account_id, &kept).await?;
    let articles_removed = diesel::sql_query(
        "UPDATE articles SET deleted_at = coalesce(deleted_at, now()), title = $3, summary = NULL, \
           body_markdown = '', body_html = '', tags = '{}', search = ''::tsvector, updated_at = now() \
         WHERE author_id = $1 AND ($2 OR published_at IS NULL OR deleted_at IS NOT NULL)",
    )
    .bind::<BigInt, _>(account_id)
    .bind::<Bool, _>(remove_published)
    .bind::<diesel::sql_types::Text, _>(REMOVED_TITLE)
    .execute(conn)
    .await?;
    Ok(Erased {
        collections,
        works_removed,
        articles_removed,
    })
}
