//! The site as data, without the web layer: settings, series, menu links,
//! logo and theme (`SiteData`), every reader URL (`Urls`) and how dates read.
//! The reader's pages, the feeds and the newsletter's mails all start here.

use crate::comics::settings::SiteSettings;
use crate::comics::{self, Series, SeriesId, StaticPageLink};
use crate::db::Db;
use crate::render::Assets;

/// What every page needs from the database: settings, series, menu links.
/// Kept in memory (`AppState::site_data`) and reloaded on content changes.
#[derive(Debug, Clone)]
pub struct SiteData {
    pub settings: SiteSettings,
    pub series: Vec<Series>,
    pub static_links: Vec<StaticPageLink>,
    /// The logo's image, when the creator set one.
    pub logo: Option<crate::comics::MediaRef>,
    /// `/theme.css` and its version, unless the look is the default.
    pub theme: Option<(String, String)>,
}

impl SiteData {
    /// What an error page uses before anything was loaded.
    pub fn fallback() -> Self {
        SiteData {
            settings: SiteSettings::default(),
            series: Vec::new(),
            static_links: Vec::new(),
            logo: None,
            theme: None,
        }
    }

    pub async fn load(db: &Db, assets: &Assets) -> Result<Self, sqlx::Error> {
        let settings = comics::settings::load(db).await?;
        let logo = match settings.logo {
            Some(id) => crate::media::store::media_ref(db, id).await?,
            None => None,
        };
        let theme = settings.look().css(assets);
        Ok(SiteData {
            series: comics::series::list(db).await?,
            static_links: comics::static_pages::nav_links(db).await?,
            settings,
            logo,
            theme,
        })
    }

    /// The URLs of this site (the primary series at the root).
    pub fn urls(&self, base: &str) -> Urls {
        Urls {
            base: base.to_owned(),
            primary: self.series.first().map(|s| s.id),
            slugs: self.series.iter().map(|s| (s.id, s.slug.clone())).collect(),
        }
    }
}

/// Builds every reader URL. The primary series lives at the root; others
/// under `/series/{slug}`, so a one-series site never shows "series" anywhere.
#[derive(Debug, Clone)]
pub struct Urls {
    pub base: String,
    pub(crate) primary: Option<SeriesId>,
    pub(crate) slugs: Vec<(SeriesId, String)>,
}

impl Urls {
    pub fn prefix(&self, series: SeriesId) -> String {
        if Some(series) == self.primary {
            return String::new();
        }
        match self.slugs.iter().find(|(id, _)| *id == series) {
            Some((_, slug)) => format!("/series/{slug}"),
            None => String::new(),
        }
    }

    pub fn home(&self, series: SeriesId) -> String {
        let prefix = self.prefix(series);
        if prefix.is_empty() {
            "/".to_owned()
        } else {
            prefix
        }
    }

    pub fn comic(&self, series: SeriesId, slug: &str) -> String {
        format!("{}/comic/{slug}", self.prefix(series))
    }

    pub fn archive(&self, series: SeriesId) -> String {
        format!("{}/archive", self.prefix(series))
    }

    pub fn chapter(&self, series: SeriesId, slug: &str) -> String {
        format!("{}/chapter/{slug}", self.prefix(series))
    }

    pub fn random(&self, series: SeriesId) -> String {
        format!("{}/random", self.prefix(series))
    }

    /// Absolute URL for feeds, sitemaps and share cards.
    pub fn absolute(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// "3 May 2010" and "2010-05-03T00:00:00Z" from Unix seconds.
pub fn dates(ts: Option<i64>) -> (String, String) {
    match ts.and_then(|t| chrono::DateTime::from_timestamp(t, 0)) {
        Some(dt) => (
            dt.format("%-d %B %Y").to_string(),
            dt.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        None => (String::new(), String::new()),
    }
}
