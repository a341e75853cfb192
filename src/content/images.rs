//! A work's images: external URLs (checked here) or the member's uploads (attached through `media`, which
//! checks they are the member's and free). Either kind, never both in one input; 1 to 20, the first the cover.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::model::Image;
use super::service::MAX_IMAGES;
use crate::db::schema::works;
use crate::error::{AppError, AppResult};

/// The work's new images: external URLs, or uploads by id (checked again when they are attached).
pub(super) enum Images {
    External(Vec<Image>),
    Uploads(Vec<i64>),
}

pub(super) fn new_images(
    external: Option<&[Image]>,
    uploads: Option<&[i64]>,
) -> AppResult<Option<Images>> {
    let given = external.filter(|e| !e.is_empty());
    if let (Some(_), Some(u)) = (given, uploads)
        && !u.is_empty()
    {
        return Err(AppError::bad_input(
            "imageIds",
            "give either images (URLs) or imageIds (uploads), not both",
        ));
    }
    if let Some(u) = uploads
        && given.is_none()
    {
        if u.is_empty() || u.len() > MAX_IMAGES {
            return Err(AppError::bad_input(
                "imageIds",
                format!("a work needs 1 to {MAX_IMAGES} images"),
            ));
        }
        if u.iter().enumerate().any(|(i, id)| u[..i].contains(id)) {
            return Err(AppError::bad_input(
                "imageIds",
                "an image may appear only once in a work",
            ));
        }
        return Ok(Some(Images::Uploads(u.to_vec())));
    }
    external
        .map(|e| images(e).map(Images::External))
        .transpose()
}

/// Writes the work's images: uploads are attached to it (and its earlier uploads not kept are removed).
pub(super) async fn set_images(
    conn: &mut AsyncPgConnection,
    account_id: i64,
    work_id: i64,
    images: Images,
) -> AppResult<()> {
    let list = match images {
        Images::External(list) => {
            crate::media::store::detach_work(conn, work_id).await?;
            list
        }
        Images::Uploads(ids) => {
            crate::media::store::attach_to_work(conn, account_id, work_id, &ids)
                .await?
                .iter()
                .map(Image::from)
                .collect()
        }
    };
    diesel::update(works::table.find(work_id))
        .set(works::images.eq(serde_json::to_value(list).expect("images serialise")))
        .execute(conn)
        .await?;
    Ok(())
}

fn images(list: &[Image]) -> AppResult<Vec<Image>> {
    if list.is_empty() || list.len() > MAX_IMAGES {
        return Err(AppError::bad_input(
            "images",
            format!("a work needs 1 to {MAX_IMAGES} images"),
        ));
    }
    for i in list {
        let lower = i.url.to_ascii_lowercase();
        let ok_scheme = lower.starts_with("https://") || lower.starts_with("http://");
        if !ok_scheme
            || i.url.len() > 512
            || i.url.chars().any(char::is_whitespace)
            || i.url.split("://").nth(1).is_none_or(str::is_empty)
        {
            return Err(AppError::bad_input(
                "images",
                "image URLs must be http:// or https:// URLs",
            ));
        }
        if !(1..=20_000).contains(&i.width) || !(1..=20_000).contains(&i.height) {
            return Err(AppError::bad_input(
                "images",
                "image width and height must be between 1 and 20000",
            ));
        }
    }
    Ok(list.to_vec())
}
