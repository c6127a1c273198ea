//! How reader responses leave the server: one place decides their headers.

use actix_web::http::header;
use actix_web::HttpResponse;

/// Reader pages are the same for everyone, so shared caches may keep them
/// briefly and serve them stale while they fetch a fresh copy.
pub const READER_CACHE_CONTROL: &str = "public, max-age=5, stale-while-revalidate=30";

pub fn html(body: String) -> HttpResponse {
    with_type(body, "text/html; charset=utf-8")
}

pub fn with_type(body: String, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, READER_CACHE_CONTROL))
        .body(body)
}
