//! The fediverse tables' SQL: followers, activities and their deliveries
//! (the outbox), what followers were told of each page, reactions.

use sqlx::AnyConnection;

use crate::comics::PageId;
use crate::config::Backend;
use crate::db::{dialect, Db};

/// Addresses we store are cut at what MariaDB's unique keys hold.
pub const MAX_URI: usize = 700;

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Follower {
    pub series_id: i64,
    pub actor: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub handle: String,
    pub created_at: i64,
}

pub struct NewFollower<'a> {
    pub series_id: i64,
    pub actor: &'a str,
    pub inbox: &'a str,
    pub shared_inbox: Option<&'a str>,
    pub handle: &'a str,
    pub follow_id: &'a str,
}

/// Adds (or refreshes) a follower.
pub async fn add_follower(
    conn: &mut AnyConnection,
    new: &NewFollower<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE ap_followers SET inbox = ?, shared_inbox = ?, handle = ?, follow_id = ? \
         WHERE series_id = ? AND actor = ?",
    )
    .bind(new.inbox)
    .bind(new.shared_inbox)
    .bind(new.handle)
    .bind(new.follow_id)
    .bind(new.series_id)
    .bind(new.actor)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(&format!(
            "{} INTO ap_followers (series_id, actor, inbox, shared_inbox, handle, follow_id, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
            dialect::insert_ignore(Backend::of(conn))
        ))
        .bind(new.series_id)
        .bind(new.actor)
        .bind(new.inbox)
        .bind(new.shared_inbox)
        .bind(new.handle)
        .bind(new.follow_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Removes `actor` from the followers of `series` (all series when `None`).
pub async fn remove_follower(
    db: &Db,
    series: Option<i64>,
    actor: &str,
) -> Result<u64, sqlx::Error> {
    let done = match series {
        Some(series) => {
            sqlx::query("DELETE FROM ap_followers WHERE series_id = ? AND actor = ?")
                .bind(series)
                .bind(actor)
                .execute(db)
                .await?
        }
        None => {
            sqlx::query("DELETE FROM ap_followers WHERE actor = ?")
                .bind(actor)
                .execute(db)
                .await?
        }
    };
    Ok(done.rows_affected())
}

pub async fn is_follower(db: &Db, actor: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ap_followers WHERE actor = ?")
        .bind(actor)
        .fetch_one(db)
        .await?;
    Ok(n > 0)
}

/// Followers whose inbox (or actor) is at this inbox address: a server
/// that answers 410 Gone for it has lost them.
pub async fn remove_followers_at_inbox(db: &Db, inbox: &str) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM ap_followers WHERE inbox = ?")
        .bind(inbox)
        .execute(db)
        .await
        .map(|d| d.rows_affected())
}

pub async fn followers(db: &Db, series: Option<i64>) -> Result<Vec<Follower>, sqlx::Error> {
    let sql = "SELECT series_id, actor, inbox, shared_inbox, handle, created_at FROM ap_followers";
    match series {
        Some(series) => {
            sqlx::query_as(&format!(
                "{sql} WHERE series_id = ? ORDER BY created_at DESC, id DESC"
            ))
            .bind(series)
            .fetch_all(db)
            .await
        }
        None => {
            sqlx::query_as(&format!("{sql} ORDER BY created_at DESC, id DESC"))
                .fetch_all(db)
                .await
        }
    }
}

pub async fn follower_counts(db: &Db) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT series_id, COUNT(*) FROM ap_followers GROUP BY series_id")
        .fetch_all(db)
        .await
}

/// Where an activity to a series' followers goes: each server's shared
/// inbox once (Mastodon fans out to its users), else each follower's own.
pub fn delivery_inboxes(followers: &[Follower], blocked: &super::Blocklist) -> Vec<String> {
    let mut inboxes: Vec<String> = followers
        .iter()
        .filter(|f| !blocked.blocks(&f.actor))
        .map(|f| f.shared_inbox.clone().unwrap_or_else(|| f.inbox.clone()))
        .collect();
    inboxes.sort();
    inboxes.dedup();
    inboxes
}

/// An activity to record.
pub struct NewActivity<'a> {
    pub uri: &'a str,
    pub kind: &'a str,
    pub series: i64,
    pub page: Option<PageId>,
    pub body: &'a str,
}

/// Records an activity and queues it for these inboxes, in the caller's
/// transaction. `None` when an activity of this id exists already (sent
/// once, never twice).
pub async fn queue_activity(
    conn: &mut AnyConnection,
    activity: &NewActivity<'_>,
    inboxes: &[String],
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let inserted = sqlx::query(&format!(
        "{} INTO ap_activities (uri, kind, series_id, page_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        dialect::insert_ignore(Backend::of(conn))
    ))
    .bind(activity.uri)
    .bind(activity.kind)
    .bind(activity.series)
    .bind(activity.page.map(|p| p.0))
    .bind(activity.body)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(None);
    }
    let id = dialect::inserted_id(conn, &inserted).await?;
    for inbox in inboxes {
        sqlx::query(&format!(
            "{} INTO ap_deliveries (activity_id, inbox, status, attempts, next_at, created_at) \
             VALUES (?, ?, 'queued', 0, ?, ?)",
            dialect::insert_ignore(Backend::of(conn))
        ))
        .bind(id)
        .bind(inbox)
        .bind(now)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(Some(id))
}

