//! Turning uploaded bytes into what we publish: the format recognised from the bytes (never the name or the
//! declared type), the size checked from the header before anything is decoded (a decompression bomb is refused
//! unopened), the EXIF orientation applied, and the pixels re-encoded, so no metadata block of the original
//! (EXIF with its GPS position, XMP, maker notes, comments, ICC profiles) survives. Thumbnails 320, 640 and 1280
//! pixels wide, never upscaled. CPU-bound: callers run it on the blocking pool ([`super::Media::upload`]).

use std::io::Cursor;

use image::codecs::png::PngEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

/// The widest image we decode, in pixels (width × height).
pub const MAX_PIXELS: u64 = 40_000_000;
/// The thumbnail widths, smallest first.
pub const THUMBNAIL_WIDTHS: [u32; 3] = [320, 640, 1280];
const JPEG_QUALITY: u8 = 85;

/// Why an upload is not an image we take; the message is for the member.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the file is not a JPEG, PNG, WebP or GIF image")]
    NotAnImage,
    #[error("the image is {width} × {height} pixels; at most 40 megapixels are accepted")]
    TooLarge { width: u32, height: u32 },
    #[error("the image is damaged or truncated and cannot be read")]
    Damaged,
}

/// One encoded rendition.
#[derive(Debug, Clone)]
pub struct Rendition {
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

/// The processed image: the full-size rendition, its thumbnails, and the format they are encoded in.
#[derive(Debug, Clone)]
pub struct Processed {
    pub full: Rendition,
    pub thumbnails: Vec<Rendition>,
    pub output: Output,
}

/// What we encode to: photographs (JPEG sources) stay JPEG; everything else becomes PNG, which keeps
/// transparency and loses nothing (a GIF keeps its first frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Jpeg,
    Png,
}

impl Output {
    pub fn content_type(self) -> &'static str {
        match self {
            Output::Jpeg => "image/jpeg",
            Output::Png => "image/png",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Output::Jpeg => "jpg",
            Output::Png => "png",
        }
    }
}

/// The accepted input format, recognised from the first bytes.
pub fn sniff(bytes: &[u8]) -> Result<ImageFormat, Refused> {
    match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif)) => {
            Ok(f)
        }
        _ => Err(Refused::NotAnImage),
    }
}

fn reader(bytes: &[u8], format: ImageFormat) -> ImageReader<Cursor<&[u8]>> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    // The pixel bound is checked from the header first; this is the decoder's own backstop.
    limits.max_image_width = Some(40_000);
    limits.max_image_height = Some(40_000);
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    reader
}

/// Decodes, orients, strips and re-encodes `bytes`, and makes the thumbnails.
pub fn process(bytes: &[u8]) -> Result<Processed, Refused> {
    let format = sniff(bytes)?;
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(Refused::Damaged);
    }
    let (width, height) = reader(bytes, format)
        .into_dimensions()
        .map_err(|_| Refused::Damaged)?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Refused::TooLarge { width, height });
    }
    let mut decoder = reader(bytes, format)
        .into_decoder()
        .map_err(|_| Refused::Damaged)?;
    // A damaged EXIF block only loses the orientation, not the picture.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|_| Refused::Damaged)?;
    img.apply_orientation(orientation);
    let output = if format == ImageFormat::Jpeg {
        Output::Jpeg
    } else {
        Output::Png
    };
    let img = match output {
        Output::Jpeg => DynamicImage::ImageRgb8(img.into_rgb8()),
        Output::Png if img.color().has_alpha() => DynamicImage::ImageRgba8(img.into_rgba8()),
        Output::Png => DynamicImage::ImageRgb8(img.into_rgb8()),
    };
    let full = encode(&img, output);
    // Each thumbnail is made from the next larger one (or the original), largest first: far less work than
    // scaling the original three times, and the same result at these ratios.
    let mut thumbnails = Vec::new();
    let mut source = img;
    for &w in THUMBNAIL_WIDTHS.iter().rev() {
        if w >= source.width() {
            continue;
        }
        let h =
            ((u64::from(source.height()) * u64::from(w)) / u64::from(source.width())).max(1) as u32;
        let thumb = source.thumbnail_exact(w, h);
        thumbnails.push(encode(&thumb, output));
        source = thumb;
    }
    thumbnails.reverse();
    Ok(Processed {
        full,
        thumbnails,
        output,
    })
}

