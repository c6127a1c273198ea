//! `/admin/backups`: the last backups (when, size, verified, where), the
//! next scheduled one, and a button that backs up now, with its progress.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::view::{self, AdminChrome};
use crate::auth::Session;
use crate::backup::{self, history};
use crate::error::AppError;
use crate::startup::AppState;
use crate::time::local_time;

/// A warning on the dashboard when the newest verified backup is older
/// than this, or the last attempt failed.
pub const STALE_SECS: i64 = 36 * 3600;

#[derive(Serialize)]
struct Row {
    when: String,
    kind: String,
    size: String,
    verified: bool,
    path: String,
    error: Option<String>,
    running: bool,
}

#[derive(Serialize)]
struct BackupsTemplate {
    chrome: AdminChrome,
    rows: Vec<Row>,
    dir: String,
    next: Option<String>,
    keep: String,
    running: bool,
    phase: String,
    percent: u64,
    warning: Option<String>,
}

/// What the dashboard says about backups, if anything is wrong.
pub async fn warning(state: &AppState, tz: &str) -> Result<Option<String>, AppError> {
    let recent = history::recent(&state.db, 1).await?;
    let last_ok = history::last_verified(&state.db).await?;
    if let Some(last) = recent.first() {
        if last.finished_at.is_some() && last.verified == 0 {
            return Ok(Some(format!(
                "The last backup ({}) failed: {}",
                local_time(last.started_at, tz),
                last.error.clone().unwrap_or_default()
            )));
        }
    }
    let now = crate::db::now();
    Ok(match last_ok {
        None => Some("This site has never been backed up.".to_owned()),
        Some(t) if now - t > STALE_SECS => Some(format!(
            "The newest verified backup is from {}, more than 36 hours ago.",
            local_time(t, tz)
        )),
        Some(_) => None,
    })
}

pub async fn show(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    view::require_owner(&session)?;
    let chrome = AdminChrome::new(&state, &session, &req, "backups").await?;
    let tz = chrome.timezone.clone();
    let rows = history::recent(&state.db, 20)
        .await?
        .into_iter()
        .map(|a| Row {
            when: local_time(a.started_at, &tz),
            kind: a.kind,
            size: a
                .bytes
                .map(|b| backup::human_bytes(b as u64))
                .unwrap_or_default(),
            verified: a.verified == 1,
            path: a.path.unwrap_or_default(),
            running: a.finished_at.is_none(),
            error: a.error,
        })
        .collect();
    let next = match backup::schedule::daily_at(&state.services) {
        Some(at) => {
            let zone = backup::schedule::site_zone(&state.services).await;
            let t = backup::schedule::next_after(chrono::Utc::now(), at, zone);
            Some(local_time(t.timestamp(), &tz))
        }
        None => None,
    };
    let b = &state.config.backup;
    let mut keep = format!("the newest of each of the last {} days", b.keep_daily);
    if b.keep_weekly > 0 {
        keep.push_str(&format!(", {} weeks", b.keep_weekly));
    }
    if b.keep_monthly > 0 {
        keep.push_str(&format!(", {} months", b.keep_monthly));
    }
    let (phase, done, total) = state.backups.get();
    let ctx = BackupsTemplate {
        warning: warning(&state, &tz).await?,
        chrome,
        rows,
        dir: state.config.backup_dir().display().to_string(),
        next,
        keep,
        running: state.backups.running(),
        phase,
        percent: (done * 100).checked_div(total).unwrap_or(0).min(100),
    };
    view::render(&state, &req, "admin/backups.html", &ctx)
}

/// Starts a backup now, in the background, on this node.
pub async fn start(state: web::Data<AppState>, session: Session) -> Result<HttpResponse, AppError> {
    view::require_owner(&session)?;
    if !state.backups.try_begin() {
        return Ok(view::fail("/admin/backups", "A backup is running already."));
    }
    let services = state.services.clone();
    tokio::spawn(async move {
        let _ = backup::run(
            &services.db,
            &services.config,
            services.config.file.as_deref(),
            &services.config.backup_dir(),
            backup::Kind::Admin,
            &services.backups,
        )
        .await;
        services.backups.end();
    });
    Ok(view::ok(
        "/admin/backups",
        "Backup started. This page shows its progress.",
    ))
}
