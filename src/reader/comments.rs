//! Readers' comments and transcripts, the reader's side.
//!
//! - The comic page renders its approved comments and the form into the
//!   cached page; `reader.js` refreshes the list from `GET /comments/{page}`
//!   (cached like any page, dropped alone when a comment is approved), so
//!   nobody gets a personal cookie and the page stays shared.
//! - `POST /comments/{page}` goes through `comments::policy`. With
//!   `Accept: application/json` (the script) it answers JSON, otherwise a
//!   small page; either way a refused comment comes back with the reader's
//!   text, never lost.
//! - The form needs a ticket (`GET /comments/ticket`, signed, no database):
//!   a form sent sooner than `comments.min_seconds` after its ticket is a bot's.
//!   Without script the first send returns the form with a ticket filled in.
//! - The posting browser gets an edit token (kept in its localStorage, only
//!   its hash stored) to edit or withdraw the comment for a few minutes.
//! - Reply notices: `/comments/confirm` and `/comments/unsubscribe`, signed
//!   links that only ever show a button on GET.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::site::{dates, Chrome, Meta, Site};
use crate::cache::Rendered;
use crate::comics::PageId;
use crate::comments::policy::{self, Refusal, Submission, Verdict};
use crate::comments::{self, avatar, Comment, Kind, NewComment, Status};
use crate::email::EmailAddress;
use crate::error::AppError;
use crate::newsletter::tokens::{Claim, Purpose, TokenError};
use crate::render::markdown;
use crate::startup::AppState;

/// A ticket is good for a day (a reader may leave the tab open).
const TICKET_SECS: i64 = 86_400;

#[derive(Serialize, Clone)]
pub struct CommentView {
    pub id: i64,
    pub author: String,
    pub avatar: avatar::Avatar,
    pub is_author: bool,
    pub date: String,
    pub date_iso: String,
    pub html: String,
    pub replies: Vec<CommentView>,
}

/// The comments block of a comic page.
#[derive(Serialize)]
pub struct CommentsView {
    pub page_id: i64,
    pub count: usize,
    pub threads: Vec<CommentView>,
    /// The form is offered.
    pub open: bool,
    /// Why not, when comments exist but the page is closed.
    pub closed_message: Option<String>,
    pub max_links: usize,
    /// What happens after posting, said before posting.
    pub hold_note: &'static str,
    /// Offer the reader-transcript form (the page has none).
    pub transcript_wanted: bool,
}

fn view_of(c: &Comment) -> CommentView {
    let (date, date_iso) = dates(Some(c.created_at));
    CommentView {
        id: c.id,
        author: c.author_name.clone(),
        avatar: avatar::for_commenter(&c.author_name, &c.author_email),
        is_author: c.user_id.is_some(),
        date,
        date_iso,
        html: markdown::comment_to_html(&c.body),
        replies: Vec::new(),
    }
}

/// Threads one level deep: replies under their top comment, in order.
fn threads(comments: &[Comment]) -> Vec<CommentView> {
    let mut top: Vec<CommentView> = Vec::new();
    for c in comments {
        let parent = c.parent_id.and_then(|p| top.iter_mut().find(|t| t.id == p));
        match parent {
            Some(parent) => parent.replies.push(view_of(c)),
            None => top.push(view_of(c)),
        }
    }
    top
}

/// Loads what the comic page shows under a page (one query), or `None`
/// when comments are off for the site.
pub async fn block(
    state: &AppState,
    site: &Site,
    page: &crate::comics::Page,
) -> Result<Option<CommentsView>, AppError> {
    let rules = &site.settings.comments;
    if !rules.enabled {
        return Ok(None);
    }
    let list = comments::approved_for_page(&state.db, page.id).await?;
    let closed = page.comments_closed != 0;
    Ok(Some(CommentsView {
        page_id: page.id.0,
        count: list.len(),
        threads: threads(&list),
        open: !closed,
        closed_message: closed.then(|| "Comments on this page are closed.".to_owned()),
        max_links: rules.max_links,
        hold_note: hold_note(rules),
        transcript_wanted: rules.transcripts && page.transcript.trim().is_empty(),
    }))
}

