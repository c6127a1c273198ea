//! Share cards: the image a link to a page shows on Mastodon, Bluesky,
//! Discord and the rest (`og:image`). Made from the top of the page's first
//! image (where the first panel is), with a band naming the comic and the
//! page in the site's accent colour, 1200×630 as the platforms expect.
//!
//! A card's address carries a hash of everything drawn on it (`key`), so it
//! is cached forever and a new title or image gives a new address.

use ab_glyph::{Font as _, FontRef, PxScale, ScaleFont as _};
use image::{Rgb, RgbImage};
use sha2::Digest as _;

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 630;
/// The band under the picture, where the names go.
const BAND: u32 = 150;
const MARGIN: f32 = 48.0;
const FONT: &[u8] = include_bytes!("fonts/atkinson-bold.ttf");
/// Changes when the drawing changes, so old cards are not reused.
const VERSION: &str = "card-1";
const PAPER: [u8; 3] = [0xf5, 0xf1, 0xe8];
const INK: [u8; 3] = [0x1d, 0x1b, 0x22];

/// The card's content address: 20 hex digits of a hash of what it shows.
pub fn key(image_hash: &str, site_title: &str, page_title: &str, accent: &str) -> String {
    let mut hasher = sha2::Sha256::new();
    for part in [VERSION, image_hash, site_title, page_title, accent] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())[..20].to_owned()
}

/// `#rrggbb` → RGB (the default accent otherwise).
fn rgb(accent: &str) -> [u8; 3] {
    let hex = accent.trim().trim_start_matches('#');
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16);
    match (hex.len(), channel(0), channel(2), channel(4)) {
        (6, Ok(r), Ok(g), Ok(b)) => [r, g, b],
        _ => rgb(crate::render::theme::DEFAULT_ACCENT),
    }
}

/// Draws the card from a page image's bytes (PNG, JPEG, WebP…) as a JPEG.
pub fn render(
    source: &[u8],
    site_title: &str,
    page_title: &str,
    accent: &str,
) -> anyhow::Result<Vec<u8>> {
    let image = image::load_from_memory(source)?.to_rgb8();
    let (w, h) = image.dimensions();
    anyhow::ensure!(w > 0 && h > 0, "an empty image");
    let area = HEIGHT - BAND;
    // Cover the picture area, keeping the top of the image (the first panel).
    let scale = (WIDTH as f32 / w as f32).max(area as f32 / h as f32);
    let (sw, sh) = (
        ((w as f32 * scale).ceil() as u32).max(WIDTH),
        ((h as f32 * scale).ceil() as u32).max(area),
    );
    let resized = image::imageops::resize(&image, sw, sh, image::imageops::FilterType::Triangle);
    let left = (sw - WIDTH) / 2;
    let mut card = RgbImage::from_pixel(WIDTH, HEIGHT, Rgb(PAPER));
    image::imageops::replace(
        &mut card,
        &image::imageops::crop_imm(&resized, left, 0, WIDTH, area).to_image(),
        0,
        0,
    );
    let accent = rgb(accent);
    for y in area..area + 8 {
        for x in 0..WIDTH {
            card.put_pixel(x, y, Rgb(accent));
        }
    }
    let font = FontRef::try_from_slice(FONT)?;
    let room = WIDTH as f32 - 2.0 * MARGIN;
    let site = fit(&font, 34.0, site_title, room);
    draw(
        &mut card,
        &font,
        34.0,
        MARGIN,
        area as f32 + 56.0,
        &site,
        accent,
    );
    let page = fit(&font, 54.0, page_title, room);
    draw(
        &mut card,
        &font,
        54.0,
        MARGIN,
        area as f32 + 122.0,
        &page,
        INK,
    );
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&card)?;
    Ok(out)
}

