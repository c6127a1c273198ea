//! Which variants exist for an image and what they are called — the single
//! source of truth shared by the pipeline (that writes them) and the pages
//! (that link to them).

/// Widths to produce for a source `width` wide: every configured width below
/// it, plus the source width itself when it is below the largest configured.
pub fn widths_for(width: u32, configured: &[u32]) -> Vec<u32> {
    let mut sorted: Vec<u32> = configured.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let largest = sorted.last().copied().unwrap_or(width);
    let mut widths: Vec<u32> = sorted.into_iter().filter(|&w| w < width).collect();
    widths.push(width.min(largest));
    widths.dedup();
    widths
}

/// The fallback (JPEG/PNG) is made at the largest width up to 1200 px.
pub fn fallback_width(widths: &[u32]) -> u32 {
    widths
        .iter()
        .copied()
        .filter(|&w| w <= 1200)
        .max()
        .unwrap_or_else(|| widths.first().copied().unwrap_or(0))
}

pub fn scaled_height(width: u32, height: u32, to_width: u32) -> u32 {
    ((u64::from(height) * u64::from(to_width) + u64::from(width) / 2) / u64::from(width.max(1)))
        .max(1) as u32
}

/// Thumbnail sizes (1× and 2×): `thumb_width` wide at most, and never taller
/// than twice their width (long scrolls are cropped from the top).
pub fn thumb_sizes(width: u32, height: u32, thumb_width: u32) -> Vec<(u32, u32)> {
    let mut sizes = Vec::with_capacity(2);
    for w in [thumb_width, thumb_width * 2] {
        let w = w.min(width);
        let h = scaled_height(width, height, w).min(w * 2);
        if !sizes.iter().any(|&(sw, _)| sw == w) {
            sizes.push((w, h));
        }
    }
    sizes
}

pub fn webp_name(hash: &str, width: u32) -> String {
    format!("{hash}-{width}.webp")
}

pub fn fallback_name(hash: &str, width: u32, ext: &str) -> String {
    format!("{hash}-{width}.{ext}")
}

pub fn thumb_name(hash: &str, width: u32) -> String {
    format!("{hash}-t{width}.webp")
}

/// Files live in a folder named by the first two hex digits of the hash.
pub fn url(hash: &str, name: &str) -> String {
    format!("/media/{}/{}", &hash[..2.min(hash.len())], name)
}

/// Checks a requested media path: `{2 hex}/{32 hex}-{t?}{digits}.{webp|jpg|png}`.
pub fn is_valid_path(dir: &str, file: &str) -> bool {
    let hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let Some((stem, ext)) = file.rsplit_once('.') else {
        return false;
    };
    let Some((hash, size)) = stem.split_once('-') else {
        return false;
    };
    let size = size.strip_prefix('t').unwrap_or(size);
    dir.len() == 2
        && hex(dir)
        && hash.len() == 32
        && hex(hash)
        && hash.starts_with(dir)
        && !size.is_empty()
        && size.len() <= 5
        && size.bytes().all(|b| b.is_ascii_digit())
        && matches!(ext, "webp" | "jpg" | "png")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn widths_never_upscale() {
        assert_eq!(widths_for(300, &[480, 800]), vec![300]);
        assert_eq!(
            widths_for(900, &[480, 800, 1200, 1600]),
            vec![480, 800, 900]
        );
        assert_eq!(
            widths_for(3000, &[480, 800, 1200, 1600]),
            vec![480, 800, 1200, 1600]
        );
        assert_eq!(widths_for(800, &[800, 480]), vec![480, 800]);
    }

    #[test]
    fn fallback_is_at_most_1200() {
        assert_eq!(fallback_width(&[480, 800, 1200, 1600]), 1200);
        assert_eq!(fallback_width(&[300]), 300);
        assert_eq!(fallback_width(&[1600]), 1600);
    }

    #[test]
    fn long_scrolls_get_cropped_thumbnails() {
        assert_eq!(thumb_sizes(800, 8000, 240), vec![(240, 480), (480, 960)]);
        assert_eq!(thumb_sizes(100, 100, 240), vec![(100, 100)]);
    }

    #[test]
    fn media_paths_are_checked_strictly() {
        let hash = "0123456789abcdef0123456789abcdef";
        assert!(is_valid_path("01", &format!("{hash}-800.webp")));
        assert!(is_valid_path("01", &format!("{hash}-t240.webp")));
        assert!(!is_valid_path("02", &format!("{hash}-800.webp")));
        assert!(!is_valid_path("01", &format!("{hash}-800.exe")));
        assert!(!is_valid_path("..", "passwd"));
        assert!(!is_valid_path("01", &format!("{hash}-.webp")));
    }

    proptest! {
        #[test]
        fn valid_paths_never_escape(dir in "\\PC{0,4}", file in "\\PC{0,60}") {
            if is_valid_path(&dir, &file) {
                prop_assert!(!dir.contains('.') && !file.contains('/') && !file.contains(".."));
            }
        }

        #[test]
        fn widths_are_ascending_and_bounded(width in 1u32..10_000) {
            let widths = widths_for(width, &[480, 800, 1200, 1600]);
            prop_assert!(widths.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(widths.iter().all(|&w| w <= width));
        }
    }
}