fn hold_note(rules: &policy::Rules) -> &'static str {
    match rules.hold.as_str() {
        "all" => "Comments appear once the author has approved them.",
        "first" => "Your first comment waits for the author's approval; after that, comments from the same e-mail address appear at once.",
        _ => "Comments appear at once. Be kind.",
    }
}

#[derive(Serialize)]
struct ListTemplate {
    comments: CommentsView,
}

/// `GET /comments/{page}`: the list alone, for the script to refresh the
/// cached page with. Cached like a page; dropped when a comment changes.
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let page = PageId(path.into_inner());
    super::response::page(&state, &req, move |state| async move {
        let site = Site::load(&state, None).await?;
        if !site.settings.comments.enabled {
            return Err(AppError::NotFound);
        }
        let now = crate::db::now();
        let target = comments::visible_target(&state.db, page, now)
            .await?
            .ok_or(AppError::NotFound)?;
        let list = comments::approved_for_page(&state.db, page).await?;
        let view = CommentsView {
            page_id: page.0,
            count: list.len(),
            threads: threads(&list),
            open: target.comments_closed == 0,
            closed_message: None,
            max_links: site.settings.comments.max_links,
            hold_note: hold_note(&site.settings.comments),
            transcript_wanted: false,
        };
        let body = state.templates.render(
            "partials/comment_list.html",
            &ListTemplate { comments: view },
        )?;
        Ok(Rendered {
            body,
            content_type: "text/html; charset=utf-8",
        })
    })
    .await
}

/// `GET /comments/ticket`: a fresh signed ticket (no database, never cached).
pub async fn ticket(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let ticket = issue_ticket(&state).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "ticket": ticket })))
}

async fn issue_ticket(state: &AppState) -> Result<String, AppError> {
    let signer = state.newsletter.signer(state).await?;
    let now = crate::db::now();
    Ok(signer.sign(Purpose::CommentTicket, now, "", now + TICKET_SECS))
}

/// How old a ticket is, if it is ours and still valid.
async fn ticket_age(state: &AppState, ticket: &str) -> Result<Option<i64>, AppError> {
    let Some(claim) = Claim::parse(ticket).filter(|c| c.purpose == Purpose::CommentTicket) else {
        return Ok(None);
    };
    let signer = state.newsletter.signer(state).await?;
    let now = crate::db::now();
    Ok(signer
        .verify(&claim, "", now)
        .ok()
        .map(|()| now - claim.subscriber))
}

#[derive(Deserialize, Serialize, Default, Clone)]
pub struct CommentForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    notify: Option<String>,
    #[serde(default)]
    body: String,
    #[serde(default)]
    transcript: String,
    #[serde(default)]
    parent: String,
    /// The honeypot: hidden from people, filled in by form-filling bots.
    #[serde(default)]
    website: String,
    #[serde(default)]
    ticket: String,
}

/// Whether the caller is the reader's script (JSON in, JSON out).
fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// `POST /comments/{page}`.
pub async fn post(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    form: web::Form<CommentForm>,
) -> Result<HttpResponse, AppError> {
    submit(
        &state,
        &req,
        PageId(path.into_inner()),
        form.into_inner(),
        Kind::Comment,
    )
    .await
}

/// `POST /transcripts/{page}`: a reader's transcript for a page without one.
pub async fn post_transcript(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    form: web::Form<CommentForm>,
) -> Result<HttpResponse, AppError> {
    submit(
        &state,
        &req,
        PageId(path.into_inner()),
        form.into_inner(),
        Kind::Transcript,
    )
    .await
}

