//! The archive (every page by chapter, with thumbnails) and the chapter
//! "read on" view (a whole chapter in one long scroll).

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::comic::{page_view, LinkView, PageView};
use super::path::{InSeries, PathSlug};
use super::response;
use super::site::{dates, Chrome, FeedLinks, Meta, Site};
use crate::cache::Rendered;
use crate::comics::{self, Chapter, ChapterId, PageSummary};
use crate::error::AppError;
use crate::media::view::Thumb;
use crate::render::markdown;
use crate::startup::AppState;

/// Thumbnails above this many in a list load eagerly; the rest lazily.
const EAGER_THUMBS: usize = 8;

#[derive(Serialize)]
struct ArchiveTemplate {
    chrome: Chrome,
    meta: Meta,
    volumes: Vec<VolumeGroup>,
    page_count: usize,
}

#[derive(Serialize)]
struct VolumeGroup {
    title: Option<String>,
    chapters: Vec<ChapterGroup>,
}

#[derive(Serialize)]
struct ChapterGroup {
    title: String,
    url: Option<String>,
    pages: Vec<Tile>,
}

/// A thumbnail linking to a page, as shown in archive, tag and character lists.
#[derive(Serialize)]
pub struct Tile {
    pub title: String,
    pub url: String,
    pub date: String,
    pub date_iso: String,
    pub thumb: Option<Thumb>,
    pub lazy: bool,
}

pub fn tiles(site: &Site, pages: &[PageSummary]) -> Vec<Tile> {
    pages
        .iter()
        .enumerate()
        .map(|(n, p)| {
            let (date, date_iso) = dates(p.published_at);
            let alt = p
                .alt_text
                .clone()
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| p.title.clone());
            Tile {
                title: p.title.clone(),
                url: site.urls.comic(p.series_id, &p.slug),
                date,
                date_iso,
                thumb: p.cover().map(|m| Thumb::new(&m, &alt)),
                lazy: n >= EAGER_THUMBS,
            }
        })
        .collect()
}

/// `/archive`
pub async fn archive(
    state: web::Data<AppState>,
    req: HttpRequest,
    series: InSeries,
) -> Result<HttpResponse, AppError> {
    response::page(&state, &req, move |state| {
        render_archive(state, series.0.clone())
    })
    .await
}

#[tracing::instrument(skip_all)]
async fn render_archive(
    state: Arc<AppState>,
    series: Option<String>,
) -> Result<Rendered, AppError> {
    let site = Site::load(&state, series.as_deref()).await?;
    let series = site.require_series()?;
    let now = crate::db::now();
    let chapters = comics::chapters::visible_in_series(&state.db, series.id, now).await?;
    let pages = comics::pages::archive(&state.db, series.id, now).await?;
    let page_count = pages.len();
    let volumes = group_by_chapter(&site, &chapters, &pages);
    let meta = Meta::new(
        &site,
        Some("Archive"),
        &format!("Every page of {}, chapter by chapter.", series.title),
        &site.urls.archive(series.id),
    );
    let body = state.templates.render(
        "reader/archive.html",
        &ArchiveTemplate {
            chrome: site.chrome("archive"),
            meta,
            volumes,
            page_count,
        },
    )?;
    Ok(Rendered::html(body))
}

/// Pages are listed in reading order; a chapter's group starts where its
/// first page is. Pages outside any chapter form unnamed groups in place.
fn group_by_chapter(site: &Site, chapters: &[Chapter], pages: &[PageSummary]) -> Vec<VolumeGroup> {
    let all_tiles = tiles(site, pages);
    let mut volumes: Vec<VolumeGroup> = Vec::new();
    let mut last_chapter: Option<Option<ChapterId>> = None;
    for (page, tile) in pages.iter().zip(all_tiles) {
        if last_chapter != Some(page.chapter_id) {
            let chapter = page
                .chapter_id
                .and_then(|id| chapters.iter().find(|c| c.id == id));
            let volume_title = chapter.and_then(|c| c.volume_title.clone());
            if volumes.last().is_none_or(|v| v.title != volume_title) {
                volumes.push(VolumeGroup {
                    title: volume_title,
                    chapters: Vec::new(),
                });
            }
            if let Some(volume) = volumes.last_mut() {
                volume.chapters.push(ChapterGroup {
                    title: chapter.map(|c| c.title.clone()).unwrap_or_default(),
                    url: chapter.map(|c| site.urls.chapter(c.series_id, &c.slug)),
                    pages: Vec::new(),
                });
            }
            last_chapter = Some(page.chapter_id);
        }
        if let Some(group) = volumes.last_mut().and_then(|v| v.chapters.last_mut()) {
            group.pages.push(tile);
        }
    }
    volumes
}

#[derive(Serialize)]
struct ChapterTemplate {
    chrome: Chrome,
    meta: Meta,
    chapter_title: String,
    volume_title: Option<String>,
    description_html: String,
    pages: Vec<PageView>,
    prev_chapter: Option<LinkView>,
    next_chapter: Option<LinkView>,
    archive_url: String,
    feeds: FeedLinks,
}

/// `/chapter/{chapter}`: the whole chapter in one scroll.
pub async fn chapter(
    state: web::Data<AppState>,
    req: HttpRequest,
    series: InSeries,
    PathSlug(slug): PathSlug,
) -> Result<HttpResponse, AppError> {
    response::page(&state, &req, move |state| {
        render_chapter(state, series.0.clone(), slug.clone())
    })
    .await
}

#[tracing::instrument(skip_all, fields(chapter = %slug))]
async fn render_chapter(
    state: Arc<AppState>,
    series: Option<String>,
    slug: comics::Slug,
) -> Result<Rendered, AppError> {
    let site = Site::load(&state, series.as_deref()).await?;
    let series = site.require_series()?;
    let now = crate::db::now();
    let chapters = comics::chapters::visible_in_series(&state.db, series.id, now).await?;
    let index = chapters
        .iter()
        .position(|c| c.slug == slug.as_str())
        .ok_or(AppError::NotFound)?;
    let chapter = &chapters[index];
    let pages = comics::pages::in_chapter(&state.db, chapter.id, now).await?;
    let ids: Vec<_> = pages.iter().map(|p| p.id).collect();
    let images = comics::pages::images_for(&state.db, &ids).await?;

    let mut before = 0;
    let views = pages
        .iter()
        .map(|p| {
            let view = page_view(&site, p, &images, &[], Default::default(), before, false);
            before += view.images.len();
            view
        })
        .collect();
    let link = |c: &Chapter| LinkView {
        title: c.title.clone(),
        url: site.urls.chapter(c.series_id, &c.slug),
    };
    let description = markdown::to_text(&chapter.description, 200);
    let meta = Meta::new(
        &site,
        Some(&chapter.title),
        &description,
        &site.urls.chapter(series.id, &chapter.slug),
    );
    let body = state.templates.render(
        "reader/chapter.html",
        &ChapterTemplate {
            chrome: site.chrome("archive"),
            meta,
            chapter_title: chapter.title.clone(),
            volume_title: chapter.volume_title.clone(),
            description_html: markdown::to_html(&chapter.description),
            pages: views,
            prev_chapter: index.checked_sub(1).map(|i| link(&chapters[i])),
            next_chapter: chapters.get(index + 1).map(link),
            archive_url: site.urls.archive(series.id),
            feeds: FeedLinks::for_chapter(&site.urls, series.id, &chapter.slug),
        },
    )?;
    Ok(Rendered::html(body))
}
