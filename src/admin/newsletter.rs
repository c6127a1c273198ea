//! The newsletter in the admin (owner only: addresses are readers' personal
//! data): the subscriber list, export for mail merge, automatic mailing,
//! digests, and each mailing's progress and failures.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::view::{self, require_owner, AdminChrome};
use crate::auth::Session;
use crate::comics::{self, settings, PageId};
use crate::error::AppError;
use crate::newsletter::outbox::{self, Kind, Mailing, Trouble};
use crate::newsletter::sender::{self, SenderState, AUTO, AUTO_SINCE};
use crate::newsletter::subscribers::{self, Counts, Filter, Status, Subscriber};
use crate::newsletter::{compose, tokens::Purpose};
use crate::startup::AppState;
use crate::time::local_time;

const PER_PAGE: i64 = 50;

#[derive(Deserialize)]
pub struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: Option<i64>,
}

#[derive(Serialize)]
struct SubscriberRow {
    id: i64,
    email: String,
    status: Status,
    since: String,
}

#[derive(Serialize)]
struct SubscribersTemplate {
    chrome: AdminChrome,
    counts: Counts,
    rows: Vec<SubscriberRow>,
    total: i64,
    q: String,
    status: String,
    page: i64,
    prev_url: Option<String>,
    next_url: Option<String>,
    enabled: bool,
}

pub async fn subscribers(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let chrome = AdminChrome::new(&state, &session, &req, "subscribers").await?;
    let q: String = params.q.trim().chars().take(254).collect();
    let status = Status::parse(&params.status);
    let page = params.page.unwrap_or(1).clamp(1, 100_000);
    let (list, total) = subscribers::list(
        &state.db,
        &Filter {
            query: &q,
            status,
            offset: (page - 1) * PER_PAGE,
            limit: PER_PAGE,
        },
    )
    .await?;
    let counts = subscribers::counts(&state.db).await?;
    let tz = chrome.timezone.clone();
    let rows = list
        .into_iter()
        .map(|s: Subscriber| SubscriberRow {
            since: local_time(
                match s.status {
                    Status::Confirmed => s.confirmed_at,
                    Status::Unsubscribed => s.unsubscribed_at,
                    Status::Pending => None,
                }
                .unwrap_or(s.created_at),
                &tz,
            ),
            id: s.id,
            email: s.email,
            status: s.status,
        })
        .collect();
    let status_str = status.map(Status::as_str).unwrap_or("").to_owned();
    let link = |n: i64| {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &q)
            .append_pair("status", &status_str)
            .append_pair("page", &n.to_string())
            .finish();
        format!("/admin/subscribers?{query}")
    };
    let pages = (total + PER_PAGE - 1) / PER_PAGE;
    view::render(
        &state,
        &req,
        "admin/subscribers.html",
        &SubscribersTemplate {
            chrome,
            counts,
            rows,
            total,
            prev_url: (page > 1).then(|| link(page - 1)),
            next_url: (page < pages).then(|| link(page + 1)),
            q,
            status: status_str,
            page,
            enabled: state.newsletter.enabled,
        },
    )
}

pub async fn subscriber_delete(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    if subscribers::delete(&state.db, path.into_inner()).await? {
        Ok(view::ok(
            "/admin/subscribers",
            "Subscriber removed, with everything queued for them.",
        ))
    } else {
        Ok(view::fail(
            "/admin/subscribers",
            "That subscriber was removed already.",
        ))
    }
}

#[derive(Deserialize)]
pub struct ExportParams {
    #[serde(default)]
    format: String,
}

