//! The `pages` and `page_images` tables: what readers read.
//!
//! Every reader query takes `now` and filters with `visible!`, so drafts and
//! scheduled pages cannot leak through any listing, feed or navigation link.
//! Lists are fetched in one query each (images for many pages in one `IN`
//! list), so the number of queries per request never grows with the archive.

use sqlx::AnyConnection;

use super::{placeholders, ChapterId, Navigation, Page, PageId, PageImage, PageSummary, SeriesId};
use crate::db::Db;
use crate::visible;

macro_rules! select_pages {
    () => {
        "SELECT p.id, p.series_id, p.chapter_id, p.slug, p.title, p.position, p.status, \
         p.published_at, p.live_at, p.hover_text, p.transcript, p.notes, p.content_warning, \
         p.updated_at, p.comments_closed, p.age_gate, c.slug AS chapter_slug, c.title AS chapter_title, \
         c.position AS chapter_position, c.content_warning AS chapter_warning, c.age_gate AS chapter_gate \
         FROM pages p LEFT JOIN chapters c ON c.id = p.chapter_id"
    };
}

pub(crate) use select_pages;

/// Page rows with their cover image (position 0) for thumbnails.
macro_rules! select_summaries {
    () => {
        "SELECT p.id, p.series_id, p.chapter_id, p.slug, p.title, p.published_at, \
         i.alt_text, m.hash, m.widths, m.thumb_width, m.thumb_height \
         FROM pages p \
         LEFT JOIN page_images i ON i.page_id = p.id AND i.position = 0 \
         LEFT JOIN media m ON m.id = i.media_id"
    };
}

/// First, previous, next, last and chapter jumps for `page`, in one query.
pub async fn navigation(db: &Db, page: &Page, now: i64) -> Result<Navigation, sqlx::Error> {
    let query = sqlx::query_as(concat!(
        "SELECT ",
        "(SELECT p.slug FROM pages p WHERE p.series_id = ? AND ",
        visible!("p"),
        " ORDER BY p.position, p.id LIMIT 1) AS first_slug, ",
        "(SELECT p.slug FROM pages p WHERE p.series_id = ? AND ",
        visible!("p"),
        " AND p.position <= ? AND (p.position < ? OR p.id < ?) ORDER BY p.position DESC, p.id DESC LIMIT 1) AS prev_slug, ",
        "(SELECT p.slug FROM pages p WHERE p.series_id = ? AND ",
        visible!("p"),
        " AND p.position >= ? AND (p.position > ? OR p.id > ?) ORDER BY p.position, p.id LIMIT 1) AS next_slug, ",
        "(SELECT p.slug FROM pages p WHERE p.series_id = ? AND ",
        visible!("p"),
        " ORDER BY p.position DESC, p.id DESC LIMIT 1) AS last_slug, ",
        // First visible page of the nearest earlier / later chapter that has
        // one: the chapter is found first (chapters_order index), then its
        // first page (pages_chapter index), so nothing is sorted.
        "(SELECT p.slug FROM pages p WHERE p.chapter_id = (SELECT c.id FROM chapters c WHERE c.series_id = ? \
         AND c.position <= ? AND (c.position < ? OR c.id < ?) AND EXISTS (SELECT 1 FROM pages v WHERE v.chapter_id = c.id AND ",
        visible!("v"),
        ") ORDER BY c.position DESC, c.id DESC LIMIT 1) AND ",
        visible!("p"),
        " ORDER BY p.position, p.id LIMIT 1) AS prev_chapter_slug, ",
        "(SELECT p.slug FROM pages p WHERE p.chapter_id = (SELECT c.id FROM chapters c WHERE c.series_id = ? \
         AND c.position >= ? AND (c.position > ? OR c.id > ?) AND EXISTS (SELECT 1 FROM pages v WHERE v.chapter_id = c.id AND ",
        visible!("v"),
        ") ORDER BY c.position, c.id LIMIT 1) AND ",
        visible!("p"),
        " ORDER BY p.position, p.id LIMIT 1) AS next_chapter_slug"
    ));
    let (series, pos, id) = (page.series_id, page.position, page.id);
    // A page outside any chapter has no chapter neighbours: bind a position
    // no chapter can have on both sides.
    let (cpos, cid) = match (page.chapter_id, page.chapter_position) {
        (Some(cid), Some(cpos)) => (Some(cpos), Some(cid)),
        _ => (None, None),
    };
    let query: sqlx::query::QueryAs<'_, sqlx::Any, Navigation, _> = query
        // first
        .bind(series)
        .bind(now)
        // prev
        .bind(series)
        .bind(now)
        .bind(pos)
        .bind(pos)
        .bind(id)
        // next
        .bind(series)
        .bind(now)
        .bind(pos)
        .bind(pos)
        .bind(id)
        // last
        .bind(series)
        .bind(now)
        // previous chapter
        .bind(series)
        .bind(cpos)
        .bind(cpos)
        .bind(cid)
        .bind(now)
        .bind(now)
        // next chapter
        .bind(series)
        .bind(cpos)
        .bind(cpos)
        .bind(cid)
        .bind(now)
        .bind(now);
    query.fetch_one(db).await
}

