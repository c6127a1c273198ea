//! Mailings and the outbox (`deliveries`): one row per mail to send, moved
//! through its states by compare-and-swap updates, so two senders can never
//! both claim a row and a restart resumes exactly where sending stopped.

use std::collections::HashMap;

use serde::Serialize;
use sqlx::AnyConnection;

use crate::db::{self, Db, DbText};

/// Queues the confirmation mail for a (pending) subscriber; an older one
/// still waiting is dropped, so one address never gets two in a row.
pub async fn queue_confirmation(
    conn: &mut AnyConnection,
    subscriber: i64,
    email: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE deliveries SET status = 'cancelled' \
         WHERE subscriber_id = ? AND kind = 'confirm' AND status = 'queued'",
    )
    .bind(subscriber)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO deliveries (kind, mailing_id, subscriber_id, email, status, attempts, \
         next_attempt_at, interrupted, created_at) \
         VALUES ('confirm', NULL, ?, ?, 'queued', 0, ?, 0, ?)",
    )
    .bind(subscriber)
    .bind(email)
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Made automatically when pages went live.
    Page,
    /// Made by the author for chosen pages.
    Digest,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Page => "page",
            Kind::Digest => "digest",
        }
    }
}

pub struct NewMailing {
    pub kind: Kind,
    pub subject: String,
    /// Both bodies contain [`super::compose::UNSUBSCRIBE_MARK`] where each
    /// recipient's own link goes.
    pub html: String,
    pub text: String,
    pub created_by: Option<i64>,
    pub pages: Vec<i64>,
}

/// Makes a mailing and queues one delivery per confirmed subscriber, in one
/// transaction. `None` when an automatic mailing for one of these pages
/// exists already (another node was first).
pub async fn create_mailing(
    db: &Db,
    mailing: &NewMailing,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    let result = sqlx::query(
        "INSERT INTO mailings (kind, subject, html, text, created_at, created_by) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(mailing.kind.as_str())
    .bind(&mailing.subject)
    .bind(&mailing.html)
    .bind(&mailing.text)
    .bind(now)
    .bind(mailing.created_by)
    .execute(&mut *tx)
    .await?;
    let id = db::dialect::inserted_id(&mut tx, &result).await?;
    for page in &mailing.pages {
        let auto = (mailing.kind == Kind::Page).then_some(*page);
        let inserted = sqlx::query(
            "INSERT INTO mailing_pages (mailing_id, page_id, auto_page_id) VALUES (?, ?, ?)",
        )
        .bind(id)
        .bind(*page)
        .bind(auto)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                tx.rollback().await?;
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
    }
    sqlx::query(
        "INSERT INTO deliveries (kind, mailing_id, subscriber_id, email, status, attempts, \
         next_attempt_at, interrupted, created_at) \
         SELECT 'mailing', ?, id, email, 'queued', 0, ?, 0, ? \
         FROM subscribers WHERE status = 'confirmed'",
    )
    .bind(id)
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// A delivery whose turn has come.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Due {
    pub id: i64,
    pub kind: String,
    pub mailing_id: Option<i64>,
    pub subscriber_id: i64,
    pub email: String,
    /// `queued`, or `sending` when a sender died in the middle of it.
    pub status: String,
    pub attempts: i64,
    pub subscriber_status: String,
}

/// Up to `limit` deliveries to send now: leftovers of a crashed sender first,
/// then confirmations (a reader is waiting for those), then mailings in the
/// order they were queued.
pub async fn due(db: &Db, now: i64, limit: i64) -> Result<Vec<Due>, sqlx::Error> {
    const SELECT: &str = "SELECT d.id, d.kind, d.mailing_id, d.subscriber_id, d.email, \
         d.status, d.attempts, s.status AS subscriber_status \
         FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id";
    let mut rows: Vec<Due> = sqlx::query_as(&format!(
        "{SELECT} WHERE d.status = 'sending' ORDER BY d.kind, d.id LIMIT ?"
    ))
    .bind(limit)
    .fetch_all(db)
    .await?;
    if rows.is_empty() {
        rows = sqlx::query_as(&format!(
            "{SELECT} WHERE d.status = 'queued' AND d.next_attempt_at <= ? \
             ORDER BY d.kind, d.id LIMIT ?"
        ))
        .bind(now)
        .bind(limit)
        .fetch_all(db)
        .await?;
    }
    Ok(rows)
}

/// Whether any delivery is due now (or was left `sending` by a dead
/// sender). Every node asks every few seconds: one row is enough to know,
/// so this stops at the first instead of counting the queue.
pub async fn has_work(db: &Db, now: i64) -> Result<bool, sqlx::Error> {
    let first: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM deliveries WHERE status = 'sending' \
         OR (status = 'queued' AND next_attempt_at <= ?) LIMIT 1",
    )
    .bind(now)
    .fetch_optional(db)
    .await?;
    Ok(first.is_some())
}

