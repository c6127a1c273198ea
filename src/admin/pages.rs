//! `/admin/pages`: every page of a series in reading order, drag-and-drop
//! reordering, bulk actions, and "new page".

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::view::{self, AdminChrome};
use crate::auth::Session;
use crate::comics::{self, ChapterId, PageId, PageStatus, SeriesId};
use crate::error::AppError;
use crate::startup::AppState;
use crate::time::local_time;

#[derive(Deserialize)]
pub struct ListQuery {
    series: Option<i64>,
}

#[derive(Serialize)]
struct ListTemplate {
    chrome: AdminChrome,
    series: Vec<comics::Series>,
    current_series: i64,
    chapters: Vec<comics::Chapter>,
    pages: Vec<PageRow>,
}

#[derive(Serialize)]
struct PageRow {
    id: i64,
    title: String,
    slug: String,
    chapter: Option<String>,
    status: PageStatus,
    when: String,
    url: String,
    thumb: Option<crate::media::view::Thumb>,
}

/// The series to show: the one asked for, or the primary one.
async fn pick_series(
    state: &AppState,
    asked: Option<i64>,
) -> Result<(Vec<comics::Series>, SeriesId), AppError> {
    let series = comics::series::list(&state.db).await?;
    let current = match asked {
        Some(id) => series
            .iter()
            .find(|s| s.id.0 == id)
            .map(|s| s.id)
            .ok_or(AppError::NotFound)?,
        None => match series.first() {
            Some(s) => s.id,
            None => {
                return Err(AppError::bad_request(
                    "Create a series first (Admin → Series).",
                ))
            }
        },
    };
    Ok((series, current))
}

pub async fn list(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let chrome = AdminChrome::new(&state, &session, &req, "pages").await?;
    if comics::series::list(&state.db).await?.is_empty() {
        return Ok(view::fail(
            "/admin/series",
            "Create a series first: it holds your pages.",
        ));
    }
    let (series, current) = pick_series(&state, query.series).await?;
    let now = crate::db::now();
    let rows = comics::pages::admin_list(&state.db, current).await?;
    let site = crate::reader::site::Site::load(&state, None).await?;
    // Every page's first image in one query.
    let ids: Vec<PageId> = rows.iter().map(|p| PageId(p.id)).collect();
    let mut thumbs = std::collections::HashMap::new();
    for image in comics::pages::images_for(&state.db, &ids).await? {
        thumbs
            .entry(image.page_id)
            .or_insert_with(|| crate::media::view::Thumb::new(&image.media, ""));
    }
    let pages = rows
        .into_iter()
        .map(|p| {
            let status = PageStatus::derive(&p.status, p.live_at, now);
            PageRow {
                id: p.id,
                thumb: thumbs.remove(&PageId(p.id)),
                url: site.urls.comic(SeriesId(p.series_id), &p.slug),
                title: p.title,
                slug: p.slug,
                chapter: p.chapter_title,
                status,
                when: match status {
                    PageStatus::Draft => String::new(),
                    _ => p
                        .live_at
                        .map(|t| local_time(t, &chrome.timezone))
                        .unwrap_or_default(),
                },
            }
        })
        .collect();
    let chapters = comics::chapters::all_in_series(&state.db, current).await?;
    let ctx = ListTemplate {
        chrome,
        series,
        current_series: current.0,
        chapters,
        pages,
    };
    view::render(&state, &req, "admin/pages.html", &ctx)
}

#[derive(Deserialize)]
pub struct NewForm {
    series: Option<i64>,
    chapter: Option<String>,
}

pub async fn create(
    state: web::Data<AppState>,
    _session: Session,
    form: web::Form<NewForm>,
) -> Result<HttpResponse, AppError> {
    let (_, series) = pick_series(&state, form.series).await?;
    let chapter = form
        .chapter
        .as_deref()
        .and_then(|c| c.parse().ok())
        .map(ChapterId);
    let id = comics::editing::create_blank(&state.db, series, chapter).await?;
    Ok(view::ok(
        &format!("/admin/pages/{id}"),
        "New draft page created.",
    ))
}

#[derive(Deserialize)]
pub struct ReorderForm {
    page: i64,
    /// The page to put it before; empty or missing for the end.
    before: Option<String>,
}