async fn submit(
    state: &AppState,
    req: &HttpRequest,
    page: PageId,
    mut form: CommentForm,
    kind: Kind,
) -> Result<HttpResponse, AppError> {
    let json = wants_json(req);
    if !crate::admin::guard::same_origin(state, req) {
        return Err(AppError::Forbidden(
            "comments come from this site's own pages".into(),
        ));
    }
    let site = Site::load(state, None).await?;
    let rules = site.settings.comments.clone();
    let now = crate::db::now();
    // Drafts, scheduled pages and unknown ids are all simply not there.
    let target = comments::visible_target(&state.db, page, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let refuse = |refusal: Refusal, form: CommentForm| async move {
        answer_refusal(
            state,
            &Site::load(state, None).await?,
            json,
            page,
            kind,
            refusal,
            form,
        )
        .await
    };
    if !rules.enabled {
        return refuse(
            Refusal::Closed("Comments are switched off on this site.".into()),
            form,
        )
        .await;
    }
    if kind == Kind::Comment && target.comments_closed != 0 {
        return refuse(
            Refusal::Closed("Comments on this page are closed.".into()),
            form,
        )
        .await;
    }
    if kind == Kind::Transcript {
        if !rules.transcripts {
            return refuse(
                Refusal::Closed("This site does not take reader transcripts.".into()),
                form,
            )
            .await;
        }
        if !target.transcript.trim().is_empty() {
            return refuse(
                Refusal::Closed(
                    "This page has a transcript already. Thank you all the same!".into(),
                ),
                form,
            )
            .await;
        }
    }
    let client = state.client_ip(req);
    if let Err(wait) = state.comment_limiter.check(client) {
        metrics::counter!("halftone_comments_total", "result" => "limited").increment(1);
        return refuse(Refusal::Limited(wait), form).await;
    }
    // Normalise what was typed.
    form.name = form.name.trim().to_owned();
    let typed_email = form.email.trim().to_lowercase();
    let email = if typed_email.is_empty() {
        String::new()
    } else {
        match EmailAddress::parse(&typed_email) {
            Ok(e) => e.as_str().to_owned(),
            Err(_) => {
                return refuse(
                    Refusal::Invalid(format!(
                        "“{typed_email}” does not look like an e-mail address (it is optional: leave it empty if you like)."
                    )),
                    form,
                )
                .await
            }
        }
    };
    let body = match kind {
        Kind::Comment => form.body.replace("\r\n", "\n"),
        Kind::Transcript => form.transcript.replace("\r\n", "\n"),
    };
    let verdict = policy::judge(
        &rules,
        &Submission {
            name: &form.name,
            email: &email,
            body: body.trim(),
            honeypot: &form.website,
            max_body: match kind {
                Kind::Comment => comments::MAX_BODY,
                Kind::Transcript => comments::MAX_TRANSCRIPT,
            },
        },
        client,
        comments::known_address(&state.db, &email).await?,
    );
    let (status, reason) = match verdict {
        Verdict::Ignored => {
            metrics::counter!("halftone_comments_total", "result" => "honeypot").increment(1);
            tracing::info!(page = page.0, "comment form: honeypot filled; ignored");
            return answer_stored(state, json, page, None, Status::Pending, None).await;
        }
        Verdict::Refused(refusal) => {
            metrics::counter!("halftone_comments_total", "result" => "refused").increment(1);
            return refuse(refusal, form).await;
        }
        Verdict::Store { status, reason } => (status, reason),
    };
    // The time check comes after the fields: a reader whose text is wrong
    // hears about the text first.
    match ticket_age(state, &form.ticket).await? {
        Some(age) if age >= state.config.comments.min_seconds => {}
        _ => {
            metrics::counter!("halftone_comments_total", "result" => "too-soon").increment(1);
            return refuse(Refusal::TooSoon, form).await;
        }
    }
    // Transcripts always wait for the author; a reply hangs under a top
    // comment of the same page.
    let status = if kind == Kind::Transcript && status == Status::Approved {
        Status::Pending
    } else {
        status
    };
    let reason = if kind == Kind::Transcript && reason.is_empty() {
        "reader transcript".to_owned()
    } else {
        reason
    };
    let parent = match (kind, form.parent.trim().parse::<i64>().ok()) {
        (Kind::Comment, Some(id)) => match comments::get(&state.db, id).await? {
            Some(p) if p.page_id == page && p.status == "approved" => Some(p.parent_id.unwrap_or(p.id)),
            _ => {
                return refuse(
                    Refusal::Invalid("The comment you replied to is no longer there. Your text is below: post it as a new comment.".into()),
                    CommentForm { parent: String::new(), ..form },
                )
                .await
            }
        },
        _ => None,
    };
    let token = crate::tokens::random_token();
    let notify = form.notify.is_some() && !email.is_empty() && kind == Kind::Comment;
    let mut conn = state.db.pool().acquire().await?;
    let id = comments::insert(
        &mut conn,
        &NewComment {
            page_id: page,
            parent_id: parent,
            kind,
            status,
            author_name: &form.name,
            author_email: &email,
            user_id: None,
            body: body.trim(),
            reason: &reason,
            notify,
            edit_hash: &hash(&token),
            source: None,
            created_at: now,
        },
    )
    .await?;
    drop(conn);
    metrics::counter!("halftone_comments_total", "result" => status.as_str()).increment(1);
    tracing::info!(
        comment = id,
        page = page.0,
        status = status.as_str(),
        kind = kind.as_str(),
        "comment received"
    );
    let mut mail_queued = false;
    if notify {
        mail_queued |= comments::mail::want_notices(&state.db, id, &email).await?;
    }
    if status == Status::Approved {
        if let Some(comment) = comments::get(&state.db, id).await? {
            mail_queued |= comments::mail::replies_visible(&state.db, &[comment]).await? > 0;
        }
        state.page_changed(page).await;
    }
    if mail_queued {
        if let Ok(signer) = state.newsletter.signer(state).await {
            comments::mail::kick(state, signer);
        }
    }
    let comment = comments::get(&state.db, id).await?;
    answer_stored(state, json, page, comment.as_ref(), status, Some(token)).await
}

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(Serialize)]
struct ResultTemplate {
    chrome: Chrome,
    meta: Meta,
    /// stored | refused
    outcome: &'static str,
    status: &'static str,
    message: String,
    back: String,
    kind: &'static str,
    form: CommentForm,
    page_id: i64,
    ticket: String,
}

