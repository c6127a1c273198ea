//! The comic page itself: home (latest page), permalinks and random.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::path::{InSeries, PathSlug};
use super::response;
use super::site::{dates, Chrome, Meta, MetaImage, Site};
use crate::cache::Rendered;
use crate::comics::catalog::{Catalog, CatalogPage};
use crate::comics::{self, Page, PageImage, PageLabel};
use crate::error::AppError;
use crate::media::view::Picture;
use crate::render::{json_for_script, markdown};
use crate::startup::AppState;

#[derive(Serialize)]
struct ComicTemplate {
    chrome: Chrome,
    meta: Meta,
    page: PageView,
    is_home: bool,
    /// Set on the admin's preview: a banner says so and robots stay away.
    preview: bool,
    /// Comments under the page (None: switched off for the site, or the
    /// page is made with a slot for them: `comments_slot`).
    comments: Option<super::comments::CommentsView>,
    comments_slot: bool,
}

#[derive(Serialize)]
pub struct PageView {
    pub id: i64,
    pub title: String,
    pub slug: String,
    pub url: String,
    /// Absolute URL, shown for copying.
    pub permalink: String,
    pub date: String,
    pub date_iso: String,
    pub hover_text: String,
    pub transcript: String,
    pub notes_html: String,
    pub content_warning: String,
    /// What is shown before the images: the page's warning, else its
    /// chapter's, else its series'; with an age gate from either.
    pub warning: Option<WarningView>,
    pub chapter: Option<LinkView>,
    pub images: Vec<Picture>,
    pub tags: Vec<LinkView>,
    pub characters: Vec<LinkView>,
    pub nav: NavView,
}

#[derive(Serialize, Clone)]
pub struct WarningView {
    pub text: String,
    /// Readers confirm they are 18 or older.
    pub adult: bool,
    /// What the reader's browser remembers an answer for
    /// (`page-3`, `chapter-2`, `series-1`).
    pub scope: String,
}

#[derive(Serialize, Clone)]
pub struct LinkView {
    pub title: String,
    pub url: String,
}

#[derive(Serialize, Default)]
pub struct NavView {
    pub first: Option<String>,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub last: Option<String>,
    pub prev_chapter: Option<String>,
    pub next_chapter: Option<String>,
    pub random: String,
    pub archive: String,
}

/// `/` and `/series/{series}`: the latest page, or a welcome page on an empty site.
pub async fn home(
    state: web::Data<AppState>,
    req: HttpRequest,
    series: InSeries,
) -> Result<HttpResponse, AppError> {
    if let Some(moved) = super::legacy::feed_query(&req) {
        return Ok(moved);
    }
    response::page(&state, &req, move |state| {
        render_home(state, series.0.clone())
    })
    .await
}

#[tracing::instrument(skip_all)]
async fn render_home(state: Arc<AppState>, series: Option<String>) -> Result<Rendered, AppError> {
    let site = Site::load(&state, series.as_deref()).await?;
    let catalog = super::site::catalog(&state).await?;
    let now = crate::db::now();
    let latest = site
        .current()
        .and_then(|series| catalog.latest(series.id, now));
    match latest {
        Some(page) => render_page(&state, &site, &catalog, page, now, true).await,
        None => super::welcome::render(&state, &site).await,
    }
}

/// `/comic/{slug}`: a page's permalink.
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    series: InSeries,
    PathSlug(slug): PathSlug,
) -> Result<HttpResponse, AppError> {
    response::page(&state, &req, move |state| {
        render_show(state, series.0.clone(), slug.clone())
    })
    .await
}

#[tracing::instrument(skip_all, fields(slug = %slug))]
async fn render_show(
    state: Arc<AppState>,
    series: Option<String>,
    slug: comics::Slug,
) -> Result<Rendered, AppError> {
    let site = Site::load(&state, series.as_deref()).await?;
    let series = site.require_series()?;
    let catalog = super::site::catalog(&state).await?;
    let now = crate::db::now();
    let page = catalog
        .by_slug(series.id, slug.as_str(), now)
        .ok_or(AppError::NotFound)?;
    render_page(&state, &site, &catalog, page, now, false).await
}

