//! The page editor: the page itself (autosave runs over `ws.rs`), publish /
//! schedule / queue / unpublish, the reader-exact preview, and revisions.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::view::{self, AdminChrome};
use crate::auth::Session;
use crate::comics::editing::{self, ApplyError, PageDraft, Publish, SaveOutcome};
use crate::comics::{self, PageId, PageStatus};
use crate::error::AppError;
use crate::media::view::Thumb;
use crate::render::json_for_script;
use crate::startup::AppState;
use crate::time::{local_input, local_time, parse_local_input};

#[derive(Serialize)]
struct EditorTemplate {
    chrome: AdminChrome,
    page_id: i64,
    revision: i64,
    status: PageStatus,
    live_at: String,
    schedule_value: String,
    next_slot: Option<String>,
    public_url: String,
    chapters: Vec<comics::Chapter>,
    /// The draft and image thumbnails for the script, as JSON.
    initial_json: String,
    draft: PageDraft,
    max_ws_bytes: usize,
    max_upload_bytes: usize,
}

#[derive(Serialize)]
pub struct ImageInfo {
    pub media_id: i64,
    pub thumb: String,
    pub width: i64,
    pub height: i64,
}

/// Thumbnails for the editor's image list, keyed by media id.
pub async fn image_infos(state: &AppState, ids: &[i64]) -> Result<Vec<ImageInfo>, AppError> {
    Ok(crate::media::store::media_refs(&state.db, ids)
        .await?
        .into_iter()
        .map(|(id, media)| ImageInfo {
            media_id: id,
            thumb: Thumb::new(&media, "").src,
            width: media.width,
            height: media.height,
        })
        .collect())
}

