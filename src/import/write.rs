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
    /// Show no date (the page's date is unknown); `published_at` then only
    /// orders it in feeds.
    pub hide_date: bool,
    /// Kept as a draft whatever the target says (a draft in the source).
    pub draft: bool,
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
/// Pages are appended in the order given.
pub async fn write_pages(
    db: &Db,
    target: &Target,
    pages: Vec<ReadyPage>,
) -> anyhow::Result<Written> {
    let order: Vec<String> = pages.iter().map(|p| p.slug.clone()).collect();
    write_planned(db, target, pages, &order).await
}

/// Like [`write_pages`], placing each new page by `plan_order` (every
/// page's slug in the source's reading order, those already imported
/// included): right after the nearest earlier page that exists, or before the
/// nearest later one. Existing pages never move relative to each other, so a
/// page fixed and imported again lands among its neighbours, not at the end.
#[tracing::instrument(skip_all, fields(pages = pages.len()))]
pub async fn write_planned(
    db: &Db,
    target: &Target,
    pages: Vec<ReadyPage>,
    plan_order: &[String],
) -> anyhow::Result<Written> {
    let mut tx = db.begin_write().await?;
    let series = resolve_series(&mut tx, target.series.as_deref()).await?;
    let mut written = Written {
        series: Some(series),
        ..Written::default()
    };
    let mut chapters: HashMap<ChapterSpec, ChapterId> = HashMap::new();
    let mut batch_slugs: HashSet<String> = HashSet::new();
    let mut positions: HashMap<String, i64> = comics::pages::slugs_and_positions(&mut tx, series)
        .await?
        .into_iter()
        .collect();
    let plan_index: HashMap<&str, usize> = plan_order
        .iter()
        .enumerate()
        .map(|(i, slug)| (slug.as_str(), i))
        .collect();
    let now = crate::db::now();

    for page in pages {
        let mut slug = page.slug.clone();
        if positions.contains_key(&slug) {
            if !batch_slugs.contains(&slug) {
                written.skipped += 1;
                continue;
            }
            slug = unique_slug(&mut tx, series, &slug, &batch_slugs).await?;
        }
        batch_slugs.insert(slug.clone());
        let position = place(&page.slug, &plan_index, plan_order, &positions);

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
        let goes_live = page.published_at.unwrap_or(now);
        let new = comics::pages::NewPage {
            series_id: series,
            chapter_id,
            slug: &slug,
            title: &page.title,
            published: target.publish && !page.draft,
            published_at: (!page.hide_date).then_some(goes_live),
            goes_live,
            position,
            hover_text: &page.hover_text,
            transcript: &page.transcript,
            notes: &page.notes,
            content_warning: &page.content_warning,
        };
        let page_id = comics::pages::insert(&mut tx, &new, target.backfill).await?;
        let at = match position {
            Some(at) => {
                for p in positions.values_mut().filter(|p| **p >= at) {
                    *p += 1;
                }
                at
            }
            None => positions.values().copied().max().unwrap_or(0) + 1,
        };
        positions.insert(slug.clone(), at);
        if slug != page.slug {
            positions.entry(page.slug.clone()).or_insert(at);
        }
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

/// The position a new page takes: after the nearest earlier page of the
/// plan that is in the series, else before the nearest later one; `None`
/// (the end) when the plan shares no page with the series.
fn place(
    slug: &str,
    plan_index: &HashMap<&str, usize>,
    plan_order: &[String],
    positions: &HashMap<String, i64>,
) -> Option<i64> {
    let at = *plan_index.get(slug)?;
    let end = positions.values().copied().max().unwrap_or(0) + 1;
    let earlier = plan_order[..at]
        .iter()
        .rev()
        .find_map(|s| positions.get(s))
        .map(|p| p + 1);
    let later = || {
        plan_order[at + 1..]
            .iter()
            .find_map(|s| positions.get(s))
            .copied()
    };
    earlier.or_else(later).filter(|p| *p < end)
}

/// What an import finds already in the site: the target series (if it
/// exists yet), its page slugs and chapter slugs. A dry run plans with it and
/// writes nothing.
#[derive(Debug, Default)]
pub struct Existing {
    pub series: Option<SeriesId>,
    pub slugs: HashSet<String>,
    pub chapters: HashSet<String>,
    pub media: HashSet<String>,
}

impl Existing {
    pub async fn load(db: &Db, series: Option<&str>) -> anyhow::Result<Existing> {
        let mut conn = db.pool().acquire().await?;
        let found = match series {
            Some(slug) => comics::series::find_by_slug(&mut conn, slug)
                .await?
                .map(|s| s.id),
            None => comics::series::primary(&mut conn).await?.map(|s| s.id),
        };
        let mut existing = Existing {
            series: found,
            media: crate::media::store::known_hashes(db).await?,
            ..Existing::default()
        };
        if let Some(series) = found {
            existing.slugs = comics::pages::slugs_and_positions(&mut conn, series)
                .await?
                .into_iter()
                .map(|(slug, _)| slug)
                .collect();
            existing.chapters = comics::chapters::slugs(&mut conn, series).await?;
        }
        Ok(existing)
    }
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
    // A site named at set-up has its series already; an import before
    // set-up names the series after the site if it has a title.
    let site_title: Option<String> =
        sqlx::query_scalar("SELECT value FROM settings WHERE name = 'site.title'")
            .fetch_optional(&mut *conn)
            .await?;
    let title = site_title.unwrap_or_else(|| comics::series::DEFAULT_TITLE.to_owned());
    let new = comics::series::NewSeries {
        slug: "comic",
        title: &title,
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