/// Each glyph of `text` with its caret position from 0 (kerning applied),
/// and the width of the whole. Characters the font lacks (it is a Latin
/// subset) are skipped.
fn layout(font: &FontRef<'_>, size: f32, text: &str) -> (Vec<(ab_glyph::GlyphId, f32)>, f32) {
    let scaled = font.as_scaled(PxScale::from(size));
    let mut caret = 0.0;
    let mut previous = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = font.glyph_id(c);
        if id.0 == 0 {
            continue;
        }
        if let Some(p) = previous {
            caret += scaled.kern(p, id);
        }
        glyphs.push((id, caret));
        caret += scaled.h_advance(id);
        previous = Some(id);
    }
    (glyphs, caret)
}

fn width(font: &FontRef<'_>, size: f32, text: &str) -> f32 {
    layout(font, size, text).1
}

/// The text, cut with an ellipsis to fit `room` pixels.
fn fit(font: &FontRef<'_>, size: f32, text: &str, room: f32) -> String {
    let text = text.trim();
    if width(font, size, text) <= room {
        return text.to_owned();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut n = chars.len();
    while n > 0 {
        n -= 1;
        let cut: String = chars[..n].iter().collect::<String>().trim_end().to_owned() + "…";
        if width(font, size, &cut) <= room {
            return cut;
        }
    }
    String::new()
}

/// Draws `text` with its baseline at `y`, blending by glyph coverage.
fn draw(
    card: &mut RgbImage,
    font: &FontRef<'_>,
    size: f32,
    x: f32,
    y: f32,
    text: &str,
    color: [u8; 3],
) {
    for (id, offset) in layout(font, size, text).0 {
        let glyph = id.with_scale_and_position(size, ab_glyph::point(x + offset, y));
        let Some(outline) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + i64::from(gx);
            let py = bounds.min.y as i64 + i64::from(gy);
            if px < 0 || py < 0 || px >= i64::from(card.width()) || py >= i64::from(card.height()) {
                return;
            }
            let pixel = card.get_pixel_mut(px as u32, py as u32);
            let a = coverage.clamp(0.0, 1.0);
            for (channel, ink) in pixel.0.iter_mut().zip(color) {
                *channel = (f32::from(*channel) * (1.0 - a) + f32::from(ink) * a).round() as u8;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_is_1200_by_630_with_the_picture_on_top_and_the_names_below() {
        // A tall red-over-blue page: the card shows its top (red).
        let mut page = RgbImage::from_pixel(800, 2400, Rgb([200, 20, 20]));
        for y in 1200..2400 {
            for x in 0..800 {
                page.put_pixel(x, y, Rgb([20, 20, 200]));
            }
        }
        let mut png = Vec::new();
        image::DynamicImage::ImageRgb8(page)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("png");
        let jpeg = render(
            &png,
            "Halftone Tales",
            "Chapter 1: a very long title that goes on and on and on and on and on and on",
            "#c0362c",
        )
        .expect("card");
        let card = image::load_from_memory(&jpeg).expect("decode").to_rgb8();
        assert_eq!(card.dimensions(), (WIDTH, HEIGHT));
        let top = card.get_pixel(600, 200).0;
        assert!(top[0] > 150 && top[2] < 80, "the top of the page: {top:?}");
        // The band has ink on it (the title), not only paper.
        let inked = (HEIGHT - BAND..HEIGHT)
            .flat_map(|y| (0..WIDTH).map(move |x| (x, y)))
            .filter(|&(x, y)| card.get_pixel(x, y).0[0] < 80)
            .count();
        assert!(inked > 2000, "text drawn: {inked} dark pixels");
    }

    #[test]
    fn keys_follow_what_is_drawn() {
        let a = key("abc", "Site", "Page", "#c0362c");
        assert_eq!(a.len(), 20);
        assert_eq!(a, key("abc", "Site", "Page", "#c0362c"));
        assert_ne!(a, key("abc", "Site", "Page 2", "#c0362c"));
        assert_ne!(a, key("abd", "Site", "Page", "#c0362c"));
        let font = FontRef::try_from_slice(FONT).expect("font");
        assert!(fit(&font, 54.0, &"long ".repeat(100), 500.0).ends_with('…'));
        assert_eq!(fit(&font, 54.0, "Short", 500.0), "Short");
    }
}
