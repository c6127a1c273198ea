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
