//! Tags and characters (the cast), and their links to pages.

use sqlx::AnyConnection;

use super::{Character, CharacterId, MediaRef, PageId, PageLabel, SeriesId, Tag, TagId};
use crate::config::Backend;
use crate::db::Db;
use crate::visible;

/// Tags and characters of one page, in one query.
pub async fn labels_for_page(db: &Db, page: PageId) -> Result<Vec<PageLabel>, sqlx::Error> {
    sqlx::query_as(
        "SELECT 'tag' AS kind, t.slug, t.name FROM page_tags pt JOIN tags t ON t.id = pt.tag_id \
         WHERE pt.page_id = ? \
         UNION ALL \
         SELECT 'character' AS kind, ch.slug, ch.name FROM page_characters pc \
         JOIN characters ch ON ch.id = pc.character_id WHERE pc.page_id = ? \
         ORDER BY kind DESC, name",
    )
    .bind(page)
    .bind(page)
    .fetch_all(db)
    .await
}

pub async fn tag_by_slug(db: &Db, slug: &str) -> Result<Option<Tag>, sqlx::Error> {
    sqlx::query_as("SELECT id, slug, name FROM tags WHERE slug = ?")
        .bind(slug)
        .fetch_optional(db)
        .await
}

pub async fn character_by_slug(db: &Db, slug: &str) -> Result<Option<Character>, sqlx::Error> {
    sqlx::query_as(
        "SELECT ch.id, ch.slug, ch.name, ch.description, ch.position, \
         (SELECT COUNT(*) FROM page_characters pc WHERE pc.character_id = ch.id) AS total_pages, \
         m.hash, m.widths, m.thumb_width, m.thumb_height \
         FROM characters ch LEFT JOIN media m ON m.id = ch.media_id WHERE ch.slug = ?",
    )
    .bind(slug)
    .fetch_optional(db)
    .await
}

/// A cast member with portrait, number of visible pages and first appearance.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CastMember {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub page_count: i64,
    /// Pages in any state; a character only on unpublished pages is a spoiler.
    pub total_pages: i64,
    pub first_series_id: Option<SeriesId>,
    pub first_slug: Option<String>,
    pub hash: Option<String>,
    pub widths: Option<String>,
    pub thumb_width: Option<i64>,
    pub thumb_height: Option<i64>,
}

impl CastMember {
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

/// The whole cast in one query (counts and first appearances are
/// subqueries). Characters who so far appear only on scheduled or draft
/// pages are left out: the cast page must not spoil what is coming.
pub async fn cast(db: &Db, now: i64) -> Result<Vec<CastMember>, sqlx::Error> {
    let members: Vec<CastMember> = sqlx::query_as(concat!(
        "SELECT ch.slug, ch.name, ch.description, ",
        "(SELECT COUNT(*) FROM page_characters pc JOIN pages p ON p.id = pc.page_id \
          WHERE pc.character_id = ch.id AND ",
        visible!("p"),
        ") AS page_count, ",
        "(SELECT COUNT(*) FROM page_characters pc WHERE pc.character_id = ch.id) AS total_pages, ",
        // The first appearance the author named (if readers can see it),
        // else the first visible page the character is on.
        "COALESCE((SELECT p.series_id FROM pages p WHERE p.id = ch.first_page_id AND ",
        visible!("p"),
        "), (SELECT p.series_id FROM page_characters pc JOIN pages p ON p.id = pc.page_id \
          WHERE pc.character_id = ch.id AND ",
        visible!("p"),
        " ORDER BY p.series_id, p.position, p.id LIMIT 1)) AS first_series_id, ",
        "COALESCE((SELECT p.slug FROM pages p WHERE p.id = ch.first_page_id AND ",
        visible!("p"),
        "), (SELECT p.slug FROM page_characters pc JOIN pages p ON p.id = pc.page_id \
          WHERE pc.character_id = ch.id AND ",
        visible!("p"),
        " ORDER BY p.series_id, p.position, p.id LIMIT 1)) AS first_slug, ",
        "m.hash, m.widths, m.thumb_width, m.thumb_height \
         FROM characters ch LEFT JOIN media m ON m.id = ch.media_id ORDER BY ch.position, ch.name"
    ))
    .bind(now)
    .bind(now)
    .bind(now)
    .bind(now)
    .bind(now)
    .fetch_all(db)
    .await?;
    Ok(members
        .into_iter()
        .filter(|m| m.page_count > 0 || m.total_pages == 0)
        .collect())
}

/// The tag with that slug, created if missing (the database decides races).
pub async fn ensure_tag(
    conn: &mut AnyConnection,
    slug: &str,
    name: &str,
) -> Result<TagId, sqlx::Error> {
    ensure(
        conn,
        "SELECT id FROM tags WHERE slug = ?",
        "INSERT INTO tags (slug, name) VALUES (?, ?)",
        slug,
        name,
    )
    .await
    .map(TagId)
}

pub async fn ensure_character(
    conn: &mut AnyConnection,
    slug: &str,
    name: &str,
) -> Result<CharacterId, sqlx::Error> {
    ensure(
        conn,
        "SELECT id FROM characters WHERE slug = ?",
        "INSERT INTO characters (slug, name, description, position) VALUES (?, ?, '', 0)",
        slug,
        name,
    )
    .await
    .map(CharacterId)
}

async fn ensure(
    conn: &mut AnyConnection,
    select: &'static str,
    insert: &'static str,
    slug: &str,
    name: &str,
) -> Result<i64, sqlx::Error> {
    if let Some(id) = sqlx::query_scalar(select)
        .bind(slug)
        .fetch_optional(&mut *conn)
        .await?
    {
        return Ok(id);
    }
    match sqlx::query(insert)
        .bind(slug)
        .bind(name)
        .execute(&mut *conn)
        .await
    {
        Ok(done) => crate::db::dialect::inserted_id(conn, &done).await,
        // Someone else created it between our read and write: use theirs.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            sqlx::query_scalar(select).bind(slug).fetch_one(conn).await
        }
        Err(e) => Err(e),
    }
}

