//! Work exactly one node does at a time (the watchdog, scheduled backups):
//! a node holds a named lease until a deadline and renews it while it
//! works; when it dies, another node takes over after the deadline.

use crate::db::Db;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Takes (or renews) `name` for `owner` for `ttl_ms`. True when held.
///
/// Two single statements, no transaction: the conditional UPDATE decides
/// between nodes, and no lock is held across an await (a node frozen
/// between statements cannot keep SQLite's write lock from the others).
pub async fn acquire(db: &Db, name: &str, owner: &str, ttl_ms: i64) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let taken = sqlx::query(
        "UPDATE leases SET owner = ?, until_ms = ? WHERE name = ? AND (owner = ? OR until_ms < ?)",
    )
    .bind(owner)
    .bind(now + ttl_ms)
    .bind(name)
    .bind(owner)
    .bind(now)
    .execute(db)
    .await?;
    if taken.rows_affected() > 0 {
        return Ok(true);
    }
    match sqlx::query("INSERT INTO leases (name, owner, until_ms) VALUES (?, ?, ?)")
        .bind(name)
        .bind(owner)
        .bind(now + ttl_ms)
        .execute(db)
        .await
    {
        Ok(_) => Ok(true),
        // The row exists and another live node holds it.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Gives the lease up (only if still ours), so another node need not wait.
pub async fn release(db: &Db, name: &str, owner: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE leases SET until_ms = 0 WHERE name = ? AND owner = ?")
        .bind(name)
        .bind(owner)
        .execute(db)
        .await
        .map(|_| ())
}

/// Every lease: name, holder, until when (ms). For the System page.
pub async fn list(db: &Db) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT name, owner, until_ms FROM leases ORDER BY name")
        .fetch_all(db)
        .await
}
