//! Decoding an upload with bounded memory.
//!
//! 1. The header is read first, without limits (it is a few bytes): the
//!    declared size is checked against the limits and reported as declared,
//!    so a bomb is refused before a pixel is allocated.
//! 2. A JPEG must end (an end-of-image marker after its last scan): a cut-off
//!    JPEG decodes "successfully" with the missing part grey, which would be
//!    published.
//! 3. PNGs at least twice as wide as the largest width the site shows are
//!    decoded a row at a time and box-downscaled on the fly (never below that
//!    width), so their memory follows the output, not the source; everything
//!    else is decoded whole under an allocation limit.
//! 4. At most one decode per core runs at a time (`DECODES`), so parallel
//!    uploads cannot multiply the peak.

use std::io::Cursor;
use std::sync::{Condvar, Mutex};

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use super::pipeline::{MediaError, WEBP_MAX_SIDE};
use crate::config::MediaConfig;

/// A decoded image and the size the source declared (after orientation).
pub struct Decoded {
    /// The pixels, possibly downscaled (never below the widths the site shows).
    pub image: DynamicImage,
    pub width: u32,
    pub height: u32,
}

/// The source's format and declared size, from its header alone.
pub fn probe(bytes: &[u8], config: &MediaConfig) -> Result<(ImageFormat, u32, u32), MediaError> {
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    if bytes.len() as u64 > config.max_file_bytes {
        return Err(MediaError::FileTooLarge {
            bytes: bytes.len() as u64,
            max: config.max_file_bytes,
        });
    }
    let format = image::guess_format(bytes).map_err(|_| MediaError::UnsupportedFormat)?;
    if !matches!(
        format,
        ImageFormat::Png
            | ImageFormat::Jpeg
            | ImageFormat::Gif
            | ImageFormat::WebP
            | ImageFormat::Bmp
    ) {
        return Err(MediaError::UnsupportedFormat);
    }
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| MediaError::Corrupt(e.to_string()))?;
    if width == 0 || height == 0 {
        return Err(MediaError::Corrupt("the image has no pixels".into()));
    }
    let max_width = config.max_width.min(WEBP_MAX_SIDE);
    let max_height = config.max_height.min(WEBP_MAX_SIDE);
    if width > max_width || height > max_height {
        return Err(MediaError::TooLarge {
            width,
            height,
            max_width,
            max_height,
        });
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > config.max_pixels {
        return Err(MediaError::TooManyPixels {
            width,
            height,
            pixels,
            max: config.max_pixels,
        });
    }
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(MediaError::Corrupt(
            "the JPEG is cut off (it has no end after its image data); export or copy it again"
                .into(),
        ));
    }
    Ok((format, width, height))
}

/// An end-of-image marker (FF D9) after the last start-of-scan (FF DA). A
/// thumbnail inside the EXIF block has its own markers, but before the main
/// image's scans.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    let end = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9]);
    matches!((last_scan, end), (Some(scan), Some(end)) if end > scan)
}

/// Decodes for output at most `target_width` wide (the largest width the
/// site shows): see the module notes.
pub fn decode(
    bytes: &[u8],
    config: &MediaConfig,
    target_width: u32,
) -> Result<Decoded, MediaError> {
    let (format, width, height) = probe(bytes, config)?;
    let _slot = DECODES.acquire();
    // Whole multiples of the target: the box-averaged rows stay at least as
    // wide as the widest variant, which is then resized from them.
    let factor = width / target_width.max(1);
    if format == ImageFormat::Png && factor >= 2 {
        if let Some(image) = png_downscaled(bytes, factor)? {
            return Ok(Decoded {
                image,
                width,
                height,
            });
        }
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    // The decoded RGBA pixels plus the decoder's own buffers.
    limits.max_alloc = Some(config.max_pixels.saturating_mul(4).saturating_add(64 << 20));
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| MediaError::Corrupt(e.to_string()))?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        image::ImageError::Limits(_) => MediaError::TooManyPixels {
            width,
            height,
            pixels: u64::from(width) * u64::from(height),
            max: config.max_pixels,
        },
        other => MediaError::Corrupt(other.to_string()),
    })?;
    image.apply_orientation(orientation);
    Ok(Decoded {
        width: image.width(),
        height: image.height(),
        image,
    })
}

