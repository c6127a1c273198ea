//! `GET /media/{dir}/{file}`: processed images, cached for a year.
//!
//! Names are content-addressed, so a URL's bytes never change and browsers
//! and CDNs may keep them forever (`immutable`).

use actix_files::NamedFile;
use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{web, HttpRequest, HttpResponse};

use futures_util::TryStreamExt;

use super::store::Served;
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
    let rel = format!("{dir}/{file}");
    let served = state.media.serve(&rel).await.map_err(|e| {
        // The bucket is down or refuses us: the node is fine, try again soon.
        AppError::Unavailable(format!("{e:#}"))
    })?;
    let mut response = match served {
        None => return Err(AppError::NotFound),
        Some(Served::File(full)) => NamedFile::open_async(&full)
            .await
            .map_err(|_| AppError::NotFound)?
            .use_last_modified(false)
            .into_response(&req),
        Some(Served::Stream { size, body }) => {
            let mime = mime_guess::from_path(&file).first_or_octet_stream();
            HttpResponse::Ok()
                .content_type(mime.as_ref())
                .no_chunking(size)
                .streaming(body.map_err(|e| std::io::Error::other(e.to_string())))
        }
        // The bucket's address may change one day: browsers keep the
        // redirect a day, the file behind it a year.
        Some(Served::Redirect(to)) => {
            return Ok(HttpResponse::Found()
                .insert_header((actix_web::http::header::LOCATION, to))
                .insert_header((
                    actix_web::http::header::CACHE_CONTROL,
                    "public, max-age=86400",
                ))
                .finish())
        }
    };
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
