//! Images in the graph: `uploadImage` (GraphQL multipart request), and the `Image` type that uploads and the
//! images of works share (an external URL image has no id, type or size).

use async_graphql::{Context, ID, Object, SimpleObject, Upload};

use crate::graphql::ids;
use crate::graphql::viewer::Viewer;
use crate::media::{ImageRow, Media};

/// An image: an upload, or an image of a work (uploaded, or an external URL).
#[derive(SimpleObject, Clone)]
pub struct Image {
    /// The upload's id (for `imageIds` and `avatarImageId`); null for an external URL.
    pub id: Option<ID>,
    /// Where it is served: `/media/<key>` for an upload (relative to the gateway), or the external URL.
    pub url: String,
    pub width: i32,
    pub height: i32,
    /// `image/jpeg` or `image/png` for an upload; null for an external URL.
    pub content_type: Option<String>,
    /// The size in bytes of an upload.
    pub bytes: Option<i64>,
    /// Smaller renditions 320, 640 and 1280 pixels wide, those narrower than the image (never upscaled).
    pub thumbnails: Vec<Thumbnail>,
}

/// A smaller rendition of an uploaded image.
#[derive(SimpleObject, Clone)]
pub struct Thumbnail {
    pub width: i32,
    pub height: i32,
    pub url: String,
}

impl From<&ImageRow> for Image {
    fn from(row: &ImageRow) -> Image {
        crate::content::model::Image::from(row).into()
    }
}

impl From<crate::content::model::Image> for Image {
    fn from(i: crate::content::model::Image) -> Image {
        Image {
            id: i.image_id.map(|id| ids::encode("Image", id)),
            url: i.url,
            width: i.width,
            height: i.height,
            content_type: i.content_type,
            bytes: i.bytes,
            thumbnails: i
                .thumbnails
                .into_iter()
                .map(|t| Thumbnail {
                    width: t.width,
                    height: t.height,
                    url: t.url,
                })
                .collect(),
        }
    }
}

#[derive(Default)]
pub struct MediaMutation;

#[Object]
impl MediaMutation {
    /// Uploads a JPEG, PNG, WebP or GIF image (a GraphQL multipart request with a bearer token or the
    /// `GraphQL-Require-Preflight` header). It is re-encoded without its metadata (a photo's GPS position
    /// included), turned upright, and given thumbnails; attach it with `imageIds` or `avatarImageId` within
    /// 24 hours, or it is removed.
    async fn upload_image(&self, ctx: &Context<'_>, file: Upload) -> async_graphql::Result<Image> {
        let s = Viewer::from_ctx(ctx).require()?;
        let value = file.value(ctx).map_err(|_| {
            crate::error::AppError::bad_input("file", "the file part of the request is missing")
        })?;
        let row = ctx
            .data_unchecked::<Media>()
            .upload(s.account_id, value.content)
            .await?;
        Ok(Image::from(&row))
    }
}
