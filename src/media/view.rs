//! What templates need to draw an image: `<picture>` sources and thumbnails.

use serde::Serialize;

use super::variants;
use crate::comics::MediaRef;

/// A full-size comic image with responsive WebP sources and a fallback.
#[derive(Debug, Clone, Serialize)]
pub struct Picture {
    pub srcset: String,
    pub fallback: String,
    pub width: i64,
    pub height: i64,
    pub alt: String,
    /// The first image of a page loads eagerly; the rest lazily.
    pub lazy: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Thumb {
    pub src: String,
    pub srcset: String,
    pub width: u32,
    pub height: u32,
    pub alt: String,
}

fn widths(media: &MediaRef) -> Vec<u32> {
    media
        .widths
        .split(',')
        .filter_map(|w| w.trim().parse().ok())
        .collect()
}

/// The stored name (`ab/abcd…-1200.png`) of an image's fallback (JPEG or
/// PNG, at most 1200 px wide): what share cards and Bluesky posts read.
pub fn fallback_file(media: &MediaRef) -> String {
    let widths = widths(media);
    format!(
        "{}/{}",
        &media.hash[..2.min(media.hash.len())],
        variants::fallback_name(
            &media.hash,
            variants::fallback_width(&widths),
            &media.fallback_ext
        )
    )
}

impl Picture {
    pub fn new(media: &MediaRef, alt: &str, lazy: bool) -> Self {
        let widths = widths(media);
        let srcset = widths
            .iter()
            .map(|&w| {
                format!(
                    "{} {w}w",
                    variants::url(&media.hash, &variants::webp_name(&media.hash, w))
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let fallback_width = variants::fallback_width(&widths);
        Self {
            srcset,
            fallback: variants::url(
                &media.hash,
                &variants::fallback_name(&media.hash, fallback_width, &media.fallback_ext),
            ),
            width: media.width,
            height: media.height,
            alt: alt.to_owned(),
            lazy,
        }
    }
}

impl Thumb {
    pub fn new(media: &MediaRef, alt: &str) -> Self {
        let w1 = u32::try_from(media.thumb_width).unwrap_or(1);
        let h1 = u32::try_from(media.thumb_height).unwrap_or(1);
        let src = variants::url(&media.hash, &variants::thumb_name(&media.hash, w1));
        // The 2× thumbnail exists whenever the source was wide enough.
        let largest = widths(media).last().copied().unwrap_or(w1);
        let srcset = if largest >= w1 * 2 {
            format!(
                "{src} 1x, {} 2x",
                variants::url(&media.hash, &variants::thumb_name(&media.hash, w1 * 2))
            )
        } else {
            src.clone()
        };
        Self {
            src,
            srcset,
            width: w1,
            height: h1,
            alt: alt.to_owned(),
        }
    }
}
