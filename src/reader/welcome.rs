//! What an empty site shows: how to add content, instead of an error.

use serde::Serialize;

use super::site::{Chrome, Meta, Site};
use crate::cache::Rendered;
use crate::error::AppError;
use crate::startup::AppState;

#[derive(Serialize)]
struct WelcomeTemplate {
    chrome: Chrome,
    meta: Meta,
    has_series: bool,
    /// Pages exist but none is live yet: readers see "coming soon".
    coming_soon: bool,
}

pub async fn render(state: &AppState, site: &Site) -> Result<Rendered, AppError> {
    let coming_soon = crate::comics::pages::count_all(&state.db).await? > 0;
    let mut meta = Meta::new(site, Some("Welcome"), "A new Halftone site.", "/");
    meta.noindex = true;
    let body = state.templates.render(
        "reader/welcome.html",
        &WelcomeTemplate {
            chrome: site.chrome("home"),
            meta,
            has_series: site.current().is_some(),
            coming_soon,
        },
    )?;
    Ok(Rendered::html(body))
}
