//! Series, chapters and static pages.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::view::{self, AdminChrome};
use crate::auth::Session;
use crate::comics::{self, ChapterId, SeriesId, Slug, WriteError};
use crate::error::AppError;
use crate::startup::AppState;

/// A slug from the form, or derived from the title when left empty.
fn slug_or_title(slug: &str, title: &str) -> Result<String, String> {
    if slug.trim().is_empty() {
        Slug::from_text(title)
            .map(Slug::into_string)
            .ok_or_else(|| "Give a title with at least one letter or digit.".into())
    } else {
        Slug::parse(slug.trim())
            .map(Slug::into_string)
            .map_err(|e| format!("Slug: {e}."))
    }
}

fn title_ok(title: &str) -> Result<&str, String> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 300 {
        Err("The title must have 1 to 300 characters.".into())
    } else {
        Ok(title)
    }
}

// ---- Series ---------------------------------------------------------------

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
}

pub async fn series_create(
    state: web::Data<AppState>,
    _s: Session,
    form: web::Form<SeriesForm>,
) -> Result<HttpResponse, AppError> {
    let (title, slug) = match (
        title_ok(&form.title),
        slug_or_title(&form.slug, &form.title),
    ) {
        (Ok(t), Ok(s)) => (t, s),
        (Err(e), _) | (_, Err(e)) => return Ok(view::fail("/admin/series", &e)),
    };
    let mut conn = state.db.begin_write().await?;
    let new = comics::series::NewSeries {
        slug: &slug,
        title,
        tagline: form.tagline.trim(),
        description: form.description.trim(),
    };
    match comics::series::insert(&mut conn, &new).await {
        Ok(_) => conn.commit().await?,
        Err(WriteError::SlugTaken(slug)) => {
            return Ok(view::fail(
                "/admin/series",
                &format!("A series already uses the slug “{slug}”."),
            ))
        }
        Err(WriteError::Db(e)) => return Err(e.into()),
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
    let (title, slug) = match (
        title_ok(&form.title),
        slug_or_title(&form.slug, &form.title),
    ) {
        (Ok(t), Ok(s)) => (t, s),
        (Err(e), _) | (_, Err(e)) => return Ok(view::fail("/admin/series", &e)),
    };
    match comics::series::update(
        &state.db,
        SeriesId(*path),
        &slug,
        title,
        form.tagline.trim(),
        form.description.trim(),
    )
    .await
    {
        Ok(()) => {}
        Err(WriteError::SlugTaken(slug)) => {
            return Ok(view::fail(
                "/admin/series",
                &format!("A series already uses the slug “{slug}”."),
            ))
        }
        Err(WriteError::Db(e)) => return Err(e.into()),
    }
    state.content_changed().await;
    Ok(view::ok("/admin/series", "Series saved."))
}

// ---- Chapters -------------------------------------------------------------

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
    let (title, slug) = match (
        title_ok(&form.title),
        slug_or_title(&form.slug, &form.title),
    ) {
        (Ok(t), Ok(s)) => (t, s),
        (Err(e), _) | (_, Err(e)) => return Ok(view::fail(&back, &e)),
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
    match created {
        Ok(_) => {}
        Err(WriteError::SlugTaken(slug)) => {
            return Ok(view::fail(
                &back,
                &format!("A chapter of this series already uses the slug “{slug}”."),
            ))
        }
        Err(WriteError::Db(e)) => return Err(e.into()),
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
    let (title, slug) = match (
        title_ok(&form.title),
        slug_or_title(&form.slug, &form.title),
    ) {
        (Ok(t), Ok(s)) => (t, s),
        (Err(e), _) | (_, Err(e)) => return Ok(view::fail(&back, &e)),
    };
    match comics::chapters::update(
        &state.db,
        ChapterId(*path),
        &slug,
        title,
        form.description.trim(),
        Some(form.volume.as_str()),
    )
    .await
    {
        Ok(true) => {}
        Ok(false) => return Err(AppError::NotFound),
        Err(WriteError::SlugTaken(slug)) => {
            return Ok(view::fail(
                &back,
                &format!("A chapter of this series already uses the slug “{slug}”."),
            ))
        }
        Err(WriteError::Db(e)) => return Err(e.into()),
    }
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
    confirm: Option<String>,
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

// ---- Static pages ---------------------------------------------------------

#[derive(Serialize)]
struct StaticListTemplate {
    chrome: AdminChrome,
    pages: Vec<comics::StaticPageAdmin>,
}

pub async fn static_list(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let chrome = AdminChrome::new(&state, &session, &req, "static").await?;
    let pages = comics::static_pages::all(&state.db).await?;
    view::render(
        &state,
        &req,
        "admin/static_pages.html",
        &StaticListTemplate { chrome, pages },
    )
}

#[derive(Serialize)]
struct StaticEditTemplate {
    chrome: AdminChrome,
    page: Option<comics::StaticPageAdmin>,
}

pub async fn static_new(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let chrome = AdminChrome::new(&state, &session, &req, "static").await?;
    view::render(
        &state,
        &req,
        "admin/static_edit.html",
        &StaticEditTemplate { chrome, page: None },
    )
}

pub async fn static_edit(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let chrome = AdminChrome::new(&state, &session, &req, "static").await?;
    let page = comics::static_pages::by_id(&state.db, *path)
        .await?
        .ok_or(AppError::NotFound)?;
    view::render(
        &state,
        &req,
        "admin/static_edit.html",
        &StaticEditTemplate {
            chrome,
            page: Some(page),
        },
    )
}

#[derive(Deserialize)]
pub struct StaticForm {
    title: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    body: String,
    published: Option<String>,
}

fn static_slug(form: &StaticForm) -> Result<String, String> {
    let slug = slug_or_title(&form.slug, &form.title)?;
    if comics::static_pages::RESERVED_SLUGS.contains(&slug.as_str()) {
        return Err(format!(
            "“{slug}” is used by the site itself; choose another slug."
        ));
    }
    if form.body.chars().count() > 200_000 {
        return Err("The page is too long (200,000 characters at most).".into());
    }
    Ok(slug)
}

pub async fn static_create(
    state: web::Data<AppState>,
    _s: Session,
    form: web::Form<StaticForm>,
) -> Result<HttpResponse, AppError> {
    let (title, slug) = match (title_ok(&form.title), static_slug(&form)) {
        (Ok(t), Ok(s)) => (t, s),
        (Err(e), _) | (_, Err(e)) => return Ok(view::fail("/admin/static/new", &e)),
    };
    let mut conn = state.db.pool().acquire().await?;
    match comics::static_pages::insert(&mut conn, &slug, title, &form.body).await {
        Ok(()) => {}
        Err(WriteError::SlugTaken(slug)) => {
            return Ok(view::fail(
                "/admin/static/new",
                &format!("A page already uses the slug “{slug}”."),
            ))
        }
        Err(WriteError::Db(e)) => return Err(e.into()),
    }
    state.content_changed().await;
    Ok(view::ok(
        "/admin/static",
        &format!("Page “{title}” created at /{slug}."),
    ))
}

pub async fn static_update(
    state: web::Data<AppState>,
    _s: Session,
    path: web::Path<i64>,
    form: web::Form<StaticForm>,
) -> Result<HttpResponse, AppError> {
    let back = format!("/admin/static/{}", *path);
    let (title, slug) = match (title_ok(&form.title), static_slug(&form)) {
        (Ok(t), Ok(s)) => (t, s),
        (Err(e), _) | (_, Err(e)) => return Ok(view::fail(&back, &e)),
    };
    match comics::static_pages::update(
        &state.db,
        *path,
        &slug,
        title,
        &form.body,
        form.published.is_some(),
    )
    .await
    {
        Ok(()) => {}
        Err(WriteError::SlugTaken(slug)) => {
            return Ok(view::fail(
                &back,
                &format!("A page already uses the slug “{slug}”."),
            ))
        }
        Err(WriteError::Db(e)) => return Err(e.into()),
    }
    state.content_changed().await;
    Ok(view::ok(&back, "Page saved."))
}

pub async fn static_delete(
    state: web::Data<AppState>,
    _s: Session,
    path: web::Path<i64>,
    form: web::Form<DeleteForm>,
) -> Result<HttpResponse, AppError> {
    if form.confirm.as_deref() != Some("yes") {
        return Ok(view::fail(
            &format!("/admin/static/{}", *path),
            "Deleting needs the confirmation box ticked.",
        ));
    }
    comics::static_pages::delete(&state.db, *path).await?;
    state.content_changed().await;
    Ok(view::ok("/admin/static", "Page deleted."))
}
