//! `/admin/fediverse`: the comic's handles, followers, the delivery outbox,
//! likes and boosts per page, and who is blocked (owners only).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::view::{self, AdminChrome};
use crate::auth::Session;
use crate::error::AppError;
use crate::fediverse::{store, Blocklist, BLOCKED};
use crate::startup::AppState;

#[derive(Serialize)]
struct Handle {
    title: String,
    handle: String,
    followers: i64,
}

#[derive(Serialize)]
struct FediverseTemplate {
    chrome: AdminChrome,
    enabled: bool,
    /// Mastodon and most servers only talk to https sites.
    https: bool,
    handles: Vec<Handle>,
    followers: Vec<store::Follower>,
    deliveries: Vec<(String, i64)>,
    troubles: Vec<store::Trouble>,
    reactions: Vec<store::PageReactions>,
    blocked: String,
    /// The Bluesky account posted to, if any, and its recent posts.
    bluesky: Option<String>,
    crossposts: Vec<Crosspost>,
}

#[derive(Serialize)]
struct Crosspost {
    #[serde(flatten)]
    row: crate::fediverse::bluesky::Row,
    link: Option<String>,
}

pub async fn show(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let chrome = AdminChrome::new(&state, &session, &req, "fediverse").await?;
    let db = &state.db;
    let site = crate::site::SiteData::load(db, &state.assets).await?;
    let counts = store::follower_counts(db).await?;
    let handles = site
        .series
        .iter()
        .map(|s| Handle {
            title: s.title.clone(),
            handle: state.fediverse.ids.handle(&s.slug),
            followers: counts
                .iter()
                .find(|(id, _)| *id == s.id.0)
                .map_or(0, |(_, n)| *n),
        })
        .collect();
    let mut followers = store::followers(db, None).await?;
    followers.truncate(200);
    let blocked = crate::comics::settings::load_map(db)
        .await?
        .remove(BLOCKED)
        .unwrap_or_default();
    view::render(
        &state,
        &req,
        "admin/fediverse.html",
        &FediverseTemplate {
            chrome,
            enabled: state.config.fediverse.enabled,
            https: state.config.public_url.scheme() == "https",
            handles,
            followers,
            deliveries: store::delivery_counts(db).await?,
            troubles: store::troubles(db, 20).await?,
            reactions: store::reactions_by_page(db, 50).await?,
            blocked,
            bluesky: state
                .config
                .crosspost
                .bluesky
                .as_ref()
                .map(|b| b.identifier.clone()),
            crossposts: crate::fediverse::bluesky::recent(db, 20)
                .await?
                .into_iter()
                .map(|row| Crosspost {
                    link: crate::fediverse::bluesky::web_url(&row.remote_uri),
                    row,
                })
                .collect(),
        },
    )
}

#[derive(Deserialize)]
pub struct BlockForm {
    blocked: String,
}

/// Saves the blocklist; followers it now blocks are dropped at once.
pub async fn block(
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<BlockForm>,
) -> Result<HttpResponse, AppError> {
    view::require_owner(&session)?;
    let text = form.blocked.replace("\r\n", "\n");
    if text.len() > 3900 {
        return Ok(view::fail(
            "/admin/fediverse",
            "The list is too long (3,900 characters at most): block whole domains instead of accounts.",
        ));
    }
    crate::comics::settings::save_all(&state.db, &[(BLOCKED, text.trim())]).await?;
    let list = Blocklist::parse(&text);
    let mut dropped = 0;
    for follower in store::followers(&state.db, None).await? {
        if list.blocks(&follower.actor) || list.blocks_handle(&follower.handle) {
            dropped += store::remove_follower(&state.db, Some(follower.series_id), &follower.actor)
                .await?;
        }
    }
    let message = if dropped > 0 {
        format!("Blocklist saved; {dropped} follower(s) it blocks were removed.")
    } else {
        "Blocklist saved.".to_owned()
    };
    Ok(view::ok("/admin/fediverse", &message))
}
