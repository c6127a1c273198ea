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
}

impl SiteSettings {
    fn from_map(mut map: HashMap<String, String>) -> Self {
        let mut take =
            |key: &str, default: &str| map.remove(key).unwrap_or_else(|| default.to_owned());
        Self {
            title: take("site.title", "Halftone"),
            tagline: take("site.tagline", "A webcomic"),
            description: take("site.description", ""),
            author: take("site.author", ""),
            language: take("site.language", "en"),
        }
    }
}

pub async fn load(db: &Db) -> Result<SiteSettings, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, value FROM settings")
        .fetch_all(db)
        .await?;
    Ok(SiteSettings::from_map(rows.into_iter().collect()))
}

pub async fn set(conn: &mut AnyConnection, name: &str, value: &str) -> Result<(), sqlx::Error> {
    sqlx::query(dialect::upsert_setting(Backend::of(conn)))
        .bind(name)
        .bind(value)
        .execute(conn)
        .await
        .map(|_| ())
}
