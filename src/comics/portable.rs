//! The whole comic as plain data, for `halftone export` (which writes it
//! in the importer's folder format): every series, chapter and page with
//! its texts and images, in reading order. Four queries, not one per page.

use std::collections::HashMap;

use crate::db::{Db, DbText};

#[derive(Debug, Clone)]
pub struct Series {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub chapters: Vec<Chapter>,
    /// Pages in reading order (chapter or not).
    pub pages: Vec<Page>,
}

#[derive(Debug, Clone)]
pub struct Chapter {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub volume: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub id: i64,
    pub chapter_id: Option<i64>,
    pub slug: String,
    pub title: String,
    pub draft: bool,
    pub published_at: Option<i64>,
    pub live_at: Option<i64>,
    pub hover: String,
    pub transcript: String,
    pub notes: String,
    pub content_warning: String,
    pub tags: Vec<String>,
    pub characters: Vec<String>,
    pub images: Vec<Image>,
}

#[derive(Debug, Clone)]
pub struct Image {
    pub hash: String,
    pub widths: String,
    pub fallback_ext: String,
    pub alt: String,
}

type PageRow = (
    i64,
    i64,
    Option<i64>,
    DbText,
    DbText,
    DbText,
    Option<i64>,
    Option<i64>,
    DbText,
    DbText,
    DbText,
    DbText,
);

pub async fn load(db: &Db) -> Result<Vec<Series>, sqlx::Error> {
    let series: Vec<(i64, DbText, DbText)> =
        sqlx::query_as("SELECT id, slug, title FROM series ORDER BY position, id")
            .fetch_all(db)
            .await?;
    let chapters: Vec<(i64, i64, DbText, DbText, DbText, Option<DbText>)> = sqlx::query_as(
        "SELECT c.id, c.series_id, c.slug, c.title, c.description, v.title \
         FROM chapters c LEFT JOIN volumes v ON v.id = c.volume_id \
         ORDER BY c.series_id, c.position, c.id",
    )
    .fetch_all(db)
    .await?;
    let pages: Vec<PageRow> = sqlx::query_as(
        "SELECT p.id, p.series_id, p.chapter_id, p.slug, p.title, p.status, p.published_at, \
         p.live_at, p.hover_text, p.transcript, p.notes, p.content_warning \
         FROM pages p ORDER BY p.series_id, p.position, p.id",
    )
    .fetch_all(db)
    .await?;
    let images: Vec<(i64, DbText, DbText, DbText, DbText)> = sqlx::query_as(
        "SELECT pi.page_id, m.hash, m.widths, m.fallback_ext, pi.alt_text \
         FROM page_images pi JOIN media m ON m.id = pi.media_id ORDER BY pi.page_id, pi.position, pi.id",
    )
    .fetch_all(db)
    .await?;
    let tags: Vec<(i64, DbText)> = sqlx::query_as(
        "SELECT pt.page_id, t.name FROM page_tags pt JOIN tags t ON t.id = pt.tag_id \
         ORDER BY pt.page_id, t.name",
    )
    .fetch_all(db)
    .await?;
    let cast: Vec<(i64, DbText)> = sqlx::query_as(
        "SELECT pc.page_id, c.name FROM page_characters pc \
         JOIN characters c ON c.id = pc.character_id ORDER BY pc.page_id, c.position, c.id",
    )
    .fetch_all(db)
    .await?;

    let mut images_of: HashMap<i64, Vec<Image>> = HashMap::new();
    for (page, hash, widths, ext, alt) in images {
        images_of.entry(page).or_default().push(Image {
            hash: hash.0,
            widths: widths.0,
            fallback_ext: ext.0,
            alt: alt.0,
        });
    }
    let mut tags_of: HashMap<i64, Vec<String>> = HashMap::new();
    for (page, name) in tags {
        tags_of.entry(page).or_default().push(name.0);
    }
    let mut cast_of: HashMap<i64, Vec<String>> = HashMap::new();
    for (page, name) in cast {
        cast_of.entry(page).or_default().push(name.0);
    }
    let mut out: Vec<Series> = series
        .into_iter()
        .map(|(id, slug, title)| Series {
            id,
            slug: slug.0,
            title: title.0,
            chapters: Vec::new(),
            pages: Vec::new(),
        })
        .collect();
    let index: HashMap<i64, usize> = out.iter().enumerate().map(|(i, s)| (s.id, i)).collect();
    for (id, series_id, slug, title, description, volume) in chapters {
        if let Some(&i) = index.get(&series_id) {
            out[i].chapters.push(Chapter {
                id,
                slug: slug.0,
                title: title.0,
                description: description.0,
                volume: volume.map(|v| v.0),
            });
        }
    }
    for row in pages {
        let (id, series_id, chapter_id, slug, title, status, published_at, live_at) =
            (row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7);
        let Some(&i) = index.get(&series_id) else {
            continue;
        };
        out[i].pages.push(Page {
            id,
            chapter_id,
            slug: slug.0,
            title: title.0,
            draft: status.0 != "published",
            published_at,
            live_at,
            hover: row.8 .0,
            transcript: row.9 .0,
            notes: row.10 .0,
            content_warning: row.11 .0,
            tags: tags_of.remove(&id).unwrap_or_default(),
            characters: cast_of.remove(&id).unwrap_or_default(),
            images: images_of.remove(&id).unwrap_or_default(),
        });
    }
    Ok(out)
}
