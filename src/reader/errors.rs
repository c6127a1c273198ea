//! Friendly error pages, and the request-id / query-count headers.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::web;
use serde::Serialize;

use super::site::{Chrome, Meta, Site, SiteData};
use crate::error::{AppError, ErrorPage};
use crate::startup::AppState;

/// The default service: any URL no route matched.
pub async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}

#[derive(Serialize)]
struct ErrorTemplate {
    chrome: Chrome,
    meta: Meta,
    status: u16,
    heading: &'static str,
    message: String,
    home_label: &'static str,
    archive_url: Option<String>,
}

/// Replaces the body of every 4xx/5xx response with the error page. It
/// needs no database, so it still renders when the database is down.
pub fn render_error_page<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let status = res.status();
    let page = res.response().extensions().get::<ErrorPage>().cloned();
    // A handler that chose its own error body (the login form, JSON for the
    // editor's scripts) keeps it; only our errors and actix's bare ones
    // become the error page.
    let own_body = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html") || v.starts_with("application/json"));
    if page.is_none() && own_body {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let Some(state) = res.request().app_data::<web::Data<AppState>>().cloned() else {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    };
    let (heading, default_message) = match status.as_u16() {
        404 => (
            "Page not found",
            "This page does not exist, or it is not published yet.",
        ),
        400 => ("That did not work", "The request was not understood."),
        401 => (
            "Please log in",
            "Your session has ended. Please log in again.",
        ),
        403 => ("Not allowed", "You cannot do that."),
        413 => ("Too large", "What you sent is larger than allowed."),
        429 => (
            "Slow down",
            "Too many attempts. Please wait a little and try again.",
        ),
        405 => (
            "Not allowed",
            "This address does not accept that kind of request.",
        ),
        503 => (
            "Back in a moment",
            "The site is very busy or being maintained. Please try again in a few seconds.",
        ),
        s if s >= 500 => (
            "Something went wrong",
            "An error occurred on our side. It has been logged; please try again later.",
        ),
        _ => ("That did not work", "The request could not be completed."),
    };
    let message = page
        .and_then(|p| p.message)
        .unwrap_or_else(|| default_message.to_owned());
    // The site's header and menu from the last loaded site data: no query,
    // so the page renders with the database down.
    let data = state
        .site_data
        .peek()
        .unwrap_or_else(|| std::sync::Arc::new(SiteData::fallback()));
    let site = Site::from_data(&state, &data, None);
    let (chrome, meta, archive_url) = match &site {
        Ok(site) => {
            let mut meta = Meta::new(site, Some(heading), "", res.request().path());
            meta.noindex = true;
            (
                site.chrome(""),
                meta,
                site.current().map(|s| site.urls.archive(s.id)),
            )
        }
        Err(_) => return Ok(ErrorHandlerResponse::Response(res.map_into_left_body())),
    };
    let context = ErrorTemplate {
        chrome,
        meta,
        status: status.as_u16(),
        heading,
        message,
        home_label: "Back to the comic",
        archive_url,
    };
    let body = match state.templates.render("error.html", &context) {
        Ok(body) => body,
        Err(_) => format!("<!doctype html><title>{heading}</title><h1>{heading}</h1>"),
    };
    let (req, mut res) = res.into_parts();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let res = res.set_body(BoxBody::new(body));
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, res).map_into_right_body(),
    ))
}
