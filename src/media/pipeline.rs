//! Decoding, validation and responsive variants: pure CPU work on bytes.
//!
//! Every source is sniffed by content (never by file name), its dimensions
//! checked before a pixel is decoded (decompression bombs stop there), then
//! decoded under allocation limits and turned into WebP widths, a JPEG or PNG
//! fallback and thumbnails. File names come from a hash of the source and the
//! settings that shaped the output, so a name always means the same bytes.

use fast_image_resize::images::Image;
use fast_image_resize::{IntoImageView, ResizeOptions, Resizer};
use image::{DynamicImage, ExtendedColorType, ImageEncoder, ImageFormat};
use sha2::{Digest, Sha256};

use super::variants;
use crate::config::MediaConfig;

/// Bump when the output of the pipeline changes, so new files get new names.
const PIPELINE_VERSION: &str = "halftone-media-1";

/// WebP cannot encode a side longer than this.
pub const WEBP_MAX_SIDE: u32 = 16_383;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MediaError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {bytes} bytes; the limit is {max} bytes")]
    FileTooLarge { bytes: u64, max: u64 },
    #[error("not a supported image (PNG, JPEG, GIF, WebP or BMP)")]
    UnsupportedFormat,
    #[error("the image is {width}×{height} px; the limit is {max_width}×{max_height} px (split a long strip into slices)")]
    TooLarge {
        width: u32,
        height: u32,
        max_width: u32,
        max_height: u32,
    },
    #[error("the image is {width}×{height} px ({pixels} pixels); the limit is {max} pixels")]
    TooManyPixels {
        width: u32,
        height: u32,
        pixels: u64,
        max: u64,
    },
    #[error("the image is broken or truncated: {0}")]
    Corrupt(String),
}

/// A processed image: the facts to store and the files to write.
#[derive(Debug)]
pub struct Processed {
    pub hash: String,
    pub width: u32,
    pub height: u32,
    pub source_format: &'static str,
    pub widths: Vec<u32>,
    pub fallback_ext: &'static str,
    pub thumb_width: u32,
    pub thumb_height: u32,
    pub source_bytes: u64,
    /// (file name, contents) of every derived file.
    pub files: Vec<(String, Vec<u8>)>,
}

impl Processed {
    /// Media already in the site, named by its content hash: linking a page
    /// to it needs nothing else (the media row is found by its hash).
    pub fn known(hash: String) -> Processed {
        Processed {
            hash,
            width: 0,
            height: 0,
            source_format: "",
            widths: Vec::new(),
            fallback_ext: "",
            thumb_width: 0,
            thumb_height: 0,
            source_bytes: 0,
            files: Vec::new(),
        }
    }
}

/// Runs the whole pipeline on one source file.
pub fn process(bytes: &[u8], config: &MediaConfig) -> Result<Processed, MediaError> {
    let largest = config.widths.iter().copied().max().unwrap_or(1600);
    let decoded = super::decode::decode(bytes, config, largest)?;
    let (width, height) = (decoded.width, decoded.height);
    let image = decoded.image;
    let hash = content_hash(bytes, config);
    let opaque = is_opaque(&image);
    let image = if opaque {
        DynamicImage::ImageRgb8(image.into_rgb8())
    } else {
        DynamicImage::ImageRgba8(image.into_rgba8())
    };

    let widths = variants::widths_for(width, &config.widths);
    let fallback_width = variants::fallback_width(&widths);
    let fallback_ext = if opaque { "jpg" } else { "png" };
    let mut resizer = Resizer::new();
    let mut files = Vec::with_capacity(widths.len() + 3);

    for &w in &widths {
        let (buf, w, h) = resize(
            &mut resizer,
            &image,
            w,
            variants::scaled_height(width, height, w),
            None,
        )?;
        files.push((
            variants::webp_name(&hash, w),
            encode_webp(&buf, w, h, opaque, config.webp_quality)?,
        ));
        if w == fallback_width {
            let bytes = if opaque {
                encode_jpeg(&buf, w, h, config.jpeg_quality)?
            } else {
                encode_png(&buf, w, h)?
            };
            files.push((variants::fallback_name(&hash, w, fallback_ext), bytes));
        }
    }

    let thumbs = variants::thumb_sizes(width, height, config.thumb_width);
    for &(tw, th) in &thumbs {
        // Very tall sources (long scrolls) are cropped from the top for the
        // thumbnail; the crop keeps the thumbnail's aspect ratio.
        // (in the decoded image's rows, which may be fewer than the source's).
        let crop_height = (f64::from(width) * f64::from(th) / f64::from(tw)).min(f64::from(height))
            * f64::from(image.height())
            / f64::from(height);
        let (buf, w, h) = resize(&mut resizer, &image, tw, th, Some(crop_height))?;
        files.push((
            variants::thumb_name(&hash, w),
            encode_webp(&buf, w, h, opaque, config.webp_quality)?,
        ));
    }
    let (thumb_width, thumb_height) = thumbs[0];

    Ok(Processed {
        hash,
        width,
        height,
        source_format: format_name(bytes),
        widths,
        fallback_ext,
        thumb_width,
        thumb_height,
        source_bytes: bytes.len() as u64,
        files,
    })
}

/// Checks and decodes (see `decode`): what a dry run does to every image.
pub fn decode(bytes: &[u8], config: &MediaConfig) -> Result<DynamicImage, MediaError> {
    let largest = config.widths.iter().copied().max().unwrap_or(1600);
    super::decode::decode(bytes, config, largest).map(|d| d.image)
}

