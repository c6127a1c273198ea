//! The fediverse's way in (thin handlers; the work is in `fediverse`):
//! WebFinger, NodeInfo, the series' actors with their outboxes and
//! collections, our notes, and the inboxes.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::AppError;
use crate::fediverse::inbox::{self, InboxError, Outcome};
use crate::fediverse::{objects, peers::AS_TYPE};
use crate::site::SiteData;
use crate::startup::AppState;

/// Notes per outbox page.
const PER_PAGE: usize = 20;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/.well-known/webfinger", web::get().to(webfinger))
        .route("/.well-known/nodeinfo", web::get().to(nodeinfo_links))
        .route("/nodeinfo/2.1", web::get().to(nodeinfo))
        .service(
            web::scope("/ap")
                .route("/actors/{slug}", web::get().to(actor))
                .route("/actors/{slug}/outbox", web::get().to(outbox))
                .route("/actors/{slug}/followers", web::get().to(followers))
                .route("/actors/{slug}/following", web::get().to(following))
                .route("/actors/{slug}/inbox", web::post().to(receive))
                .route("/inbox", web::post().to(receive))
                .route("/notes/{id}", web::get().to(note)),
        );
}

fn enabled(state: &AppState) -> Result<(), AppError> {
    if state.config.fediverse.enabled {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

fn activity_json(value: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(AS_TYPE)
        .insert_header(("Cache-Control", "public, max-age=60"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .insert_header(("Vary", "Accept"))
        .body(value.to_string())
}

/// A browser (asking for HTML, not ActivityStreams) visiting an actor or a
/// note is sent to the page it stands for, as Mastodon does.
fn wants_html(req: &HttpRequest) -> bool {
    let accept = req
        .headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("text/html") && !accept.contains("activity+json") && !accept.contains("ld+json")
}

async fn site_data(state: &AppState) -> Result<Arc<SiteData>, AppError> {
    Ok(state
        .site_data
        .get_or_load(&state.cache, || SiteData::load(&state.db, &state.assets))
        .await?)
}

fn series_by_slug<'a>(
    site: &'a SiteData,
    slug: &str,
) -> Result<&'a crate::comics::Series, AppError> {
    site.series
        .iter()
        .find(|s| s.slug == slug)
        .ok_or(AppError::NotFound)
}

#[derive(Deserialize)]
pub struct Resource {
    resource: Option<String>,
}

/// `acct:slug@domain` (or an actor's or series' address) → the actor.
async fn webfinger(
    state: web::Data<AppState>,
    query: web::Query<Resource>,
) -> Result<HttpResponse, AppError> {
    enabled(&state)?;
    let resource = query
        .resource
        .as_deref()
        .ok_or_else(|| AppError::BadRequest("resource is required".into()))?;
    let site = site_data(&state).await?;
    let ids = &state.fediverse.ids;
    let urls = site.urls(state.config.base_url());
    let slug = match resource.strip_prefix("acct:") {
        Some(acct) => {
            let (user, domain) = acct
                .trim_start_matches('@')
                .split_once('@')
                .ok_or_else(|| AppError::BadRequest("acct:user@domain".into()))?;
            if !domain.eq_ignore_ascii_case(&ids.authority()) {
                return Err(AppError::NotFound);
            }
            user.to_owned()
        }
        None => match ids.slug_of(resource) {
            Some(slug) => slug.to_owned(),
            None => site
                .series
                .iter()
                .find(|s| urls.absolute(&urls.home(s.id)) == resource)
                .map(|s| s.slug.clone())
                .ok_or(AppError::NotFound)?,
        },
    };
    let series = site
        .series
        .iter()
        .find(|s| s.slug.eq_ignore_ascii_case(&slug))
        .ok_or(AppError::NotFound)?;
    let home = urls.absolute(&urls.home(series.id));
    Ok(HttpResponse::Ok()
        .content_type("application/jrd+json")
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .body(objects::webfinger(ids, &series.slug, &home).to_string()))
}

async fn nodeinfo_links(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    enabled(&state)?;
    Ok(HttpResponse::Ok().json(json!({
        "links": [{
            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
            "href": format!("{}/nodeinfo/2.1", state.config.base_url()),
        }]
    })))
}

async fn nodeinfo(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    enabled(&state)?;
    let site = site_data(&state).await?;
    let state = state.into_inner();
    let catalog = super::site::catalog(&state).await?;
    let now = crate::db::now();
    let posts = catalog
        .pages()
        .iter()
        .filter(|p| p.page.visible_at(now))
        .count();
    Ok(HttpResponse::Ok()
        .content_type(
            "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"",
        )
        .body(
            json!({
                "version": "2.1",
                "software": {
                    "name": "halftone",
                    "version": env!("CARGO_PKG_VERSION"),
                    "homepage": "https://github.com/halftone-comics/halftone"
                },
                "protocols": ["activitypub"],
                "services": { "inbound": [], "outbound": ["rss2.0", "atom1.0"] },
                "openRegistrations": false,
                "usage": { "users": { "total": site.series.len() }, "localPosts": posts },
                "metadata": { "nodeName": site.settings.title }
            })
            .to_string(),
        ))
}

async fn actor(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    enabled(&state)?;
    let site = site_data(&state).await?;
    let series = series_by_slug(&site, &slug)?;
    let urls = site.urls(state.config.base_url());
    if wants_html(&req) {
        return Ok(HttpResponse::Found()
            .insert_header(("Location", urls.absolute(&urls.home(series.id))))
            .finish());
    }
    let key = state.fediverse.key(&state.db).await?;
    Ok(activity_json(&objects::actor(
        &site,
        series,
        &urls,
        &state.fediverse.ids,
        key.public_pem(),
    )))
}

#[derive(Deserialize)]
pub struct OutboxQuery {
    page: Option<usize>,
}

/// Every live page of the series as a `Create`, newest first, in pages.
async fn outbox(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<OutboxQuery>,
) -> Result<HttpResponse, AppError> {
    enabled(&state)?;
    let site = site_data(&state).await?;
    let series = series_by_slug(&site, &slug)?.clone();
    let urls = site.urls(state.config.base_url());
    let state = state.into_inner();
    let catalog = super::site::catalog(&state).await?;
    let now = crate::db::now();
    let mut live: Vec<&crate::comics::catalog::CatalogPage> = catalog
        .pages()
        .iter()
        .filter(|p| p.page.series_id == series.id && p.page.visible_at(now))
        .collect();
    live.sort_by_key(|p| std::cmp::Reverse((p.page.live_at, p.page.position, p.page.id.0)));
    let ids = &state.fediverse.ids;
    let outbox = ids.outbox(&series.slug);
    let pages = live.len().div_ceil(PER_PAGE).max(1);
    let body = match query.page {
        None => json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": outbox,
            "type": "OrderedCollection",
            "totalItems": live.len(),
            "first": format!("{outbox}?page=1"),
            "last": format!("{outbox}?page={pages}"),
        }),
        Some(n) if n >= 1 && n <= pages => {
            let items: Vec<Value> = live
                .iter()
                .skip((n - 1) * PER_PAGE)
                .take(PER_PAGE)
                .map(|p| {
                    let note = objects::note(p, &series, &urls, ids, &site.settings.language);
                    objects::create_for_outbox(note, ids, &series.slug)
                })
                .collect();
            let mut page = json!({
                "@context": objects::context(),
                "id": format!("{outbox}?page={n}"),
                "type": "OrderedCollectionPage",
                "partOf": outbox,
                "orderedItems": items,
            });
            if n < pages {
                page["next"] = Value::from(format!("{outbox}?page={}", n + 1));
            }
            if n > 1 {
                page["prev"] = Value::from(format!("{outbox}?page={}", n - 1));
            }
            page
        }
        Some(_) => return Err(AppError::NotFound),
    };
    Ok(activity_json(&body))
}

