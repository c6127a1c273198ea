//! `/admin/comments`: the moderation queue (pending, approved, spam,
//! deleted), bulk approve/spam/delete with keyboard shortcuts (admin.js),
//! the author's reply inline, a page's comments closed or reopened, and the
//! moderation rules. Readers' transcripts arrive in the same queue; approving
//! one makes it the page's transcript.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::view::{self, AdminChrome};
use crate::auth::Session;
use crate::comics::{settings, PageId};
use crate::comments::{self, policy::Rules, Kind, NewComment, Status, TranscriptOutcome};
use crate::error::AppError;
use crate::render::markdown;
use crate::startup::AppState;
use crate::time::local_time;

#[derive(Serialize)]
struct Tab {
    status: &'static str,
    label: &'static str,
    count: i64,
    current: bool,
}

#[derive(Serialize)]
struct Row {
    id: i64,
    kind: String,
    author: String,
    email: String,
    is_author: bool,
    when: String,
    html: String,
    /// Transcripts are shown as typed (they become the page's text).
    text: String,
    reason: String,
    page_id: i64,
    page_title: String,
    page_url: String,
    parent_name: Option<String>,
    /// A transcript whose page has one already cannot be approved.
    transcript_taken: bool,
}

#[derive(Serialize)]
struct QueueTemplate {
    chrome: AdminChrome,
    tabs: Vec<Tab>,
    status: &'static str,
    rows: Vec<Row>,
    page: Option<PageFilter>,
    rules: Rules,
}

#[derive(Serialize)]
struct PageFilter {
    id: i64,
    title: String,
    closed: bool,
}

#[derive(Deserialize)]
pub struct QueueQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    page: Option<i64>,
}

const PAGE_SIZE: i64 = 200;