/// Claims `due` for sending as `owner`. False when somebody else changed
/// it first.
pub async fn claim(db: &Db, due: &Due, owner: &str) -> Result<bool, sqlx::Error> {
    let interrupted = i64::from(due.status == "sending");
    let done = sqlx::query(
        "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, claimed_by = ?, \
         interrupted = interrupted + ? WHERE id = ? AND status = ? AND attempts = ?",
    )
    .bind(owner)
    .bind(interrupted)
    .bind(due.id)
    .bind(&due.status)
    .bind(due.attempts)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

// The marks below change a row only while it is still `owner`'s claim: a
// sender whose claim was taken over (its lease ran out) cannot overwrite
// what the new sender recorded.
const OWN_CLAIM: &str = "WHERE id = ? AND status = 'sending' AND claimed_by = ?";

pub async fn mark_sent(db: &Db, id: i64, owner: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "UPDATE deliveries SET status = 'sent', sent_at = ?, last_error = NULL {OWN_CLAIM}"
    ))
    .bind(now)
    .bind(id)
    .bind(owner)
    .execute(db)
    .await?;
    Ok(())
}

/// How a failed attempt counts.
pub enum Retry {
    /// This mail was deferred: the attempt counts toward `max_attempts`.
    Counted,
    /// The server was unavailable: the attempt does not count, so an outage
    /// of any length fails nobody.
    Uncounted,
    /// The send timed out with the outcome unknown: not counted, and the
    /// mail may arrive twice (counted as interrupted).
    Unknown,
}

/// Back in the queue after a passing failure, to be tried at `next_at`.
pub async fn mark_retry(
    db: &Db,
    id: i64,
    owner: &str,
    next_at: i64,
    error: &str,
    retry: Retry,
) -> Result<(), sqlx::Error> {
    let (uncount, interrupted) = match retry {
        Retry::Counted => (0, 0),
        Retry::Uncounted => (1, 0),
        Retry::Unknown => (1, 1),
    };
    sqlx::query(&format!(
        "UPDATE deliveries SET status = 'queued', next_attempt_at = ?, last_error = ?, \
         attempts = attempts - ?, interrupted = interrupted + ? {OWN_CLAIM}"
    ))
    .bind(next_at)
    .bind(truncate(error))
    .bind(uncount)
    .bind(interrupted)
    .bind(id)
    .bind(owner)
    .execute(db)
    .await?;
    Ok(())
}

/// `failed` (given up; the admin may retry), `skipped` (not wanted any
/// more) or `cancelled` (the mailing was stopped).
pub async fn mark_final(
    db: &Db,
    id: i64,
    owner: &str,
    status: &str,
    why: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "UPDATE deliveries SET status = ?, last_error = ? {OWN_CLAIM}"
    ))
    .bind(status)
    .bind(truncate(why))
    .bind(id)
    .bind(owner)
    .execute(db)
    .await?;
    Ok(())
}

fn truncate(s: &str) -> String {
    s.chars().take(900).collect()
}

/// What every recipient of a mailing gets (before their unsubscribe link).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Body {
    pub subject: String,
    #[sqlx(try_from = "DbText")]
    pub html: String,
    #[sqlx(try_from = "DbText")]
    pub text: String,
}