/// Confirmed subscribers with their own unsubscribe links, for an author
/// who sends with another tool. `format=sheets` names the columns the way
/// Google Sheets mail-merge add-ons look for them and writes times Sheets
/// reads as dates; both are UTF-8 and safe from formula injection.
pub async fn export(
    state: web::Data<AppState>,
    session: Session,
    params: web::Query<ExportParams>,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let sheets = params.format == "sheets";
    let list = subscribers::confirmed(&state.db).await?;
    let signer = state.newsletter.signer(&state).await?;
    let base = state.config.base_url();
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let write = |out: &mut csv::Writer<Vec<u8>>, row: [&str; 3]| {
        out.write_record(row.map(|cell| halftone_protocol::spreadsheet_safe(cell).into_owned()))
            .map_err(|e| AppError::Internal(e.into()))
    };
    if sheets {
        write(
            &mut out,
            ["Email Address", "Subscribed On", "Unsubscribe Link"],
        )?;
    } else {
        write(&mut out, ["email", "confirmed_at", "unsubscribe_url"])?;
    }
    for s in &list {
        let when = chrono::DateTime::from_timestamp(s.confirmed_at.unwrap_or(s.created_at), 0)
            .unwrap_or_default();
        let when = if sheets {
            when.format("%Y-%m-%d %H:%M:%S").to_string()
        } else {
            when.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        };
        let token = signer.sign(Purpose::Unsubscribe, s.id, &s.email, 0);
        let link = format!("{base}/unsubscribe?t={token}");
        write(&mut out, [&s.email, &when, &link])?;
    }
    let body = out
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("csv: {e}")))?;
    let name = if sheets {
        "subscribers-google-sheets.csv"
    } else {
        "subscribers.csv"
    };
    tracing::info!(
        user = session.user.id,
        rows = list.len(),
        sheets,
        "subscribers exported"
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

#[derive(Serialize)]
struct MailingView {
    #[serde(flatten)]
    mailing: Mailing,
    when: String,
}

#[derive(Serialize)]
struct SenderView {
    error: Option<String>,
    error_at: String,
    retry_at: Option<String>,
}

#[derive(Serialize)]
struct RecentPage {
    id: i64,
    title: String,
    when: String,
    mailed: bool,
    suggested: bool,
}

/// Pages this recent and never mailed are ticked for a digest.
const DIGEST_DAYS: i64 = 14;

#[derive(Serialize)]
struct NewsletterTemplate {
    chrome: AdminChrome,
    enabled: bool,
    mail_configured: bool,
    counts: Counts,
    auto: bool,
    auto_since: Option<String>,
    mailings: Vec<MailingView>,
    sender: SenderView,
    confirmations_waiting: i64,
    confirmations_failed: i64,
    recent: Vec<RecentPage>,
    rate: u32,
}

fn sender_view(s: &SenderState, tz: &str) -> SenderView {
    let now_ms = chrono::Utc::now().timestamp_millis();
    SenderView {
        error: s.last_error.clone(),
        error_at: s
            .last_error_at
            .map(|t| local_time(t, tz))
            .unwrap_or_default(),
        retry_at: (s.paused_until > now_ms).then(|| local_time(s.paused_until / 1000, tz)),
    }
}

pub async fn overview(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let chrome = AdminChrome::new(&state, &session, &req, "newsletter").await?;
    let tz = chrome.timezone.clone();
    let map = settings::load_map(&state.db).await?;
    let now = crate::db::now();
    let recent_rows = comics::pages::admin_recent(&state.db, now, 20).await?;
    let ids: Vec<i64> = recent_rows.iter().map(|p| p.id).collect();
    let mailed = outbox::mailed_pages(&state.db, &ids).await?;
    let (confirmations_waiting, confirmations_failed) =
        outbox::confirmation_backlog(&state.db).await?;
    let sender = sender::sender_state(&state.db).await?;
    let template = NewsletterTemplate {
        enabled: state.newsletter.enabled,
        mail_configured: state.mailer.is_enabled(),
        counts: subscribers::counts(&state.db).await?,
        auto: map.get(AUTO).map(String::as_str) == Some("1"),
        auto_since: map
            .get(AUTO_SINCE)
            .and_then(|v| v.parse().ok())
            .map(|t| local_time(t, &tz)),
        mailings: outbox::recent(&state.db, 20)
            .await?
            .into_iter()
            .map(|m| MailingView {
                when: local_time(m.created_at, &tz),
                mailing: m,
            })
            .collect(),
        sender: sender_view(&sender, &tz),
        confirmations_waiting,
        confirmations_failed,
        recent: recent_rows
            .into_iter()
            .map(|p| RecentPage {
                mailed: mailed.contains(&p.id),
                // A digest is about the last weeks, not the whole archive.
                suggested: !mailed.contains(&p.id)
                    && p.live_at.is_some_and(|t| now - t < DIGEST_DAYS * 86_400),
                when: p.live_at.map(|t| local_time(t, &tz)).unwrap_or_default(),
                id: p.id,
                title: p.title,
            })
            .collect(),
        rate: state.config.newsletter.max_per_minute,
        chrome,
    };
    view::render(&state, &req, "admin/newsletter.html", &template)
}

#[derive(Deserialize)]
pub struct AutoForm {
    #[serde(default)]
    auto: Option<String>,
}

/// Switches automatic mailing on or off. Switching on starts from now:
/// pages that went live before are never mailed by surprise.
pub async fn save_auto(
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<AutoForm>,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let on = form.auto.is_some();
    let map = settings::load_map(&state.db).await?;
    let was_on = map.get(AUTO).map(String::as_str) == Some("1");
    let since = crate::db::now().to_string();
    let mut values = vec![(AUTO, if on { "1" } else { "0" })];
    if on && !was_on {
        values.push((AUTO_SINCE, since.as_str()));
    }
    settings::save_all(&state.db, &values).await?;
    Ok(view::ok(
        "/admin/newsletter",
        if on {
            "Subscribers will get a mail whenever a page goes live."
        } else {
            "Automatic mails are off. You can still send a digest."
        },
    ))
}

/// Makes a digest of the chosen pages and queues it for every confirmed
/// subscriber. The form repeats `pages`, so it is read by hand.
pub async fn send_digest(
    state: web::Data<AppState>,
    session: Session,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let mut ids = Vec::new();
    let mut subject = String::new();
    let mut intro = String::new();
    for (key, value) in url::form_urlencoded::parse(&body) {
        match key.as_ref() {
            "pages" => match value.parse::<i64>() {
                Ok(id) => ids.push(PageId(id)),
                Err(_) => {
                    return Ok(view::fail(
                        "/admin/newsletter",
                        "Choose pages from the list.",
                    ))
                }
            },
            "subject" => subject = value.into_owned(),
            "intro" => intro = value.into_owned(),
            _ => {}
        }
    }
    if ids.is_empty() {
        return Ok(view::fail(
            "/admin/newsletter",
            "Choose at least one page for the digest.",
        ));
    }
    if ids.len() > 50 || subject.chars().count() > 200 || intro.chars().count() > 5000 {
        return Ok(view::fail(
            "/admin/newsletter",
            "A digest holds at most 50 pages, a 200-character subject and a 5,000-character message.",
        ));
    }
    let now = crate::db::now();
    let pages = comics::pages::visible_by_ids(&state.db, &ids, now).await?;
    if pages.len() != ids.len() {
        return Ok(view::fail(
            "/admin/newsletter",
            "Some of the chosen pages are not live (any more); nothing was sent.",
        ));
    }
    let mailing = compose::mailing(
        &state,
        Kind::Digest,
        Some(&subject),
        &intro,
        &pages,
        Some(session.user.id),
    )
    .await?;
    let id = outbox::create_mailing(&state.db, &mailing, now)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("digest refused as a duplicate")))?;
    state.newsletter.wake_all(&state.events).await;
    tracing::info!(
        mailing = id,
        pages = pages.len(),
        user = session.user.id,
        "digest queued"
    );
    Ok(view::ok(
        &format!("/admin/newsletter/{id}"),
        "Digest queued: it is being sent in the background.",
    ))
}

