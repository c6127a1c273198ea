//! `/admin/redirects`: old addresses that lead to pages of this site (made
//! by an import from another system, or by hand): list, add, remove.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::view::{self, AdminChrome};
use crate::auth::Session;
use crate::comics::redirects::{self, Redirect};
use crate::error::AppError;
use crate::startup::AppState;

#[derive(Serialize)]
struct RedirectsTemplate {
    chrome: AdminChrome,
    rows: Vec<Redirect>,
}

pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let chrome = AdminChrome::new(&state, &session, &req, "redirects").await?;
    let rows = redirects::all(&state.db).await?;
    view::render(
        &state,
        &req,
        "admin/redirects.html",
        &RedirectsTemplate { chrome, rows },
    )
}

#[derive(Deserialize)]
pub struct AddForm {
    from: String,
    to: String,
}

/// Adds (or repoints) one: both must be paths on this site.
pub async fn add(
    state: web::Data<AppState>,
    _session: Session,
    form: web::Form<AddForm>,
) -> Result<HttpResponse, AppError> {
    let (from, to) = (form.from.trim(), form.to.trim());
    let local = |p: &str| p.starts_with('/') && !p.starts_with("//") && p.len() <= 600;
    if !local(from) || !local(to) {
        return Ok(view::fail(
            "/admin/redirects",
            "Both addresses must be paths on this site, starting with / (like /comic/page-1/).",
        ));
    }
    if redirects::normalize_url(from).len() > redirects::MAX_FROM {
        return Ok(view::fail(
            "/admin/redirects",
            "That old address is too long to keep (shorten it, or drop its query string).",
        ));
    }
    if from.starts_with("/admin") || from.starts_with("/static/") || from.starts_with("/media/") {
        return Ok(view::fail(
            "/admin/redirects",
            "That address belongs to Halftone itself.",
        ));
    }
    let mut tx = state.db.begin_write().await?;
    let added = redirects::upsert(&mut tx, from, None, to, "admin").await?;
    tx.commit().await?;
    if !added {
        return Ok(view::fail(
            "/admin/redirects",
            "An address cannot lead to itself.",
        ));
    }
    state.content_changed().await;
    Ok(view::ok(
        "/admin/redirects",
        &format!("{from} now leads to {to}."),
    ))
}

pub async fn delete(
    state: web::Data<AppState>,
    _session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    if !redirects::delete(&state.db, path.into_inner()).await? {
        return Err(AppError::NotFound);
    }
    state.content_changed().await;
    Ok(view::ok("/admin/redirects", "Redirect removed."))
}