async fn page_url(state: &AppState, site: &Site, page: PageId) -> Result<String, AppError> {
    Ok(match comments::page_place(&state.db, page).await? {
        Some((series, slug)) => site.urls.comic(crate::comics::SeriesId(series), &slug),
        None => "/".to_owned(),
    })
}

fn stored_message(status: Status, kind: Kind) -> &'static str {
    match (kind, status) {
        (Kind::Transcript, _) => "Thank you! Your transcript waits for the author's approval.",
        (_, Status::Approved) => "Your comment is live.",
        _ => "Thank you! Your comment waits for the author's approval.",
    }
}

async fn answer_stored(
    state: &AppState,
    json: bool,
    page: PageId,
    comment: Option<&Comment>,
    status: Status,
    token: Option<String>,
) -> Result<HttpResponse, AppError> {
    let kind = match comment.map(|c| c.kind.as_str()) {
        Some("transcript") => Kind::Transcript,
        _ => Kind::Comment,
    };
    // Spam looks like "held" to its sender: they learn nothing.
    let shown = if status == Status::Approved {
        Status::Approved
    } else {
        Status::Pending
    };
    let message = stored_message(shown, kind);
    if json {
        let html = match comment {
            Some(c) if kind == Kind::Comment => state.templates.render(
                "partials/comment_one.html",
                &serde_json::json!({ "c": view_of(c) }),
            )?,
            _ => String::new(),
        };
        return Ok(HttpResponse::Created()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "status": shown,
                "id": comment.map(|c| c.id),
                "parent": comment.and_then(|c| c.parent_id),
                "token": token,
                "edit_until": comment.map(|c| c.created_at + comments::EDIT_MINUTES * 60),
                "html": html,
                "message": message,
            })));
    }
    let site = Site::load(state, None).await?;
    let back = page_url(state, &site, page).await?;
    let anchor = match comment {
        Some(c) if shown == Status::Approved => format!("#comment-{}", c.id),
        _ => "#comments".to_owned(),
    };
    result_page(
        state,
        &site,
        StatusCode::OK,
        ResultTemplate {
            chrome: site.chrome(""),
            meta: noindex_meta(&site, "Comment"),
            outcome: "stored",
            status: shown.as_str(),
            message: message.to_owned(),
            back: format!("{back}{anchor}"),
            kind: kind.as_str(),
            form: CommentForm::default(),
            page_id: page.0,
            ticket: String::new(),
        },
    )
}