/// Moves one page in the reading order (drag and drop, or the ↑/↓ buttons).
pub async fn reorder(
    state: web::Data<AppState>,
    _session: Session,
    form: web::Form<ReorderForm>,
) -> Result<HttpResponse, AppError> {
    let page = PageId(form.page);
    let series = comics::pages::series_of(&state.db, page)
        .await?
        .ok_or(AppError::NotFound)?;
    let before = match form.before.as_deref().filter(|b| !b.is_empty()) {
        Some(b) => {
            let id = PageId(
                b.parse()
                    .map_err(|_| AppError::bad_request("before: not a page id"))?,
            );
            if comics::pages::series_of(&state.db, id).await? != Some(series) {
                return Err(AppError::bad_request(
                    "Pages can only be reordered within their series.",
                ));
            }
            Some(id)
        }
        None => None,
    };
    comics::pages::reorder(&state.db, series, page, before).await?;
    state.content_changed().await;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
pub struct MoveForm {
    series: Option<i64>,
    /// The page's number in the list (its place in the reading order).
    number: String,
    /// Where to: a place number…
    #[serde(default)]
    position: String,
    /// …or the end of a chapter (`none`: out of any chapter).
    #[serde(default)]
    to_chapter: String,
}

/// Moves a page far in one step: to a place, or to the end of a chapter.
pub async fn move_far(
    state: web::Data<AppState>,
    _session: Session,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, AppError> {
    let (_, series) = pick_series(&state, form.series).await?;
    let back = format!("/admin/pages?series={}", series.0);
    let rows = comics::pages::admin_list(&state.db, series).await?;
    let Some(page) = form
        .number
        .trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| rows.get(i))
    else {
        return Ok(view::fail(
            &back,
            &format!(
                "Give the number of a page in the list (1 to {}).",
                rows.len()
            ),
        ));
    };
    let to = match (form.position.trim(), form.to_chapter.trim()) {
        ("", "") => {
            return Ok(view::fail(
                &back,
                "Give a place or a chapter to move it to.",
            ))
        }
        (position, _) if !position.is_empty() => match position.parse::<usize>() {
            Ok(n) if (1..=rows.len()).contains(&n) => comics::pages::Destination::Position(n),
            _ => {
                return Ok(view::fail(
                    &back,
                    &format!("The place is a number from 1 to {}.", rows.len()),
                ))
            }
        },
        (_, "none") => comics::pages::Destination::EndOfChapter(None),
        (_, chapter) => match chapter.parse() {
            Ok(id) => comics::pages::Destination::EndOfChapter(Some(ChapterId(id))),
            Err(_) => return Err(AppError::bad_request("to_chapter: not a chapter id")),
        },
    };
    match comics::pages::move_to(&state.db, PageId(page.id), to).await {
        Ok(()) => {}
        Err(comics::pages::MoveError::Db(e)) => return Err(e.into()),
        Err(e) => return Ok(view::fail(&back, &format!("Not moved: {e}."))),
    }
    state.content_changed().await;
    let done = match to {
        comics::pages::Destination::Position(n) => format!("Moved “{}” to place {n}.", page.title),
        comics::pages::Destination::EndOfChapter(_) => {
            format!("Moved “{}” to the end of the chapter.", page.title)
        }
    };
    Ok(view::ok(&back, &done))
}

#[derive(Deserialize)]
pub struct BulkForm {
    action: String,
    /// Comma-separated page ids (the form's checkboxes, joined by the page's script
    /// or sent as repeated `ids` fields).
    ids: String,
    chapter: Option<String>,
    tags: Option<String>,
    characters: Option<String>,
    confirm: Option<String>,
    series: Option<i64>,
}

fn split_list(s: Option<&str>) -> Vec<String> {
    s.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

pub async fn bulk(
    state: web::Data<AppState>,
    _session: Session,
    body: String,
) -> Result<HttpResponse, AppError> {
    // Checkboxes arrive as repeated `ids=…` fields; join them before parsing.
    let mut ids = Vec::new();
    let mut rest = Vec::new();
    for (k, v) in url::form_urlencoded::parse(body.as_bytes()) {
        if k == "ids" {
            ids.push(v.into_owned());
        } else {
            rest.push((k.into_owned(), v.into_owned()));
        }
    }
    rest.push(("ids".into(), ids.join(",")));
    let form: BulkForm = serde_urlencoded::from_str(
        &serde_urlencoded::to_string(&rest).map_err(|e| AppError::bad_request(e.to_string()))?,
    )
    .map_err(|e| AppError::bad_request(format!("bad form: {e}")))?;
    let back = match form.series {
        Some(s) => format!("/admin/pages?series={s}"),
        None => "/admin/pages".to_owned(),
    };
    let ids: Vec<PageId> = form
        .ids
        .split(',')
        .filter_map(|i| i.trim().parse().ok())
        .map(PageId)
        .collect();
    if ids.is_empty() {
        return Ok(view::fail(&back, "Select at least one page first."));
    }
    let message = match form.action.as_str() {
        "chapter" => {
            let chapter = form
                .chapter
                .as_deref()
                .filter(|c| !c.is_empty())
                .map(|c| c.parse().map(ChapterId))
                .transpose()
                .map_err(|_| AppError::bad_request("chapter: not a chapter id"))?;
            comics::editing::assign_chapter(&state.db, &ids, chapter).await?;
            format!("Moved {} pages.", ids.len())
        }
        "labels" => {
            let tags = split_list(form.tags.as_deref());
            let characters = split_list(form.characters.as_deref());
            if tags.is_empty() && characters.is_empty() {
                return Ok(view::fail(&back, "Give tags or characters to add."));
            }
            comics::editing::add_labels(&state.db, &ids, &tags, &characters).await?;
            format!("Labelled {} pages.", ids.len())
        }
        "delete" => {
            if form.confirm.as_deref() != Some("yes") {
                return Ok(view::fail(
                    &back,
                    "Deleting needs the confirmation box ticked.",
                ));
            }
            let n = comics::editing::delete(&state.db, &ids).await?;
            format!("Deleted {n} pages.")
        }
        other => return Err(AppError::bad_request(format!("unknown action “{other}”"))),
    };
    state.content_changed().await;
    Ok(view::ok(&back, &message))
}