pub async fn update_character(
    conn: &mut AnyConnection,
    id: CharacterId,
    description: &str,
    position: i64,
    portrait: Option<super::MediaId>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE characters SET description = ?, position = ?, media_id = ? WHERE id = ?")
        .bind(description)
        .bind(position)
        .bind(portrait)
        .bind(id)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn tag_page(
    conn: &mut AnyConnection,
    page: PageId,
    tag: TagId,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "{} INTO page_tags (page_id, tag_id) VALUES (?, ?)",
        crate::db::dialect::insert_ignore(Backend::of(conn))
    );
    sqlx::query(&sql)
        .bind(page)
        .bind(tag)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn cast_page(
    conn: &mut AnyConnection,
    page: PageId,
    character: CharacterId,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "{} INTO page_characters (page_id, character_id) VALUES (?, ?)",
        crate::db::dialect::insert_ignore(Backend::of(conn))
    );
    sqlx::query(&sql)
        .bind(page)
        .bind(character)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Slugs of tags and characters that have at least one visible page.
pub async fn sitemap_slugs(db: &Db, now: i64) -> Result<(Vec<String>, Vec<String>), sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(concat!(
        "SELECT 'tag' AS kind, t.slug FROM tags t WHERE EXISTS (SELECT 1 FROM page_tags pt \
         JOIN pages p ON p.id = pt.page_id WHERE pt.tag_id = t.id AND ",
        visible!("p"),
        ") UNION ALL SELECT 'character' AS kind, ch.slug FROM characters ch WHERE EXISTS \
         (SELECT 1 FROM page_characters pc JOIN pages p ON p.id = pc.page_id WHERE pc.character_id = ch.id AND ",
        visible!("p"),
        ") ORDER BY 1, 2"
    ))
    .bind(now)
    .bind(now)
    .fetch_all(db)
    .await?;
    let (tags, characters): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(|(kind, _)| kind == "tag");
    Ok((
        tags.into_iter().map(|r| r.1).collect(),
        characters.into_iter().map(|r| r.1).collect(),
    ))
}

/// Tag names of several pages at once (feeds list them as categories).
pub async fn tag_names_for(
    db: &Db,
    pages: &[PageId],
) -> Result<Vec<(PageId, String)>, sqlx::Error> {
    if pages.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT pt.page_id, t.name FROM page_tags pt JOIN tags t ON t.id = pt.tag_id \
         WHERE pt.page_id IN ({}) ORDER BY t.name",
        super::placeholders(pages.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in pages {
        query = query.bind(*id);
    }
    query.fetch_all(db).await
}
