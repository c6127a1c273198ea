//! Static pages (About, Links, …), written in Markdown, served at `/{slug}`.

use sqlx::AnyConnection;

use super::{StaticPage, StaticPageLink};
use crate::db::Db;

/// Paths a static page may not take because the site already uses them.
pub const RESERVED_SLUGS: &[&str] = &[
    "admin",
    "archive",
    "atom",
    "bookmarks",
    "cast",
    "chapter",
    "character",
    "comic",
    "feed",
    "first",
    "healthz",
    "latest",
    "media",
    "metrics",
    "random",
    "readyz",
    "robots",
    "search",
    "series",
    "sitemap",
    "static",
    "subscribe",
    "tag",
];

pub async fn nav_links(db: &Db) -> Result<Vec<StaticPageLink>, sqlx::Error> {
    sqlx::query_as("SELECT slug, title FROM static_pages WHERE published = 1 ORDER BY position, id")
        .fetch_all(db)
        .await
}

pub async fn by_slug(db: &Db, slug: &str) -> Result<Option<StaticPage>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, slug, title, body, updated_at FROM static_pages WHERE slug = ? AND published = 1",
    )
    .bind(slug)
    .fetch_optional(db)
    .await
}

pub async fn all_published(db: &Db) -> Result<Vec<StaticPage>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, slug, title, body, updated_at FROM static_pages WHERE published = 1 ORDER BY position, id",
    )
    .fetch_all(db)
    .await
}

pub async fn insert(
    conn: &mut AnyConnection,
    slug: &str,
    title: &str,
    body: &str,
) -> Result<(), super::WriteError> {
    let position: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) + 1 FROM static_pages")
            .fetch_one(&mut *conn)
            .await?;
    sqlx::query(
        "INSERT INTO static_pages (slug, title, body, position, published, updated_at) VALUES (?, ?, ?, ?, 1, ?)",
    )
    .bind(slug)
    .bind(title)
    .bind(body)
    .bind(position)
    .bind(crate::db::now())
    .execute(conn)
    .await
    .map(|_| ())
    .map_err(super::WriteError::on(slug))
}

/// The "new static page" use case, in its own write transaction.
pub async fn create(db: &Db, slug: &str, title: &str, body: &str) -> Result<(), super::WriteError> {
    let mut tx = db.begin_write().await?;
    insert(&mut tx, slug, title, body).await?;
    tx.commit().await?;
    Ok(())
}

/// Every static page, published or not, for the admin.
pub async fn all(db: &Db) -> Result<Vec<super::StaticPageAdmin>, sqlx::Error> {
    sqlx::query_as("SELECT id, slug, title, body, published, updated_at FROM static_pages ORDER BY position, id")
        .fetch_all(db)
        .await
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<super::StaticPageAdmin>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, slug, title, body, published, updated_at FROM static_pages WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn update(
    db: &Db,
    id: i64,
    slug: &str,
    title: &str,
    body: &str,
    published: bool,
) -> Result<(), super::WriteError> {
    sqlx::query("UPDATE static_pages SET slug = ?, title = ?, body = ?, published = ?, updated_at = ? WHERE id = ?")
        .bind(slug)
        .bind(title)
        .bind(body)
        .bind(i64::from(published))
        .bind(crate::db::now())
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
        .map_err(super::WriteError::on(slug))
}

pub async fn delete(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM static_pages WHERE id = ?")
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}
