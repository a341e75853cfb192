//! Rows of the content domain.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::{articles, works};

/// One image of a work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub url: String,
    pub width: i32,
    pub height: i32,
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

    pub fn tags(&self) -> Vec<String> {
        tags(&self.tags)
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
        tags(&self.tags)
    }

    /// Whether `viewer` may see this article: published and not deleted, or the viewer's own draft.
    pub fn visible_to(&self, viewer: Option<i64>) -> bool {
        visible(self.deleted_at, self.published_at, self.author_id, viewer)
    }
}

/// A stored tag list (a PostgreSQL `text[]`, whose elements diesel reads as nullable) as the tags it holds.
fn tags(stored: &[Option<String>]) -> Vec<String> {
    stored.iter().flatten().cloned().collect()
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
