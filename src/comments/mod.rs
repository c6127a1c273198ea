//! Readers talk back: comments under comic pages, and transcripts readers
//! submit for pages that have none.
//!
//! - `mod.rs`: the `comments` table (this file owns its SQL).
//! - `policy`: what happens to a new comment (refused, spam, held, live):
//!   honeypot, time on the page, per-network rate, links, blocklist,
//!   first comment from a new address held.
//! - `mail`: double opt-in for reply notices, the notices themselves (an
//!   outbox, like the newsletter's), and the moderator's hourly digest.
//! - `avatar`: a small picture from the name and address, made here (no
//!   third party learns who reads what).
//! - `import`: writes comments that move in (WordPress exports, through
//!   the comic's importer); `disqus`: a Disqus export's comments.
//!
//! The reader's side is `reader::comments`, the moderation queue
//! `admin::comments`. Reader pages stay cached for everyone: an approved
//! comment drops only its page's cache entries (`Services::page_changed`).

pub mod avatar;
pub mod disqus;
pub mod import;
pub mod mail;
pub mod policy;

use serde::Serialize;

use crate::comics::PageId;
use crate::db::{self, Db, DbText};

/// Where a comment stands. Only `Approved` is ever shown to readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Approved,
    Spam,
    Deleted,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Pending,
        Status::Approved,
        Status::Spam,
        Status::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Spam => "spam",
            Status::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// A comment, or a reader's transcript for a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Comment,
    Transcript,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Comment => "comment",
            Kind::Transcript => "transcript",
        }
    }
}

/// Limits of what a reader may type.
pub const MAX_NAME: usize = 80;
pub const MAX_BODY: usize = 5_000;
pub const MAX_TRANSCRIPT: usize = 20_000;
/// How long the posting browser may edit or delete its comment.
pub const EDIT_MINUTES: i64 = 15;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Comment {
    pub id: i64,
    pub page_id: PageId,
    pub parent_id: Option<i64>,
    pub kind: String,
    pub status: String,
    pub author_name: String,
    pub author_email: String,
    pub user_id: Option<i64>,
    #[sqlx(try_from = "DbText")]
    pub body: String,
    pub reason: String,
    pub notify: i64,
    pub edit_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "c.id, c.page_id, c.parent_id, c.kind, c.status, c.author_name, \
     c.author_email, c.user_id, c.body, c.reason, c.notify, c.edit_hash, c.created_at, c.updated_at";

/// What a new comment is made of (the policy has decided its status).
pub struct NewComment<'a> {
    pub page_id: PageId,
    pub parent_id: Option<i64>,
    pub kind: Kind,
    pub status: Status,
    pub author_name: &'a str,
    pub author_email: &'a str,
    pub user_id: Option<i64>,
    pub body: &'a str,
    pub reason: &'a str,
    pub notify: bool,
    pub edit_hash: &'a str,
    pub source: Option<&'a str>,
    pub created_at: i64,
}

pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    new: &NewComment<'_>,
) -> Result<i64, sqlx::Error> {
    let moderated = (new.status != Status::Pending).then_some(new.created_at);
    // The reason names a blocklist entry, which may be long: the column
    // holds 500 characters (MariaDB refuses more).
    let reason: String = new.reason.chars().take(400).collect();
    let result = sqlx::query(
        "INSERT INTO comments (page_id, parent_id, kind, status, author_name, author_email, user_id, \
         body, reason, notify, edit_hash, source, created_at, updated_at, moderated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(new.page_id)
    .bind(new.parent_id)
    .bind(new.kind.as_str())
    .bind(new.status.as_str())
    .bind(new.author_name)
    .bind(new.author_email)
    .bind(new.user_id)
    .bind(new.body)
    .bind(&reason)
    .bind(i64::from(new.notify))
    .bind(new.edit_hash)
    .bind(new.source)
    .bind(new.created_at)
    .bind(new.created_at)
    .bind(moderated)
    .execute(&mut *conn)
    .await?;
    crate::db::dialect::inserted_id(conn, &result).await
}

/// The approved comments of a page, oldest first (one query whatever the count).
pub async fn approved_for_page(db: &Db, page: PageId) -> Result<Vec<Comment>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM comments c WHERE c.page_id = ? AND c.kind = 'comment' \
         AND c.status = 'approved' ORDER BY c.created_at, c.id"
    ))
    .bind(page)
    .fetch_all(db)
    .await
}

