//! Addresses other webcomic systems used, answered with a permanent redirect
//! to ours, so subscribers and links from before a move keep working.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

/// WordPress's feed addresses (and Comic Easel's comic feed): RSS readers
/// subscribed to any of them follow a 301 to our feed.
const RSS: &[&str] = &[
    "/feed",
    "/feed/",
    "/feed/rss",
    "/feed/rss/",
    "/feed/rss2",
    "/feed/rss2/",
    "/feed/rdf",
    "/feed/rdf/",
    "/rss",
    "/rss/",
    "/rss.xml",
    "/rss2",
    "/rss2/",
    "/comic/feed",
    "/comic/feed/",
];
const ATOM: &[&str] = &[
    "/feed/atom",
    "/feed/atom/",
    "/atom",
    "/atom/",
    "/comic/feed/atom/",
];

pub fn routes(cfg: &mut web::ServiceConfig) {
    for path in RSS {
        cfg.route(path, web::get().to(|| async { moved("/feed.xml") }));
    }
    for path in ATOM {
        cfg.route(path, web::get().to(|| async { moved("/atom.xml") }));
    }
}

/// `/?feed=rss2` (WordPress without pretty permalinks): the feed it names.
pub fn feed_query(req: &HttpRequest) -> Option<HttpResponse> {
    let query = req.query_string();
    if query.is_empty() {
        return None;
    }
    let feed = web::Query::<std::collections::HashMap<String, String>>::from_query(query)
        .ok()?
        .get("feed")
        .cloned()?;
    let prefix = req.path().trim_end_matches('/');
    Some(match feed.as_str() {
        "atom" | "comments-atom" => moved(&format!("{prefix}/atom.xml")),
        _ => moved(&format!("{prefix}/feed.xml")),
    })
}

fn moved(to: &str) -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header((header::LOCATION, to.to_owned()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .finish()
}

/// The `redirects` table resolved to paths, kept per content generation.
#[derive(Debug, Default)]
pub struct OldLinks(std::collections::HashMap<String, String>);

async fn old_links_table(state: &crate::startup::AppState) -> std::sync::Arc<OldLinks> {
    let load = state.old_links.get_or_load(&state.cache, || async {
        let data = state
            .site_data
            .get_or_load(&state.cache, || {
                crate::site::SiteData::load(&state.db, &state.assets)
            })
            .await?;
        let urls = data.urls(state.config.base_url());
        let targets = crate::comics::redirects::targets(&state.db).await?;
        Ok::<_, crate::error::AppError>(OldLinks(
            targets
                .into_iter()
                .map(|(from, target)| {
                    let to = match target {
                        crate::comics::redirects::Target::Page { series_id, slug } => {
                            urls.comic(crate::comics::SeriesId(series_id), &slug)
                        }
                        crate::comics::redirects::Target::Path(path) => path,
                    };
                    (from, to)
                })
                .collect(),
        ))
    });
    // A slow or absent database holds readers up a second at most (a cached
    // page behind `?…` would otherwise wait for the pool's timeout): then
    // the last table, else none.
    match tokio::time::timeout(std::time::Duration::from_secs(1), load).await {
        Ok(Ok(table)) => table,
        _ => state.old_links.peek().unwrap_or_default(),
    }
}

/// Old addresses answered with a 301 (see `comics::redirects`): one with a
/// query (`/?p=16`) before anything else answers it, a bare path only when
/// nothing else did (404), so a redirect never hides a page of ours. A path
/// we do not know with a trailing slash goes to the same path without it.
pub async fn old_links(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::http::Method;
    let path = req.path().to_owned();
    let eligible = matches!(*req.method(), Method::GET | Method::HEAD)
        && ![
            "/admin", "/static/", "/media/", "/metrics", "/healthz", "/readyz",
        ]
        .iter()
        .any(|p| path.starts_with(p));
    let state = req
        .app_data::<web::Data<crate::startup::AppState>>()
        .cloned();
    let (Some(state), true) = (state, eligible) else {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    };
    let query = req.query_string().to_owned();
    if !query.is_empty() {
        let key = crate::comics::redirects::normalize(&path, &query);
        if let Some(to) = old_links_table(&state).await.0.get(&key) {
            let to = to.clone();
            return Ok(req.into_response(moved(&to)));
        }
    }
    let response = next.call(req).await?;
    if response.status() != actix_web::http::StatusCode::NOT_FOUND {
        return Ok(response.map_into_boxed_body());
    }
    let key = crate::comics::redirects::normalize(&path, "");
    let to = match old_links_table(&state).await.0.get(&key) {
        Some(to) => to.clone(),
        // `/comic/page-1/` (WordPress's form of our `/comic/page-1`).
        None if path.len() > 1 && path.ends_with('/') => {
            let mut to = path.trim_end_matches('/').to_owned();
            if !query.is_empty() {
                to = format!("{to}?{query}");
            }
            to
        }
        None => return Ok(response.map_into_boxed_body()),
    };
    let (req, _) = response.into_parts();
    Ok(actix_web::dev::ServiceResponse::new(req, moved(&to)))
}
