//! What every reader page shares: the site's settings, its series, the menu
//! (`Chrome`), URL building, and page metadata for search engines and
//! link previews (`Meta`).

use serde::Serialize;

use crate::comics::settings::SiteSettings;
use crate::comics::{Series, SeriesId, StaticPageLink};
use crate::error::AppError;
pub use crate::site::{dates, SiteData, Urls};
use crate::startup::AppState;

/// The site as one request sees it.
pub struct Site {
    pub settings: SiteSettings,
    pub series: Vec<Series>,
    pub static_links: Vec<StaticPageLink>,
    /// Index into `series` of the series this request is about.
    current: Option<usize>,
    pub urls: Urls,
    logo: Option<crate::comics::MediaRef>,
    theme: Option<(String, String)>,
    /// The analytics service's public address, for the page-view beacon.
    analytics: Option<String>,
    newsletter: bool,
    /// Our fediverse addresses, when federation is on.
    fediverse: Option<crate::fediverse::objects::Ids>,
}

/// The comic's catalog (`comics::catalog`): every published page in memory,
/// reloaded after a content change on any node (the cache generation) and
/// at most half a page TTL old (see `cache::Snapshot`).
pub async fn catalog(
    state: &std::sync::Arc<AppState>,
) -> Result<std::sync::Arc<crate::comics::catalog::Catalog>, AppError> {
    use crate::cache::Held;
    use crate::comics::catalog::Catalog;
    use std::sync::Arc;
    let cell = &state.catalog;
    match cell.held(&state.cache) {
        Held::Fresh(catalog) => return Ok(catalog),
        Held::Stale(catalog) => {
            if cell.begin_refresh() {
                let state = state.clone();
                actix_web::rt::spawn(async move {
                    let generation = state.cache.generation();
                    match Catalog::load(&state.db).await {
                        Ok(fresh) => state.catalog.store(generation, Arc::new(fresh)),
                        Err(error) => {
                            tracing::warn!(%error, "reloading the catalog failed; keeping the last one")
                        }
                    }
                    state.catalog.end_refresh();
                });
            }
            return Ok(catalog);
        }
        Held::Missing => {}
    }
    let _loading = cell.lock_load().await;
    if let Held::Fresh(catalog) | Held::Stale(catalog) = cell.held(&state.cache) {
        return Ok(catalog);
    }
    let generation = state.cache.generation();
    let started = std::time::Instant::now();
    let catalog = Arc::new(Catalog::load(&state.db).await?);
    metrics::histogram!("halftone_catalog_load_seconds").record(started.elapsed().as_secs_f64());
    metrics::gauge!("halftone_catalog_pages").set(catalog.len() as f64);
    cell.store(generation, catalog.clone());
    Ok(catalog)
}

impl Site {
    /// Loads the site; `series_slug` comes from `/series/{series}/…` URLs and
    /// selects a series other than the primary one (404 if unknown).
    pub async fn load(state: &AppState, series_slug: Option<&str>) -> Result<Self, AppError> {
        let data = state
            .site_data
            .get_or_load(&state.cache, || SiteData::load(&state.db, &state.assets))
            .await?;
        Self::from_data(state, &data, series_slug)
    }

    /// The site from already loaded data (no database).
    pub fn from_data(
        state: &AppState,
        data: &SiteData,
        series_slug: Option<&str>,
    ) -> Result<Self, AppError> {
        let SiteData {
            settings,
            series,
            static_links,
            logo,
            theme,
        } = data.clone();
        let urls = data.urls(state.config.base_url());
        let current = match series_slug {
            Some(slug) => Some(
                series
                    .iter()
                    .position(|s| s.slug == slug)
                    .ok_or(AppError::NotFound)?,
            ),
            None if series.is_empty() => None,
            None => Some(0),
        };
        Ok(Self {
            settings,
            series,
            static_links,
            current,
            urls,
            logo,
            theme,
            analytics: state.config.analytics.public_base(),
            newsletter: state.newsletter.enabled,
            fediverse: state
                .config
                .fediverse
                .enabled
                .then(|| state.fediverse.ids.clone()),
        })
    }

    /// Makes `series` the current one (admin previews of any series).
    pub fn select(&mut self, series: SeriesId) {
        if let Some(i) = self.series.iter().position(|s| s.id == series) {
            self.current = Some(i);
        }
    }

    pub fn current(&self) -> Option<&Series> {
        self.current.map(|i| &self.series[i])
    }

    /// The current series, or 404 for a site without one.
    pub fn require_series(&self) -> Result<&Series, AppError> {
        self.current().ok_or(AppError::NotFound)
    }

    pub fn is_multi_series(&self) -> bool {
        self.series.len() > 1
    }

    /// `<title>` text: "Page · Series · Site", without repeats.
    pub fn title_for(&self, page_title: Option<&str>) -> String {
        let mut parts: Vec<&str> = Vec::new();
        if let Some(t) = page_title {
            parts.push(t);
        }
        if let Some(series) = self.current() {
            if self.is_multi_series() && series.title != self.settings.title {
                parts.push(&series.title);
            }
        }
        parts.push(&self.settings.title);
        parts.join(" · ")
    }