/// `/random`: a redirect to a random page (never cached).
pub async fn random(
    state: web::Data<AppState>,
    series: InSeries,
) -> Result<HttpResponse, AppError> {
    let site = Site::load(&state, series.as_deref()).await?;
    let series = site.require_series()?;
    let state = state.into_inner();
    let catalog = super::site::catalog(&state).await?;
    let slug = catalog
        .random(series.id, crate::db::now())
        .map(|p| p.page.slug.clone())
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Found()
        .insert_header(("Location", site.urls.comic(series.id, &slug)))
        .insert_header(("Cache-Control", "no-store"))
        .finish())
}

/// Where the comments go in a kept view of a comic page.
const COMMENTS_SLOT: &str = "<!--halftone:comments-->";

async fn render_page(
    state: &AppState,
    site: &Site,
    catalog: &Catalog,
    entry: &CatalogPage,
    now: i64,
    is_home: bool,
) -> Result<Rendered, AppError> {
    // The page without its comments is made from the catalog and kept there
    // (`Catalog::view`); the comments are the one query of a render.
    let frame = catalog.view((entry.page.id, is_home), now, || {
        render_frame(state, site, catalog, entry, now, is_home)
    })?;
    let comments = super::comments::block(state, site, &entry.page).await?;
    let html = &frame.html;
    let body = match (comments, html.rfind(COMMENTS_SLOT)) {
        (Some(comments), Some(at)) => {
            let block = state.templates.render(
                "partials/comments.html",
                &serde_json::json!({ "comments": comments }),
            )?;
            let mut body = String::with_capacity(html.len() + block.len());
            body.push_str(&html[..at]);
            body.push_str(&block);
            body.push_str(&html[at + COMMENTS_SLOT.len()..]);
            body
        }
        (_, Some(at)) => format!("{}{}", &html[..at], &html[at + COMMENTS_SLOT.len()..]),
        (_, None) => html.clone(),
    };
    Ok(Rendered::html(body))
}

/// The comic page with a slot for its comments.
fn render_frame(
    state: &AppState,
    site: &Site,
    catalog: &Catalog,
    entry: &CatalogPage,
    now: i64,
    is_home: bool,
) -> Result<String, AppError> {
    let page = &entry.page;
    let navigation = catalog.navigation(page, now);
    let view = page_view(
        site,
        page,
        &entry.images,
        &entry.labels,
        navigation,
        0,
        true,
    );
    let path = if is_home {
        site.urls.home(page.series_id)
    } else {
        view.url.clone()
    };
    let description = if page.notes.is_empty() {
        format!("{} — {}", page.title, site.settings.tagline)
    } else {
        markdown::to_text(&page.notes, 200)
    };
    let mut meta = Meta::new(site, Some(&page.title), &description, &path);
    if is_home {
        meta.title = site.title_for(None);
    }
    meta.og_type = "article";
    meta.prev = view.nav.prev.as_ref().map(|u| site.urls.absolute(u));
    meta.next = view.nav.next.as_ref().map(|u| site.urls.absolute(u));
    // The share card (`media::card`): the first panel with the comic's and
    // the page's names, at an address that changes with what it shows.
    meta.image = entry.images.first().map(|img| MetaImage {
        url: site.urls.absolute(&super::card::path(site, page, img)),
        width: i64::from(crate::media::card::WIDTH),
        height: i64::from(crate::media::card::HEIGHT),
        alt: img.alt_text.clone(),
    });
    meta.json_ld = Some(json_ld(site, page, &view));

    state.templates.render(
        "reader/comic.html",
        &ComicTemplate {
            chrome: site.chrome(if is_home { "home" } else { "" }),
            meta,
            page: view,
            is_home,
            preview: false,
            comments: None,
            comments_slot: true,
        },
    )
}

/// The admin's preview: the page as readers will see it once the newest
/// draft is published, with the real navigation around it.
pub async fn render_preview(
    state: &AppState,
    preview: crate::comics::editing::Preview,
) -> Result<HttpResponse, AppError> {
    let crate::comics::editing::Preview {
        page,
        images,
        labels,
    } = preview;
    let mut site = Site::load(state, None).await?;
    site.select(page.series_id);
    let navigation = comics::pages::navigation(&state.db, &page, crate::db::now()).await?;
    let view = page_view(&site, &page, &images, &labels, navigation, 0, true);
    let mut meta = Meta::new(&site, Some(&page.title), "", &view.url);
    meta.noindex = true;
    let body = state.templates.render(
        "reader/comic.html",
        &ComicTemplate {
            chrome: site.chrome(""),
            meta,
            page: view,
            is_home: false,
            preview: true,
            comments: None,
            comments_slot: false,
        },
    )?;
    Ok(response::html(body))
}