fn format_name(bytes: &[u8]) -> &'static str {
    match image::guess_format(bytes) {
        Ok(ImageFormat::Png) => "png",
        Ok(ImageFormat::Jpeg) => "jpeg",
        Ok(ImageFormat::Gif) => "gif",
        Ok(ImageFormat::WebP) => "webp",
        Ok(ImageFormat::Bmp) => "bmp",
        _ => "unknown",
    }
}

/// Source bytes plus every setting that changes the output.
/// The content-addressed name of a source file under these settings: the
/// same bytes and settings always give the same media (and the same URLs).
pub fn content_hash(bytes: &[u8], config: &MediaConfig) -> String {
    let mut hasher = Sha256::new();
    hasher.update(PIPELINE_VERSION);
    hasher.update(format!(
        "{:?}|{}|{}|{}",
        config.widths, config.thumb_width, config.webp_quality, config.jpeg_quality
    ));
    hasher.update(bytes);
    let digest = hasher.finalize();
    hex::encode(&digest[..16])
}

fn is_opaque(image: &DynamicImage) -> bool {
    if !image.color().has_alpha() {
        return true;
    }
    image.to_rgba8().pixels().all(|p| p.0[3] == u8::MAX)
}

/// Resizes to `w`×`h` (optionally from the top `crop_height` source rows).
fn resize(
    resizer: &mut Resizer,
    image: &DynamicImage,
    w: u32,
    h: u32,
    crop_height: Option<f64>,
) -> Result<(Vec<u8>, u32, u32), MediaError> {
    let h = h.max(1);
    if w == image.width() && h == image.height() {
        return Ok((image.as_bytes().to_vec(), w, h));
    }
    let pixel_type = image
        .pixel_type()
        .ok_or_else(|| MediaError::Corrupt("unsupported pixel layout".into()))?;
    let mut dst = Image::new(w, h, pixel_type);
    let mut options = ResizeOptions::new();
    if let Some(crop) = crop_height {
        options = options.crop(0.0, 0.0, f64::from(image.width()), crop);
    }
    resizer
        .resize(image, &mut dst, &options)
        .map_err(|e| MediaError::Corrupt(e.to_string()))?;
    Ok((dst.into_vec(), w, h))
}

fn encode_webp(
    buf: &[u8],
    w: u32,
    h: u32,
    opaque: bool,
    quality: f32,
) -> Result<Vec<u8>, MediaError> {
    let encoder = if opaque {
        webp::Encoder::from_rgb(buf, w, h)
    } else {
        webp::Encoder::from_rgba(buf, w, h)
    };
    encoder
        .encode_simple(false, quality)
        .map(|m| m.to_vec())
        .map_err(|e| MediaError::Corrupt(format!("WebP encoding failed: {e:?}")))
}

fn encode_jpeg(buf: &[u8], w: u32, h: u32, quality: u8) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .write_image(buf, w, h, ExtendedColorType::Rgb8)
        .map_err(|e| MediaError::Corrupt(e.to_string()))?;
    Ok(out)
}

fn encode_png(buf: &[u8], w: u32, h: u32) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(buf, w, h, ExtendedColorType::Rgba8)
        .map_err(|e| MediaError::Corrupt(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(img.as_raw(), width, height, ExtendedColorType::Rgb8)
            .expect("encode");
        out
    }

    #[test]
    fn a_good_image_gets_every_variant() {
        let config = MediaConfig::default();
        let out = process(&png(1000, 1400), &config).expect("processed");
        assert_eq!((out.width, out.height), (1000, 1400));
        assert_eq!(out.widths, vec![480, 800, 1000]);
        assert_eq!(out.fallback_ext, "jpg");
        let names: Vec<&str> = out.files.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            names.contains(&format!("{}-800.webp", out.hash).as_str()),
            "{names:?}"
        );
        assert!(
            names.contains(&format!("{}-1000.jpg", out.hash).as_str()),
            "{names:?}"
        );
        assert!(
            names.contains(&format!("{}-t240.webp", out.hash).as_str()),
            "{names:?}"
        );
        for (name, bytes) in &out.files {
            let decoded = image::load_from_memory(bytes).expect(name);
            assert!(decoded.width() > 0);
        }
    }

    #[test]
    fn the_same_bytes_get_the_same_name() {
        let config = MediaConfig::default();
        let a = process(&png(300, 300), &config).expect("a");
        let b = process(&png(300, 300), &config).expect("b");
        assert_eq!(a.hash, b.hash);
    }

    #[test]
    fn garbage_and_truncated_files_are_refused() {
        let config = MediaConfig::default();
        assert_eq!(process(b"", &config).unwrap_err(), MediaError::Empty);
        assert_eq!(
            process(b"hello, not an image", &config).unwrap_err(),
            MediaError::UnsupportedFormat
        );
        let mut truncated = png(400, 400);
        truncated.truncate(truncated.len() / 2);
        assert!(matches!(
            process(&truncated, &config).unwrap_err(),
            MediaError::Corrupt(_)
        ));
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_decoding() {
        // A tiny file that claims to be 100,000 × 100,000 pixels.
        let config = MediaConfig::default();
        let mut header = png(1, 1);
        header[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        header[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let err = process(&header, &config).unwrap_err();
        assert!(
            matches!(err, MediaError::TooLarge { .. } | MediaError::Corrupt(_)),
            "{err:?}"
        );
        let small = MediaConfig {
            max_pixels: 10_000,
            ..MediaConfig::default()
        };
        assert!(matches!(
            process(&png(200, 200), &small).unwrap_err(),
            MediaError::TooManyPixels { .. }
        ));
    }

    #[test]
    fn oversized_files_are_refused() {
        let config = MediaConfig {
            max_file_bytes: 100,
            ..MediaConfig::default()
        };
        assert!(matches!(
            process(&png(50, 50), &config).unwrap_err(),
            MediaError::FileTooLarge { .. }
        ));
    }
}