/// Whether a JPEG's image data runs to its end-of-image marker. The JPEG decoder fills a file cut short with
/// grey rather than failing, so a truncated upload would be published half grey: walk the marker segments to
/// the first start-of-scan (skipping APPn blocks, whose EXIF thumbnail has markers of its own) and look for
/// EOI after it. Inside entropy-coded data `FF` is always followed by `00` or a restart marker, so `FF D9`
/// there is the real end. Hand-written because no decoder offers the check, and it is a dozen lines.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut at = 2;
    while at + 4 <= bytes.len() {
        if bytes[at] != 0xFF {
            return false;
        }
        let marker = bytes[at + 1];
        if marker == 0xFF {
            at += 1;
            continue;
        }
        if marker == 0xDA {
            return bytes[at..].windows(2).any(|w| w == [0xFF, 0xD9]);
        }
        let len = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        at += 2 + len;
    }
    false
}

fn encode(img: &DynamicImage, output: Output) -> Rendition {
    let mut bytes = Vec::new();
    match output {
        // `jpeg-encoder` (with its AVX2 path) rather than `image`'s own encoder, which took about 60% of an
        // upload's CPU time (perf, a 12-megapixel photo). `img` is RGB8 here (see `process`), and no side
        // reaches 65,536 pixels (the 40-megapixel bound is checked first).
        Output::Jpeg => jpeg_encoder::Encoder::new(&mut bytes, JPEG_QUALITY)
            .encode(
                img.as_bytes(),
                img.width() as u16,
                img.height() as u16,
                jpeg_encoder::ColorType::Rgb,
            )
            .map_err(|e| e.to_string()),
        Output::Png => img
            .write_with_encoder(PngEncoder::new(&mut bytes))
            .map_err(|e| e.to_string()),
    }
    .expect("encoding pixels into memory cannot fail");
    Rendition {
        width: img.width(),
        height: img.height(),
        bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img =
            DynamicImage::ImageRgb8(image::RgbImage::from_pixel(w, h, image::Rgb([9, 99, 199])));
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn formats_are_recognised_from_bytes() {
        assert_eq!(sniff(&png(2, 2)), Ok(ImageFormat::Png));
        assert_eq!(sniff(b"GIF89a...."), Ok(ImageFormat::Gif));
        assert_eq!(sniff(b"%PDF-1.7 ..."), Err(Refused::NotAnImage));
        assert_eq!(sniff(b"<svg xmlns=..."), Err(Refused::NotAnImage));
    }

    #[test]
    fn thumbnails_are_never_upscaled() {
        let p = process(&png(700, 350)).unwrap();
        assert_eq!((p.full.width, p.full.height), (700, 350));
        let sizes: Vec<_> = p.thumbnails.iter().map(|t| (t.width, t.height)).collect();
        assert_eq!(sizes, vec![(320, 160), (640, 320)]);
        assert_eq!(p.output, Output::Png);
        assert!(process(&png(100, 50)).unwrap().thumbnails.is_empty());
    }

    #[test]
    fn truncated_files_are_damaged() {
        let bytes = png(64, 64);
        assert_eq!(process(&bytes[..40]).unwrap_err(), Refused::Damaged);
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(256, 256, |x, y| {
            image::Rgb([x as u8, y as u8, (x ^ y) as u8])
        }));
        let mut jpeg = Vec::new();
        img.write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
            .unwrap();
        assert!(process(&jpeg).is_ok());
        for cut in [jpeg.len() / 2, jpeg.len() - 2] {
            assert_eq!(
                process(&jpeg[..cut]).unwrap_err(),
                Refused::Damaged,
                "{cut}"
            );
        }
    }
}