/// The count only: who follows is nobody else's business (as on Mastodon
/// when the list is hidden).
async fn followers(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    enabled(&state)?;
    let site = site_data(&state).await?;
    let series = series_by_slug(&site, &slug)?;
    let count = crate::fediverse::store::follower_counts(&state.db)
        .await?
        .into_iter()
        .find(|(s, _)| *s == series.id.0)
        .map_or(0, |(_, n)| n);
    Ok(activity_json(&json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": state.fediverse.ids.followers(&series.slug),
        "type": "OrderedCollection",
        "totalItems": count,
    })))
}

async fn following(
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    enabled(&state)?;
    let site = site_data(&state).await?;
    let series = series_by_slug(&site, &slug)?;
    Ok(activity_json(&json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": state.fediverse.ids.following(&series.slug),
        "type": "OrderedCollection",
        "totalItems": 0,
        "orderedItems": [],
    })))
}

/// One of our notes (a live page); a browser goes to the page itself.
async fn note(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    enabled(&state)?;
    let site = site_data(&state).await?;
    let urls = site.urls(state.config.base_url());
    let state = state.into_inner();
    let catalog = super::site::catalog(&state).await?;
    let page = catalog
        .get(crate::comics::PageId(*id))
        .filter(|p| p.page.visible_at(crate::db::now()))
        .ok_or(AppError::NotFound)?;
    let series = site
        .series
        .iter()
        .find(|s| s.id == page.page.series_id)
        .ok_or(AppError::NotFound)?;
    if wants_html(&req) {
        return Ok(HttpResponse::Found()
            .insert_header((
                "Location",
                urls.absolute(&urls.comic(series.id, &page.page.slug)),
            ))
            .finish());
    }
    let mut note = objects::note(
        page,
        series,
        &urls,
        &state.fediverse.ids,
        &site.settings.language,
    );
    note["@context"] = objects::context();
    Ok(activity_json(&note))
}