/// All images of the given pages, ordered by page then position.
pub async fn images_for(db: &Db, pages: &[PageId]) -> Result<Vec<PageImage>, sqlx::Error> {
    if pages.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT i.page_id, i.position, i.alt_text, m.hash, m.width, m.height, m.widths, \
         m.fallback_ext, m.thumb_width, m.thumb_height \
         FROM page_images i JOIN media m ON m.id = i.media_id \
         WHERE i.page_id IN ({}) ORDER BY i.page_id, i.position",
        placeholders(pages.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in pages {
        query = query.bind(*id);
    }
    query.fetch_all(db).await
}

/// Every visible page of a series with its cover, in reading order.
pub async fn archive(db: &Db, series: SeriesId, now: i64) -> Result<Vec<PageSummary>, sqlx::Error> {
    sqlx::query_as(concat!(
        select_summaries!(),
        " WHERE p.series_id = ? AND ",
        visible!("p"),
        " ORDER BY p.position, p.id"
    ))
    .bind(series)
    .bind(now)
    .fetch_all(db)
    .await
}

/// Visible pages of a chapter, full records, in reading order.
pub async fn in_chapter(db: &Db, chapter: ChapterId, now: i64) -> Result<Vec<Page>, sqlx::Error> {
    sqlx::query_as(concat!(
        select_pages!(),
        " WHERE p.chapter_id = ? AND ",
        visible!("p"),
        " ORDER BY p.position, p.id"
    ))
    .bind(chapter)
    .bind(now)
    .fetch_all(db)
    .await
}

/// Visible pages carrying a tag, across series, in each series' reading order.
pub async fn with_tag(
    db: &Db,
    tag: super::TagId,
    now: i64,
) -> Result<Vec<PageSummary>, sqlx::Error> {
    sqlx::query_as(concat!(
        select_summaries!(),
        " JOIN page_tags pt ON pt.page_id = p.id WHERE pt.tag_id = ? AND ",
        visible!("p"),
        " ORDER BY p.series_id, p.position, p.id"
    ))
    .bind(tag)
    .bind(now)
    .fetch_all(db)
    .await
}

/// Visible pages a character appears on.
pub async fn with_character(
    db: &Db,
    character: super::CharacterId,
    now: i64,
) -> Result<Vec<PageSummary>, sqlx::Error> {
    sqlx::query_as(concat!(
        select_summaries!(),
        " JOIN page_characters pc ON pc.page_id = p.id WHERE pc.character_id = ? AND ",
        visible!("p"),
        " ORDER BY p.series_id, p.position, p.id"
    ))
    .bind(character)
    .bind(now)
    .fetch_all(db)
    .await
}

/// What a feed covers: a whole series or one chapter.
#[derive(Debug, Clone, Copy)]
pub enum FeedScope {
    Series(SeriesId),
    Chapter(ChapterId),
}

/// The newest pages to go live, newest first: feeds order by `live_at`, so a
/// back-dated page published today still reaches subscribers today.
pub async fn recent(
    db: &Db,
    scope: FeedScope,
    now: i64,
    limit: i64,
) -> Result<Vec<Page>, sqlx::Error> {
    let (query, id) = match scope {
        FeedScope::Series(id) => (
            concat!(
                select_pages!(),
                " WHERE p.series_id = ? AND ",
                visible!("p"),
                " ORDER BY p.live_at DESC, p.position DESC, p.id DESC LIMIT ?"
            ),
            id.0,
        ),
        FeedScope::Chapter(id) => (
            concat!(
                select_pages!(),
                " WHERE p.chapter_id = ? AND ",
                visible!("p"),
                " ORDER BY p.live_at DESC, p.position DESC, p.id DESC LIMIT ?"
            ),
            id.0,
        ),
    };
    sqlx::query_as(query)
        .bind(id)
        .bind(now)
        .bind(limit)
        .fetch_all(db)
        .await
}

/// (series, slug, updated_at) of every visible page, for the sitemap.
pub async fn sitemap_entries(
    db: &Db,
    now: i64,
) -> Result<Vec<(SeriesId, String, i64)>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT p.series_id, p.slug, p.updated_at FROM pages p WHERE ",
        visible!("p"),
        " ORDER BY p.series_id, p.position, p.id"
    ))
    .bind(now)
    .fetch_all(db)
    .await
}

