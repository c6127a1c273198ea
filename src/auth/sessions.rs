//! Server-side sessions. The browser holds a random token; the database
//! holds its SHA-256, the user and the CSRF token. Deleting rows ends
//! sessions everywhere (logout, password change).

use super::users::{Role, User};
use crate::db::Db;

pub const COOKIE: &str = "halftone_session";
/// A session ends after this long without use…
pub const IDLE_SECS: i64 = 7 * 24 * 3600;
/// …and after this long in any case.
pub const ABSOLUTE_SECS: i64 = 30 * 24 * 3600;

pub use crate::tokens::{hash_token, random_token};

/// A logged-in request's identity.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub token_hash: String,
}

/// Starts a session; returns the token for the cookie.
pub async fn create(db: &Db, user_id: i64) -> Result<String, sqlx::Error> {
    let token = random_token();
    let now = crate::db::now();
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(random_token())
    .bind(now)
    .bind(now)
    .bind(now + IDLE_SECS)
    .execute(db)
    .await?;
    Ok(token)
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    user_id: i64,
    email: String,
    name: String,
    role: String,
    csrf_token: String,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
}

/// The session for a cookie token, if it exists and has not expired. Use
/// pushes the idle expiry forward (at most once a minute, to spare writes).
pub async fn lookup(db: &Db, token: &str) -> Result<Option<Session>, sqlx::Error> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let token_hash = hash_token(token);
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT s.user_id, u.email, u.name, u.role, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at \
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
    )
    .bind(&token_hash)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let now = crate::db::now();
    if row.expires_at <= now || row.created_at + ABSOLUTE_SECS <= now {
        delete(db, &token_hash).await?;
        return Ok(None);
    }
    if now - row.last_seen_at >= 60 {
        sqlx::query("UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE token_hash = ?")
            .bind(now)
            .bind((now + IDLE_SECS).min(row.created_at + ABSOLUTE_SECS))
            .bind(&token_hash)
            .execute(db)
            .await?;
    }
    Ok(Some(Session {
        user: User {
            id: row.user_id,
            email: row.email,
            name: row.name,
            role: Role::parse(&row.role).unwrap_or(Role::Editor),
        },
        csrf_token: row.csrf_token,
        token_hash,
    }))
}

pub async fn delete(db: &Db, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
        .bind(token_hash)
        .execute(db)
        .await
        .map(|_| ())
}

/// Ends every session of a user, except (optionally) the current one.
pub async fn delete_for_user(db: &Db, user_id: i64, keep: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?")
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(db)
        .await
        .map(|_| ())
}

/// Drops expired sessions (called now and then).
pub async fn purge_expired(db: &Db) -> Result<u64, sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE expires_at <= ?")
        .bind(crate::db::now())
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

/// Whether a session still exists (for long-lived connections).
pub async fn exists(db: &Db, token_hash: &str) -> Result<bool, sqlx::Error> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM sessions WHERE token_hash = ? AND expires_at > ?")
            .bind(token_hash)
            .bind(crate::db::now())
            .fetch_optional(db)
            .await?;
    Ok(found.is_some())
}

/// Browsers that have logged into an account (see `ratelimit`).
pub mod devices {
    use crate::db::Db;

    pub const COOKIE: &str = "halftone_device";
    /// A year: a device stays known across sessions.
    pub const MAX_AGE_DAYS: i64 = 365;

    /// Remembers this browser for `user`; returns the cookie's token.
    pub async fn remember(db: &Db, user: i64) -> Result<String, sqlx::Error> {
        let token = super::random_token();
        sqlx::query("INSERT INTO login_devices (token_hash, user_id, created_at) VALUES (?, ?, ?)")
            .bind(super::hash_token(&token))
            .bind(user)
            .bind(crate::db::now())
            .execute(db)
            .await?;
        Ok(token)
    }

    /// Whether the cookie's token is a device known to the account `email`.
    pub async fn is_known(db: &Db, token: &str, email: &str) -> Result<bool, sqlx::Error> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT d.user_id FROM login_devices d JOIN users u ON u.id = d.user_id \
             WHERE d.token_hash = ? AND u.email = ? AND d.created_at > ?",
        )
        .bind(super::hash_token(token))
        .bind(email)
        .bind(crate::db::now() - MAX_AGE_DAYS * 86_400)
        .fetch_optional(db)
        .await?;
        Ok(found.is_some())
    }
}
