//! Work exactly one node does at a time (the watchdog, scheduled backups):
//! a node holds a named lease until a deadline and renews it while it
//! works; when it dies, another node takes over after the deadline.

use crate::db::Db;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Takes (or renews) `name` for `owner` for `ttl_ms`. True when held.
pub async fn acquire(db: &Db, name: &str, owner: &str, ttl_ms: i64) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let mut tx = db.begin_write().await?;
    let held: Option<(String, i64)> = sqlx::query_as(&format!(
        "SELECT owner, until_ms FROM leases WHERE name = ?{}",
        crate::db::dialect::for_update(db.backend())
    ))
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?;
    let ours = match held {
        None => {
            sqlx::query("INSERT INTO leases (name, owner, until_ms) VALUES (?, ?, ?)")
                .bind(name)
                .bind(owner)
                .bind(now + ttl_ms)
                .execute(&mut *tx)
                .await?;
            true
        }
        Some((holder, until)) if holder == owner || until < now => {
            sqlx::query("UPDATE leases SET owner = ?, until_ms = ? WHERE name = ?")
                .bind(owner)
                .bind(now + ttl_ms)
                .bind(name)
                .execute(&mut *tx)
                .await?;
            true
        }
        Some(_) => false,
    };
    tx.commit().await?;
    Ok(ours)
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
