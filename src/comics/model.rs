//! Domain types: ids, validated slugs, and the records read from the tables.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type,
        )]
        #[sqlx(transparent)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(SeriesId);
id_type!(VolumeId);
id_type!(ChapterId);
id_type!(PageId);
id_type!(MediaId);
id_type!(TagId);
id_type!(CharacterId);
id_type!(StaticPageId);

/// A URL slug: lowercase ASCII letters, digits and single hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SlugError {
    #[error("a slug cannot be empty")]
    Empty,
    #[error("a slug can be at most {max} characters long")]
    TooLong { max: usize },
    #[error(
        "a slug may contain only lowercase letters, digits and single hyphens, not at either end"
    )]
    BadCharacters,
}

impl Slug {
    pub const MAX_LEN: usize = 120;

    pub fn parse(input: &str) -> Result<Self, SlugError> {
        if input.is_empty() {
            return Err(SlugError::Empty);
        }
        if input.len() > Self::MAX_LEN {
            return Err(SlugError::TooLong { max: Self::MAX_LEN });
        }
        let ok_chars = input
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok_chars || input.starts_with('-') || input.ends_with('-') || input.contains("--") {
            return Err(SlugError::BadCharacters);
        }
        Ok(Self(input.to_owned()))
    }

    /// Derives a slug from free text ("Café au lait!" → "cafe-au-lait").
    /// `None` when nothing sluggable remains (e.g. only punctuation).
    pub fn from_text(text: &str) -> Option<Self> {
        let mut slug = slug::slugify(text);
        if slug.len() > Self::MAX_LEN {
            slug.truncate(Self::MAX_LEN);
            while slug.ends_with('-') {
                slug.pop();
            }
        }
        Self::parse(&slug).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a page stands for readers, derived from `status` and `live_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PageStatus {
    Draft,
    Scheduled,
    Published,
}

impl PageStatus {
    pub fn derive(stored: &str, live_at: Option<i64>, now: i64) -> Self {
        match (stored, live_at) {
            ("published", Some(at)) if at <= now => PageStatus::Published,
            ("published", Some(_)) => PageStatus::Scheduled,
            _ => PageStatus::Draft,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Series {
    pub id: SeriesId,
    pub slug: String,
    pub title: String,
    pub tagline: String,
    pub description: String,
    pub position: i64,
    /// Shown before every page's images of this series (a chapter's or a
    /// page's own warning comes first); with `age_gate` it asks for 18+.
    pub content_warning: String,
    pub age_gate: i64,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Chapter {
    pub id: ChapterId,
    pub series_id: SeriesId,
    pub volume_id: Option<VolumeId>,
    pub volume_title: Option<String>,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub position: i64,
    pub content_warning: String,
    pub age_gate: i64,
}

/// A comic page as readers see it, with its chapter's names joined in.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Page {
    pub id: PageId,
    pub series_id: SeriesId,
    pub chapter_id: Option<ChapterId>,
    pub slug: String,
    pub title: String,
    pub position: i64,
    pub status: String,
    /// The date shown with the page; may be back-dated.
    pub published_at: Option<i64>,
    /// When the page became (or becomes) visible; feeds order by it.
    pub live_at: Option<i64>,
    pub hover_text: String,
    #[sqlx(try_from = "crate::db::DbText")]
    pub transcript: String,
    #[sqlx(try_from = "crate::db::DbText")]
    pub notes: String,
    pub content_warning: String,
    pub updated_at: i64,
    /// Readers may not comment on this page (the author closed it).
    pub comments_closed: i64,
    /// Readers confirm they are adults before this page's images show.
    pub age_gate: i64,
    pub chapter_slug: Option<String>,
    pub chapter_title: Option<String>,
    pub chapter_position: Option<i64>,
    /// The chapter's own warning and age gate (see `Series`).
    pub chapter_warning: Option<String>,
    pub chapter_gate: Option<i64>,
}

/// One image of a page, with what is needed to build its `<picture>`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PageImage {
    pub page_id: PageId,
    pub position: i64,
    pub alt_text: String,
    #[sqlx(flatten)]
    pub media: MediaRef,
}

/// The stored facts about a processed image that URLs are made from.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MediaRef {
    pub hash: String,
    pub width: i64,
    pub height: i64,
    /// Comma-separated WebP widths, ascending.
    pub widths: String,
    pub fallback_ext: String,
    pub thumb_width: i64,
    pub thumb_height: i64,
}

/// A page in a list (archive, tag, character): title plus its cover thumbnail.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PageSummary {
    pub id: PageId,
    pub series_id: SeriesId,
    pub chapter_id: Option<ChapterId>,
    pub slug: String,
    pub title: String,
    pub published_at: Option<i64>,
    pub alt_text: Option<String>,
    pub hash: Option<String>,
    pub widths: Option<String>,
    pub thumb_width: Option<i64>,
    pub thumb_height: Option<i64>,
}

impl PageSummary {
    pub fn cover(&self) -> Option<MediaRef> {
        Some(MediaRef {
            hash: self.hash.clone()?,
            width: 0,
            height: 0,
            widths: self.widths.clone()?,
            fallback_ext: String::new(),
            thumb_width: self.thumb_width?,
            thumb_height: self.thumb_height?,
        })
    }
}

/// First/previous/next/latest and chapter jumps, as slugs of visible pages.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Navigation {
    pub first_slug: Option<String>,
    pub prev_slug: Option<String>,
    pub next_slug: Option<String>,
    pub last_slug: Option<String>,
    pub prev_chapter_slug: Option<String>,
    pub next_chapter_slug: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Tag {
    pub id: TagId,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Character {
    pub id: CharacterId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub position: i64,
    pub total_pages: i64,
    pub hash: Option<String>,
    pub widths: Option<String>,
    pub thumb_width: Option<i64>,
    pub thumb_height: Option<i64>,
}

impl Character {
    pub fn portrait(&self) -> Option<MediaRef> {
        Some(MediaRef {
            hash: self.hash.clone()?,
            width: 0,
            height: 0,
            widths: self.widths.clone()?,
            fallback_ext: String::new(),
            thumb_width: self.thumb_width?,
            thumb_height: self.thumb_height?,
        })
    }
}

/// A tag or character attached to a page (`kind` is "tag" or "character").
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PageLabel {
    pub kind: String,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaticPage {
    pub id: StaticPageId,
    pub slug: String,
    pub title: String,
    #[sqlx(try_from = "crate::db::DbText")]
    pub body: String,
    pub updated_at: i64,
}

/// A static page as the admin edits it.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct StaticPageAdmin {
    pub id: i64,
    pub slug: String,
    pub title: String,
    #[sqlx(try_from = "crate::db::DbText")]
    pub body: String,
    pub published: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct StaticPageLink {
    pub slug: String,
    pub title: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slugs_accept_the_usual_shapes() {
        for ok in ["a", "page-1", "2010-05-03-the-start", "x9"] {
            assert_eq!(Slug::parse(ok).expect(ok).as_str(), ok);
        }
    }

    #[test]
    fn slugs_refuse_what_would_break_urls() {
        assert_eq!(Slug::parse(""), Err(SlugError::Empty));
        for bad in [
            "A", "-a", "a-", "a--b", "a b", "a/b", "../x", "é", "a_b", "a.b",
        ] {
            assert_eq!(Slug::parse(bad), Err(SlugError::BadCharacters), "{bad}");
        }
        assert!(matches!(
            Slug::parse(&"a".repeat(121)),
            Err(SlugError::TooLong { .. })
        ));
    }

    #[test]
    fn slugs_derive_from_titles() {
        assert_eq!(
            Slug::from_text("Café au lait!").expect("slug").as_str(),
            "cafe-au-lait"
        );
        assert_eq!(
            Slug::from_text("  Page 12: The End  ")
                .expect("slug")
                .as_str(),
            "page-12-the-end"
        );
        assert!(Slug::from_text("!!!").is_none());
    }

    #[test]
    fn status_follows_the_clock() {
        assert_eq!(
            PageStatus::derive("published", Some(10), 10),
            PageStatus::Published
        );
        assert_eq!(
            PageStatus::derive("published", Some(11), 10),
            PageStatus::Scheduled
        );
        assert_eq!(PageStatus::derive("draft", Some(1), 10), PageStatus::Draft);
        assert_eq!(PageStatus::derive("published", None, 10), PageStatus::Draft);
    }

    proptest! {
        #[test]
        fn a_derived_slug_always_parses(text in "\\PC{0,200}") {
            if let Some(slug) = Slug::from_text(&text) {
                prop_assert!(Slug::parse(slug.as_str()).is_ok());
            }
        }

        #[test]
        fn parse_never_accepts_path_tricks(text in "\\PC{0,50}") {
            if let Ok(slug) = Slug::parse(&text) {
                prop_assert!(!slug.as_str().contains('/') && !slug.as_str().contains('.'));
            }
        }
    }
}