/// A page to write. `live_at` is derived: a published page goes live at the
/// later of its date and now, so back-dating cannot hide it from feeds.
pub struct NewPage<'a> {
    pub series_id: SeriesId,
    pub chapter_id: Option<ChapterId>,
    pub slug: &'a str,
    pub title: &'a str,
    pub published: bool,
    /// The date readers see; `None` shows no date (an import that could
    /// not tell when a page was made says nothing rather than something wrong).
    pub published_at: Option<i64>,
    /// The moment the page counts as published from (feeds order by it):
    /// its date, or for an undated page a moment that keeps reading order.
    pub goes_live: i64,
    /// Where in the series' reading order; `None` appends at the end.
    pub position: Option<i64>,
    pub hover_text: &'a str,
    pub transcript: &'a str,
    pub notes: &'a str,
    pub content_warning: &'a str,
}

impl NewPage<'_> {
    /// When the page becomes visible, given the moment it is saved.
    pub fn live_at(&self, saved_at: i64, backfill: bool) -> Option<i64> {
        match (self.published, backfill) {
            (false, _) => None,
            // An imported archive went live when it says it did.
            (true, true) => Some(self.goes_live),
            (true, false) => Some(self.goes_live.max(saved_at)),
        }
    }
}

/// Inserts a page at `new.position` (shifting the pages from there on one
/// place later, so none of them moves relative to another) or at the end.
///
/// `backfill` is for imports of pages that were already public elsewhere:
/// their `live_at` is their own date rather than "now".
pub async fn insert(
    conn: &mut AnyConnection,
    new: &NewPage<'_>,
    backfill: bool,
) -> Result<PageId, sqlx::Error> {
    let now = crate::db::now();
    let position: i64 = match new.position {
        Some(position) => {
            sqlx::query(
                "UPDATE pages SET position = position + 1 WHERE series_id = ? AND position >= ?",
            )
            .bind(new.series_id)
            .bind(position)
            .execute(&mut *conn)
            .await?;
            position
        }
        None => {
            sqlx::query_scalar(
                "SELECT COALESCE(MAX(position), 0) + 1 FROM pages WHERE series_id = ?",
            )
            .bind(new.series_id)
            .fetch_one(&mut *conn)
            .await?
        }
    };
    let result = sqlx::query(
        "INSERT INTO pages (series_id, chapter_id, slug, title, position, status, published_at, live_at, \
         hover_text, transcript, notes, content_warning, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new.series_id)
    .bind(new.chapter_id)
    .bind(new.slug)
    .bind(new.title)
    .bind(position)
    .bind(if new.published { "published" } else { "draft" })
    .bind(new.published_at)
    .bind(new.live_at(now, backfill))
    .bind(new.hover_text)
    .bind(new.transcript)
    .bind(new.notes)
    .bind(new.content_warning)
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(PageId(
        crate::db::dialect::inserted_id(conn, &result).await?,
    ))
}

/// Slug → (id, position) of every page of a series (an import places new
/// pages among the ones already there).
pub async fn slugs_and_positions(
    conn: &mut AnyConnection,
    series: SeriesId,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT slug, position FROM pages WHERE series_id = ?")
        .bind(series)
        .fetch_all(conn)
        .await
}

/// Every page's id by slug in a series (an import's redirects).
pub async fn ids_by_slug(
    conn: &mut AnyConnection,
    series: SeriesId,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT slug, id FROM pages WHERE series_id = ?")
        .bind(series)
        .fetch_all(conn)
        .await
}

pub async fn insert_image(
    conn: &mut AnyConnection,
    page: PageId,
    media: super::MediaId,
    position: i64,
    alt_text: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO page_images (page_id, media_id, position, alt_text) VALUES (?, ?, ?, ?)",
    )
    .bind(page)
    .bind(media)
    .bind(position)
    .bind(alt_text)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Whether a slug is taken in a series (drafts included).
pub async fn slug_exists(
    conn: &mut AnyConnection,
    series: SeriesId,
    slug: &str,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM pages WHERE series_id = ? AND slug = ?")
            .bind(series)
            .bind(slug)
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}

/// Number of pages in all states, for deciding whether a site is empty.
pub async fn count_all(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM pages")
        .fetch_one(db)
        .await
}

/// The reorder use case: moves `page` before `before` (or to the end) in
/// its own write transaction (positions are read, then rewritten).
pub async fn reorder(
    db: &Db,
    series: SeriesId,
    page: PageId,
    before: Option<PageId>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    move_page(&mut tx, series, page, before).await?;
    tx.commit().await
}

/// Moves a page to a new place in the reading order: before `before`, or to
/// the end when `None`. Positions are renumbered in one transaction, so
/// navigation is never seen half-updated.
pub async fn move_page(
    conn: &mut AnyConnection,
    series: SeriesId,
    page: PageId,
    before: Option<PageId>,
) -> Result<(), sqlx::Error> {
    let mut order: Vec<PageId> =
        sqlx::query_scalar("SELECT id FROM pages WHERE series_id = ? ORDER BY position, id")
            .bind(series)
            .fetch_all(&mut *conn)
            .await?;
    order.retain(|id| *id != page);
    let at = before
        .and_then(|b| order.iter().position(|id| *id == b))
        .unwrap_or(order.len());
    order.insert(at, page);
    for (position, id) in order.iter().enumerate() {
        sqlx::query("UPDATE pages SET position = ? WHERE id = ? AND position <> ?")
            .bind(position as i64 + 1)
            .bind(*id)
            .bind(position as i64 + 1)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Where the admin moves a page to.
#[derive(Debug, Clone, Copy)]
pub enum Destination {
    /// The n-th place (1-based) in the series' reading order.
    Position(usize),
    /// The end of a chapter (the page joins it), or with `None` the end of
    /// the series without a chapter.
    EndOfChapter(Option<ChapterId>),
}

#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error("that page does not exist")]
    NoPage,
    #[error("that chapter is not in the page's series")]
    OtherSeries,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Moves a page far in one step ("move to position 12", "move to the end of
/// chapter 3"), in one transaction; no other page changes place relative to
/// another.
pub async fn move_to(db: &Db, page: PageId, to: Destination) -> Result<(), MoveError> {
    let mut tx = db.begin_write().await?;
    let series: SeriesId = sqlx::query_scalar("SELECT series_id FROM pages WHERE id = ?")
        .bind(page)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(MoveError::NoPage)?;
    let before = match to {
        Destination::Position(n) => {
            let order: Vec<PageId> = sqlx::query_scalar(
                "SELECT id FROM pages WHERE series_id = ? AND id <> ? ORDER BY position, id",
            )
            .bind(series)
            .bind(page)
            .fetch_all(&mut *tx)
            .await?;
            order.get(n.saturating_sub(1)).copied()
        }
        Destination::EndOfChapter(chapter) => {
            if let Some(chapter) = chapter {
                let in_series: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM chapters WHERE id = ? AND series_id = ?")
                        .bind(chapter)
                        .bind(series)
                        .fetch_optional(&mut *tx)
                        .await?;
                if in_series.is_none() {
                    return Err(MoveError::OtherSeries);
                }
            }
            sqlx::query("UPDATE pages SET chapter_id = ? WHERE id = ?")
                .bind(chapter)
                .bind(page)
                .execute(&mut *tx)
                .await?;
            // Before the page after the chapter's last one.
            let last: Option<i64> = match chapter {
                Some(chapter) => {
                    sqlx::query_scalar(
                        "SELECT MAX(position) FROM pages WHERE chapter_id = ? AND id <> ?",
                    )
                    .bind(chapter)
                    .bind(page)
                    .fetch_one(&mut *tx)
                    .await?
                }
                None => None,
            };
            match last {
                Some(last) => {
                    sqlx::query_scalar(
                        "SELECT id FROM pages WHERE series_id = ? AND position > ? AND id <> ? \
                     ORDER BY position, id LIMIT 1",
                    )
                    .bind(series)
                    .bind(last)
                    .bind(page)
                    .fetch_optional(&mut *tx)
                    .await?
                }
                None => None,
            }
        }
    };
    move_page(&mut tx, series, page, before).await?;
    tx.commit().await?;
    Ok(())
}

/// A page as the admin lists it, in every state.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct AdminPageRow {
    pub id: i64,
    pub series_id: i64,
    pub chapter_id: Option<i64>,
    pub chapter_title: Option<String>,
    pub slug: String,
    pub title: String,
    pub position: i64,
    pub status: String,
    pub published_at: Option<i64>,
    pub live_at: Option<i64>,
    pub updated_at: i64,
}

macro_rules! select_admin_rows {
    () => {
        "SELECT p.id, p.series_id, p.chapter_id, c.title AS chapter_title, p.slug, p.title, p.position, p.status, \
         p.published_at, p.live_at, p.updated_at FROM pages p LEFT JOIN chapters c ON c.id = p.chapter_id"
    };
}

/// Every page of a series, in reading order, whatever its state.
pub async fn admin_list(db: &Db, series: SeriesId) -> Result<Vec<AdminPageRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        select_admin_rows!(),
        " WHERE p.series_id = ? ORDER BY p.position, p.id"
    ))
    .bind(series)
    .fetch_all(db)
    .await
}

