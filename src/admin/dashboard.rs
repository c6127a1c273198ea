//! `/admin`: what is drafted, what goes live next and when, and the buffer.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::view::{self, AdminChrome};
use crate::auth::Session;
use crate::comics::pages::{self, AdminPageRow};
use crate::error::AppError;
use crate::queue::{self, Buffer};
use crate::startup::AppState;
use crate::time::local_time;

#[derive(Serialize)]
struct DashboardTemplate {
    chrome: AdminChrome,
    drafts: i64,
    scheduled: i64,
    published: i64,
    recent_drafts: Vec<Row>,
    upcoming: Vec<Row>,
    recent: Vec<Row>,
    buffer: Buffer,
    next_slot: Option<String>,
    hiatus: bool,
    /// For the owner: no recent verified backup, or the last one failed.
    backup_warning: Option<String>,
    /// Comments (and reader transcripts) waiting for approval.
    pending_comments: i64,
}

#[derive(Serialize)]
struct Row {
    id: i64,
    title: String,
    when: String,
}

fn rows(list: &[AdminPageRow], tz: &str, at: impl Fn(&AdminPageRow) -> Option<i64>) -> Vec<Row> {
    list.iter()
        .map(|p| Row {
            id: p.id,
            title: p.title.clone(),
            when: at(p).map(|t| local_time(t, tz)).unwrap_or_default(),
        })
        .collect()
}

pub async fn show(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let chrome = AdminChrome::new(&state, &session, &req, "dashboard").await?;
    let now = crate::db::now();
    let (drafts, scheduled, published) = pages::admin_counts(&state.db, now).await?;
    let cadence = queue::cadence(&state.db).await?;
    let upcoming = queue::scheduled(&state.db, now).await?;
    let buffer = queue::buffer(&cadence, &upcoming);
    let next_slot = queue::next_free_slot(&state.db)
        .await?
        .map(|t| local_time(t.timestamp(), &chrome.timezone));
    let tz = chrome.timezone.clone();
    let recent_drafts = rows(&pages::admin_drafts(&state.db, 10).await?, &tz, |p| {
        Some(p.updated_at)
    });
    let recent = rows(&pages::admin_recent(&state.db, now, 5).await?, &tz, |p| {
        p.live_at
    });
    let upcoming = upcoming
        .iter()
        .take(10)
        .map(|s| Row {
            id: s.id,
            title: s.title.clone(),
            when: local_time(s.live_at, &tz),
        })
        .collect();
    // A site with no pages yet has nothing to lose.
    let backup_warning = if chrome.is_owner && drafts + scheduled + published > 0 {
        super::backups::warning(&state, &tz).await?
    } else {
        None
    };
    let ctx = DashboardTemplate {
        backup_warning,
        pending_comments: crate::comments::pending_count(&state.db).await?,
        chrome,
        drafts,
        scheduled,
        published,
        recent_drafts,
        upcoming,
        recent,
        buffer,
        next_slot,
        hiatus: cadence.hiatus,
    };
    view::render(&state, &req, "admin/dashboard.html", &ctx)
}

/// `/admin/analytics`: signs the admin into the analytics service's
/// dashboard with a short-lived token (404 when no service is configured).
pub async fn analytics(
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let url = crate::analytics::dashboard_sign_in(&state.config.analytics, session.user.id)
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, url))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .finish())
}