pub async fn get(db: &Db, id: i64) -> Result<Option<Comment>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM comments c WHERE c.id = ?"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// A row of the moderation queue: the comment and the page it is on.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueRow {
    #[sqlx(flatten)]
    pub comment: Comment,
    pub page_title: String,
    pub page_slug: String,
    pub series_id: i64,
    pub page_transcript_empty: i64,
    pub parent_name: Option<String>,
}

/// One status of the queue, newest first.
pub async fn queue(
    db: &Db,
    status: Status,
    page: Option<PageId>,
    limit: i64,
) -> Result<Vec<QueueRow>, sqlx::Error> {
    let page_filter = if page.is_some() {
        " AND c.page_id = ?"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {COLUMNS}, p.title AS page_title, p.slug AS page_slug, p.series_id, \
         CASE WHEN p.transcript = '' THEN 1 ELSE 0 END AS page_transcript_empty, \
         parent.author_name AS parent_name \
         FROM comments c JOIN pages p ON p.id = c.page_id \
         LEFT JOIN comments parent ON parent.id = c.parent_id \
         WHERE c.status = ?{page_filter} ORDER BY c.created_at DESC, c.id DESC LIMIT ?"
    );
    let mut query = sqlx::query_as(&sql).bind(status.as_str());
    if let Some(page) = page {
        query = query.bind(page);
    }
    query.bind(limit).fetch_all(db).await
}

/// How many comments (and transcripts) each status holds.
pub async fn counts(db: &Db) -> Result<Vec<(Status, i64)>, sqlx::Error> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM comments GROUP BY status")
            .fetch_all(db)
            .await?;
    Ok(Status::ALL
        .into_iter()
        .map(|st| {
            let n = rows
                .iter()
                .find(|(s, _)| s == st.as_str())
                .map_or(0, |(_, n)| *n);
            (st, n)
        })
        .collect())
}

pub async fn pending_count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM comments WHERE status = 'pending'")
        .fetch_one(db)
        .await
}

/// Whether this address already has an approved comment (its next ones
/// need no approval).
pub async fn known_address(db: &Db, email: &str) -> Result<bool, sqlx::Error> {
    if email.is_empty() {
        return Ok(false);
    }
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM comments WHERE author_email = ? AND status = 'approved' AND kind = 'comment'",
    )
    .bind(email)
    .fetch_one(db)
    .await?;
    Ok(n > 0)
}

/// Moves comments to `status`; returns the ones that changed (as they were).
pub async fn set_status(db: &Db, ids: &[i64], status: Status) -> Result<Vec<Comment>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = crate::comics::placeholders(ids.len());
    let mut tx = db.begin_write().await?;
    let select_sql =
        format!("SELECT {COLUMNS} FROM comments c WHERE c.id IN ({list}) AND c.status <> ?");
    let mut select = sqlx::query_as::<_, Comment>(&select_sql);
    for id in ids {
        select = select.bind(*id);
    }
    let changed = select.bind(status.as_str()).fetch_all(&mut *tx).await?;
    let update_sql = format!(
        "UPDATE comments SET status = ?, moderated_at = ? WHERE id IN ({list}) AND status <> ?"
    );
    let mut update = sqlx::query(&update_sql)
        .bind(status.as_str())
        .bind(db::now());
    for id in ids {
        update = update.bind(*id);
    }
    update.bind(status.as_str()).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(changed)
}

/// Deleted and spam comments older than `days` are erased for good.
pub async fn purge(db: &Db, days: i64) -> Result<u64, sqlx::Error> {
    let before = db::now() - days * 86_400;
    // Replies keep their place; their parent link goes (ON DELETE SET NULL).
    Ok(sqlx::query(
        "DELETE FROM comments WHERE status IN ('spam', 'deleted') AND COALESCE(moderated_at, updated_at) < ?",
    )
    .bind(before)
    .execute(db)
    .await?
    .rows_affected())
}

