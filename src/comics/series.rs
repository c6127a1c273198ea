//! The `series` table. Most sites have one series; the first by position is
//! the primary one and lives at the root of the site's URLs.

use sqlx::AnyConnection;

use super::{Series, SeriesId};
use crate::db::Db;

/// Every series, primary first. Small table: read whole per request.
pub async fn list(db: &Db) -> Result<Vec<Series>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, slug, title, tagline, description, position FROM series ORDER BY position, id",
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
) -> Result<SeriesId, sqlx::Error> {
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
    .await?;
    Ok(SeriesId(
        crate::db::dialect::inserted_id(conn, &result).await?,
    ))
}

pub async fn find_by_slug(
    conn: &mut AnyConnection,
    slug: &str,
) -> Result<Option<Series>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, slug, title, tagline, description, position FROM series WHERE slug = ?",
    )
    .bind(slug)
    .fetch_optional(conn)
    .await
}

/// The primary series (first by position), if any.
pub async fn primary(conn: &mut AnyConnection) -> Result<Option<Series>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, slug, title, tagline, description, position FROM series ORDER BY position, id LIMIT 1",
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
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE series SET slug = ?, title = ?, tagline = ?, description = ? WHERE id = ?")
        .bind(slug)
        .bind(title)
        .bind(tagline)
        .bind(description)
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}