pub async fn body(db: &Db, mailing: i64) -> Result<Option<Body>, sqlx::Error> {
    sqlx::query_as("SELECT subject, html, text FROM mailings WHERE id = ?")
        .bind(mailing)
        .fetch_optional(db)
        .await
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Progress {
    pub total: i64,
    pub queued: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
    pub skipped: i64,
    pub cancelled: i64,
    /// Sent again after a crash in the middle of sending them.
    pub interrupted: i64,
    /// Still waiting after at least one failed attempt.
    pub retrying: i64,
    /// Whole percent done (sent, failed, skipped or cancelled).
    pub percent: i64,
    pub done: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mailing {
    pub id: i64,
    pub kind: Kind,
    pub subject: String,
    pub created_at: i64,
    pub created_by: Option<String>,
    pub cancelled: bool,
    pub progress: Progress,
}

#[derive(sqlx::FromRow)]
struct MailingRow {
    id: i64,
    kind: String,
    subject: String,
    created_at: i64,
    created_by: Option<String>,
    cancelled_at: Option<i64>,
}

const SELECT_MAILINGS: &str =
    "SELECT m.id, m.kind, m.subject, m.created_at, u.name AS created_by, m.cancelled_at \
     FROM mailings m LEFT JOIN users u ON u.id = m.created_by";

/// Mailing rows with their progress: two queries whatever the count.
async fn with_progress(db: &Db, rows: Vec<MailingRow>) -> Result<Vec<Mailing>, sqlx::Error> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut progress = progress(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| Mailing {
            id: r.id,
            kind: if r.kind == "page" {
                Kind::Page
            } else {
                Kind::Digest
            },
            subject: r.subject,
            created_at: r.created_at,
            created_by: r.created_by,
            cancelled: r.cancelled_at.is_some(),
            progress: progress
                .remove(&r.id)
                .unwrap_or_else(|| finish(Progress::default())),
        })
        .collect())
}

/// The newest mailings with their progress.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<Mailing>, sqlx::Error> {
    let rows = sqlx::query_as(&format!("{SELECT_MAILINGS} ORDER BY m.id DESC LIMIT ?"))
        .bind(limit)
        .fetch_all(db)
        .await?;
    with_progress(db, rows).await
}

pub async fn mailing(db: &Db, id: i64) -> Result<Option<Mailing>, sqlx::Error> {
    let rows = sqlx::query_as(&format!("{SELECT_MAILINGS} WHERE m.id = ?"))
        .bind(id)
        .fetch_all(db)
        .await?;
    Ok(with_progress(db, rows).await?.pop())
}

/// Counts per state for the given mailings, in one `GROUP BY`.
pub async fn progress(db: &Db, mailings: &[i64]) -> Result<HashMap<i64, Progress>, sqlx::Error> {
    if mailings.is_empty() {
        return Ok(HashMap::new());
    }
    // (COUNT, not SUM: MariaDB sums to DECIMAL, which the Any driver refuses.)
    let sql = format!(
        "SELECT mailing_id, status, COUNT(*), COUNT(CASE WHEN interrupted > 0 THEN 1 END), \
         COUNT(CASE WHEN attempts > 0 AND status = 'queued' THEN 1 END) \
         FROM deliveries WHERE mailing_id IN ({}) GROUP BY mailing_id, status",
        crate::comics::placeholders(mailings.len())
    );
    let mut query = sqlx::query_as::<_, (i64, String, i64, i64, i64)>(&sql);
    for id in mailings {
        query = query.bind(*id);
    }
    let mut out: HashMap<i64, Progress> = HashMap::new();
    for (mailing, status, n, interrupted, retrying) in query.fetch_all(db).await? {
        let p = out.entry(mailing).or_default();
        p.total += n;
        p.interrupted += interrupted;
        p.retrying += retrying;
        match status.as_str() {
            "queued" => p.queued += n,
            "sending" => p.sending += n,
            "sent" => p.sent += n,
            "failed" => p.failed += n,
            "skipped" => p.skipped += n,
            _ => p.cancelled += n,
        }
    }
    Ok(out.into_iter().map(|(k, v)| (k, finish(v))).collect())
}

