//! Processed media on disk (`data/media/ab/abcd…-800.webp`) and in the
//! `media` table.

use std::io::Write;
use std::path::Path;

use sqlx::AnyConnection;

use super::Processed;
use crate::comics::MediaId;

/// Writes every derived file, each atomically (temp file, then rename), so a
/// crash never leaves a half-written file under a name that means "complete".
/// Files that already exist are left alone: same name, same bytes.
pub fn write_files(media_dir: &Path, processed: &Processed) -> std::io::Result<()> {
    let dir = media_dir.join(&processed.hash[..2]);
    std::fs::create_dir_all(&dir)?;
    for (name, bytes) in &processed.files {
        let path = dir.join(name);
        if path.exists() {
            continue;
        }
        write_file(&path, bytes)?;
    }
    Ok(())
}

/// One file written atomically (temp file beside it, fsync, rename); its
/// folder is made if missing. Also how a restore puts media back.
pub fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Whether the variants of `hash` are on disk (a re-import reuses them
/// instead of decoding and resizing the source again).
pub fn has_files(media_dir: &Path, hash: &str) -> bool {
    let Some(prefix) = hash.get(..2) else {
        return false;
    };
    std::fs::read_dir(media_dir.join(prefix)).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(hash))
            .count()
            >= 2
    })
}

/// Every media hash the site has (for an import to skip known files).
pub async fn known_hashes(
    db: &crate::db::Db,
) -> Result<std::collections::HashSet<String>, sqlx::Error> {
    let rows: Vec<String> = sqlx::query_scalar("SELECT hash FROM media")
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The upload use case: the row for this image (its files are written).
pub async fn register(db: &crate::db::Db, p: &Processed) -> Result<MediaId, sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    insert_or_find(&mut conn, p).await
}

/// The row for this image, inserted if new. Identical uploads share a row.
pub async fn insert_or_find(
    conn: &mut AnyConnection,
    p: &Processed,
) -> Result<MediaId, sqlx::Error> {
    if let Some(id) = find(conn, &p.hash).await? {
        return Ok(id);
    }
    let widths = p
        .widths
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let inserted = sqlx::query(
        "INSERT INTO media (hash, width, height, source_format, widths, fallback_ext, thumb_width, \
         thumb_height, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&p.hash)
    .bind(i64::from(p.width))
    .bind(i64::from(p.height))
    .bind(p.source_format)
    .bind(widths)
    .bind(p.fallback_ext)
    .bind(i64::from(p.thumb_width))
    .bind(i64::from(p.thumb_height))
    .bind(p.source_bytes as i64)
    .bind(crate::db::now())
    .execute(&mut *conn)
    .await;
    match inserted {
        Ok(done) => Ok(MediaId(crate::db::dialect::inserted_id(conn, &done).await?)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            find(conn, &p.hash).await?.ok_or(sqlx::Error::RowNotFound)
        }
        Err(e) => Err(e),
    }
}

async fn find(conn: &mut AnyConnection, hash: &str) -> Result<Option<MediaId>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM media WHERE hash = ?")
        .bind(hash)
        .fetch_optional(conn)
        .await
}

/// One media item's names and sizes, for showing it (a logo, a portrait).
pub async fn media_ref(
    db: &crate::db::Db,
    id: i64,
) -> Result<Option<crate::comics::MediaRef>, sqlx::Error> {
    Ok(media_refs(db, &[id])
        .await?
        .into_iter()
        .next()
        .map(|(_, m)| m))
}

/// Several media items' names and sizes by id (the editor's image list),
/// in one query per 200 ids.
pub async fn media_refs(
    db: &crate::db::Db,
    ids: &[i64],
) -> Result<Vec<(i64, crate::comics::MediaRef)>, sqlx::Error> {
    type Row = (i64, String, i64, i64, String, String, i64, i64);
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(200).filter(|c| !c.is_empty()) {
        let sql = format!(
            "SELECT id, hash, width, height, widths, fallback_ext, thumb_width, thumb_height \
             FROM media WHERE id IN ({})",
            crate::comics::placeholders(chunk.len())
        );
        let mut query = sqlx::query_as::<_, Row>(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for (id, hash, width, height, widths, fallback_ext, thumb_width, thumb_height) in
            query.fetch_all(db).await?
        {
            out.push((
                id,
                crate::comics::MediaRef {
                    hash,
                    width,
                    height,
                    widths,
                    fallback_ext,
                    thumb_width,
                    thumb_height,
                },
            ));
        }
    }
    Ok(out)
}
