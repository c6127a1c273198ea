//! The `chapters` and `volumes` tables.

use sqlx::AnyConnection;

use super::{Chapter, ChapterId, SeriesId, VolumeId};
use crate::db::Db;

macro_rules! select_chapters {
    () => {
        "SELECT c.id, c.series_id, c.volume_id, v.title AS volume_title, c.slug, c.title, \
         c.description, c.position FROM chapters c LEFT JOIN volumes v ON v.id = c.volume_id"
    };
}

/// The chapters of a series that readers can see (at least one visible
/// page), in reading order. A chapter holding only scheduled pages stays
/// hidden, title included, until its first page goes live.
pub async fn visible_in_series(
    db: &Db,
    series: SeriesId,
    now: i64,
) -> Result<Vec<Chapter>, sqlx::Error> {
    sqlx::query_as(concat!(
        select_chapters!(),
        " WHERE c.series_id = ? AND EXISTS (SELECT 1 FROM pages p WHERE p.chapter_id = c.id AND ",
        crate::visible!("p"),
        ") ORDER BY c.position, c.id"
    ))
    .bind(series)
    .bind(now)
    .fetch_all(db)
    .await
}

pub struct NewChapter<'a> {
    pub series_id: SeriesId,
    pub volume_id: Option<VolumeId>,
    pub slug: &'a str,
    pub title: &'a str,
    pub description: &'a str,
}

/// Appends a chapter at the end of its series.
pub async fn insert(
    conn: &mut AnyConnection,
    new: &NewChapter<'_>,
) -> Result<ChapterId, sqlx::Error> {
    let position: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(position), 0) + 1 FROM chapters WHERE series_id = ?",
    )
    .bind(new.series_id)
    .fetch_one(&mut *conn)
    .await?;
    let result = sqlx::query(
        "INSERT INTO chapters (series_id, volume_id, slug, title, description, position, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new.series_id)
    .bind(new.volume_id)
    .bind(new.slug)
    .bind(new.title)
    .bind(new.description)
    .bind(position)
    .bind(crate::db::now())
    .execute(&mut *conn)
    .await?;
    Ok(ChapterId(
        crate::db::dialect::inserted_id(conn, &result).await?,
    ))
}

pub async fn find_id_by_slug(
    conn: &mut AnyConnection,
    series: SeriesId,
    slug: &str,
) -> Result<Option<ChapterId>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM chapters WHERE series_id = ? AND slug = ?")
        .bind(series)
        .bind(slug)
        .fetch_optional(conn)
        .await
}

/// The volume of that title in the series, created at the end if missing.
pub async fn ensure_volume(
    conn: &mut AnyConnection,
    series: SeriesId,
    title: &str,
) -> Result<VolumeId, sqlx::Error> {
    let existing: Option<VolumeId> =
        sqlx::query_scalar("SELECT id FROM volumes WHERE series_id = ? AND title = ?")
            .bind(series)
            .bind(title)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let position: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(position), 0) + 1 FROM volumes WHERE series_id = ?",
    )
    .bind(series)
    .fetch_one(&mut *conn)
    .await?;
    let result = sqlx::query("INSERT INTO volumes (series_id, title, position) VALUES (?, ?, ?)")
        .bind(series)
        .bind(title)
        .bind(position)
        .execute(&mut *conn)
        .await?;
    Ok(VolumeId(
        crate::db::dialect::inserted_id(conn, &result).await?,
    ))
}
