//! Moving in from another webcomic system: `halftone import --from SYSTEM …`.
//!
//! Each reader (`wordpress`, `comiccontrol`, `grawlix`, `comic_git`,
//! `rarebit`) turns its source into one [`ForeignComic`]: plain data, pages
//! in the source's own reading order, every text already decoded the way
//! the source displays it, images as files on disk (or named as missing),
//! and every old address that must keep working. Readers never touch the
//! database or the media store; `run` (in `import`) does, with the same
//! promises as a folder import: one transaction, images through the media
//! pipeline, re-runnable, a dry run that writes nothing.

use std::path::PathBuf;

pub mod apply;
pub mod comic_git;
pub mod comiccontrol;
pub mod grawlix;
mod mysql;
pub mod rarebit;
pub(crate) mod text;
pub mod wordpress;

pub use crate::import::write::ChapterSpec;

/// Where a comic moves in from (`halftone import --from …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum System {
    /// A folder of images and sidecars (Halftone's own format).
    Folder,
    Wordpress,
    Comiccontrol,
    Grawlix,
    ComicGit,
    Rarebit,
    /// A Disqus export: comments only, into pages already here.
    Disqus,
}

/// Reads a comic from `source` (a file, a folder or a database URL).
pub async fn read(
    from: System,
    source: &std::path::Path,
    uploads: Option<&std::path::Path>,
    prefix: Option<&str>,
) -> anyhow::Result<ForeignComic> {
    let url = || source.to_string_lossy().into_owned();
    match from {
        System::Folder => anyhow::bail!("a folder import is not a foreign one"),
        System::Disqus => {
            anyhow::bail!("a Disqus export holds comments only (see comments::disqus)")
        }
        System::Wordpress => {
            let (export, uploads) = (source.to_owned(), uploads.map(ToOwned::to_owned));
            tokio::task::spawn_blocking(move || wordpress::read(&export, uploads.as_deref()))
                .await?
        }
        System::Comiccontrol => comiccontrol::read(&url(), prefix, uploads).await,
        System::Grawlix => grawlix::read(&url(), prefix, uploads).await,
        System::ComicGit => {
            let dir = source.to_owned();
            tokio::task::spawn_blocking(move || comic_git::read(&dir)).await?
        }
        System::Rarebit => {
            let dir = source.to_owned();
            tokio::task::spawn_blocking(move || rarebit::read(&dir)).await?
        }
    }
}