pub async fn edit(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = PageId(path.into_inner());
    let chrome = AdminChrome::new(&state, &session, &req, "pages").await?;
    let page = editing::editable(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (revision, draft) = editing::head(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = crate::db::now();
    let status = PageStatus::derive(&page.status, page.live_at, now);
    let ids: Vec<i64> = draft.images.iter().map(|i| i.media_id).collect();
    let images = image_infos(&state, &ids).await?;
    let initial_json = json_for_script(
        &serde_json::json!({ "revision": revision, "draft": draft, "images": images }),
    );
    let tz = chrome.timezone.clone();
    let next_slot = crate::queue::next_free_slot(&state.db)
        .await?
        .map(|t| local_time(t.timestamp(), &tz));
    let site = crate::reader::site::Site::load(&state, None).await?;
    let ctx = EditorTemplate {
        page_id: id.0,
        revision,
        status,
        live_at: page.live_at.map(|t| local_time(t, &tz)).unwrap_or_default(),
        schedule_value: local_input(
            page.live_at.filter(|t| *t > now).unwrap_or(now + 86_400),
            &tz,
        ),
        next_slot,
        public_url: site.urls.comic(page.series_id, &draft.slug),
        chapters: comics::chapters::all_in_series(&state.db, page.series_id).await?,
        initial_json,
        draft,
        chrome,
        max_ws_bytes: state.config.admin.max_ws_message_bytes,
        max_upload_bytes: state.config.admin.max_upload_bytes,
    };
    view::render(&state, &req, "admin/editor.html", &ctx)
}

/// What the editor's publish buttons send: the action, the revision the
/// author saw, and for scheduling the time in the author's zone.
#[derive(Deserialize)]
pub struct PublishForm {
    #[serde(flatten)]
    action: PublishAction,
    /// The revision the author saw; refused if the draft moved on since.
    revision: i64,
}

#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
enum PublishAction {
    Now,
    Update,
    Unpublish,
    Schedule {
        #[serde(default)]
        at: String,
    },
    Queue,
}

pub async fn publish(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<i64>,
    form: web::Form<PublishForm>,
) -> Result<HttpResponse, AppError> {
    let id = PageId(path.into_inner());
    let back = format!("/admin/pages/{id}");
    let form = form.into_inner();
    let tz = crate::comics::settings::load(&state.db).await?.timezone;
    let (publish, done) = match &form.action {
        PublishAction::Now => (
            Publish::Now,
            "Published. Readers can see it now.".to_owned(),
        ),
        PublishAction::Update => (Publish::Keep, "Updated.".to_owned()),
        PublishAction::Unpublish => (
            Publish::Unpublish,
            "Unpublished: the page is a draft again.".to_owned(),
        ),
        PublishAction::Schedule { at } => match parse_local_input(at, &tz) {
            Some(at) if at > crate::db::now() => (
                Publish::At(at),
                format!("Scheduled for {}.", local_time(at, &tz)),
            ),
            Some(_) => {
                return Ok(view::fail(
                    &back,
                    "That time has passed: choose a time in the future, or publish now.",
                ))
            }
            None => {
                return Ok(view::fail(
                    &back,
                    "Give a date and time to schedule the page.",
                ))
            }
        },
        PublishAction::Queue => match crate::queue::next_free_slot(&state.db).await? {
            Some(at) => (
                Publish::At(at.timestamp()),
                format!(
                    "Added to the queue: live {}.",
                    local_time(at.timestamp(), &tz)
                ),
            ),
            None => {
                return Ok(view::fail(
                    &back,
                    "The queue has no update days: set your cadence under Queue.",
                ))
            }
        },
    };
    match editing::publish(&state.db, id, form.revision, publish).await {
        Ok(()) => {}
        Err(ApplyError::Db(e)) => return Err(e.into()),
        Err(ApplyError::Missing) => return Err(AppError::NotFound),
        Err(e) => return Ok(view::fail(&back, &format!("Not published: {e}."))),
    }
    if matches!(form.action, PublishAction::Queue) {
        crate::queue::mark_in_use(&state.db).await?;
    }
    tracing::info!(
        page = id.0,
        user = session.user.id,
        ?publish,
        "page publication changed"
    );
    state.content_changed().await;
    crate::queue::notify::check_soon(&state);
    Ok(view::ok(&back, &done))
}

/// The page exactly as readers will see it, drawn from the newest draft.
pub async fn preview(
    state: web::Data<AppState>,
    _session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = PageId(path.into_inner());
    let preview = editing::preview(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut response = crate::reader::comic::render_preview(&state, preview).await?;
    response.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

#[derive(Serialize)]
struct RevisionsTemplate {
    chrome: AdminChrome,
    page_id: i64,
    title: String,
    current: i64,
    revisions: Vec<RevisionRow>,
}

#[derive(Serialize)]
struct RevisionRow {
    revision: i64,
    when: String,
    author: String,
}

pub async fn revisions(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let id = PageId(path.into_inner());
    let chrome = AdminChrome::new(&state, &session, &req, "pages").await?;
    let (current, draft) = editing::head(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let revisions = editing::revisions(&state.db, id)
        .await?
        .into_iter()
        .map(|r| RevisionRow {
            revision: r.revision,
            when: local_time(r.created_at, &chrome.timezone),
            author: r.author.unwrap_or_else(|| "—".into()),
        })
        .collect();
    let ctx = RevisionsTemplate {
        chrome,
        page_id: id.0,
        title: draft.title,
        current,
        revisions,
    };
    view::render(&state, &req, "admin/revisions.html", &ctx)
}

#[derive(Serialize)]
struct RevisionTemplate {
    chrome: AdminChrome,
    page_id: i64,
    revision: i64,
    current: i64,
    draft: PageDraft,
    notes_html: String,
}

pub async fn revision(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (id, number) = path.into_inner();
    let chrome = AdminChrome::new(&state, &session, &req, "pages").await?;
    let draft = editing::revision(&state.db, PageId(id), number)
        .await?
        .ok_or(AppError::NotFound)?;
    let current = editing::editable(&state.db, PageId(id))
        .await?
        .ok_or(AppError::NotFound)?
        .revision;
    let notes_html = crate::render::markdown::to_html(&draft.notes);
    let ctx = RevisionTemplate {
        chrome,
        page_id: id,
        revision: number,
        current,
        draft,
        notes_html,
    };
    view::render(&state, &req, "admin/revision.html", &ctx)
}

/// Restoring saves the old revision as the newest one (history is kept).
pub async fn restore(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (id, number) = path.into_inner();
    let page = PageId(id);
    let draft = editing::revision(&state.db, page, number)
        .await?
        .ok_or(AppError::NotFound)?;
    let current = editing::editable(&state.db, page)
        .await?
        .ok_or(AppError::NotFound)?
        .revision;
    match editing::save_draft(&state.db, page, current, &draft, Some(session.user.id)).await? {
        SaveOutcome::Saved { revision } => {
            super::ws::announce(&state, page, revision, &draft, &session.user.name).await;
            Ok(view::ok(
                &format!("/admin/pages/{id}"),
                &format!("Revision {number} restored as revision {revision}."),
            ))
        }
        SaveOutcome::Conflict { .. } => Ok(view::fail(
            &format!("/admin/pages/{id}/revisions"),
            "Someone saved just now; try again.",
        )),
        SaveOutcome::NotFound => Err(AppError::NotFound),
    }
}