async fn answer_refusal(
    state: &AppState,
    site: &Site,
    json: bool,
    page: PageId,
    kind: Kind,
    refusal: Refusal,
    form: CommentForm,
) -> Result<HttpResponse, AppError> {
    let status = match &refusal {
        Refusal::Invalid(_) | Refusal::TooSoon => StatusCode::BAD_REQUEST,
        Refusal::Limited(_) => StatusCode::TOO_MANY_REQUESTS,
        Refusal::Closed(_) => StatusCode::FORBIDDEN,
    };
    let ticket = if refusal == Refusal::TooSoon {
        issue_ticket(state).await?
    } else {
        form.ticket.clone()
    };
    let mut response = if json {
        HttpResponse::build(status)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "error": refusal.message(),
                "ticket": (refusal == Refusal::TooSoon).then_some(&ticket),
            }))
    } else {
        let back = page_url(state, site, page).await?;
        result_page(
            state,
            site,
            status,
            ResultTemplate {
                chrome: site.chrome(""),
                meta: noindex_meta(site, "Comment"),
                outcome: "refused",
                status: "",
                message: refusal.message(),
                back: format!("{back}#comments"),
                kind: kind.as_str(),
                form,
                page_id: page.0,
                ticket,
            },
        )?
    };
    if let Refusal::Limited(wait) = refusal {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(wait.as_secs().max(1)),
        );
    }
    Ok(response)
}

fn noindex_meta(site: &Site, title: &str) -> Meta {
    let mut meta = Meta::new(site, Some(title), "", "/comments");
    meta.noindex = true;
    meta
}

fn result_page(
    state: &AppState,
    _site: &Site,
    status: StatusCode,
    view: ResultTemplate,
) -> Result<HttpResponse, AppError> {
    let body = state
        .templates
        .render("reader/comment_result.html", &view)?;
    Ok(HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

#[derive(Deserialize)]
pub struct OwnForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    body: String,
}

/// `POST /comments/{id}/edit`: the posting browser, within the window.
pub async fn edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    form: web::Form<OwnForm>,
) -> Result<HttpResponse, AppError> {
    if !crate::admin::guard::same_origin(&state, &req) {
        return Err(AppError::Forbidden(
            "comments come from this site's own pages".into(),
        ));
    }
    let id = path.into_inner();
    let body = form.body.replace("\r\n", "\n");
    let body = body.trim();
    let site = Site::load(&state, None).await?;
    let rules = &site.settings.comments;
    if body.is_empty() || body.chars().count() > comments::MAX_BODY {
        return own_error(
            StatusCode::BAD_REQUEST,
            "A comment must hold between 1 and 5,000 characters.",
        );
    }
    if policy::link_count(body) > rules.max_links {
        return own_error(
            StatusCode::BAD_REQUEST,
            &format!("A comment may hold at most {} links.", rules.max_links),
        );
    }
    if let Some(entry) = rules.blocked(&[body], state.client_ip(&req)) {
        tracing::info!(comment = id, %entry, "edit refused by the blocklist");
        return own_error(StatusCode::BAD_REQUEST, "That edit cannot be saved.");
    }
    let now = crate::db::now();
    if !comments::edit_own(&state.db, id, &hash(&form.token), body, now).await? {
        return own_error(StatusCode::FORBIDDEN, "This comment can no longer be edited from here (edits are possible for 15 minutes after posting, from the same browser).");
    }
    let Some(comment) = comments::get(&state.db, id).await? else {
        return Err(AppError::NotFound);
    };
    if comment.status == "approved" {
        state.page_changed(comment.page_id).await;
    }
    let html = state.templates.render(
        "partials/comment_one.html",
        &serde_json::json!({ "c": view_of(&comment) }),
    )?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "html": html, "status": comment.status })))
}

/// `POST /comments/{id}/delete`: the posting browser withdraws it.
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    form: web::Form<OwnForm>,
) -> Result<HttpResponse, AppError> {
    if !crate::admin::guard::same_origin(&state, &req) {
        return Err(AppError::Forbidden(
            "comments come from this site's own pages".into(),
        ));
    }
    let id = path.into_inner();
    let before = comments::get(&state.db, id).await?;
    if !comments::delete_own(&state.db, id, &hash(&form.token), crate::db::now()).await? {
        return own_error(StatusCode::FORBIDDEN, "This comment can no longer be deleted from here (that is possible for 15 minutes after posting, from the same browser).");
    }
    if let Some(c) = before.filter(|c| c.status == "approved") {
        state.page_changed(c.page_id).await;
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "deleted": id })))
}

fn own_error(status: StatusCode, message: &str) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "error": message })))
}

// ---- Reply notices: confirm and unsubscribe (signed links) ----

use super::subscribe::TokenParams;