/// A non-interlaced PNG, `factor`× smaller, averaged a row at a time
/// (colour weighted by alpha, so transparent pixels do not darken edges).
/// `None` for interlaced PNGs, which are decoded whole instead.
fn png_downscaled(bytes: &[u8], factor: u32) -> Result<Option<DynamicImage>, MediaError> {
    let corrupt = |e: png::DecodingError| MediaError::Corrupt(e.to_string());
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(corrupt)?;
    if reader.info().interlaced {
        return Ok(None);
    }
    let (width, height) = (reader.info().width, reader.info().height);
    let channels = match reader.output_color_type().0 {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Ok(None),
    };
    let alpha = channels % 2 == 0;
    let k = factor as usize;
    let out_w = (width as usize).div_ceil(k);
    let out_h = (height as usize).div_ceil(k);
    let mut out = Vec::with_capacity(out_w * out_h * channels);
    // Per output column: sums of each channel (colour premultiplied by
    // alpha when there is alpha) and of weights.
    let mut sums = vec![0u64; out_w * channels];
    let mut rows_in_block = 0usize;
    let mut y = 0usize;
    while let Some(row) = reader.next_row().map_err(corrupt)? {
        let data = row.data();
        for (x, pixel) in data.chunks_exact(channels).enumerate() {
            let base = (x / k) * channels;
            let a = if alpha {
                u64::from(pixel[channels - 1])
            } else {
                1
            };
            for c in 0..channels {
                let value = u64::from(pixel[c]);
                sums[base + c] += if alpha && c < channels - 1 {
                    value * a
                } else {
                    value
                };
            }
        }
        rows_in_block += 1;
        y += 1;
        if rows_in_block == k || y == height as usize {
            for ox in 0..out_w {
                let cols = (width as usize - ox * k).min(k) as u64;
                let n = cols * rows_in_block as u64;
                let base = ox * channels;
                let weight = if alpha { sums[base + channels - 1] } else { n };
                for c in 0..channels {
                    let value = if alpha && c < channels - 1 {
                        sums[base + c].checked_div(weight).unwrap_or(0)
                    } else {
                        sums[base + c] / n
                    };
                    out.push(value.min(255) as u8);
                }
            }
            sums.fill(0);
            rows_in_block = 0;
        }
    }
    if y != height as usize {
        return Err(MediaError::Corrupt(format!(
            "the PNG is cut off after {y} of {height} rows"
        )));
    }
    let (w, h) = (out_w as u32, out_h as u32);
    let image = match channels {
        1 => image::GrayImage::from_raw(w, h, out).map(DynamicImage::ImageLuma8),
        2 => image::GrayAlphaImage::from_raw(w, h, out).map(DynamicImage::ImageLumaA8),
        3 => image::RgbImage::from_raw(w, h, out).map(DynamicImage::ImageRgb8),
        _ => image::RgbaImage::from_raw(w, h, out).map(DynamicImage::ImageRgba8),
    };
    image
        .map(Some)
        .ok_or_else(|| MediaError::Corrupt("the PNG's rows do not add up".into()))
}

/// A counting semaphore for the blocking threads that decode (uploads run on
/// `spawn_blocking`, imports on rayon): one decode per core at a time.
pub struct Slots {
    free: Mutex<usize>,
    released: Condvar,
}

pub static DECODES: std::sync::LazyLock<Slots> = std::sync::LazyLock::new(|| Slots {
    free: Mutex::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
    released: Condvar::new(),
});

pub struct Slot<'a>(&'a Slots);

impl Slots {
    pub fn acquire(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.released.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(|p| p.into_inner());
        *free += 1;
        self.0.released.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::ImageEncoder;

    fn png(width: u32, height: u32, rgba: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let encoder = image::codecs::png::PngEncoder::new(&mut out);
        if rgba {
            let img = image::RgbaImage::from_fn(width, height, |x, y| {
                image::Rgba([
                    (x % 256) as u8,
                    (y % 256) as u8,
                    100,
                    if x < width / 2 { 255 } else { 0 },
                ])
            });
            encoder
                .write_image(img.as_raw(), width, height, image::ExtendedColorType::Rgba8)
                .expect("png");
        } else {
            let img = image::RgbImage::from_fn(width, height, |x, y| {
                image::Rgb([(x % 256) as u8, (y % 256) as u8, 100])
            });
            encoder
                .write_image(img.as_raw(), width, height, image::ExtendedColorType::Rgb8)
                .expect("png");
        }
        out
    }

    /// CRC-32 (PNG's), to keep a doctored header valid as a real bomb's is.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_bomb_reports_its_declared_size() {
        let mut bytes = png(1, 1, false);
        bytes[16..20].copy_from_slice(&16_000u32.to_be_bytes());
        bytes[20..24].copy_from_slice(&10_000u32.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        let error = probe(&bytes, &MediaConfig::default()).expect_err("refused");
        let message = error.to_string();
        assert!(message.contains("16000×10000"), "{message}");
    }

    #[test]
    fn large_pngs_are_downscaled_while_decoding() {
        let bytes = png(3600, 900, true);
        let decoded = decode(&bytes, &MediaConfig::default(), 800).expect("decodes");
        assert_eq!(
            (decoded.width, decoded.height),
            (3600, 900),
            "declared size kept"
        );
        assert_eq!(
            decoded.image.width(),
            900,
            "downscaled by 4, still ≥ the target"
        );
        assert_eq!(decoded.image.height(), 225);
        // Opaque left half stays opaque; transparent right half stays transparent.
        let rgba = decoded.image.to_rgba8();
        assert_eq!(rgba.get_pixel(10, 10).0[3], 255);
        assert_eq!(rgba.get_pixel(850, 10).0[3], 0);
    }

    #[test]
    fn a_cut_off_jpeg_is_refused_and_a_whole_one_passes() {
        let img =
            image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 9]));
        let mut whole = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut whole, 80)
            .encode_image(&img)
            .expect("jpeg");
        assert!(probe(&whole, &MediaConfig::default()).is_ok());
        let cut = &whole[..whole.len() * 2 / 3];
        let error = probe(cut, &MediaConfig::default()).expect_err("refused");
        assert!(error.to_string().contains("cut off"), "{error}");
    }
}
