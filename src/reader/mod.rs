//! The reader's site: server-rendered pages, feeds and sitemap.
//!
//! Handlers are thin: load the `Site`, call one or a few domain queries
//! (a fixed number per page, never one per item), build one template struct.

pub mod ai;
pub mod archive;
pub mod assets;
pub mod card;
pub mod comic;
pub mod comments;
pub mod errors;
pub mod fediverse;
pub mod legacy;
pub mod path;
pub mod response;
pub mod search;
pub mod seo;
pub mod site;
pub mod static_pages;
pub mod subscribe;
pub mod taxonomy;
pub mod welcome;

use actix_web::web;

use crate::feeds;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(comic::home))
        .route("/robots.txt", web::get().to(seo::robots))
        .route("/.well-known/tdmrep.json", web::get().to(ai::tdmrep))
        .configure(fediverse::routes)
        .route("/card/{page}/{file}", web::get().to(card::show))
        .route("/sitemap.xml", web::get().to(seo::sitemap))
        .route("/cast", web::get().to(taxonomy::cast))
        .route("/tag/{slug}", web::get().to(taxonomy::tag))
        .route("/character/{slug}", web::get().to(taxonomy::character))
        .route("/bookmarks", web::get().to(static_pages::bookmarks))
        .service(
            web::scope("/series/{series}")
                .route("", web::get().to(comic::home))
                .route("/", web::get().to(comic::home))
                .configure(series_routes),
        )
        .route("/search", web::get().to(search::search))
        .route("/subscribe", web::get().to(subscribe::form))
        .route("/subscribe", web::post().to(subscribe::subscribe))
        .route("/subscribe/confirm", web::get().to(subscribe::confirm_page))
        .route("/subscribe/confirm", web::post().to(subscribe::confirm))
        .route("/unsubscribe", web::get().to(subscribe::unsubscribe_page))
        .route("/unsubscribe", web::post().to(subscribe::unsubscribe))
        .service(
            web::scope("/comments")
                // A transcript is long; 20,000 characters of UTF-8 and the rest.
                .app_data(web::FormConfig::default().limit(128 * 1024))
                .route("/ticket", web::get().to(comments::ticket))
                .route("/confirm", web::get().to(comments::confirm_page))
                .route("/confirm", web::post().to(comments::confirm))
                .route("/unsubscribe", web::get().to(comments::unsubscribe_page))
                .route("/unsubscribe", web::post().to(comments::unsubscribe))
                .route("/{page}", web::get().to(comments::list))
                .route("/{page}", web::post().to(comments::post))
                .route("/{id}/edit", web::post().to(comments::edit))
                .route("/{id}/delete", web::post().to(comments::delete)),
        )
        .service(
            web::resource("/transcripts/{page}")
                .app_data(web::FormConfig::default().limit(128 * 1024))
                .route(web::post().to(comments::post_transcript)),
        )
        .configure(legacy::routes)
        .configure(series_routes)
        .route("/{slug}", web::get().to(static_pages::show));
}

/// Routes that exist once per series: at the root for the primary series,
/// under `/series/{series}` for the others.
fn series_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/comic/{slug}", web::get().to(comic::show))
        .route("/archive", web::get().to(archive::archive))
        .route("/random", web::get().to(comic::random))
        .route("/chapter/{chapter}", web::get().to(archive::chapter))
        .route("/feed.xml", web::get().to(feeds::rss))
        .route("/atom.xml", web::get().to(feeds::atom))
        .route("/feed.json", web::get().to(feeds::json))
        .route("/chapter/{chapter}/feed.xml", web::get().to(feeds::rss))
        .route("/chapter/{chapter}/atom.xml", web::get().to(feeds::atom))
        .route("/chapter/{chapter}/feed.json", web::get().to(feeds::json));
}
