//! `/admin/static`: About, Links and other static pages.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::chapters::DeleteForm;
use super::forms::{self, slug_or_title, title_ok};
use super::view::{self, AdminChrome};
use crate::auth::Session;
use crate::comics;
use crate::error::AppError;
use crate::startup::AppState;

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
    match forms::saved(
        comics::static_pages::create(&state.db, &slug, title, &form.body).await,
        "/admin/static/new",
        "A page",
    )? {
        Ok(()) => {}
        Err(back) => return Ok(back),
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
    match forms::saved(
        comics::static_pages::update(
            &state.db,
            *path,
            &slug,
            title,
            &form.body,
            form.published.is_some(),
        )
        .await,
        &back,
        "A page",
    )? {
        Ok(()) => {}
        Err(back) => return Ok(back),
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
