//! Site-wide settings (title, tagline, …) in a small key/value table, so the
//! author can change them from the admin without touching configuration.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::AnyConnection;

use crate::config::Backend;
use crate::db::{dialect, Db};

#[derive(Debug, Clone, Serialize)]
pub struct SiteSettings {
    pub title: String,
    pub tagline: String,
    pub description: String,
    pub author: String,
    pub language: String,
    /// IANA zone the author thinks in (`Europe/Paris`); times are stored in UTC.
    pub timezone: String,
    /// On hiatus the queue's cadence pauses and readers see a notice.
    pub hiatus: bool,
    pub hiatus_message: String,
    /// The creator's look (see `render::theme`): `#rrggbb` or empty.
    pub accent: String,
    /// A key of `render::theme::FONTS`, or empty for the default.
    pub heading_font: String,
    /// The media id of the logo shown in place of the title, if any.
    pub logo: Option<i64>,
    /// The support/links block on every page: one `Label | https://…` per line.
    pub links: String,
    /// AI-scraping protection (all on by default, see `reader::seo`):
    /// robots.txt rules for AI crawlers, `X-Robots-Tag: noai, noimageai`,
    /// a TDMRep rights reservation.
    pub ai_robots: bool,
    pub ai_header: bool,
    pub ai_tdm: bool,
    /// Refuse full-size images to other sites' pages (hotlinking).
    pub refuse_hotlinks: bool,
    /// Comment moderation rules.
    pub comments: crate::comments::policy::Rules,
}

/// A link of the support block.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SupportLink {
    pub label: String,
    pub url: String,
}

/// Parses the support block (`Label | https://…` per line); lines that are
/// not a label and an http(s) address are skipped.
pub fn support_links(text: &str) -> Vec<SupportLink> {
    text.lines()
        .filter_map(|line| {
            let (label, url) = line.split_once('|')?;
            let (label, url) = (label.trim(), url.trim());
            let ok = !label.is_empty()
                && (url.starts_with("https://") || url.starts_with("http://"))
                && url::Url::parse(url).is_ok();
            ok.then(|| SupportLink {
                label: label.chars().take(60).collect(),
                url: url.to_owned(),
            })
        })
        .take(12)
        .collect()
}

impl Default for SiteSettings {
    fn default() -> Self {
        Self::from_map(HashMap::new())
    }
}

impl SiteSettings {
    fn from_map(mut map: HashMap<String, String>) -> Self {
        let comments = crate::comments::policy::Rules::from_map(&map);
        let mut take =
            |key: &str, default: &str| map.remove(key).unwrap_or_else(|| default.to_owned());
        Self {
            title: take("site.title", "Halftone"),
            tagline: take("site.tagline", "A webcomic"),
            description: take("site.description", ""),
            author: take("site.author", ""),
            language: take("site.language", "en"),
            timezone: take("site.timezone", "UTC"),
            hiatus: take("queue.hiatus", "0") == "1",
            hiatus_message: take("queue.hiatus_message", ""),
            accent: take("look.accent", ""),
            heading_font: take("look.heading_font", ""),
            logo: take("look.logo", "").parse().ok(),
            links: take("site.links", ""),
            ai_robots: take("ai.robots", "1") == "1",
            ai_header: take("ai.header", "1") == "1",
            ai_tdm: take("ai.tdm", "1") == "1",
            refuse_hotlinks: take("ai.hotlinks", "0") == "1",
            comments,
        }
    }
}

pub async fn load(db: &Db) -> Result<SiteSettings, sqlx::Error> {
    Ok(SiteSettings::from_map(load_map(db).await?))
}

/// Every stored setting, by name.
pub async fn load_map(db: &Db) -> Result<HashMap<String, String>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, value FROM settings")
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

impl SiteSettings {
    pub fn look(&self) -> crate::render::theme::Look {
        crate::render::theme::Look {
            accent: self.accent.clone(),
            heading_font: self.heading_font.clone(),
        }
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }
}

pub async fn set(conn: &mut AnyConnection, name: &str, value: &str) -> Result<(), sqlx::Error> {
    sqlx::query(dialect::upsert_setting(Backend::of(conn)))
        .bind(name)
        .bind(value)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Saves several settings together (one form's worth): all or none.
pub async fn save_all(db: &Db, values: &[(&str, &str)]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    for (name, value) in values {
        set(&mut tx, name, value).await?;
    }
    tx.commit().await
}

/// Sets `name` to `new` only if it is still `expected` (a missing setting
/// counts as `expected`): for claims two nodes may race for, like "the
/// buffer warning of today is mine to send".
pub async fn compare_and_set(
    db: &Db,
    name: &str,
    expected: &str,
    new: &str,
) -> Result<bool, sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    let _ = sqlx::query(dialect::insert_ignore_setting(Backend::of(&conn)))
        .bind(name)
        .bind(expected)
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("UPDATE settings SET value = ? WHERE name = ? AND value = ?")
        .bind(new)
        .bind(name)
        .bind(expected)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
