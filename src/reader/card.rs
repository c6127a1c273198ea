//! `/card/{page}/{key}.jpg`: a page's share card (`media::card`), drawn on
//! first request and kept in the data folder (`cards/`); its address is
//! content-addressed, so it is cached for a year. An outdated key (the
//! title or image changed since the link was shared) redirects to the
//! current card.

use actix_web::{web, HttpResponse};

use super::site::Site;
use crate::comics::{Page, PageId, PageImage};
use crate::error::AppError;
use crate::media::card;
use crate::startup::AppState;

/// The card's path for a page and its first image.
pub fn path(site: &Site, page: &Page, image: &PageImage) -> String {
    let key = card::key(
        &image.media.hash,
        &site.settings.title,
        &page.title,
        &site.settings.accent,
    );
    format!("/card/{}/{key}.jpg", page.id.0)
}

pub async fn show(
    state: web::Data<AppState>,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, file) = path.into_inner();
    let key = file.strip_suffix(".jpg").ok_or(AppError::NotFound)?;
    if key.len() != 20 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let state = state.into_inner();
    let catalog = super::site::catalog(&state).await?;
    let entry = catalog
        .get(PageId(id))
        .filter(|p| p.page.visible_at(crate::db::now()))
        .ok_or(AppError::NotFound)?;
    let image = entry.images.first().ok_or(AppError::NotFound)?;
    let site = Site::load(&state, None).await?;
    let current = self::path(&site, &entry.page, image);
    if !current.ends_with(&format!("/{key}.jpg")) {
        return Ok(HttpResponse::Found()
            .insert_header(("Location", current))
            .insert_header(("Cache-Control", "public, max-age=300"))
            .finish());
    }
    let file = state
        .config
        .data_dir
        .join("cards")
        .join(format!("{key}.jpg"));
    let bytes = match tokio::fs::read(&file).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let rel = crate::media::view::fallback_file(&image.media);
            let source = state
                .media
                .get(&rel)
                .await
                .map_err(|e| AppError::Unavailable(format!("{e:#}")))?
                .ok_or(AppError::NotFound)?;
            let (title, page_title, accent) = (
                site.settings.title.clone(),
                entry.page.title.clone(),
                site.settings.accent.clone(),
            );
            let started = std::time::Instant::now();
            let bytes = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
                // One decode per core, shared with uploads: a crawler asking
                // for many new cards at once queues instead of filling memory.
                let _slot = crate::media::decode::DECODES.acquire();
                let bytes = card::render(&source, &title, &page_title, &accent)?;
                crate::media::store::write_file(&file, &bytes)?;
                Ok(bytes)
            })
            .await
            .map_err(|e| AppError::Internal(e.into()))??;
            tracing::info!(
                page = id,
                ms = started.elapsed().as_millis() as u64,
                "share card drawn"
            );
            bytes
        }
    };
    Ok(HttpResponse::Ok()
        .content_type("image/jpeg")
        .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
        .body(bytes))
}