#[derive(Serialize)]
struct MailingTemplate {
    chrome: AdminChrome,
    mailing: MailingView,
    troubles: Vec<TroubleView>,
    sender: SenderView,
}

#[derive(Serialize)]
struct TroubleView {
    #[serde(flatten)]
    trouble: Trouble,
    next: String,
}

pub async fn mailing(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let id = path.into_inner();
    let mailing = outbox::mailing(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let chrome = AdminChrome::new(&state, &session, &req, "newsletter").await?;
    let tz = chrome.timezone.clone();
    let troubles = outbox::troubles(&state.db, id, 200)
        .await?
        .into_iter()
        .map(|t| TroubleView {
            next: local_time(t.next_attempt_at, &tz),
            trouble: t,
        })
        .collect();
    let sender = sender::sender_state(&state.db).await?;
    view::render(
        &state,
        &req,
        "admin/mailing.html",
        &MailingTemplate {
            mailing: MailingView {
                when: local_time(mailing.created_at, &tz),
                mailing,
            },
            troubles,
            sender: sender_view(&sender, &tz),
            chrome,
        },
    )
}

/// Progress of the recent mailings, for the admin page's live bars.
pub async fn progress(
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let mailings = outbox::recent(&state.db, 20).await?;
    let sender = sender::sender_state(&state.db).await?;
    let body = serde_json::json!({
        "mailings": mailings,
        "sender": {
            "error": sender.last_error,
            "paused": sender.paused_until > chrono::Utc::now().timestamp_millis(),
        },
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}

pub async fn retry(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let id = path.into_inner();
    let n = outbox::retry_failed(&state.db, id, crate::db::now()).await?;
    state.newsletter.wake_all(&state.events).await;
    Ok(view::ok(
        &format!("/admin/newsletter/{id}"),
        &format!("{n} failed mail(s) queued again."),
    ))
}

pub async fn cancel(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    require_owner(&session)?;
    let id = path.into_inner();
    let n = outbox::cancel(&state.db, id, crate::db::now()).await?;
    Ok(view::ok(
        &format!("/admin/newsletter/{id}"),
        &format!("Mailing stopped: {n} mail(s) will not be sent."),
    ))
}
