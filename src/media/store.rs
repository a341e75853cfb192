//! The `images` rows: who uploaded what, and what it illustrates (a work, in order, or the avatar). Deleting a
//! row queues its objects in `media_orphans` (a trigger, in the same transaction); the janitor deletes them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

use crate::db::schema::{images, media_orphans};
use crate::error::{AppError, AppResult};

/// One upload as stored.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = images)]
pub struct ImageRow {
    pub id: i64,
    pub owner_id: i64,
    pub key: String,
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    pub thumbnails: serde_json::Value,
    pub work_id: Option<i64>,
    pub position: Option<i32>,
    pub avatar: bool,
    pub created_at: DateTime<Utc>,
}

/// One smaller rendition, as kept in `images.thumbnails`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thumbnail {
    pub width: i32,
    pub height: i32,
    pub key: String,
    pub bytes: i64,
}

impl ImageRow {
    pub fn url(&self) -> String {
        super::url(&self.key)
    }

    pub fn thumbnails(&self) -> Vec<Thumbnail> {
        serde_json::from_value(self.thumbnails.clone()).unwrap_or_default()
    }
}

/// A new row.
pub struct NewImage<'a> {
    pub owner_id: i64,
    pub key: &'a str,
    pub content_type: &'a str,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    pub thumbnails: &'a [Thumbnail],
}

/// Holds the key's lock until the transaction ends: an upload of the key and the removal of its objects never
/// overlap, so the janitor cannot delete objects a new row is about to use.
pub async fn lock_key(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7001))")
        .bind::<Text, _>(key)
        .execute(conn)
        .await
        .map(drop)
}

/// Whether any row holds `key`.
pub async fn key_in_use(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        images::table.filter(images::key.eq(key)),
    ))
    .get_result(conn)
    .await
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewImage<'_>) -> QueryResult<ImageRow> {
    let row = diesel::insert_into(images::table)
        .values((
            images::owner_id.eq(new.owner_id),
            images::key.eq(new.key),
            images::content_type.eq(new.content_type),
            images::width.eq(new.width),
            images::height.eq(new.height),
            images::bytes.eq(new.bytes),
            images::thumbnails
                .eq(serde_json::to_value(new.thumbnails).expect("thumbnails serialise")),
        ))
        .returning(ImageRow::as_returning())
        .get_result(conn)
        .await?;
    // The key is in use again: its objects must stay.
    diesel::delete(media_orphans::table.find(new.key))
        .execute(conn)
        .await?;
    Ok(row)
}

/// Makes `ids` (in this order) the uploaded images of `work_id`: each must be the owner's and free (not the
/// avatar, not another work's). The work's earlier uploads that are not in the list are removed.
pub async fn attach_to_work(
    conn: &mut AsyncPgConnection,
    owner_id: i64,
    work_id: i64,
    ids: &[i64],
) -> AppResult<Vec<ImageRow>> {
    diesel::delete(
        images::table
            .filter(images::work_id.eq(work_id))
            .filter(images::id.ne_all(ids)),
    )
    .execute(conn)
    .await?;
    let rows: Vec<ImageRow> = diesel::sql_query(
        "UPDATE images i SET work_id = $2, position = u.n::int \
         FROM unnest($3::bigint[]) WITH ORDINALITY AS u(id, n) \
         WHERE i.id = u.id AND i.owner_id = $1 AND NOT i.avatar AND (i.work_id IS NULL OR i.work_id = $2) \
         RETURNING i.*",
    )
    .bind::<BigInt, _>(owner_id)
    .bind::<BigInt, _>(work_id)
    .bind::<Array<BigInt>, _>(ids)
    .load(conn)
    .await?;
    if rows.len() != ids.len() {
        return Err(not_yours("imageIds"));
    }
    let mut rows = rows;
    rows.sort_by_key(|r| r.position);
    Ok(rows)
}

/// Removes every upload attached to `work_id` (the work was deleted, or now shows other images).
pub async fn detach_work(conn: &mut AsyncPgConnection, work_id: i64) -> QueryResult<usize> {
    diesel::delete(images::table.filter(images::work_id.eq(work_id)))
        .execute(conn)
        .await
}

/// Makes upload `id` the owner's avatar; the previous avatar upload is removed.
pub async fn attach_avatar(
    conn: &mut AsyncPgConnection,
    owner_id: i64,
    id: i64,
) -> AppResult<ImageRow> {
    diesel::delete(
        images::table
            .filter(images::owner_id.eq(owner_id))
            .filter(images::avatar)
            .filter(images::id.ne(id)),
    )
    .execute(conn)
    .await?;
    diesel::update(
        images::table
            .find(id)
            .filter(images::owner_id.eq(owner_id))
            .filter(images::work_id.is_null()),
    )
    .set(images::avatar.eq(true))
    .returning(ImageRow::as_returning())
    .get_result(conn)
    .await
    .optional()?
    .ok_or_else(|| not_yours("avatarImageId"))
}

/// Removes the owner's avatar upload (the avatar was changed to a URL, or cleared).
pub async fn detach_avatar(conn: &mut AsyncPgConnection, owner_id: i64) -> QueryResult<usize> {
    diesel::delete(
        images::table
            .filter(images::owner_id.eq(owner_id))
            .filter(images::avatar),
    )
    .execute(conn)
    .await
}

/// Removes every upload of an account but those of the works in `kept` (erasure, when the member chose to
/// leave published works up without an author).
pub async fn remove_owner_except(
    conn: &mut AsyncPgConnection,
    owner_id: i64,
    kept: &[i64],
) -> QueryResult<usize> {
    diesel::delete(
        images::table.filter(images::owner_id.eq(owner_id)).filter(
            images::work_id
                .is_null()
                .or(images::work_id.assume_not_null().ne_all(kept)),
        ),
    )
    .execute(conn)
    .await
}

/// The account's uploads, oldest first (the data export).
pub async fn of_owner(conn: &mut AsyncPgConnection, owner_id: i64) -> QueryResult<Vec<ImageRow>> {
    images::table
        .filter(images::owner_id.eq(owner_id))
        .order(images::id)
        .select(ImageRow::as_select())
        .load(conn)
        .await
}

/// Removes uploads attached to nothing that were made before `before`.
pub async fn expire_unattached(
    conn: &mut AsyncPgConnection,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(
        images::table
            .filter(images::work_id.is_null())
            .filter(images::avatar.eq(false))
            .filter(images::created_at.lt(before)),
    )
    .execute(conn)
    .await
}

/// Up to `limit` queued orphans: (key, every object of it).
pub async fn orphans(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> QueryResult<Vec<(String, Vec<String>)>> {
    media_orphans::table
        .order(media_orphans::queued_at)
        .select((media_orphans::key, media_orphans::objects))
        .limit(limit)
        .load(conn)
        .await
}

pub async fn forget_orphan(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<()> {
    diesel::delete(media_orphans::table.find(key))
        .execute(conn)
        .await
        .map(drop)
}

fn not_yours(field: &str) -> AppError {
    AppError::bad_input(
        field,
        "each image must be one of your own uploads that no other work or avatar uses",
    )
}