    /// The menu and shared bits of every page. `active` marks the menu entry.
    pub fn chrome(&self, active: &str) -> Chrome {
        let series = self.current();
        let mut nav = Vec::new();
        if let Some(s) = series {
            nav.push(NavLink::new(
                "Latest",
                self.urls.home(s.id),
                active == "home",
            ));
            nav.push(NavLink::new(
                "Archive",
                self.urls.archive(s.id),
                active == "archive",
            ));
        }
        nav.push(NavLink::new("Cast", "/cast".to_owned(), active == "cast"));
        for link in &self.static_links {
            nav.push(NavLink::new(
                &link.title,
                format!("/{}", link.slug),
                active == link.slug,
            ));
        }
        nav.push(NavLink::new(
            "Bookmarks",
            "/bookmarks".to_owned(),
            active == "bookmarks",
        ));
        let series_links = if self.is_multi_series() {
            self.series
                .iter()
                .map(|s| {
                    NavLink::new(
                        &s.title,
                        self.urls.home(s.id),
                        Some(s.id) == series.map(|c| c.id),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        Chrome {
            theme_css: self
                .theme
                .as_ref()
                .map(|(_, version)| format!("/theme.css?v={version}")),
            logo: self.logo.as_ref().map(Logo::new),
            site_title: self.settings.title.clone(),
            site_tagline: self.settings.tagline.clone(),
            language: self.settings.language.clone(),
            author: self.settings.author.clone(),
            home_url: "/".to_owned(),
            series_title: series
                .filter(|_| self.is_multi_series())
                .map(|s| s.title.clone()),
            feeds: series.map(|s| FeedLinks::for_series(&self.urls, s.id)),
            nav,
            series_links,
            year: chrono::Utc::now().format("%Y").to_string(),
            analytics: self.analytics.clone(),
            newsletter: self.newsletter,
            support: crate::comics::settings::support_links(&self.settings.links),
            tdm_reservation: self.settings.ai_tdm,
            fediverse_handle: series
                .and_then(|s| self.fediverse.as_ref().map(|ids| ids.handle(&s.slug))),
            fediverse_notes: self
                .fediverse
                .as_ref()
                .map(crate::fediverse::objects::Ids::notes_prefix),
            hiatus: self.settings.hiatus.then(|| {
                if self.settings.hiatus_message.trim().is_empty() {
                    "The comic is taking a short break. New pages will be back soon!".to_owned()
                } else {
                    self.settings.hiatus_message.clone()
                }
            }),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Chrome {
    /// The creator's look (`/theme.css?v=…`), unless it is the default.
    pub theme_css: Option<String>,
    /// Shown in place of the title text when set.
    pub logo: Option<Logo>,
    pub site_title: String,
    pub site_tagline: String,
    pub language: String,
    pub author: String,
    pub home_url: String,
    /// Shown in the header only when the site has several series.
    pub series_title: Option<String>,
    pub feeds: Option<FeedLinks>,
    pub nav: Vec<NavLink>,
    pub series_links: Vec<NavLink>,
    pub year: String,
    /// Shown on every page while the comic is on hiatus.
    pub hiatus: Option<String>,
    /// Where the page-view beacon goes (None: no beacon).
    pub analytics: Option<String>,
    /// Offer the newsletter's subscribe form in the footer.
    pub newsletter: bool,
    /// The creator's support and profile links (Patreon, Ko-fi, shop, …).
    pub support: Vec<crate::comics::settings::SupportLink>,
    /// Reserve text-and-data-mining rights in the page (TDMRep).
    pub tdm_reservation: bool,
    /// `@series@domain`, to follow from Mastodon and the rest.
    pub fediverse_handle: Option<String>,
    /// Where a page's ActivityPub note lives (`…/ap/notes/` + its id), so a
    /// page's address pasted into Mastodon's search finds the post.
    pub fediverse_notes: Option<String>,
}

/// The logo as the header shows it: at most 64 px tall (CSS), from the
/// largest variant the pipeline made (logos are small).
#[derive(Debug, Clone, Serialize)]
pub struct Logo {
    pub src: String,
    pub width: i64,
    pub height: i64,
}

impl Logo {
    fn new(media: &crate::comics::MediaRef) -> Self {
        let picture = crate::media::view::Picture::new(media, "", false);
        Logo {
            src: picture.fallback,
            width: picture.width,
            height: picture.height,
        }
    }
}

impl Site {
    /// The stylesheet of the creator's look and its version.
    pub fn theme(&self) -> Option<&(String, String)> {
        self.theme.as_ref()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NavLink {
    pub title: String,
    pub url: String,
    pub current: bool,
}

impl NavLink {
    pub fn new(title: &str, url: String, current: bool) -> Self {
        Self {
            title: title.to_owned(),
            url,
            current,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedLinks {
    pub rss: String,
    pub atom: String,
    pub json: String,
}

impl FeedLinks {
    pub fn for_series(urls: &Urls, series: SeriesId) -> Self {
        let prefix = urls.prefix(series);
        Self {
            rss: format!("{prefix}/feed.xml"),
            atom: format!("{prefix}/atom.xml"),
            json: format!("{prefix}/feed.json"),
        }
    }

    pub fn for_chapter(urls: &Urls, series: SeriesId, chapter_slug: &str) -> Self {
        let base = urls.chapter(series, chapter_slug);
        Self {
            rss: format!("{base}/feed.xml"),
            atom: format!("{base}/atom.xml"),
            json: format!("{base}/feed.json"),
        }
    }
}

/// `<head>` metadata: title, description, canonical URL, OpenGraph/Twitter
/// card and schema.org JSON-LD.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Meta {
    pub title: String,
    pub description: String,
    pub canonical: String,
    pub og_type: &'static str,
    pub image: Option<MetaImage>,
    /// Already escaped for a `<script>` element.
    pub json_ld: Option<String>,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub noindex: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetaImage {
    pub url: String,
    pub width: i64,
    pub height: i64,
    pub alt: String,
}

impl Meta {
    pub fn new(site: &Site, page_title: Option<&str>, description: &str, path: &str) -> Self {
        let description = if description.is_empty() {
            site.settings.description.clone()
        } else {
            description.to_owned()
        };
        Self {
            title: site.title_for(page_title),
            description,
            canonical: site.urls.absolute(path),
            og_type: "website",
            ..Self::default()
        }
    }
}
