//! `GET /media/{dir}/{file}`: processed images, cached for a year.
//!
//! Names are content-addressed, so a URL's bytes never change and browsers
//! and CDNs may keep them forever (`immutable`).

use actix_files::NamedFile;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{web, HttpRequest, HttpResponse};

use super::variants;
use crate::error::AppError;
use crate::startup::AppState;

pub async fn serve_media(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (dir, file) = path.into_inner();
    if !variants::is_valid_path(&dir, &file) {
        return Err(AppError::NotFound);
    }
    let full = state.config.media_dir().join(&dir).join(&file);
    let named = NamedFile::open_async(&full)
        .await
        .map_err(|_| AppError::NotFound)?;
    let mut response = named.use_last_modified(false).into_response(&req);
    response.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(31_536_000),
            CacheDirective::Extension("immutable".into(), None),
        ])
        .to_string()
        .parse()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("header: {e}")))?,
    );
    Ok(response)
}
