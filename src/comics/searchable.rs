//! Published pages as text to search: what `search` indexes, read from the
//! comics' tables here (their owner) in four queries.

use std::collections::HashMap;

use crate::db::{Db, DbText};

/// One page's searchable text.
#[derive(Debug, Clone, Default)]
pub struct Searchable {
    pub id: i64,
    pub series_id: i64,
    pub title: String,
    pub transcript: String,
    /// Alt text of every image, and the hover text.
    pub images: String,
    pub notes: String,
    /// Tags, characters and the chapter's name.
    pub labels: String,
    /// When the page goes live (a scheduled page is filtered at query time).
    pub live_at: i64,
}

type PageRow = (
    i64,
    i64,
    DbText,
    DbText,
    DbText,
    DbText,
    i64,
    Option<DbText>,
);

/// Every published page with what it is searched by: four queries in all.
pub async fn load(db: &Db) -> Result<Vec<Searchable>, sqlx::Error> {
    let pages: Vec<PageRow> = sqlx::query_as(
        "SELECT p.id, p.series_id, p.title, p.transcript, p.hover_text, p.notes, p.live_at, c.title \
         FROM pages p LEFT JOIN chapters c ON c.id = p.chapter_id \
         WHERE p.status = 'published' AND p.live_at IS NOT NULL",
    )
    .fetch_all(db)
    .await?;
    let mut extra: HashMap<i64, (String, String)> = HashMap::new();
    let alts: Vec<(i64, DbText)> = sqlx::query_as(
        "SELECT i.page_id, i.alt_text FROM page_images i JOIN pages p ON p.id = i.page_id \
         WHERE p.status = 'published' ORDER BY i.page_id, i.position",
    )
    .fetch_all(db)
    .await?;
    for (page, alt) in alts {
        let entry = extra.entry(page).or_default();
        entry.0.push_str(&alt.0);
        entry.0.push('\n');
    }
    let labels: Vec<(i64, DbText)> = sqlx::query_as(
        "SELECT pt.page_id, t.name FROM page_tags pt JOIN tags t ON t.id = pt.tag_id \
         UNION ALL SELECT pc.page_id, c.name FROM page_characters pc JOIN characters c ON c.id = pc.character_id",
    )
    .fetch_all(db)
    .await?;
    for (page, label) in labels {
        let entry = extra.entry(page).or_default();
        entry.1.push_str(&label.0);
        entry.1.push('\n');
    }
    Ok(pages
        .into_iter()
        .map(
            |(id, series_id, title, transcript, hover, notes, live_at, chapter)| {
                let (mut images, mut labels) = extra.remove(&id).unwrap_or_default();
                images.push_str(&hover.0);
                if let Some(chapter) = chapter {
                    labels.push_str(&chapter.0);
                }
                Searchable {
                    id,
                    series_id,
                    title: title.0,
                    transcript: transcript.0,
                    images,
                    notes: notes.0,
                    labels,
                    live_at,
                }
            },
        )
        .collect())
}
