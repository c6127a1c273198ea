//! Long work with its progress in the `jobs` table, so the System page of
//! any node shows it wherever it runs (a `media sync` in a shell, an
//! import). Writes are throttled to one a second; a failed write is only
//! logged: progress reporting never stops the work.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use serde::Serialize;

use crate::db::Db;

pub struct Job {
    db: Db,
    name: &'static str,
    node: String,
    total: AtomicU64,
    done: AtomicU64,
    last_write_ms: AtomicI64,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobRow {
    pub name: String,
    pub node: String,
    pub state: String,
    pub done: i64,
    pub total: i64,
    pub detail: String,
    pub updated_at: i64,
}

impl Job {
    pub async fn start(db: &Db, name: &'static str, node: &str, total: u64, detail: &str) -> Self {
        let job = Self {
            db: db.clone(),
            name,
            node: node.to_owned(),
            total: AtomicU64::new(total),
            done: AtomicU64::new(0),
            last_write_ms: AtomicI64::new(0),
        };
        job.write("running", detail).await;
        job
    }

    /// Once the size of the work is known.
    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }

    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    /// Writes the progress if a second has passed since the last write.
    pub async fn tick(&self, detail: &str) {
        let now = chrono::Utc::now().timestamp_millis();
        let last = self.last_write_ms.load(Ordering::Relaxed);
        if now - last >= 1000
            && self
                .last_write_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.write("running", detail).await;
        }
    }

    pub async fn finish(&self, ok: bool, detail: &str) {
        self.write(if ok { "done" } else { "failed" }, detail).await;
    }

    async fn write(&self, state: &str, detail: &str) {
        let detail: String = detail.chars().take(1000).collect();
        let written = async {
            let mut tx = self.db.begin_write().await?;
            sqlx::query("DELETE FROM jobs WHERE name = ?")
                .bind(self.name)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO jobs (name, node, state, done, total, detail, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(self.name)
            .bind(&self.node)
            .bind(state)
            .bind(self.done.load(Ordering::Relaxed) as i64)
            .bind(self.total.load(Ordering::Relaxed) as i64)
            .bind(detail)
            .bind(crate::db::now())
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = written {
            tracing::warn!(job = self.name, error = %e, "cannot record the job's progress");
        }
    }
}

/// Every job's newest state, newest first.
pub async fn list(db: &Db) -> Result<Vec<JobRow>, sqlx::Error> {
    let rows: Vec<(String, String, String, i64, i64, String, i64)> = sqlx::query_as(
        "SELECT name, node, state, done, total, detail, updated_at FROM jobs \
         ORDER BY updated_at DESC, name",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(name, node, state, done, total, detail, updated_at)| JobRow {
                name,
                node,
                state,
                done,
                total,
                detail,
                updated_at,
            },
        )
        .collect())
}