/// An inbox (a series' own or the shared one): the body is read up to
/// `inbox_max_bytes`, then verified and acted on by `fediverse::inbox`.
async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    enabled(&state)?;
    if let Err(wait) = state
        .inbox_limiter
        .check(crate::net::client_key(state.client_ip(&req)))
    {
        return Err(AppError::TooManyRequests {
            message: "too many activities from your network; try again later".to_owned(),
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let max = state.config.fediverse.inbox_max_bytes;
    if req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > max)
    {
        return Err(AppError::TooLarge(format!(
            "an activity is at most {max} bytes"
        )));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut payload).await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(e.to_string()))?;
        if body.len() + chunk.len() > max {
            return Err(AppError::TooLarge(format!(
                "an activity is at most {max} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let mut headers: HashMap<String, String> = HashMap::new();
    for (name, value) in req.headers() {
        let value = value.to_str().unwrap_or("").to_owned();
        headers
            .entry(name.as_str().to_ascii_lowercase())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let target = match req.uri().query() {
        Some(q) => format!("{}?{q}", req.uri().path()),
        None => req.uri().path().to_owned(),
    };
    let incoming = inbox::Incoming {
        method: req.method().as_str(),
        path_and_query: &target,
        headers: &headers,
        body: &body,
    };
    match inbox::receive(&state.services, incoming).await {
        Ok(outcome) => {
            let what = match outcome {
                Outcome::Done(what) => what,
                Outcome::Ignored(what) => {
                    tracing::info!(why = what, "fediverse: activity ignored");
                    what
                }
            };
            Ok(HttpResponse::Accepted().json(json!({ "ok": what })))
        }
        Err(error) => {
            tracing::info!(%error, "fediverse: activity refused");
            metrics::counter!("halftone_fediverse_refused_total").increment(1);
            Err(match error {
                // 401, as Mastodon answers: a sender trying RFC 9421
                // signatures first (Fedify) falls back to the draft's.
                InboxError::Unsigned(_) | InboxError::Key(_) => AppError::Unauthorized,
                InboxError::Forbidden(why) => AppError::Forbidden(why.to_owned()),
                InboxError::Bad(why) => AppError::BadRequest(why.to_owned()),
                InboxError::Database(e) => e.into(),
                InboxError::Other(e) => AppError::Internal(e),
            })
        }
    }
}