fn finish(mut p: Progress) -> Progress {
    let finished = p.sent + p.failed + p.skipped + p.cancelled;
    p.percent = if p.total == 0 {
        100
    } else {
        finished * 100 / p.total
    };
    p.done = p.queued + p.sending == 0;
    p
}

/// A recipient the admin should know about: failed, or failing for now.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Trouble {
    pub email: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
}

pub async fn troubles(db: &Db, mailing: i64, limit: i64) -> Result<Vec<Trouble>, sqlx::Error> {
    sqlx::query_as(
        "SELECT email, status, attempts, next_attempt_at, last_error FROM deliveries \
         WHERE mailing_id = ? AND last_error IS NOT NULL AND status IN ('queued', 'failed') \
         ORDER BY id LIMIT ?",
    )
    .bind(mailing)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Whether the mailing was stopped (checked before every send).
pub async fn is_cancelled(db: &Db, mailing: i64) -> Result<bool, sqlx::Error> {
    let cancelled: Option<Option<i64>> =
        sqlx::query_scalar("SELECT cancelled_at FROM mailings WHERE id = ?")
            .bind(mailing)
            .fetch_optional(db)
            .await?;
    Ok(cancelled.is_none_or(|c| c.is_some()))
}

/// Puts every failed delivery of a mailing back in the queue (not for a
/// stopped mailing).
pub async fn retry_failed(db: &Db, mailing: i64, now: i64) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE deliveries SET status = 'queued', attempts = 0, next_attempt_at = ? \
         WHERE mailing_id = ? AND status = 'failed' \
         AND EXISTS (SELECT 1 FROM mailings m WHERE m.id = ? AND m.cancelled_at IS NULL)",
    )
    .bind(now)
    .bind(mailing)
    .bind(mailing)
    .execute(db)
    .await?
    .rows_affected())
}

/// Stops a mailing: what is still queued is not sent.
pub async fn cancel(db: &Db, mailing: i64, now: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    sqlx::query("UPDATE mailings SET cancelled_at = ? WHERE id = ? AND cancelled_at IS NULL")
        .bind(now)
        .bind(mailing)
        .execute(&mut *tx)
        .await?;
    let n = sqlx::query(
        "UPDATE deliveries SET status = 'cancelled' WHERE mailing_id = ? AND status = 'queued'",
    )
    .bind(mailing)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(n)
}

/// Confirmation mails not sent yet, and those given up.
pub async fn confirmation_backlog(db: &Db) -> Result<(i64, i64), sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, COUNT(*) FROM deliveries WHERE kind = 'confirm' \
         AND status IN ('queued', 'sending', 'failed') GROUP BY status",
    )
    .fetch_all(db)
    .await?;
    let failed = rows
        .iter()
        .filter(|(s, _)| s == "failed")
        .map(|(_, n)| n)
        .sum();
    let waiting = rows
        .iter()
        .filter(|(s, _)| s != "failed")
        .map(|(_, n)| n)
        .sum();
    Ok((waiting, failed))
}

/// Pages that went live since automatic mailing was switched on and that no
/// automatic mailing has announced yet, oldest first.
pub async fn unannounced_pages(
    db: &Db,
    since: i64,
    now: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(concat!(
        "SELECT p.id FROM pages p WHERE p.live_at > ? AND ",
        crate::visible!("p"),
        " AND NOT EXISTS (SELECT 1 FROM mailing_pages mp WHERE mp.auto_page_id = p.id) \
         ORDER BY p.live_at, p.position, p.id LIMIT ?"
    ))
    .bind(since)
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Which of these pages any mailing has shown already.
pub async fn mailed_pages(db: &Db, pages: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    if pages.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT DISTINCT page_id FROM mailing_pages WHERE page_id IN ({})",
        crate::comics::placeholders(pages.len())
    );
    let mut query = sqlx::query_scalar(&sql);
    for id in pages {
        query = query.bind(*id);
    }
    query.fetch_all(db).await
}