/// Builds the view of one page. `eager` images at the top load immediately;
/// the rest are lazy (a chapter view passes how many came before).
pub fn page_view(
    site: &Site,
    page: &Page,
    images: &[PageImage],
    labels: &[PageLabel],
    nav: comics::Navigation,
    images_before: usize,
    // The chapter view shows no notes: skip rendering them.
    with_notes: bool,
) -> PageView {
    let urls = &site.urls;
    let series = page.series_id;
    let comic = |slug: Option<String>| slug.map(|s| urls.comic(series, &s));
    let (date, date_iso) = dates(page.published_at);
    let label = |kind: &str| {
        labels
            .iter()
            .filter(|l| l.kind == kind)
            .map(|l| LinkView {
                title: l.name.clone(),
                url: format!("/{kind}/{}", l.slug),
            })
            .collect::<Vec<_>>()
    };
    let pictures = images
        .iter()
        .filter(|i| i.page_id == page.id)
        .enumerate()
        .map(|(n, i)| Picture::new(&i.media, &i.alt_text, images_before + n > 0))
        .collect();
    PageView {
        id: page.id.0,
        title: page.title.clone(),
        slug: page.slug.clone(),
        url: urls.comic(series, &page.slug),
        permalink: urls.absolute(&urls.comic(series, &page.slug)),
        date,
        date_iso,
        hover_text: page.hover_text.clone(),
        transcript: page.transcript.clone(),
        notes_html: if with_notes {
            markdown::to_html(&page.notes)
        } else {
            String::new()
        },
        content_warning: page.content_warning.clone(),
        warning: warning_for(site, page),
        chapter: page.chapter_slug.as_ref().map(|slug| LinkView {
            title: page.chapter_title.clone().unwrap_or_default(),
            url: urls.chapter(series, slug),
        }),
        images: pictures,
        tags: label("tag"),
        characters: label("character"),
        nav: NavView {
            // Links to the page itself are dropped: on the first page,
            // "first" and "previous" are not links.
            first: comic(nav.first_slug.filter(|s| *s != page.slug)),
            prev: comic(nav.prev_slug),
            next: comic(nav.next_slug),
            last: comic(nav.last_slug.filter(|s| *s != page.slug)),
            prev_chapter: comic(nav.prev_chapter_slug),
            next_chapter: comic(nav.next_chapter_slug),
            random: urls.random(series),
            archive: urls.archive(series),
        },
    }
}

/// The warning readers see before a page's images (see `WarningView`):
/// the first text among the page's, its chapter's and its series'; an age
/// gate from any of them.
pub fn warning_for(site: &Site, page: &Page) -> Option<WarningView> {
    use crate::comics::catalog::WarningFrom;
    let series = site.series.iter().find(|s| s.id == page.series_id);
    let (found, adult) = page.warning(series);
    let (text, scope) = match (found, adult) {
        (Some((text, from)), _) => (
            text.to_owned(),
            match from {
                WarningFrom::Page => format!("page-{}", page.id.0),
                WarningFrom::Chapter => {
                    format!("chapter-{}", page.chapter_id.map_or(0, |c| c.0))
                }
                WarningFrom::Series => format!("series-{}", page.series_id.0),
            },
        ),
        (None, true) => (String::new(), String::new()),
        (None, false) => return None,
    };
    // An age gate is remembered for the whole series: a reader confirms once.
    let scope = if adult {
        format!("adult-{}", page.series_id.0)
    } else {
        scope
    };
    Some(WarningView {
        text: text.trim().to_owned(),
        adult,
        scope,
    })
}

fn json_ld(site: &Site, page: &Page, view: &PageView) -> String {
    let series_title = site.current().map(|s| s.title.clone()).unwrap_or_default();
    let mut story = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "ComicStory",
        "name": page.title,
        "url": site.urls.absolute(&view.url),
        "isPartOf": {
            "@type": "ComicSeries",
            "name": series_title,
            "url": site.urls.absolute(&site.urls.home(page.series_id)),
        },
    });
    if !view.date_iso.is_empty() {
        story["datePublished"] = view.date_iso.clone().into();
    }
    if let Some(img) = view.images.first() {
        story["image"] = site.urls.absolute(&img.fallback).into();
    }
    if !site.settings.author.is_empty() {
        story["author"] = serde_json::json!({ "@type": "Person", "name": site.settings.author });
    }
    json_for_script(&story)
}