/// Drafts, most recently edited first.
pub async fn admin_drafts(db: &Db, limit: i64) -> Result<Vec<AdminPageRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        select_admin_rows!(),
        " WHERE p.status = 'draft' ORDER BY p.updated_at DESC, p.id DESC LIMIT ?"
    ))
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Published pages, most recent first.
pub async fn admin_recent(db: &Db, now: i64, limit: i64) -> Result<Vec<AdminPageRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        select_admin_rows!(),
        " WHERE p.status = 'published' AND p.live_at <= ? ORDER BY p.live_at DESC, p.id DESC LIMIT ?"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// (drafts, scheduled, published) counts.
pub async fn admin_counts(db: &Db, now: i64) -> Result<(i64, i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT \
         (SELECT COUNT(*) FROM pages WHERE status = 'draft') AS drafts, \
         (SELECT COUNT(*) FROM pages WHERE status = 'published' AND live_at > ?) AS scheduled, \
         (SELECT COUNT(*) FROM pages WHERE status = 'published' AND live_at <= ?) AS published",
    )
    .bind(now)
    .bind(now)
    .fetch_one(db)
    .await
}

/// The series a page belongs to.
pub async fn series_of(db: &Db, page: PageId) -> Result<Option<SeriesId>, sqlx::Error> {
    sqlx::query_scalar("SELECT series_id FROM pages WHERE id = ?")
        .bind(page)
        .fetch_optional(db)
        .await
}

