//! The creator's look without code: an accent colour, a heading font from a
//! small self-hosted set, and a logo. It reaches readers as `/theme.css`, a
//! few CSS custom properties over `reader.css` (which is written in terms of
//! them), under a URL that changes when the look does.

use sha2::{Digest, Sha256};

use super::Assets;

/// The site's default accent (the reader.css default).
pub const DEFAULT_ACCENT: &str = "#c0362c";
/// Text on the accent and links on the page must stay readable: WCAG AA
/// for normal text.
pub const MIN_CONTRAST: f64 = 4.5;
const INK: (u8, u8, u8) = (0x1d, 0x1b, 0x22);
const PAPER: (u8, u8, u8) = (0xf5, 0xf1, 0xe8);

/// A heading font: its key (stored in settings), the name shown in the
/// admin, the CSS family and fallbacks, its file and weight.
pub struct Font {
    pub key: &'static str,
    pub label: &'static str,
    family: &'static str,
    fallback: &'static str,
    file: Option<&'static str>,
    weight: u16,
}

pub const FONTS: &[Font] = &[
    Font {
        key: "system",
        label: "System (the reader's own sans-serif)",
        family: "",
        fallback: "system-ui, -apple-system, \"Segoe UI\", Roboto, sans-serif",
        file: None,
        weight: 800,
    },
    Font {
        key: "comic-neue",
        label: "Comic Neue (hand-lettered, bold)",
        family: "Comic Neue",
        fallback: "\"Comic Sans MS\", \"Chalkboard SE\", cursive",
        file: Some("fonts/comic-neue.woff2"),
        weight: 700,
    },
    Font {
        key: "bangers",
        label: "Bangers (loud, all capitals)",
        family: "Bangers",
        fallback: "Impact, \"Arial Black\", sans-serif",
        file: Some("fonts/bangers.woff2"),
        weight: 400,
    },
    Font {
        key: "patrick-hand",
        label: "Patrick Hand (handwriting)",
        family: "Patrick Hand",
        fallback: "\"Comic Sans MS\", cursive",
        file: Some("fonts/patrick-hand.woff2"),
        weight: 400,
    },
    Font {
        key: "atkinson",
        label: "Atkinson Hyperlegible (most legible)",
        family: "Atkinson Hyperlegible",
        fallback: "system-ui, sans-serif",
        file: Some("fonts/atkinson.woff2"),
        weight: 700,
    },
    Font {
        key: "bitter",
        label: "Bitter (slab serif)",
        family: "Bitter",
        fallback: "Georgia, serif",
        file: Some("fonts/bitter.woff2"),
        weight: 700,
    },
];

pub fn font(key: &str) -> Option<&'static Font> {
    FONTS.iter().find(|f| f.key == key)
}

/// `#rrggbb` (or `#rgb`), lower-cased; `None` if it is not a colour.
pub fn parse_colour(text: &str) -> Option<String> {
    let hex = text.trim().strip_prefix('#')?;
    let full = match hex.len() {
        3 => hex.chars().flat_map(|c| [c, c]).collect::<String>(),
        6 => hex.to_owned(),
        _ => return None,
    };
    full.chars()
        .all(|c| c.is_ascii_hexdigit())
        .then(|| format!("#{}", full.to_ascii_lowercase()))
}

fn rgb(colour: &str) -> (u8, u8, u8) {
    let byte = |i: usize| u8::from_str_radix(colour.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
    (byte(1), byte(3), byte(5))
}

/// WCAG 2 relative luminance.
fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

/// WCAG 2 contrast ratio of two colours.
fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// The text colour for buttons on the accent (ink or white, whichever
/// reads better) and the contrast it reaches.
pub fn accent_ink(accent: &str) -> (&'static str, f64) {
    let a = rgb(accent);
    let on_ink = contrast(a, INK);
    let on_white = contrast(a, (255, 255, 255));
    if on_white >= on_ink {
        ("#ffffff", on_white)
    } else {
        ("#1d1b22", on_ink)
    }
}

/// Why an accent cannot be used, if it cannot: its button text would not
/// reach AA contrast, or as the focus ring/underline it would vanish on
/// the paper.
pub fn check_accent(accent: &str) -> Result<(), String> {
    let (_, ratio) = accent_ink(accent);
    if ratio < MIN_CONTRAST {
        return Err(format!(
            "{accent} is too close to a mid grey: text on it reaches a contrast of {ratio:.1}, and readers need {MIN_CONTRAST}. Choose a darker or a lighter colour."
        ));
    }
    // Links are ink with an accent underline and buttons have ink borders,
    // so even a pale accent works; only the page's own colour vanishes.
    if contrast(rgb(accent), PAPER) < 1.15 {
        return Err(format!(
            "{accent} is almost the colour of the page: links and buttons would disappear. Choose a stronger colour."
        ));
    }
    Ok(())
}

/// The look as stored in settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Look {
    pub accent: String,
    pub heading_font: String,
}

impl Look {
    /// The stylesheet and its version, or `None` for the default look (no
    /// extra request at all).
    pub fn css(&self, assets: &Assets) -> Option<(String, String)> {
        let accent = parse_colour(&self.accent).filter(|a| check_accent(a).is_ok());
        let font = font(&self.heading_font).filter(|f| f.key != "system");
        if accent.is_none() && font.is_none() {
            return None;
        }
        let mut css = String::from(":root {");
        if let Some(accent) = &accent {
            let (ink, _) = accent_ink(accent);
            css.push_str(&format!(" --accent: {accent}; --accent-ink: {ink};"));
        }
        if let Some(font) = font {
            css.push_str(&format!(
                " --heading-font: \"{}\", {}; --heading-weight: {};",
                font.family, font.fallback, font.weight
            ));
        }
        css.push_str(" }\n");
        if let Some(file) = font.and_then(|f| f.file) {
            let font = font.map_or("", |f| f.family);
            let weight = self::font(&self.heading_font).map_or(400, |f| f.weight);
            css.push_str(&format!(
                "@font-face {{ font-family: \"{font}\"; src: url(\"{}\") format(\"woff2\"); font-weight: {weight}; font-style: normal; font-display: swap; }}\n",
                assets.url(file)
            ));
        }
        let version = hex::encode(&Sha256::digest(css.as_bytes())[..6]);
        Some((css, version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_and_contrast_is_checked() {
        assert_eq!(parse_colour("#ABC").as_deref(), Some("#aabbcc"));
        assert_eq!(parse_colour(" #1d1B22 ").as_deref(), Some("#1d1b22"));
        assert_eq!(parse_colour("red"), None);
        assert_eq!(parse_colour("#12345g"), None);
        assert!(check_accent(DEFAULT_ACCENT).is_ok());
        assert!(check_accent("#1a5fb4").is_ok(), "a dark blue");
        assert!(check_accent("#ffd23f").is_ok(), "yellow takes ink text");
        assert_eq!(accent_ink("#ffd23f").0, "#1d1b22");
        assert!(check_accent("#fbfaf6").is_err(), "the paper itself");
        // The worst case for ink-or-white text: mid grey-ish colours.
        let worst = (0..=255u8)
            .map(|v| format!("#{v:02x}{v:02x}{v:02x}"))
            .filter(|c| check_accent(c).is_err())
            .count();
        assert!(worst > 0, "some mid greys are refused");
    }
}
