//! The cast as the author manages it: a character's name, slug, bio,
//! portrait, order and first appearance. (Readers' side: `taxonomy::cast`.)

use serde::Serialize;

use super::{CharacterId, MediaId, MediaRef, PageId, Slug};
use crate::db::Db;

/// A character in the admin's list and form.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct CastEntry {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub position: i64,
    pub first_page_id: Option<i64>,
    pub media_id: Option<i64>,
    pub page_count: i64,
    #[serde(skip)]
    pub hash: Option<String>,
    #[serde(skip)]
    pub widths: Option<String>,
    #[serde(skip)]
    pub thumb_width: Option<i64>,
    #[serde(skip)]
    pub thumb_height: Option<i64>,
}

impl CastEntry {
    pub fn portrait(&self) -> Option<MediaRef> {
        Some(MediaRef {
            hash: self.hash.clone()?,
            width: 0,
            height: 0,
            widths: self.widths.clone()?,
            fallback_ext: String::new(),
            thumb_width: self.thumb_width?,
            thumb_height: self.thumb_height?,
        })
    }
}

const SELECT: &str = "SELECT ch.id, ch.slug, ch.name, ch.description, ch.position, ch.first_page_id, \
     ch.media_id, (SELECT COUNT(*) FROM page_characters pc WHERE pc.character_id = ch.id) AS page_count, \
     m.hash, m.widths, m.thumb_width, m.thumb_height \
     FROM characters ch LEFT JOIN media m ON m.id = ch.media_id";

/// Every character, in cast order (one query).
pub async fn list(db: &Db) -> Result<Vec<CastEntry>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} ORDER BY ch.position, ch.name"))
        .fetch_all(db)
        .await
}

pub async fn get(db: &Db, id: CharacterId) -> Result<Option<CastEntry>, sqlx::Error> {
    sqlx::query_as(&format!("{SELECT} WHERE ch.id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// A page the character is on, for choosing the first appearance.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Appearance {
    pub id: i64,
    pub title: String,
    pub chapter: Option<String>,
    pub status: String,
}

/// The pages a character is on, in reading order (any state).
pub async fn appearances(db: &Db, id: CharacterId) -> Result<Vec<Appearance>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.id, p.title, c.title AS chapter, p.status FROM page_characters pc \
         JOIN pages p ON p.id = pc.page_id LEFT JOIN chapters c ON c.id = p.chapter_id \
         WHERE pc.character_id = ? ORDER BY p.series_id, p.position, p.id",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

/// What the author saves for a character.
pub struct CharacterEdit<'a> {
    pub name: &'a str,
    pub slug: &'a Slug,
    pub description: &'a str,
    pub position: i64,
    pub portrait: Option<MediaId>,
    /// `None`: the first page readers can see them on.
    pub first_page: Option<PageId>,
}

#[derive(Debug, thiserror::Error)]
pub enum CastError {
    #[error("another character already uses the slug “{0}”")]
    SlugTaken(String),
    #[error("the first appearance must be a page the character is on")]
    NotOnThatPage,
    #[error("that character does not exist")]
    Missing,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn taken(error: sqlx::Error, slug: &str) -> CastError {
    match error {
        sqlx::Error::Database(e) if e.is_unique_violation() => {
            CastError::SlugTaken(slug.to_owned())
        }
        other => CastError::Db(other),
    }
}

/// A new character with only a name (the bio and portrait come after).
pub async fn create(db: &Db, name: &str, slug: &Slug) -> Result<CharacterId, CastError> {
    let mut conn = db.pool().acquire().await?;
    let position: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) + 1 FROM characters")
        .fetch_one(&mut *conn)
        .await?;
    let done = sqlx::query(
        "INSERT INTO characters (slug, name, description, position) VALUES (?, ?, '', ?)",
    )
    .bind(slug.as_str())
    .bind(name)
    .bind(position)
    .execute(&mut *conn)
    .await
    .map_err(|e| taken(e, slug.as_str()))?;
    Ok(CharacterId(
        crate::db::dialect::inserted_id(&mut conn, &done).await?,
    ))
}

/// Saves a character; the first appearance must be one of its pages.
pub async fn save(db: &Db, id: CharacterId, edit: &CharacterEdit<'_>) -> Result<(), CastError> {
    let mut tx = db.begin_write().await?;
    if let Some(page) = edit.first_page {
        let on_it: Option<i64> = sqlx::query_scalar(
            "SELECT page_id FROM page_characters WHERE character_id = ? AND page_id = ?",
        )
        .bind(id)
        .bind(page)
        .fetch_optional(&mut *tx)
        .await?;
        if on_it.is_none() {
            return Err(CastError::NotOnThatPage);
        }
    }
    let done = sqlx::query(
        "UPDATE characters SET name = ?, slug = ?, description = ?, position = ?, media_id = ?, \
         first_page_id = ? WHERE id = ?",
    )
    .bind(edit.name)
    .bind(edit.slug.as_str())
    .bind(edit.description)
    .bind(edit.position)
    .bind(edit.portrait)
    .bind(edit.first_page)
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(|e| taken(e, edit.slug.as_str()))?;
    if done.rows_affected() == 0 {
        // MariaDB counts only changed rows: tell "unchanged" from "missing".
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM characters WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(CastError::Missing);
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Removes a character from the cast and from every page.
pub async fn delete(db: &Db, id: CharacterId) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM characters WHERE id = ?")
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}
