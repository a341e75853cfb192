//! Rows of the content domain.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::{articles, works};

/// One image of a work, as kept in `works.images`: an external URL, or an upload (its id, type, size and
/// thumbnails copied in when it is attached, so a page of works reads no other table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    pub url: String,
    pub width: i32,
    pub height: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thumbnails: Vec<Thumbnail>,
}

/// A thumbnail of an uploaded image of a work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thumbnail {
    pub url: String,
    pub width: i32,
    pub height: i32,
}

impl Image {
    /// An external image (a URL the member gave).
    pub fn external(url: String, width: i32, height: i32) -> Image {
        Image {
            url,
            width,
            height,
            image_id: None,
            content_type: None,
            bytes: None,
            thumbnails: Vec::new(),
        }
    }
}

impl From<&crate::media::ImageRow> for Image {
    fn from(row: &crate::media::ImageRow) -> Image {
        Image {
            url: row.url(),
            width: row.width,
            height: row.height,
            image_id: Some(row.id),
            content_type: Some(row.content_type.clone()),
            bytes: Some(row.bytes),
            thumbnails: row
                .thumbnails()
                .into_iter()
                .map(|t| Thumbnail {
                    url: crate::media::url(&t.key),
                    width: t.width,
                    height: t.height,
                })
                .collect(),
        }
    }
}

/// A work (illustration, photograph, ...) as stored.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = works)]
pub struct Work {
    pub id: i64,
    pub author_id: i64,
    pub title: String,
    pub description: Option<String>,
    pub category: String,
    pub images: serde_json::Value,
    pub tags: Vec<Option<String>>,
    pub draft: bool,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub view_count: i64,
    pub collection_count: i64,
}

impl Work {
    pub fn images(&self) -> Vec<Image> {
        serde_json::from_value(self.images.clone()).unwrap_or_default()
    }

    /// The first image's URL, read from the stored list without decoding it.
    pub fn cover_url(&self) -> Option<&str> {
        self.images.get(0)?.get("url")?.as_str()
    }

    pub fn tags(&self) -> Vec<String> {
        crate::db::listed(&self.tags)
    }

    /// Whether `viewer` may see this work: published and not deleted, or the viewer's own draft.
    pub fn visible_to(&self, viewer: Option<i64>) -> bool {
        visible(self.deleted_at, self.published_at, self.author_id, viewer)
    }
}

/// An article as stored.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = articles)]
pub struct Article {
    pub id: i64,
    pub author_id: i64,
    pub title: String,
    pub summary: Option<String>,
    pub body_markdown: String,
    pub body_html: String,
    pub tags: Vec<Option<String>>,
    pub draft: bool,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub view_count: i64,
}

impl Article {
    pub fn tags(&self) -> Vec<String> {
        crate::db::listed(&self.tags)
    }

    /// Whether `viewer` may see this article: published and not deleted, or the viewer's own draft.
    pub fn visible_to(&self, viewer: Option<i64>) -> bool {
        visible(self.deleted_at, self.published_at, self.author_id, viewer)
    }
}

/// The visibility rule works and articles share: published and not deleted, or the viewer's own draft.
fn visible(
    deleted_at: Option<DateTime<Utc>>,
    published_at: Option<DateTime<Utc>>,
    author_id: i64,
    viewer: Option<i64>,
) -> bool {
    deleted_at.is_none() && (published_at.is_some() || viewer == Some(author_id))
}