/// The posting browser edits its comment (checked: its token, the time window).
pub async fn edit_own(
    db: &Db,
    id: i64,
    edit_hash: &str,
    body: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE comments SET body = ?, updated_at = ? WHERE id = ? AND edit_hash = ? AND edit_hash <> '' \
         AND created_at >= ? AND status IN ('pending', 'approved')",
    )
    .bind(body)
    .bind(now)
    .bind(id)
    .bind(edit_hash)
    .bind(now - EDIT_MINUTES * 60)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The posting browser withdraws its comment: it is marked deleted (the
/// moderator can still see it for a while, then it is purged).
pub async fn delete_own(db: &Db, id: i64, edit_hash: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE comments SET status = 'deleted', reason = 'withdrawn by its author', moderated_at = ? \
         WHERE id = ? AND edit_hash = ? AND edit_hash <> '' AND created_at >= ? \
         AND status IN ('pending', 'approved')",
    )
    .bind(now)
    .bind(id)
    .bind(edit_hash)
    .bind(now - EDIT_MINUTES * 60)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Closes or reopens a page's comments.
pub async fn set_closed(db: &Db, page: PageId, closed: bool) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE pages SET comments_closed = ? WHERE id = ?")
        .bind(i64::from(closed))
        .bind(page)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// What a reader may comment on: a page readers can see.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Target {
    pub id: PageId,
    pub series_id: i64,
    pub slug: String,
    pub title: String,
    pub comments_closed: i64,
    #[sqlx(try_from = "DbText")]
    pub transcript: String,
}

pub async fn visible_target(
    db: &Db,
    page: PageId,
    now: i64,
) -> Result<Option<Target>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT p.id, p.series_id, p.slug, p.title, p.comments_closed, p.transcript FROM pages p WHERE p.id = ? AND ",
        crate::visible!("p")
    ))
    .bind(page)
    .bind(now)
    .fetch_optional(db)
    .await
}

/// A page's id, series and slug, whatever its status (to find its cache keys).
pub async fn page_place(db: &Db, page: PageId) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT series_id, slug FROM pages WHERE id = ?")
        .bind(page)
        .fetch_optional(db)
        .await
}

/// An approved transcript becomes the page's: on the page row (readers and
/// search see it) and as a new revision of the newest draft (so the
/// author's next publish keeps it). Refused when the page has a transcript.
pub async fn apply_transcript(
    db: &Db,
    page: PageId,
    text: &str,
) -> Result<TranscriptOutcome, sqlx::Error> {
    use crate::comics::editing::{self, SaveOutcome};
    let done = sqlx::query(
        "UPDATE pages SET transcript = ?, updated_at = ? WHERE id = ? AND transcript = ''",
    )
    .bind(text)
    .bind(db::now())
    .bind(page)
    .execute(db)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(match editing::editable(db, page).await? {
            Some(_) => TranscriptOutcome::HasOne,
            None => TranscriptOutcome::Missing,
        });
    }
    // The newest draft gets it too, unless the author typed one meanwhile.
    // An autosave racing us makes the save a conflict: read again and retry.
    for _ in 0..5 {
        let Some((revision, mut draft)) = editing::head(db, page).await? else {
            return Ok(TranscriptOutcome::Missing);
        };
        if !draft.transcript.trim().is_empty() {
            return Ok(TranscriptOutcome::Applied {
                revision,
                draft: Box::new(draft),
            });
        }
        draft.transcript = text.to_owned();
        match editing::save_draft(db, page, revision, &draft, None).await? {
            SaveOutcome::Saved { revision } => {
                return Ok(TranscriptOutcome::Applied {
                    revision,
                    draft: Box::new(draft),
                })
            }
            SaveOutcome::Conflict { .. } => continue,
            SaveOutcome::NotFound => return Ok(TranscriptOutcome::Missing),
        }
    }
    Err(sqlx::Error::Protocol(
        "the page's draft kept changing; try again".into(),
    ))
}

#[derive(Debug)]
pub enum TranscriptOutcome {
    /// On the page and in its newest draft (revision), which editors are told of.
    Applied {
        revision: i64,
        draft: Box<crate::comics::editing::PageDraft>,
    },
    HasOne,
    Missing,
}

/// A comment that came from elsewhere (a reply from the fediverse) taken
/// back by its author: it leaves the site and the queue.
pub async fn withdraw_by_source(db: &Db, source: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE comments SET status = ?, updated_at = ?, moderated_at = ? WHERE source = ? AND status <> ?",
    )
    .bind(Status::Deleted.as_str())
    .bind(now)
    .bind(now)
    .bind(source)
    .bind(Status::Deleted.as_str())
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}
