//! Tag pages, character pages and the cast page.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::archive::{tiles, Tile};
use super::path::PathSlug;
use super::response;
use super::site::{Chrome, Meta, Site};
use crate::cache::Rendered;
use crate::comics::{self, Slug};
use crate::error::AppError;
use crate::media::view::Thumb;
use crate::render::markdown;
use crate::startup::AppState;

#[derive(Serialize)]
struct ListTemplate {
    chrome: Chrome,
    meta: Meta,
    kind: &'static str,
    heading: String,
    description_html: String,
    portrait: Option<Thumb>,
    pages: Vec<Tile>,
}

/// `/tag/{slug}`
pub async fn tag(
    state: web::Data<AppState>,
    req: HttpRequest,
    PathSlug(slug): PathSlug,
) -> Result<HttpResponse, AppError> {
    response::page(&state, &req, move |state| render_tag(state, slug.clone())).await
}

async fn render_tag(state: Arc<AppState>, slug: Slug) -> Result<Rendered, AppError> {
    let site = Site::load(&state, None).await?;
    let tag = comics::taxonomy::tag_by_slug(&state.db, slug.as_str())
        .await?
        .ok_or(AppError::NotFound)?;
    let pages = comics::pages::with_tag(&state.db, tag.id, crate::db::now()).await?;
    if pages.is_empty() {
        return Err(AppError::NotFound);
    }
    let meta = Meta::new(
        &site,
        Some(&format!("Pages tagged “{}”", tag.name)),
        "",
        &format!("/tag/{}", tag.slug),
    );
    render_list(
        &state,
        &site,
        meta,
        "tag",
        format!("Tagged “{}”", tag.name),
        String::new(),
        None,
        tiles(&site, &pages),
    )
}

/// `/character/{slug}`
pub async fn character(
    state: web::Data<AppState>,
    req: HttpRequest,
    PathSlug(slug): PathSlug,
) -> Result<HttpResponse, AppError> {
    response::page(&state, &req, move |state| {
        render_character(state, slug.clone())
    })
    .await
}

async fn render_character(state: Arc<AppState>, slug: Slug) -> Result<Rendered, AppError> {
    let site = Site::load(&state, None).await?;
    let character = comics::taxonomy::character_by_slug(&state.db, slug.as_str())
        .await?
        .ok_or(AppError::NotFound)?;
    let pages = comics::pages::with_character(&state.db, character.id, crate::db::now()).await?;
    if pages.is_empty() && character.total_pages > 0 {
        // Only on pages not yet public: the character is still a secret.
        return Err(AppError::NotFound);
    }
    let description = markdown::to_text(&character.description, 200);
    let meta = Meta::new(
        &site,
        Some(&character.name),
        &description,
        &format!("/character/{}", character.slug),
    );
    let portrait = character
        .portrait()
        .map(|p| Thumb::new(&p, &character.name));
    render_list(
        &state,
        &site,
        meta,
        "character",
        character.name.clone(),
        markdown::to_html(&character.description),
        portrait,
        tiles(&site, &pages),
    )
}

#[allow(clippy::too_many_arguments)]
fn render_list(
    state: &AppState,
    site: &Site,
    meta: Meta,
    kind: &'static str,
    heading: String,
    description_html: String,
    portrait: Option<Thumb>,
    pages: Vec<Tile>,
) -> Result<Rendered, AppError> {
    let body = state.templates.render(
        "reader/list.html",
        &ListTemplate {
            chrome: site.chrome(""),
            meta,
            kind,
            heading,
            description_html,
            portrait,
            pages,
        },
    )?;
    Ok(Rendered::html(body))
}

#[derive(Serialize)]
struct CastTemplate {
    chrome: Chrome,
    meta: Meta,
    members: Vec<CastView>,
}

#[derive(Serialize)]
struct CastView {
    name: String,
    url: String,
    description_html: String,
    page_count: i64,
    first_url: Option<String>,
    portrait: Option<Thumb>,
}

/// `/cast`: every character with portrait and first appearance.
pub async fn cast(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    response::page(&state, &req, render_cast).await
}

async fn render_cast(state: Arc<AppState>) -> Result<Rendered, AppError> {
    let site = Site::load(&state, None).await?;
    let members = comics::taxonomy::cast(&state.db, crate::db::now())
        .await?
        .into_iter()
        .map(|m| CastView {
            url: format!("/character/{}", m.slug),
            description_html: markdown::to_html(&m.description),
            page_count: m.page_count,
            first_url: m
                .first_series_id
                .zip(m.first_slug.as_deref())
                .map(|(s, slug)| site.urls.comic(s, slug)),
            portrait: m.portrait().map(|p| Thumb::new(&p, &m.name)),
            name: m.name,
        })
        .collect();
    let meta = Meta::new(&site, Some("Cast"), "Who is who in the comic.", "/cast");
    let body = state.templates.render(
        "reader/cast.html",
        &CastTemplate {
            chrome: site.chrome("cast"),
            meta,
            members,
        },
    )?;
    Ok(Rendered::html(body))
}
