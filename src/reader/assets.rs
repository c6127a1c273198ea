//! `GET /static/{hash}/{name}`: embedded CSS, JS and icons.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::AppError;
use crate::startup::AppState;

pub async fn serve_static(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (hash, name) = path.into_inner();
    let asset = state.assets.get(&name).ok_or(AppError::NotFound)?;
    let etag = format!("\"{}\"", asset.hash);
    // The current hash may be cached forever; an old one (a page rendered
    // before a deploy) still gets the file, but only briefly.
    let cache = if hash == asset.hash {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=60"
    };
    if req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, asset.mime.clone()))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::ETAG, etag))
        .body(asset.bytes.clone().into_owned()))
}

/// `/favicon.ico`: the generated icon, cached for a day (its URL cannot
/// change with it).
pub async fn favicon(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let asset = state.assets.get("favicon.ico").ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, asset.mime.clone()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header((header::ETAG, format!("\"{}\"", asset.hash)))
        .body(asset.bytes.clone().into_owned()))
}

/// `/theme.css?v=…`: the creator's look (see `render::theme`). The version
/// in the URL is the stylesheet's hash, so the current one is cached for a
/// year; any other version gets the current look, briefly cached.
pub async fn theme(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let site = crate::reader::site::Site::load(&state, None).await?;
    let (css, version) = site.theme().cloned().unwrap_or_default();
    let current = req
        .query_string()
        .strip_prefix("v=")
        .is_some_and(|v| !version.is_empty() && v == version);
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((
            header::CACHE_CONTROL,
            if current {
                "public, max-age=31536000, immutable"
            } else {
                "public, max-age=60"
            },
        ))
        .body(css))
}
