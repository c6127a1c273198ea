//! The `subscribers` table: one row per address, pending → confirmed →
//! unsubscribed (and back).

use serde::Serialize;

use crate::db::{self, Db};
use crate::email::EmailAddress;

/// Seconds before a second confirmation mail goes to the same address:
/// the form must not become a way to flood somebody's inbox.
pub const CONFIRM_RESEND_SECS: i64 = 60 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Confirmed,
    Unsubscribed,
}

impl Status {
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "pending" => Some(Status::Pending),
            "confirmed" => Some(Status::Confirmed),
            "unsubscribed" => Some(Status::Unsubscribed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Confirmed => "confirmed",
            Status::Unsubscribed => "unsubscribed",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Subscriber {
    pub id: i64,
    pub email: String,
    pub status: Status,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    pub unsubscribed_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    email: String,
    status: String,
    created_at: i64,
    confirmed_at: Option<i64>,
    unsubscribed_at: Option<i64>,
}

impl From<Row> for Subscriber {
    fn from(r: Row) -> Self {
        Subscriber {
            id: r.id,
            email: r.email,
            status: Status::parse(&r.status).unwrap_or(Status::Pending),
            created_at: r.created_at,
            confirmed_at: r.confirmed_at,
            unsubscribed_at: r.unsubscribed_at,
        }
    }
}

const COLUMNS: &str = "id, email, status, created_at, confirmed_at, unsubscribed_at";

pub async fn by_id(db: &Db, id: i64) -> Result<Option<Subscriber>, sqlx::Error> {
    let row: Option<Row> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM subscribers WHERE id = ?"))
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(row.map(Into::into))
}

/// What a filled-in subscribe form led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscribed {
    /// New (or returning) address: a confirmation mail is queued for it.
    ConfirmationQueued(i64),
    /// Still pending and a confirmation went out a moment ago: nothing new.
    RecentlyAsked,
    /// Confirmed already: nothing changes, nothing is sent.
    AlreadyConfirmed,
}

/// Records the address as pending (unless confirmed) and queues the
/// confirmation mail, in one transaction.
pub async fn subscribe(db: &Db, email: &EmailAddress, now: i64) -> Result<Subscribed, sqlx::Error> {
    match try_subscribe(db, email, now).await {
        // The same new address sent twice at once (MariaDB lets both read
        // "absent"): the second insert loses; read again.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            try_subscribe(db, email, now).await
        }
        other => other,
    }
}

async fn try_subscribe(db: &Db, email: &EmailAddress, now: i64) -> Result<Subscribed, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let existing: Option<(i64, String, Option<i64>)> =
        sqlx::query_as("SELECT id, status, confirm_sent_at FROM subscribers WHERE email = ?")
            .bind(email.as_str())
            .fetch_optional(&mut *tx)
            .await?;
    let id = match existing {
        Some((_, status, _)) if status == "confirmed" => {
            return Ok(Subscribed::AlreadyConfirmed);
        }
        Some((_, status, Some(sent)))
            if status == "pending" && now - sent < CONFIRM_RESEND_SECS =>
        {
            return Ok(Subscribed::RecentlyAsked);
        }
        Some((id, _, _)) => {
            sqlx::query(
                "UPDATE subscribers SET status = 'pending', confirm_sent_at = ?, \
                 unsubscribed_at = NULL WHERE id = ?",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            id
        }
        None => {
            let result = sqlx::query(
                "INSERT INTO subscribers (email, status, created_at, confirm_sent_at) \
                 VALUES (?, 'pending', ?, ?)",
            )
            .bind(email.as_str())
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            db::dialect::inserted_id(&mut tx, &result).await?
        }
    };
    super::outbox::queue_confirmation(&mut tx, id, email.as_str(), now).await?;
    tx.commit().await?;
    Ok(Subscribed::ConfirmationQueued(id))
}

/// → confirmed (the caller checked a signed confirmation link). One who
/// unsubscribed after asking confirms their wish again by clicking their own
/// link. Returns false when already confirmed (or gone).
pub async fn confirm(db: &Db, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE subscribers SET status = 'confirmed', confirmed_at = ?, unsubscribed_at = NULL \
         WHERE id = ? AND status <> 'confirmed'",
    )
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Any state → unsubscribed; mails still queued for them are skipped when
/// their turn comes.
pub async fn unsubscribe(db: &Db, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = ? \
         WHERE id = ? AND status <> 'unsubscribed'",
    )
    .bind(now)
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes the address and everything sent or queued for it.
pub async fn delete(db: &Db, id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    sqlx::query("DELETE FROM deliveries WHERE subscriber_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let done = sqlx::query("DELETE FROM subscribers WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}

/// Adds a confirmed address directly (the operator's import path and tests'
/// arrange step; readers always go through the double opt-in).
pub async fn insert_confirmed(db: &Db, email: &EmailAddress, now: i64) -> Result<i64, sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    let result = sqlx::query(
        "INSERT INTO subscribers (email, status, created_at, confirmed_at) \
         VALUES (?, 'confirmed', ?, ?)",
    )
    .bind(email.as_str())
    .bind(now)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    db::dialect::inserted_id(&mut conn, &result).await
}

/// The admin's list: an optional search in addresses and a status filter.
pub struct Filter<'a> {
    pub query: &'a str,
    pub status: Option<Status>,
    pub offset: i64,
    pub limit: i64,
}

/// One page of the filtered list, and how many rows match in all.
pub async fn list(db: &Db, filter: &Filter<'_>) -> Result<(Vec<Subscriber>, i64), sqlx::Error> {
    // `LIKE` with the user's text escaped: `%` and `_` are literal here.
    // (`!` escapes, not a backslash, which MariaDB and SQLite read differently.)
    let pattern = format!(
        "%{}%",
        filter
            .query
            .trim()
            .to_lowercase()
            .replace('!', "!!")
            .replace('%', "!%")
            .replace('_', "!_")
    );
    let status = filter.status.map(Status::as_str).unwrap_or("");
    let filter_sql = "WHERE email LIKE ? ESCAPE '!' AND (? = '' OR status = ?)";
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM subscribers {filter_sql}"))
        .bind(&pattern)
        .bind(status)
        .bind(status)
        .fetch_one(db)
        .await?;
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM subscribers {filter_sql} ORDER BY id DESC LIMIT ? OFFSET ?"
    ))
    .bind(&pattern)
    .bind(status)
    .bind(status)
    .bind(filter.limit)
    .bind(filter.offset)
    .fetch_all(db)
    .await?;
    Ok((rows.into_iter().map(Into::into).collect(), total))
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counts {
    pub pending: i64,
    pub confirmed: i64,
    pub unsubscribed: i64,
}

pub async fn counts(db: &Db) -> Result<Counts, sqlx::Error> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM subscribers GROUP BY status")
            .fetch_all(db)
            .await?;
    let mut counts = Counts::default();
    for (status, n) in rows {
        match Status::parse(&status) {
            Some(Status::Pending) => counts.pending = n,
            Some(Status::Confirmed) => counts.confirmed = n,
            Some(Status::Unsubscribed) => counts.unsubscribed = n,
            None => {}
        }
    }
    Ok(counts)
}

/// Every confirmed subscriber, oldest first (the export).
pub async fn confirmed(db: &Db) -> Result<Vec<Subscriber>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM subscribers WHERE status = 'confirmed' ORDER BY id"
    ))
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}