#[derive(Serialize)]
struct NoticeTemplate {
    chrome: Chrome,
    meta: Meta,
    /// confirm | confirmed | unsubscribe | unsubscribed | invalid | expired
    step: &'static str,
    email: String,
    token: String,
}

/// The address a notice link names, if its signature holds.
async fn resolve(
    state: &AppState,
    token: &str,
    purpose: Purpose,
) -> Result<Result<String, TokenError>, AppError> {
    let Some(claim) = Claim::parse(token).filter(|c| c.purpose == purpose) else {
        return Ok(Err(TokenError::Invalid));
    };
    let Some(comment) = comments::get(&state.db, claim.subscriber).await? else {
        return Ok(Err(TokenError::Invalid));
    };
    let signer = state.newsletter.signer(state).await?;
    Ok(signer
        .verify(&claim, &comment.author_email, crate::db::now())
        .map(|()| comment.author_email))
}

async fn notice_page(
    state: &AppState,
    status: StatusCode,
    step: &'static str,
    email: String,
    token: String,
) -> Result<HttpResponse, AppError> {
    let site = Site::load(state, None).await?;
    let body = state.templates.render(
        "reader/comment_notices.html",
        &NoticeTemplate {
            chrome: site.chrome(""),
            meta: noindex_meta(&site, "Reply notices"),
            step,
            email,
            token,
        },
    )?;
    Ok(HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

async fn bad_link(state: &AppState, error: TokenError) -> Result<HttpResponse, AppError> {
    let step = match error {
        TokenError::Expired => "expired",
        TokenError::Invalid => "invalid",
    };
    notice_page(
        state,
        StatusCode::BAD_REQUEST,
        step,
        String::new(),
        String::new(),
    )
    .await
}

/// A signed link's page (GET): a button that asks for the click, or the
/// finished state when the address is already there (mail scanners fetch
/// links, so a GET never acts).
async fn link_page(
    state: &AppState,
    token: &str,
    purpose: Purpose,
    (when_subscribed, when_not): (&'static str, &'static str),
) -> Result<HttpResponse, AppError> {
    match resolve(state, token, purpose).await? {
        Ok(email) => {
            let step = if comments::mail::is_subscribed(&state.db, &email).await? {
                when_subscribed
            } else {
                when_not
            };
            notice_page(state, StatusCode::OK, step, email, token.to_owned()).await
        }
        Err(e) => bad_link(state, e).await,
    }
}

/// `GET /comments/confirm?t=…`.
pub async fn confirm_page(
    state: web::Data<AppState>,
    params: web::Query<TokenParams>,
) -> Result<HttpResponse, AppError> {
    link_page(
        &state,
        &params.t,
        Purpose::CommenterConfirm,
        ("confirmed", "confirm"),
    )
    .await
}

/// `POST /comments/confirm`.
pub async fn confirm(
    state: web::Data<AppState>,
    form: web::Form<TokenParams>,
) -> Result<HttpResponse, AppError> {
    match resolve(&state, &form.t, Purpose::CommenterConfirm).await? {
        Ok(email) => {
            if comments::mail::confirm(&state.db, &email).await? {
                tracing::info!("reply notices confirmed");
            }
            notice_page(&state, StatusCode::OK, "confirmed", email, String::new()).await
        }
        Err(e) => bad_link(&state, e).await,
    }
}

/// `GET /comments/unsubscribe?t=…`.
pub async fn unsubscribe_page(
    state: web::Data<AppState>,
    params: web::Query<TokenParams>,
) -> Result<HttpResponse, AppError> {
    link_page(
        &state,
        &params.t,
        Purpose::CommenterUnsubscribe,
        ("unsubscribe", "unsubscribed"),
    )
    .await
}

/// `POST /comments/unsubscribe`: the button, or the mail client's one-click
/// request (RFC 8058; the token in the query).
pub async fn unsubscribe(
    state: web::Data<AppState>,
    params: web::Query<TokenParams>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let token = super::subscribe::posted_token(&params, &body);
    match resolve(&state, &token, Purpose::CommenterUnsubscribe).await? {
        Ok(email) => {
            comments::mail::unsubscribe(&state.db, &email).await?;
            notice_page(&state, StatusCode::OK, "unsubscribed", email, String::new()).await
        }
        Err(e) => bad_link(&state, e).await,
    }
}
