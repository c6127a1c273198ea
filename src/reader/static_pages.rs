//! `/{slug}`: the author's static pages (About, Links, …), and `/bookmarks`.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::path::PathSlug;
use super::response;
use super::site::{Chrome, Meta, Site};
use crate::cache::Rendered;
use crate::comics::{self, Slug};
use crate::error::AppError;
use crate::render::markdown;
use crate::startup::AppState;

#[derive(Serialize)]
struct StaticTemplate {
    chrome: Chrome,
    meta: Meta,
    title: String,
    body_html: String,
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    PathSlug(slug): PathSlug,
) -> Result<HttpResponse, AppError> {
    response::page(&state, &req, move |state| render_show(state, slug.clone())).await
}

async fn render_show(state: Arc<AppState>, slug: Slug) -> Result<Rendered, AppError> {
    let site = Site::load(&state, None).await?;
    let page = comics::static_pages::by_slug(&state.db, slug.as_str())
        .await?
        .ok_or(AppError::NotFound)?;
    let meta = Meta::new(
        &site,
        Some(&page.title),
        &markdown::to_text(&page.body, 200),
        &format!("/{}", page.slug),
    );
    let body = state.templates.render(
        "reader/static.html",
        &StaticTemplate {
            chrome: site.chrome(&page.slug),
            meta,
            title: page.title,
            body_html: markdown::to_html(&page.body),
        },
    )?;
    Ok(Rendered::html(body))
}

#[derive(Serialize)]
struct BookmarksTemplate {
    chrome: Chrome,
    meta: Meta,
}

/// The reader's bookmarks live in their browser; this page lists them.
pub async fn bookmarks(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    response::page(&state, &req, render_bookmarks).await
}

async fn render_bookmarks(state: Arc<AppState>) -> Result<Rendered, AppError> {
    let site = Site::load(&state, None).await?;
    let mut meta = Meta::new(
        &site,
        Some("Your bookmarks"),
        "Pages you bookmarked on this device.",
        "/bookmarks",
    );
    meta.noindex = true;
    let body = state.templates.render(
        "reader/bookmarks.html",
        &BookmarksTemplate {
            chrome: site.chrome("bookmarks"),
            meta,
        },
    )?;
    Ok(Rendered::html(body))
}