pub async fn queue(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, AppError> {
    let chrome = AdminChrome::new(&state, &session, &req, "comments").await?;
    let status = query
        .status
        .as_deref()
        .and_then(Status::parse)
        .unwrap_or(Status::Pending);
    let counts = comments::counts(&state.db).await?;
    let tabs = counts
        .iter()
        .map(|(st, n)| Tab {
            status: st.as_str(),
            label: match st {
                Status::Pending => "Pending",
                Status::Approved => "Approved",
                Status::Spam => "Spam",
                Status::Deleted => "Deleted",
            },
            count: *n,
            current: *st == status,
        })
        .collect();
    let page_id = query.page.map(PageId);
    let list = comments::queue(&state.db, status, page_id, PAGE_SIZE).await?;
    let site = crate::site::SiteData::load(&state.db, &state.assets).await?;
    let urls = site.urls(state.config.base_url());
    let rows = list
        .into_iter()
        .map(|r| {
            let c = r.comment;
            let transcript = c.kind == "transcript";
            Row {
                id: c.id,
                kind: c.kind.clone(),
                author: c.author_name.clone(),
                email: c.author_email.clone(),
                is_author: c.user_id.is_some(),
                when: local_time(c.created_at, &chrome.timezone),
                html: if transcript {
                    String::new()
                } else {
                    markdown::comment_to_html(&c.body)
                },
                text: if transcript {
                    c.body.clone()
                } else {
                    String::new()
                },
                reason: c.reason.clone(),
                page_id: c.page_id.0,
                page_title: r.page_title,
                page_url: urls.comic(crate::comics::SeriesId(r.series_id), &r.page_slug),
                parent_name: r.parent_name,
                transcript_taken: transcript && r.page_transcript_empty == 0,
            }
        })
        .collect();
    let page = match page_id {
        Some(id) => {
            let row: Option<(String, i64)> =
                sqlx::query_as("SELECT title, comments_closed FROM pages WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&state.db)
                    .await?;
            row.map(|(title, closed)| PageFilter {
                id: id.0,
                title,
                closed: closed != 0,
            })
        }
        None => None,
    };
    let rules = Rules::from_map(&settings::load_map(&state.db).await?);
    view::render(
        &state,
        &req,
        "admin/comments.html",
        &QueueTemplate {
            chrome,
            tabs,
            status: status.as_str(),
            rows,
            page,
            rules,
        },
    )
}

/// Where to go back to after an action: the tab the moderator was on.
fn back_to(status: Option<&str>, page: Option<i64>) -> String {
    let mut url = format!(
        "/admin/comments?status={}",
        status
            .and_then(Status::parse)
            .unwrap_or(Status::Pending)
            .as_str()
    );
    if let Some(page) = page {
        url.push_str(&format!("&page={page}"));
    }
    url
}

/// `POST /admin/comments/bulk`: `action` = approve | spam | delete | pending
/// on the checked `ids` (repeated fields or comma-separated).
pub async fn bulk(
    state: web::Data<AppState>,
    _session: Session,
    body: String,
) -> Result<HttpResponse, AppError> {
    let mut ids = Vec::new();
    let mut action = String::new();
    let mut from = None;
    let mut page = None;
    for (k, v) in url::form_urlencoded::parse(body.as_bytes()) {
        match &*k {
            "ids" => ids.extend(v.split(',').filter_map(|s| s.trim().parse::<i64>().ok())),
            "action" => action = v.into_owned(),
            "from" => from = Some(v.into_owned()),
            "page" => page = v.parse().ok(),
            // A row's own button: `approve:12` acts on that comment alone.
            "one" => {
                if let Some((a, id)) = v.split_once(':') {
                    action = a.to_owned();
                    ids = id.parse().into_iter().collect();
                    break;
                }
            }
            _ => {}
        }
    }
    let back = back_to(from.as_deref(), page);
    let target = match action.as_str() {
        "approve" => Status::Approved,
        "spam" => Status::Spam,
        "delete" => Status::Deleted,
        "pending" => Status::Pending,
        _ => {
            return Ok(view::fail(
                &back,
                "Choose what to do with the selected comments.",
            ))
        }
    };
    if ids.is_empty() {
        return Ok(view::fail(&back, "Select at least one comment first."));
    }
    ids.sort_unstable();
    ids.dedup();
    let (done, problems) = moderate(&state, &ids, target).await?;
    let verb = match target {
        Status::Approved => "approved",
        Status::Spam => "marked as spam",
        Status::Deleted => "deleted",
        Status::Pending => "moved back to pending",
    };
    let mut message = format!(
        "{done} {} {verb}.",
        if done == 1 { "comment" } else { "comments" }
    );
    if !problems.is_empty() {
        message.push(' ');
        message.push_str(&problems.join(" "));
        return Ok(view::fail(&back, &message));
    }
    Ok(view::ok(&back, &message))
}

/// Moves comments to `target`. Approving a transcript makes it its page's
/// (unless the page has one); the pages whose comments readers see changed
/// are dropped from the cache one by one; replies now visible are mailed.
async fn moderate(
    state: &AppState,
    ids: &[i64],
    target: Status,
) -> Result<(usize, Vec<String>), AppError> {
    let mut problems = Vec::new();
    let mut ids = ids.to_vec();
    if target == Status::Approved {
        let mut keep = Vec::new();
        for id in ids {
            let Some(c) = comments::get(&state.db, id).await? else {
                continue;
            };
            if c.kind != Kind::Transcript.as_str() || c.status == "approved" {
                keep.push(id);
                continue;
            }
            match comments::apply_transcript(&state.db, c.page_id, c.body.trim()).await? {
                TranscriptOutcome::Applied { revision, draft } => {
                    tracing::info!(
                        page = c.page_id.0,
                        comment = id,
                        revision,
                        "reader transcript applied"
                    );
                    keep.push(id);
                    // Open editors of the page take the new draft live.
                    super::ws::announce(
                        state,
                        c.page_id,
                        revision,
                        &draft,
                        &format!("a reader's transcript (by {})", c.author_name),
                    )
                    .await;
                }
                TranscriptOutcome::HasOne => problems.push(format!(
                    "The transcript by {} was not approved: its page has a transcript already.",
                    c.author_name
                )),
                TranscriptOutcome::Missing => {}
            }
        }
        ids = keep;
    }
    let changed = comments::set_status(&state.db, &ids, target).await?;
    let mut pages: Vec<PageId> = changed
        .iter()
        .filter(|c| c.kind == "comment" && (c.status == "approved" || target == Status::Approved))
        .map(|c| c.page_id)
        .collect();
    pages.sort_unstable_by_key(|p| p.0);
    pages.dedup();
    let transcripts = changed
        .iter()
        .any(|c| c.kind == "transcript" && target == Status::Approved);
    if target == Status::Approved {
        let now_visible: Vec<_> = changed
            .iter()
            .filter(|c| c.kind == "comment")
            .cloned()
            .collect();
        if comments::mail::replies_visible(&state.db, &now_visible).await? > 0 {
            if let Ok(signer) = state.newsletter.signer(state).await {
                comments::mail::kick(state, signer);
            }
        }
    }
    if transcripts {
        // A transcript is in search and on the page: a content change.
        state.content_changed().await;
    } else {
        for page in pages {
            state.page_changed(page).await;
        }
    }
    Ok((changed.len(), problems))
}

#[derive(Deserialize)]
pub struct ReplyForm {
    body: String,
    #[serde(default)]
    from: Option<String>,
}

/// `POST /admin/comments/{id}/reply`: the author answers, live at once;
/// a pending comment answered is approved with it.
pub async fn reply(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<i64>,
    form: web::Form<ReplyForm>,
) -> Result<HttpResponse, AppError> {
    let back = back_to(form.from.as_deref(), None);
    let body = form.body.replace("\r\n", "\n");
    let body = body.trim();
    if body.is_empty() || body.chars().count() > comments::MAX_BODY {
        return Ok(view::fail(
            &back,
            "A reply must hold between 1 and 5,000 characters.",
        ));
    }
    let Some(parent) = comments::get(&state.db, path.into_inner()).await? else {
        return Err(AppError::NotFound);
    };
    if parent.kind != "comment" {
        return Ok(view::fail(&back, "Transcripts cannot be replied to."));
    }
    if parent.status == "pending" {
        moderate(&state, &[parent.id], Status::Approved).await?;
    } else if parent.status != "approved" {
        return Ok(view::fail(
            &back,
            "Approve the comment before replying to it.",
        ));
    }
    let mut conn = state.db.pool().acquire().await?;
    let id = comments::insert(
        &mut conn,
        &NewComment {
            page_id: parent.page_id,
            parent_id: Some(parent.parent_id.unwrap_or(parent.id)),
            kind: Kind::Comment,
            status: Status::Approved,
            author_name: &session.user.name,
            author_email: &session.user.email.to_lowercase(),
            user_id: Some(session.user.id),
            body,
            reason: "",
            notify: false,
            edit_hash: "",
            source: None,
            created_at: crate::db::now(),
        },
    )
    .await?;
    drop(conn);
    if let Some(reply) = comments::get(&state.db, id).await? {
        if comments::mail::replies_visible(&state.db, &[reply]).await? > 0 {
            if let Ok(signer) = state.newsletter.signer(&state).await {
                comments::mail::kick(&state, signer);
            }
        }
    }
    state.page_changed(parent.page_id).await;
    Ok(view::ok(
        &back,
        &format!("Your reply to {} is live.", parent.author_name),
    ))
}

#[derive(Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    closed: Option<String>,
}

/// `POST /admin/comments/page/{page}`: close or reopen a page's comments.
pub async fn close(
    state: web::Data<AppState>,
    _session: Session,
    path: web::Path<i64>,
    form: web::Form<CloseForm>,
) -> Result<HttpResponse, AppError> {
    let page = PageId(path.into_inner());
    let closed = form.closed.as_deref() == Some("1");
    if !comments::set_closed(&state.db, page, closed).await? {
        return Err(AppError::NotFound);
    }
    // The flag is on the page row, which every node holds in its catalog:
    // a content change (rare: the author's click), not a comment change.
    state.content_changed().await;
    Ok(view::ok(
        &back_to(None, Some(page.0)),
        if closed {
            "Comments on this page are closed."
        } else {
            "Comments on this page are open again."
        },
    ))
}

#[derive(Deserialize)]
pub struct RulesForm {
    #[serde(default)]
    enabled: Option<String>,
    hold: String,
    max_links: String,
    #[serde(default)]
    blocklist: String,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    transcripts: Option<String>,
}

/// `POST /admin/comments/rules`: the moderation rules (owners only).
pub async fn save_rules(
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<RulesForm>,
) -> Result<HttpResponse, AppError> {
    view::require_owner(&session)?;
    let back = "/admin/comments";
    if !matches!(form.hold.as_str(), "first" | "all" | "none") {
        return Ok(view::fail(back, "Choose which comments wait for approval."));
    }
    let max_links = match form.max_links.trim().parse::<u32>() {
        Ok(n) if n <= 20 => n.to_string(),
        _ => {
            return Ok(view::fail(
                back,
                "The link limit must be a number from 0 to 20.",
            ))
        }
    };
    if form.blocklist.len() > 20_000 {
        return Ok(view::fail(
            back,
            "The blocklist can be at most 20,000 characters long.",
        ));
    }
    let flag = |v: &Option<String>| if v.is_some() { "1" } else { "0" };
    let blocklist = form.blocklist.replace("\r\n", "\n");
    settings::save_all(
        &state.db,
        &[
            ("comments.enabled", flag(&form.enabled)),
            ("comments.hold", &form.hold),
            ("comments.max_links", &max_links),
            ("comments.blocklist", blocklist.trim()),
            ("comments.digest", flag(&form.digest)),
            ("comments.transcripts", flag(&form.transcripts)),
        ],
    )
    .await?;
    // Whether the form shows, and its notes, are on every page.
    state.content_changed().await;
    Ok(view::ok(back, "Comment rules saved."))
}
