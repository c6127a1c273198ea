//! `/admin/chapters`: chapters (and their volumes) of a series.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::forms;
use super::view::{self, AdminChrome};
use crate::auth::Session;
use crate::comics::{self, ChapterId};
use crate::error::AppError;
use crate::startup::AppState;

#[derive(Deserialize)]
pub struct SeriesQuery {
    series: Option<i64>,
}

#[derive(Serialize)]
struct ChaptersTemplate {
    chrome: AdminChrome,
    series: Vec<comics::Series>,
    current_series: i64,
    chapters: Vec<ChapterRow>,
}

#[derive(Serialize)]
struct ChapterRow {
    chapter: comics::Chapter,
    pages: usize,
}

pub async fn chapters(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    query: web::Query<SeriesQuery>,
) -> Result<HttpResponse, AppError> {
    let chrome = AdminChrome::new(&state, &session, &req, "chapters").await?;
    let series = comics::series::list(&state.db).await?;
    let Some(current) = query
        .series
        .and_then(|id| series.iter().find(|s| s.id.0 == id))
        .or(series.first())
        .map(|s| s.id)
    else {
        return Ok(view::fail(
            "/admin/series",
            "Create a series first: chapters belong to one.",
        ));
    };
    let pages = comics::pages::admin_list(&state.db, current).await?;
    let chapters = comics::chapters::all_in_series(&state.db, current)
        .await?
        .into_iter()
        .map(|c| ChapterRow {
            pages: pages
                .iter()
                .filter(|p| p.chapter_id == Some(c.id.0))
                .count(),
            chapter: c,
        })
        .collect();
    view::render(
        &state,
        &req,
        "admin/chapters.html",
        &ChaptersTemplate {
            chrome,
            series,
            current_series: current.0,
            chapters,
        },
    )
}

#[derive(Deserialize)]
pub struct ChapterForm {
    series: Option<i64>,
    title: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    volume: String,
    /// Shown before the chapter's pages (empty: none).
    #[serde(default)]
    content_warning: String,
    /// "1": readers confirm they are adults before the images show.
    #[serde(default)]
    age_gate: Option<String>,
}

fn chapters_url(series: Option<i64>) -> String {
    series.map_or_else(
        || "/admin/chapters".to_owned(),
        |s| format!("/admin/chapters?series={s}"),
    )
}

pub async fn chapter_create(
    state: web::Data<AppState>,
    _s: Session,
    form: web::Form<ChapterForm>,
) -> Result<HttpResponse, AppError> {
    let back = chapters_url(form.series);
    let series = comics::series::list(&state.db).await?;
    let Some(series_id) = form
        .series
        .and_then(|id| series.iter().find(|s| s.id.0 == id))
        .or(series.first())
        .map(|s| s.id)
    else {
        return Ok(view::fail("/admin/series", "Create a series first."));
    };
    let (title, slug) = match forms::title_and_slug(&form.title, &form.slug) {
        Ok(v) => v,
        Err(e) => return Ok(view::fail(&back, &e)),
    };
    let created = comics::chapters::create(
        &state.db,
        series_id,
        Some(form.volume.as_str()),
        &slug,
        title,
        form.description.trim(),
    )
    .await;
    match forms::saved(created, &back, "A chapter of this series")? {
        Ok(_) => {}
        Err(back) => return Ok(back),
    }
    state.content_changed().await;
    Ok(view::ok(&back, &format!("Chapter “{title}” created.")))
}

pub async fn chapter_update(
    state: web::Data<AppState>,
    _s: Session,
    path: web::Path<i64>,
    form: web::Form<ChapterForm>,
) -> Result<HttpResponse, AppError> {
    let back = chapters_url(form.series);
    let (title, slug) = match forms::title_and_slug(&form.title, &form.slug) {
        Ok(v) => v,
        Err(e) => return Ok(view::fail(&back, &e)),
    };
    match forms::saved(
        comics::chapters::update(
            &state.db,
            ChapterId(*path),
            &slug,
            title,
            form.description.trim(),
            Some(form.volume.as_str()),
        )
        .await,
        &back,
        "A chapter of this series",
    )? {
        Ok(true) => {}
        Ok(false) => return Err(AppError::NotFound),
        Err(back) => return Ok(back),
    }
    let warning = match forms::content_warning(&form.content_warning) {
        Ok(w) => w,
        Err(e) => return Ok(view::fail(&back, &e)),
    };
    comics::chapters::set_warning(
        &state.db,
        ChapterId(*path),
        warning,
        form.age_gate.is_some(),
    )
    .await?;
    state.content_changed().await;
    Ok(view::ok(&back, "Chapter saved."))
}

#[derive(Deserialize)]
pub struct MoveForm {
    direction: String,
    series: Option<i64>,
}

pub async fn chapter_move(
    state: web::Data<AppState>,
    _s: Session,
    path: web::Path<i64>,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, AppError> {
    let by = if form.direction == "up" { -1 } else { 1 };
    comics::chapters::shift(&state.db, ChapterId(*path), by).await?;
    state.content_changed().await;
    Ok(view::ok(&chapters_url(form.series), "Chapter moved."))
}

#[derive(Deserialize)]
pub struct DeleteForm {
    pub(super) confirm: Option<String>,
    series: Option<i64>,
}

pub async fn chapter_delete(
    state: web::Data<AppState>,
    _s: Session,
    path: web::Path<i64>,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, AppError> {
    let back = chapters_url(form.series);
    if form.confirm.as_deref() != Some("yes") {
        return Ok(view::fail(
            &back,
            "Deleting needs the confirmation box ticked.",
        ));
    }
    comics::chapters::delete(&state.db, ChapterId(*path)).await?;
    state.content_changed().await;
    Ok(view::ok(
        &back,
        "Chapter deleted; its pages are kept, outside any chapter.",
    ))
}
