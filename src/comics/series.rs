//! The `series` table. Most sites have one series; the first by position is
//! the primary one and lives at the root of the site's URLs.

use sqlx::AnyConnection;

use super::{Series, SeriesId};
use crate::db::Db;

/// Every series, primary first. Small table: read whole per request.
pub async fn list(db: &Db) -> Result<Vec<Series>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, slug, title, tagline, description, position, content_warning, age_gate FROM series ORDER BY position, id",
    )
    .fetch_all(db)
    .await
}

pub struct NewSeries<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub tagline: &'a str,
    pub description: &'a str,
}

/// Appends a series after the existing ones.
pub async fn insert(
    conn: &mut AnyConnection,
    new: &NewSeries<'_>,
) -> Result<SeriesId, super::WriteError> {
    let position: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) + 1 FROM series")
        .fetch_one(&mut *conn)
        .await?;
    let result = sqlx::query(
        "INSERT INTO series (slug, title, tagline, description, position, created_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(new.slug)
    .bind(new.title)
    .bind(new.tagline)
    .bind(new.description)
    .bind(position)
    .bind(crate::db::now())
    .execute(&mut *conn)
    .await
    .map_err(super::WriteError::on(new.slug))?;
    Ok(SeriesId(
        crate::db::dialect::inserted_id(conn, &result).await?,
    ))
}

pub async fn find_by_slug(
    conn: &mut AnyConnection,
    slug: &str,
) -> Result<Option<Series>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, slug, title, tagline, description, position, content_warning, age_gate FROM series WHERE slug = ?",
    )
    .bind(slug)
    .fetch_optional(conn)
    .await
}

/// The primary series (first by position), if any.
pub async fn primary(conn: &mut AnyConnection) -> Result<Option<Series>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, slug, title, tagline, description, position, content_warning, age_gate FROM series ORDER BY position, id LIMIT 1",
    )
    .fetch_optional(conn)
    .await
}

pub async fn update(
    db: &Db,
    id: SeriesId,
    slug: &str,
    title: &str,
    tagline: &str,
    description: &str,
) -> Result<(), super::WriteError> {
    sqlx::query("UPDATE series SET slug = ?, title = ?, tagline = ?, description = ? WHERE id = ?")
        .bind(slug)
        .bind(title)
        .bind(tagline)
        .bind(description)
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
        .map_err(super::WriteError::on(slug))
}

/// The warning (and age gate) shown before every page of the series.
pub async fn set_warning(
    db: &Db,
    id: SeriesId,
    warning: &str,
    age_gate: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE series SET content_warning = ?, age_gate = ? WHERE id = ?")
        .bind(warning)
        .bind(i64::from(age_gate))
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}

/// The "new series" use case: appended after the others, in its own write
/// transaction (the last position is read, then the row inserted).
pub async fn create(db: &Db, new: &NewSeries<'_>) -> Result<SeriesId, super::WriteError> {
    let mut tx = db.begin_write().await?;
    let id = insert(&mut tx, new).await?;
    tx.commit().await?;
    Ok(id)
}

/// The title a series gets when an import creates the first one.
pub const DEFAULT_TITLE: &str = "My Comic";

/// Names the comic once, at set-up: the site's title, and the primary
/// series' (created if the site has none, renamed if an import made it
/// with the default title), so readers never see "Halftone" or "My Comic".
pub async fn name_the_comic(db: &Db, title: &str, author: &str) -> Result<(), super::WriteError> {
    let mut tx = db.begin_write().await?;
    super::settings::set(&mut tx, "site.title", title).await?;
    let current_author: Option<String> =
        sqlx::query_scalar("SELECT value FROM settings WHERE name = 'site.author'")
            .fetch_optional(&mut *tx)
            .await?;
    if current_author.is_none_or(|a| a.trim().is_empty()) {
        super::settings::set(&mut tx, "site.author", author).await?;
    }
    match primary(&mut tx).await? {
        None => {
            let new = NewSeries {
                slug: "comic",
                title,
                tagline: "",
                description: "",
            };
            insert(&mut tx, &new).await?;
        }
        Some(series) if series.title == DEFAULT_TITLE => {
            sqlx::query("UPDATE series SET title = ? WHERE id = ?")
                .bind(title)
                .bind(series.id)
                .execute(&mut *tx)
                .await?;
        }
        Some(_) => {}
    }
    Ok(tx.commit().await?)
}
