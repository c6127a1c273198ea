//! The `backups` table: every attempt, for the admin's "last backup".

use std::path::Path;

use super::Kind;
use crate::db::Db;

pub async fn started(db: &Db, kind: Kind) -> Result<i64, sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    let result = sqlx::query("INSERT INTO backups (started_at, kind, verified) VALUES (?, ?, 0)")
        .bind(crate::db::now())
        .bind(kind.as_str())
        .execute(&mut *conn)
        .await?;
    crate::db::dialect::inserted_id(&mut conn, &result).await
}

pub async fn finished(db: &Db, id: i64, path: &Path, bytes: u64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE backups SET finished_at = ?, path = ?, bytes = ?, verified = 1 WHERE id = ?",
    )
    .bind(crate::db::now())
    .bind(path.display().to_string())
    .bind(bytes as i64)
    .bind(id)
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn failed(db: &Db, id: i64, error: &str) -> Result<(), sqlx::Error> {
    let error: String = error.chars().take(1900).collect();
    sqlx::query("UPDATE backups SET finished_at = ?, error = ? WHERE id = ?")
        .bind(crate::db::now())
        .bind(error)
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
/// (VARCHAR columns: text on both engines.)
pub struct Attempt {
    pub id: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub kind: String,
    pub path: Option<String>,
    pub bytes: Option<i64>,
    pub verified: i64,
    pub error: Option<String>,
}

/// The newest attempts, newest first.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<Attempt>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, started_at, finished_at, kind, path, bytes, verified, error \
         FROM backups ORDER BY started_at DESC, id DESC LIMIT ?",
    )
    .bind(limit)
    .fetch_all(db)
    .await
}

/// When the newest verified backup finished.
pub async fn last_verified(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT MAX(finished_at) FROM backups WHERE verified = 1")
        .fetch_one(db)
        .await
}