/// What followers were last told of a page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Post {
    pub page_id: PageId,
    pub series_id: i64,
    pub note_hash: String,
    pub deleted: i64,
}

pub async fn posts(db: &Db) -> Result<Vec<Post>, sqlx::Error> {
    sqlx::query_as("SELECT page_id, series_id, note_hash, deleted FROM ap_posts")
        .fetch_all(db)
        .await
}

pub async fn set_post(
    conn: &mut AnyConnection,
    page: PageId,
    series: i64,
    note_hash: &str,
    deleted: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE ap_posts SET series_id = ?, note_hash = ?, deleted = ?, updated_at = ? WHERE page_id = ?",
    )
    .bind(series)
    .bind(note_hash)
    .bind(i64::from(deleted))
    .bind(now)
    .bind(page)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO ap_posts (page_id, series_id, note_hash, deleted, updated_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(page)
        .bind(series)
        .bind(note_hash)
        .bind(i64::from(deleted))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A delivery to make.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Due {
    pub id: i64,
    pub activity_id: i64,
    pub inbox: String,
    pub attempts: i64,
    pub created_at: i64,
}

/// Deliveries whose time has come — an inbox's in order: none while an
/// earlier one to the same inbox waits for its retry. Rows left `sending` by a node that died
/// mid-delivery (claimed over `stale_secs` ago) are taken again.
pub async fn due(db: &Db, now: i64, stale_secs: i64, limit: i64) -> Result<Vec<Due>, sqlx::Error> {
    sqlx::query(
        "UPDATE ap_deliveries SET status = 'queued' WHERE status = 'sending' AND claimed_at < ?",
    )
    .bind(now - stale_secs)
    .execute(db)
    .await?;
    sqlx::query_as(
        "SELECT d.id, d.activity_id, d.inbox, d.attempts, d.created_at FROM ap_deliveries d \
         WHERE d.status = 'queued' AND d.next_at <= ? \
         AND NOT EXISTS (SELECT 1 FROM ap_deliveries e WHERE e.inbox = d.inbox AND e.id < d.id \
         AND e.status IN ('queued', 'sending')) ORDER BY d.id LIMIT ?",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Takes a delivery for this sender (compare-and-set: never two senders).
pub async fn claim(db: &Db, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE ap_deliveries SET status = 'sending', claimed_at = ? WHERE id = ? AND status = 'queued'",
    )
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn finish(
    db: &Db,
    id: i64,
    status: &str,
    attempts: i64,
    next_at: i64,
    error: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let error: String = error.chars().take(900).collect();
    sqlx::query(
        "UPDATE ap_deliveries SET status = ?, attempts = ?, next_at = ?, error = ?, \
         done_at = CASE WHEN ? = 'done' THEN ? ELSE done_at END WHERE id = ?",
    )
    .bind(status)
    .bind(attempts)
    .bind(next_at)
    .bind(&error)
    .bind(status)
    .bind(now)
    .bind(id)
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn activity_body(db: &Db, id: i64) -> Result<Option<String>, sqlx::Error> {
    let body: Option<crate::db::DbText> =
        sqlx::query_scalar("SELECT body FROM ap_activities WHERE id = ?")
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(body.map(String::from))
}

/// The outbox's state for the admin: deliveries per status.
pub async fn delivery_counts(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT status, COUNT(*) FROM ap_deliveries GROUP BY status ORDER BY status")
        .fetch_all(db)
        .await
}

/// Failing and failed deliveries, newest first, for the admin.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Trouble {
    pub inbox: String,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub error: String,
    pub next_at: i64,
}

pub async fn troubles(db: &Db, limit: i64) -> Result<Vec<Trouble>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.inbox, a.kind, d.status, d.attempts, d.error, d.next_at FROM ap_deliveries d \
         JOIN ap_activities a ON a.id = d.activity_id \
         WHERE d.error <> '' AND d.status <> 'done' ORDER BY d.id DESC LIMIT ?",
    )
    .bind(limit)
    .fetch_all(db)
    .await
}

/// A like or a boost of one of our pages.
pub async fn add_reaction(
    db: &Db,
    page: PageId,
    kind: &str,
    actor: &str,
    uri: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(&format!(
        "{} INTO ap_reactions (page_id, kind, actor, uri, created_at) VALUES (?, ?, ?, ?, ?)",
        dialect::insert_ignore(db.backend())
    ))
    .bind(page)
    .bind(kind)
    .bind(actor)
    .bind(uri)
    .bind(now)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes a reaction back (`Undo`): only its own actor may.
pub async fn remove_reaction(db: &Db, uri: &str, actor: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM ap_reactions WHERE uri = ? AND actor = ?")
        .bind(uri)
        .bind(actor)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Pages with their likes and boosts (and fediverse replies), most first.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct PageReactions {
    pub page_id: i64,
    pub title: String,
    pub likes: i64,
    pub boosts: i64,
}

pub async fn reactions_by_page(db: &Db, limit: i64) -> Result<Vec<PageReactions>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.page_id, p.title, \
         COUNT(CASE WHEN r.kind = 'like' THEN 1 END) AS likes, \
         COUNT(CASE WHEN r.kind = 'boost' THEN 1 END) AS boosts \
         FROM ap_reactions r JOIN pages p ON p.id = r.page_id \
         GROUP BY r.page_id, p.title ORDER BY COUNT(*) DESC, r.page_id DESC LIMIT ?",
    )
    .bind(limit)
    .fetch_all(db)
    .await
}
