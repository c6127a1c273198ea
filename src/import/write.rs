//! Step 3 of an import (and of the demo): write pages in one transaction.

use std::collections::{HashMap, HashSet};

use sqlx::AnyConnection;

use crate::comics::{self, ChapterId, SeriesId, Slug};
use crate::db::Db;
use crate::media::Processed;

/// Where pages go and how they are published.
pub struct Target {
    pub series: Option<String>,
    pub publish: bool,
    /// Pages were public before (an archive import): they went live on their
    /// own date rather than now.
    pub backfill: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChapterSpec {
    pub volume: Option<String>,
    pub slug: String,
    pub title: String,
    pub description: String,
}

pub struct ReadyImage {
    pub processed: Processed,
    pub alt: String,
}

pub struct ReadyPage {
    pub chapter: Option<ChapterSpec>,
    pub slug: String,
    pub title: String,
    /// Unix seconds; `None` means now.
    pub published_at: Option<i64>,
    pub hover_text: String,
    pub transcript: String,
    pub notes: String,
    pub content_warning: String,
    pub tags: Vec<String>,
    pub characters: Vec<String>,
    pub images: Vec<ReadyImage>,
}

#[derive(Debug, Default)]
pub struct Written {
    pub created: usize,
    pub skipped: usize,
    pub chapters_created: usize,
    pub series: Option<SeriesId>,
}

/// Writes all pages or none. A page whose slug already exists in the series
/// was imported before and is skipped, which makes imports re-runnable.
#[tracing::instrument(skip_all, fields(pages = pages.len()))]
pub async fn write_pages(
    db: &Db,
    target: &Target,
    pages: Vec<ReadyPage>,
) -> anyhow::Result<Written> {
    let mut tx = db.pool().begin().await?;
    let series = resolve_series(&mut tx, target.series.as_deref()).await?;
    let mut written = Written {
        series: Some(series),
        ..Written::default()
    };
    let mut chapters: HashMap<ChapterSpec, ChapterId> = HashMap::new();
    let mut batch_slugs: HashSet<String> = HashSet::new();
    let now = crate::db::now();

    for page in pages {
        let mut slug = page.slug.clone();
        if comics::pages::slug_exists(&mut tx, series, &slug).await? {
            if !batch_slugs.contains(&slug) {
                written.skipped += 1;
                continue;
            }
            slug = unique_slug(&mut tx, series, &slug, &batch_slugs).await?;
        }
        batch_slugs.insert(slug.clone());

        let chapter_id = match &page.chapter {
            Some(spec) => Some(match chapters.get(spec) {
                Some(id) => *id,
                None => {
                    let (id, created) = ensure_chapter(&mut tx, series, spec).await?;
                    written.chapters_created += usize::from(created);
                    chapters.insert(spec.clone(), id);
                    id
                }
            }),
            None => None,
        };
        let new = comics::pages::NewPage {
            series_id: series,
            chapter_id,
            slug: &slug,
            title: &page.title,
            published: target.publish,
            published_at: page.published_at.unwrap_or(now),
            hover_text: &page.hover_text,
            transcript: &page.transcript,
            notes: &page.notes,
            content_warning: &page.content_warning,
        };
        let page_id = comics::pages::insert(&mut tx, &new, target.backfill).await?;
        for (position, image) in page.images.iter().enumerate() {
            let media = crate::media::store::insert_or_find(&mut tx, &image.processed).await?;
            comics::pages::insert_image(&mut tx, page_id, media, position as i64, &image.alt)
                .await?;
        }
        for tag in &page.tags {
            if let Some(slug) = Slug::from_text(tag) {
                let id = comics::taxonomy::ensure_tag(&mut tx, slug.as_str(), tag.trim()).await?;
                comics::taxonomy::tag_page(&mut tx, page_id, id).await?;
            }
        }
        for character in &page.characters {
            if let Some(slug) = Slug::from_text(character) {
                let id =
                    comics::taxonomy::ensure_character(&mut tx, slug.as_str(), character.trim())
                        .await?;
                comics::taxonomy::cast_page(&mut tx, page_id, id).await?;
            }
        }
        written.created += 1;
    }
    tx.commit().await?;
    Ok(written)
}

async fn resolve_series(conn: &mut AnyConnection, slug: Option<&str>) -> anyhow::Result<SeriesId> {
    if let Some(slug) = slug {
        let slug = Slug::parse(slug).map_err(|e| anyhow::anyhow!("--series {slug:?}: {e}"))?;
        if let Some(series) = comics::series::find_by_slug(conn, slug.as_str()).await? {
            return Ok(series.id);
        }
        let title = super::naming::humanize(slug.as_str()).unwrap_or_else(|| slug.to_string());
        let new = comics::series::NewSeries {
            slug: slug.as_str(),
            title: &title,
            tagline: "",
            description: "",
        };
        return Ok(comics::series::insert(conn, &new).await?);
    }
    if let Some(series) = comics::series::primary(conn).await? {
        return Ok(series.id);
    }
    let new = comics::series::NewSeries {
        slug: "comic",
        title: "My Comic",
        tagline: "",
        description: "",
    };
    Ok(comics::series::insert(conn, &new).await?)
}

async fn ensure_chapter(
    conn: &mut AnyConnection,
    series: SeriesId,
    spec: &ChapterSpec,
) -> anyhow::Result<(ChapterId, bool)> {
    if let Some(id) = comics::chapters::find_id_by_slug(conn, series, &spec.slug).await? {
        return Ok((id, false));
    }
    let volume_id = match &spec.volume {
        Some(title) => Some(comics::chapters::ensure_volume(conn, series, title).await?),
        None => None,
    };
    let new = comics::chapters::NewChapter {
        series_id: series,
        volume_id,
        slug: &spec.slug,
        title: &spec.title,
        description: &spec.description,
    };
    Ok((comics::chapters::insert(conn, &new).await?, true))
}

async fn unique_slug(
    conn: &mut AnyConnection,
    series: SeriesId,
    slug: &str,
    batch: &HashSet<String>,
) -> anyhow::Result<String> {
    for n in 2.. {
        let candidate = format!("{slug}-{n}");
        if !batch.contains(&candidate)
            && !comics::pages::slug_exists(conn, series, &candidate).await?
        {
            return Ok(candidate);
        }
    }
    unreachable!("an unbounded counter always finds a free slug")
}
