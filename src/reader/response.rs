//! How reader responses leave the server: one place decides caching and
//! headers.
//!
//! `page` is what every reader handler calls. Anonymous requests go through
//! the hot-view cache (`crate::cache`). A request carrying a valid session
//! cookie is personal: it is rendered fresh, gets the admin bar, is marked
//! `private, no-store`, and is never stored — so one user's page can never be
//! served to another.

use std::future::Future;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::auth::{sessions, Session};
use crate::cache::Rendered;
use crate::error::AppError;
use crate::render::escape_html;
use crate::startup::AppState;

/// Fallback for responses built outside the cache (previews, welcome).
pub const READER_CACHE_CONTROL: &str = "public, max-age=5, stale-while-revalidate=30";

/// Serves a reader page made by `render`, cached unless it is personal.
pub async fn page<F, Fut>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    render: F,
) -> Result<HttpResponse, AppError>
where
    F: Fn(Arc<AppState>) -> Fut + 'static,
    Fut: Future<Output = Result<Rendered, AppError>> + 'static,
{
    if let Some(session) = viewer(state, req).await {
        let rendered = render(state.clone().into_inner()).await?;
        let body = if rendered.content_type.starts_with("text/html") {
            with_admin_bar(rendered.body, &session)
        } else {
            rendered.body
        };
        return Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, rendered.content_type))
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .insert_header((header::VARY, "Cookie"))
            .body(body));
    }
    let shared = state.clone().into_inner();
    if !state.cache.enabled() {
        let rendered = render(shared).await?;
        metrics::counter!("halftone_renders_total").increment(1);
        return Ok(with_type(rendered.body, rendered.content_type));
    }
    // The query string is not part of the key: no reader page uses one, and
    // random queries must not be a way around the cache.
    let key = req.path().to_owned();
    state
        .cache
        .serve(req, key, move || render(shared.clone()))
        .await
}

/// The logged-in author looking at the site, if any. Only a cookie that
/// names a live session counts; when the database cannot say, the reader
/// gets the anonymous page.
async fn viewer(state: &AppState, req: &HttpRequest) -> Option<Session> {
    let cookie = req.cookie(sessions::COOKIE)?;
    sessions::lookup(&state.db, cookie.value())
        .await
        .ok()
        .flatten()
}

/// Replaces the `<!--admin-bar…-->` marker of `base.html` with the bar.
fn with_admin_bar(body: String, session: &Session) -> String {
    let Some(start) = body.find("<!--admin-bar") else {
        return body;
    };
    let Some(len) = body[start..].find("-->") else {
        return body;
    };
    let marker = &body[start + "<!--admin-bar".len()..start + len];
    let edit = marker
        .strip_prefix(":page=")
        .and_then(|id| id.parse::<i64>().ok())
        .map(|id| format!(" · <a href=\"/admin/pages/{id}\">Edit this page</a>"))
        .unwrap_or_default();
    let bar = format!(
        "<div class=\"admin-bar\" role=\"region\" aria-label=\"Admin\">Logged in as {} · <a href=\"/admin\">Dashboard</a>{edit}</div>",
        escape_html(&session.user.name)
    );
    let mut out = String::with_capacity(body.len() + bar.len());
    out.push_str(&body[..start]);
    out.push_str(&bar);
    out.push_str(&body[start + len + 3..]);
    out
}

pub fn html(body: String) -> HttpResponse {
    with_type(body, "text/html; charset=utf-8")
}

pub fn with_type(body: String, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, READER_CACHE_CONTROL))
        .body(body)
}
