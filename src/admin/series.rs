//! `/admin/series`: the comic's series.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::forms;
use super::view::{self, AdminChrome};
use crate::auth::Session;
use crate::comics::{self, SeriesId};
use crate::error::AppError;
use crate::startup::AppState;

#[derive(Serialize)]
struct SeriesTemplate {
    chrome: AdminChrome,
    series: Vec<comics::Series>,
}

pub async fn series_list(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let chrome = AdminChrome::new(&state, &session, &req, "series").await?;
    let series = comics::series::list(&state.db).await?;
    view::render(
        &state,
        &req,
        "admin/series.html",
        &SeriesTemplate { chrome, series },
    )
}

#[derive(Deserialize)]
pub struct SeriesForm {
    title: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    tagline: String,
    #[serde(default)]
    description: String,
    /// Shown before every page of the series (empty: none).
    #[serde(default)]
    content_warning: String,
    /// "1": readers confirm they are adults before the images show.
    #[serde(default)]
    age_gate: Option<String>,
}

pub async fn series_create(
    state: web::Data<AppState>,
    _s: Session,
    form: web::Form<SeriesForm>,
) -> Result<HttpResponse, AppError> {
    let (title, slug) = match forms::title_and_slug(&form.title, &form.slug) {
        Ok(v) => v,
        Err(e) => return Ok(view::fail("/admin/series", &e)),
    };
    let new = comics::series::NewSeries {
        slug: &slug,
        title,
        tagline: form.tagline.trim(),
        description: form.description.trim(),
    };
    match forms::saved(
        comics::series::create(&state.db, &new).await,
        "/admin/series",
        "A series",
    )? {
        Ok(_) => {}
        Err(back) => return Ok(back),
    }
    state.content_changed().await;
    Ok(view::ok(
        "/admin/series",
        &format!("Series “{title}” created."),
    ))
}

pub async fn series_update(
    state: web::Data<AppState>,
    _s: Session,
    path: web::Path<i64>,
    form: web::Form<SeriesForm>,
) -> Result<HttpResponse, AppError> {
    let (title, slug) = match forms::title_and_slug(&form.title, &form.slug) {
        Ok(v) => v,
        Err(e) => return Ok(view::fail("/admin/series", &e)),
    };
    match forms::saved(
        comics::series::update(
            &state.db,
            SeriesId(*path),
            &slug,
            title,
            form.tagline.trim(),
            form.description.trim(),
        )
        .await,
        "/admin/series",
        "A series",
    )? {
        Ok(()) => {}
        Err(back) => return Ok(back),
    }
    let warning = match forms::content_warning(&form.content_warning) {
        Ok(w) => w,
        Err(e) => return Ok(view::fail("/admin/series", &e)),
    };
    comics::series::set_warning(&state.db, SeriesId(*path), warning, form.age_gate.is_some())
        .await?;
    state.content_changed().await;
    Ok(view::ok("/admin/series", "Series saved."))
}