/// A whole comic as another system had it.
#[derive(Debug, Clone, Default)]
pub struct ForeignComic {
    /// What it came from, for the report: "WordPress 6.1 + Comic Easel".
    pub system: String,
    /// The site's title, when the source has one.
    pub site_title: Option<String>,
    /// Usually one; Webcomic collections and Toocheke series make several.
    pub series: Vec<ForeignSeries>,
    /// Blog posts and pages: static pages (or news) in Halftone.
    pub static_pages: Vec<ForeignStatic>,
    /// Old addresses of things that are not one page: chapter archives,
    /// character pages, feeds, the archive. Path (and query), e.g.
    /// `/chapter/chapter-1/` or `/?chapters=chapter-1`.
    pub redirects: Vec<ForeignRedirect>,
    /// Everything the source has that Halftone could not map, one line each
    /// (`"locations taxonomy: 3 terms, not imported"`), for the dry-run
    /// report and the closing summary.
    pub unmapped: Vec<String>,
    /// Assumptions the reader made that the author should check
    /// (`"chapter order inferred from the dates of their pages"`).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ForeignSeries {
    /// `None`: the site's primary series.
    pub slug: Option<String>,
    pub title: String,
    pub description: String,
    /// Reading order as the source defines it (ties broken by the reader,
    /// deterministically, and said in `notes`).
    pub pages: Vec<ForeignPage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForeignStatus {
    /// Public now (its date is in the past).
    Published,
    /// Not public, never was: a draft (also the source's "pending", and
    /// "private" pages, which only their author could see).
    Draft,
    /// Goes live at its date.
    Scheduled,
}

#[derive(Debug, Clone)]
pub struct ForeignPage {
    /// The source's id of this page (`"wp:16"`), for messages.
    pub source_id: String,
    pub slug: String,
    /// Plain text, decoded (no entities, no tags).
    pub title: String,
    pub status: ForeignStatus,
    /// When it went (or goes) live, Unix seconds UTC. `None`: unknown.
    pub date: Option<i64>,
    /// The chapter (with its volume, when the source nests them).
    pub chapter: Option<ChapterSpec>,
    /// Plain text, decoded.
    pub hover_text: String,
    /// Plain text with newlines, decoded.
    pub transcript: String,
    /// The author's words under the page: HTML or Markdown as the source
    /// had it (Halftone renders Markdown and sanitizes any HTML in it).
    pub notes: String,
    pub content_warning: String,
    pub tags: Vec<String>,
    pub characters: Vec<String>,
    /// In display order: the comic, then any further slice.
    pub images: Vec<ForeignImage>,
    /// Every address this page answered at (path and query, no host):
    /// `/comic/page-1/`, `/?p=16`, `/?post_type=comic&p=16`, `/2024/03/page-1/`.
    pub old_urls: Vec<String>,
    /// Readers' comments on the page, with their threads and statuses.
    pub comments: Vec<crate::comments::import::ForeignComment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForeignImage {
    /// The original upload, on disk.
    File { path: PathBuf, alt: String },
    /// Named by the source but not found (reported, the page is imported
    /// without it only if it has other images; else skipped and reported).
    Missing { name: String },
}

#[derive(Debug, Clone)]
pub struct ForeignStatic {
    pub slug: String,
    pub title: String,
    /// HTML as the source stored it (sanitized when shown).
    pub body: String,
    pub date: Option<i64>,
    pub status: ForeignStatus,
    /// A blog post (news) rather than a page.
    pub is_post: bool,
    pub old_urls: Vec<String>,
}

/// An old address answered with a 301 to something that is not one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignRedirect {
    /// Path and query, no host: `/chapter/chapter-1/`.
    pub from: String,
    pub to: RedirectTarget,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectTarget {
    /// A chapter by its slug (in `series`, `None` = primary).
    Chapter {
        series: Option<String>,
        slug: String,
    },
    /// The archive of a series.
    Archive {
        series: Option<String>,
    },
    /// The RSS feed of a series (or of one chapter).
    Feed {
        series: Option<String>,
        chapter: Option<String>,
    },
    /// A character's page, by the character's name as in `characters`.
    Character {
        name: String,
    },
    /// A tag's page, by the tag's name as in `tags`.
    Tag {
        name: String,
    },
    /// The first / the newest page.
    First {
        series: Option<String>,
    },
    Latest {
        series: Option<String>,
    },
    /// The home page.
    Home,
}

/// Decodes HTML character references once (`&amp;` → `&`, `&#039;` → `'`,
/// `&eacute;` → `é`), as the sources store text escaped once.
pub fn decode_entities(text: &str) -> String {
    html_escape::decode_html_entities(text).into_owned()
}

/// Plain text of a title that may hold tags and entities: tags removed,
/// entities decoded once. A `<` that does not open a tag (`x < y`) stays.
pub fn plain_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut chars = html.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' if !in_tag
                && chars
                    .peek()
                    .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')) =>
            {
                in_tag = true
            }
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    decode_entities(&out).trim().to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn plain_text_drops_tags_but_keeps_a_lone_angle_bracket() {
        assert_eq!(
            super::plain_text("Tom's <em>bold</em> move"),
            "Tom's bold move"
        );
        assert_eq!(super::plain_text("x < y &amp; z"), "x < y & z");
        assert_eq!(super::plain_text("Caf&eacute; &lt;3"), "Café <3");
    }
}
