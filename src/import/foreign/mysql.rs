//! Reading another system's MySQL database (ComicControl, Grawlix): only
//! SELECTs.

use std::collections::HashSet;

use anyhow::bail;
use sqlx::{MySqlConnection, Row};

pub async fn list_tables(conn: &mut MySqlConnection) -> anyhow::Result<HashSet<String>> {
    let database: Option<String> = sqlx::query_scalar("SELECT CAST(DATABASE() AS CHAR)")
        .fetch_one(&mut *conn)
        .await?;
    if database.is_none() {
        bail!("the database URL names no database (mysql://user:password@host/DATABASE)");
    }
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(TABLE_NAME AS CHAR) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(names.into_iter().collect())
}

/// Column `i` as text; NULL (or a non-text value) is empty.
pub fn text(row: &sqlx::mysql::MySqlRow, i: usize) -> String {
    row.try_get::<Option<String>, _>(i)
        .ok()
        .flatten()
        .unwrap_or_default()
}
