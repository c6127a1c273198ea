//! The author's admin under `/admin`: accounts, the page editor with
//! websocket autosave, series/chapters/static pages, the publishing queue.
//!
//! Every route is listed once in `route_table`; the `/admin` scope is built
//! from it and wrapped in `auth::guard::admin_guard` (sessions, CSRF,
//! same-origin), and the tests walk the same table to prove that every route
//! refuses anonymous visitors.

pub mod accounts;
pub mod backups;
pub mod chapters;
pub mod characters;
pub mod comments;
pub mod dashboard;
pub mod editor;
pub mod fediverse;
pub mod forms;
pub mod guard;
pub mod login;
pub mod newsletter;
pub mod pages;
pub mod queue;
pub mod redirects;
pub mod series;
pub mod static_pages;
pub mod system;
pub mod upload;
pub mod view;
pub mod ws;

use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{web, Route};

/// (method, path under `/admin`, handler) for every admin route.
pub fn route_table() -> Vec<(Method, &'static str, Route)> {
    use web::{get, post};
    vec![
        (Method::GET, "", get().to(dashboard::show)),
        (Method::GET, "/login", get().to(login::login_form)),
        (Method::POST, "/login", post().to(login::login)),
        (Method::GET, "/setup", get().to(login::setup_form)),
        (Method::POST, "/setup", post().to(login::setup)),
        (Method::POST, "/logout", post().to(login::logout)),
        (Method::GET, "/pages", get().to(pages::list)),
        (Method::POST, "/pages/new", post().to(pages::create)),
        (Method::POST, "/pages/reorder", post().to(pages::reorder)),
        (Method::POST, "/pages/move", post().to(pages::move_far)),
        (Method::POST, "/pages/bulk", post().to(pages::bulk)),
        (Method::GET, "/pages/{id}", get().to(editor::edit)),
        (Method::GET, "/pages/{id}/ws", get().to(ws::socket)),
        (
            Method::POST,
            "/pages/{id}/publish",
            post().to(editor::publish),
        ),
        (
            Method::GET,
            "/pages/{id}/preview",
            get().to(editor::preview),
        ),
        (
            Method::GET,
            "/pages/{id}/revisions",
            get().to(editor::revisions),
        ),
        (
            Method::GET,
            "/pages/{id}/revisions/{rev}",
            get().to(editor::revision),
        ),
        (
            Method::POST,
            "/pages/{id}/revisions/{rev}/restore",
            post().to(editor::restore),
        ),
        (Method::POST, "/media", post().to(upload::upload)),
        (Method::POST, "/markdown", post().to(upload::markdown)),
        (Method::GET, "/comments", get().to(comments::queue)),
        (Method::POST, "/comments/bulk", post().to(comments::bulk)),
        (
            Method::POST,
            "/comments/rules",
            post().to(comments::save_rules),
        ),
        (
            Method::POST,
            "/comments/page/{page}",
            post().to(comments::close),
        ),
        (
            Method::POST,
            "/comments/{id}/reply",
            post().to(comments::reply),
        ),
        (Method::GET, "/characters", get().to(characters::list)),
        (Method::POST, "/characters", post().to(characters::create)),
        (Method::GET, "/characters/{id}", get().to(characters::edit)),
        (
            Method::POST,
            "/characters/{id}",
            post().to(characters::save),
        ),
        (
            Method::POST,
            "/characters/{id}/delete",
            post().to(characters::delete),
        ),
        (Method::GET, "/series", get().to(series::series_list)),
        (Method::POST, "/series", post().to(series::series_create)),
        (
            Method::POST,
            "/series/{id}",
            post().to(series::series_update),
        ),
        (Method::GET, "/chapters", get().to(chapters::chapters)),
        (
            Method::POST,
            "/chapters",
            post().to(chapters::chapter_create),
        ),
        (
            Method::POST,
            "/chapters/{id}",
            post().to(chapters::chapter_update),
        ),
        (
            Method::POST,
            "/chapters/{id}/move",
            post().to(chapters::chapter_move),
        ),
        (
            Method::POST,
            "/chapters/{id}/delete",
            post().to(chapters::chapter_delete),
        ),
        (Method::GET, "/static", get().to(static_pages::static_list)),
        (
            Method::GET,
            "/static/new",
            get().to(static_pages::static_new),
        ),
        (
            Method::POST,
            "/static",
            post().to(static_pages::static_create),
        ),
        (
            Method::GET,
            "/static/{id}",
            get().to(static_pages::static_edit),
        ),
        (
            Method::POST,
            "/static/{id}",
            post().to(static_pages::static_update),
        ),
        (
            Method::POST,
            "/static/{id}/delete",
            post().to(static_pages::static_delete),
        ),
        (Method::GET, "/queue", get().to(queue::show)),
        (Method::GET, "/analytics", get().to(dashboard::analytics)),
        (Method::POST, "/queue", post().to(queue::save)),
        (Method::GET, "/account", get().to(accounts::account)),
        (
            Method::POST,
            "/account/password",
            post().to(accounts::change_password),
        ),
        (Method::GET, "/users", get().to(accounts::users_list)),
        (Method::POST, "/users", post().to(accounts::user_create)),
        (
            Method::POST,
            "/users/{id}/delete",
            post().to(accounts::user_delete),
        ),
        (
            Method::GET,
            "/subscribers",
            get().to(newsletter::subscribers),
        ),
        (
            Method::GET,
            "/subscribers/export.csv",
            get().to(newsletter::export),
        ),
        (
            Method::POST,
            "/subscribers/{id}/delete",
            post().to(newsletter::subscriber_delete),
        ),
        (Method::GET, "/newsletter", get().to(newsletter::overview)),
        (
            Method::GET,
            "/newsletter/progress.json",
            get().to(newsletter::progress),
        ),
        (
            Method::POST,
            "/newsletter/auto",
            post().to(newsletter::save_auto),
        ),
        (
            Method::POST,
            "/newsletter/digest",
            post().to(newsletter::send_digest),
        ),
        (
            Method::GET,
            "/newsletter/{id}",
            get().to(newsletter::mailing),
        ),
        (
            Method::POST,
            "/newsletter/{id}/retry",
            post().to(newsletter::retry),
        ),
        (
            Method::POST,
            "/newsletter/{id}/cancel",
            post().to(newsletter::cancel),
        ),
        (Method::GET, "/backups", get().to(backups::show)),
        (Method::GET, "/system", get().to(system::show)),
        (Method::GET, "/fediverse", get().to(fediverse::show)),
        (
            Method::POST,
            "/fediverse/blocked",
            post().to(fediverse::block),
        ),
        (Method::GET, "/redirects", get().to(redirects::list)),
        (Method::POST, "/redirects", post().to(redirects::add)),
        (
            Method::POST,
            "/redirects/{id}/delete",
            post().to(redirects::delete),
        ),
        (Method::POST, "/backups", post().to(backups::start)),
        (Method::GET, "/settings", get().to(accounts::site_settings)),
        (
            Method::POST,
            "/settings/readers",
            post().to(accounts::save_readers),
        ),
        (
            Method::POST,
            "/settings",
            post().to(accounts::save_settings),
        ),
        (
            Method::POST,
            "/settings/look",
            post().to(accounts::save_look),
        ),
    ]
}

/// The paths every visitor may reach without a session.
pub const PUBLIC_PATHS: &[&str] = &["/login", "/setup"];

pub fn routes(cfg: &mut web::ServiceConfig) {
    let mut scope = web::scope("/admin")
        .wrap(from_fn(guard::admin_guard))
        .app_data(web::FormConfig::default().limit(1 << 20))
        .app_data(web::JsonConfig::default().limit(1 << 20));
    for (_, path, route) in route_table() {
        scope = scope.route(path, route);
    }
    // `/admin/` works like `/admin`.
    scope = scope.route("/", web::get().to(dashboard::show));
    cfg.service(scope);
}