/// A page in any state (for previews).
pub async fn by_id_any(db: &Db, id: PageId) -> Result<Option<Page>, sqlx::Error> {
    sqlx::query_as(concat!(select_pages!(), " WHERE p.id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Media rows by id, as page images (for previews of drafts).
pub async fn media_as_images(
    db: &Db,
    page: PageId,
    images: &[(i64, String)],
) -> Result<Vec<PageImage>, sqlx::Error> {
    if images.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, hash, width, height, widths, fallback_ext, thumb_width, thumb_height FROM media WHERE id IN ({})",
        placeholders(images.len())
    );
    let mut query = sqlx::query_as::<_, (i64, String, i64, i64, String, String, i64, i64)>(&sql);
    for (id, _) in images {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(db).await?;
    Ok(images
        .iter()
        .enumerate()
        .filter_map(|(position, (id, alt))| {
            let (_, hash, width, height, widths, fallback_ext, thumb_width, thumb_height) =
                rows.iter().find(|r| r.0 == *id)?.clone();
            Some(PageImage {
                page_id: page,
                position: position as i64,
                alt_text: alt.clone(),
                media: super::MediaRef {
                    hash,
                    width,
                    height,
                    widths,
                    fallback_ext,
                    thumb_width,
                    thumb_height,
                },
            })
        })
        .collect())
}

/// Visible pages among `ids`, with their covers (order not kept).
pub async fn visible_summaries(
    db: &Db,
    ids: &[PageId],
    now: i64,
) -> Result<Vec<PageSummary>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        concat!(
            select_summaries!(),
            " WHERE p.id IN ({}) AND ",
            visible!("p")
        ),
        placeholders(ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in ids {
        query = query.bind(*id);
    }
    query.bind(now).fetch_all(db).await
}

/// Visible pages among `ids` (any series), oldest first by `live_at`.
pub async fn visible_by_ids(db: &Db, ids: &[PageId], now: i64) -> Result<Vec<Page>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        concat!(
            select_pages!(),
            " WHERE p.id IN ({}) AND ",
            visible!("p"),
            " ORDER BY p.live_at, p.position, p.id"
        ),
        placeholders(ids.len())
    );
    let mut query = sqlx::query_as(&sql);
    for id in ids {
        query = query.bind(*id);
    }
    query.bind(now).fetch_all(db).await
}

/// Pages that are published but not live yet (the queue): id, title, when.
pub async fn scheduled_after(db: &Db, now: i64) -> Result<Vec<(i64, String, i64)>, sqlx::Error> {
    let rows: Vec<(i64, crate::db::DbText, i64)> = sqlx::query_as(
        "SELECT id, title, live_at FROM pages WHERE status = 'published' AND live_at > ? \
         ORDER BY live_at, id",
    )
    .bind(now)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(id, t, at)| (id, t.0, at)).collect())
}
