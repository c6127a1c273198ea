//! The `chapters` and `volumes` tables.

use sqlx::AnyConnection;

use super::{Chapter, ChapterId, SeriesId, VolumeId};
use crate::db::Db;

macro_rules! select_chapters {
    () => {
        "SELECT c.id, c.series_id, c.volume_id, v.title AS volume_title, c.slug, c.title, \
         c.description, c.position, c.content_warning, c.age_gate FROM chapters c LEFT JOIN volumes v ON v.id = c.volume_id"
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
) -> Result<ChapterId, super::WriteError> {
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
    .await
    .map_err(super::WriteError::on(new.slug))?;
    Ok(ChapterId(
        crate::db::dialect::inserted_id(conn, &result).await?,
    ))
}

/// The slugs of a series' chapters.
pub async fn slugs(
    conn: &mut AnyConnection,
    series: SeriesId,
) -> Result<std::collections::HashSet<String>, sqlx::Error> {
    let rows: Vec<String> = sqlx::query_scalar("SELECT slug FROM chapters WHERE series_id = ?")
        .bind(series)
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().collect())
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

/// Every chapter of a series (visible or not), for the admin.
pub async fn all_in_series(db: &Db, series: SeriesId) -> Result<Vec<Chapter>, sqlx::Error> {
    sqlx::query_as(concat!(
        select_chapters!(),
        " WHERE c.series_id = ? ORDER BY c.position, c.id"
    ))
    .bind(series)
    .fetch_all(db)
    .await
}

pub async fn all(db: &Db) -> Result<Vec<Chapter>, sqlx::Error> {
    sqlx::query_as(concat!(
        select_chapters!(),
        " ORDER BY c.series_id, c.position, c.id"
    ))
    .fetch_all(db)
    .await
}

pub async fn update(
    db: &Db,
    id: ChapterId,
    slug: &str,
    title: &str,
    description: &str,
    volume: Option<&str>,
) -> Result<bool, super::WriteError> {
    let mut tx = db.begin_write().await?;
    let series: Option<SeriesId> =
        sqlx::query_scalar("SELECT series_id FROM chapters WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(series) = series else {
        return Ok(false);
    };
    let volume_id = match volume.map(str::trim).filter(|v| !v.is_empty()) {
        Some(title) => Some(ensure_volume(&mut tx, series, title).await?),
        None => None,
    };
    sqlx::query(
        "UPDATE chapters SET slug = ?, title = ?, description = ?, volume_id = ? WHERE id = ?",
    )
    .bind(slug)
    .bind(title)
    .bind(description)
    .bind(volume_id)
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(super::WriteError::on(slug))?;
    tx.commit().await?;
    Ok(true)
}

/// The warning (and age gate) shown before every page of the chapter.
pub async fn set_warning(
    db: &Db,
    id: ChapterId,
    warning: &str,
    age_gate: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE chapters SET content_warning = ?, age_gate = ? WHERE id = ?")
        .bind(warning)
        .bind(i64::from(age_gate))
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}

/// A new chapter at the end of its series, in a volume (made if needed).
pub async fn create(
    db: &Db,
    series_id: SeriesId,
    volume: Option<&str>,
    slug: &str,
    title: &str,
    description: &str,
) -> Result<ChapterId, super::WriteError> {
    let mut tx = db.begin_write().await?;
    let volume_id = match volume.map(str::trim).filter(|v| !v.is_empty()) {
        Some(volume) => Some(ensure_volume(&mut tx, series_id, volume).await?),
        None => None,
    };
    let new = NewChapter {
        series_id,
        volume_id,
        slug,
        title,
        description,
    };
    let id = insert(&mut tx, &new).await?;
    tx.commit().await?;
    Ok(id)
}

/// Moves a chapter one place up (`-1`) or down (`+1`) among its series'
/// chapters by renumbering them all in one transaction.
pub async fn shift(db: &Db, id: ChapterId, by: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let series: Option<SeriesId> =
        sqlx::query_scalar("SELECT series_id FROM chapters WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(series) = series else { return Ok(()) };
    let mut order: Vec<ChapterId> =
        sqlx::query_scalar("SELECT id FROM chapters WHERE series_id = ? ORDER BY position, id")
            .bind(series)
            .fetch_all(&mut *tx)
            .await?;
    if let Some(at) = order.iter().position(|c| *c == id) {
        let to = (at as i64 + by).clamp(0, order.len() as i64 - 1) as usize;
        let moved = order.remove(at);
        order.insert(to, moved);
    }
    for (position, chapter) in order.iter().enumerate() {
        sqlx::query("UPDATE chapters SET position = ? WHERE id = ?")
            .bind(position as i64 + 1)
            .bind(*chapter)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Deletes a chapter; its pages stay, outside any chapter.
pub async fn delete(db: &Db, id: ChapterId) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE pages SET chapter_id = NULL WHERE chapter_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM chapters WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
