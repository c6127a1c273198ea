//! The analytics database (SQLite or MariaDB, its own database — never the
//! site's): migrations, the exactly-once batch commit, and the dashboard's
//! queries. Where the engines differ it says so here and nowhere else.

use crate::dialect::Engine;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::{AnyPool, Executor, Row};

use crate::aggregate::Aggregate;

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static MYSQL: Migrator = sqlx::migrate!("migrations/mysql");

/// Rows per multi-row INSERT (well under SQLite's bound-parameter limit).
const CHUNK: usize = 400;

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    url: String,
    engine: Engine,
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// Someone else (another process on the same database) moved the mark.
    #[error("the applied mark is {0}, not what this batch started from")]
    Moved(u64),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl Store {
    /// A lazy pool: the service starts, and takes hits, with the database down.
    pub fn new(url: &str, max_connections: u32) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let engine = Engine::of_url(url);
        let mut url = url.to_owned();
        if engine == Engine::Sqlite {
            if let Some(path) = url
                .strip_prefix("sqlite://")
                .map(|p| p.split('?').next().unwrap_or(p))
            {
                if let Some(parent) = std::path::Path::new(path)
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
        }
        let options = AnyConnectOptions::from_str(&url)
            .context("HALFTONE_ANALYTICS_DATABASE_URL is not a valid database URL")?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(3))
            // Below the server's wait_timeout, so the pool never hands out a
            // connection the server has already dropped.
            .idle_timeout(Duration::from_secs(60))
            .test_before_acquire(engine == Engine::MySql)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    for statement in engine.session_setup() {
                        conn.execute(*statement).await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy_with(options);
        Ok(Store { pool, url, engine })
    }

    /// Creates the database if needed and applies migrations.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        if self.engine == Engine::MySql
            && !sqlx::Any::database_exists(&self.url).await.unwrap_or(true)
        {
            sqlx::Any::create_database(&self.url)
                .await
                .context("cannot create the analytics database")?;
        }
        let migrator = match self.engine {
            Engine::MySql => &MYSQL,
            Engine::Sqlite => &SQLITE,
        };
        migrator
            .run(&self.pool)
            .await
            .context("analytics migration failed")?;
        Ok(())
    }

    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// The applied mark of one spool (each spool directory has its own row:
    /// a replaced spool volume starts a new sequence instead of hiding under
    /// the old one's mark). Makes the row on first use.
    pub async fn applied_seq(&self, spool: u64) -> Result<u64, sqlx::Error> {
        let sql = format!(
            "{} INTO spool_state (id, applied_seq) VALUES (?, 0)",
            self.engine.insert_ignore()
        );
        sqlx::query(&sql)
            .bind(spool as i64)
            .execute(&self.pool)
            .await?;
        let seq: i64 = sqlx::query_scalar("SELECT applied_seq FROM spool_state WHERE id = ?")
            .bind(spool as i64)
            .fetch_one(&self.pool)
            .await?;
        Ok(seq as u64)
    }

    /// Applies a batch and moves the applied mark from `from` to `agg.upto`,
    /// all in one transaction: either both happen or neither.
    pub async fn commit(&self, spool: u64, agg: &Aggregate, from: u64) -> Result<(), CommitError> {
        let mut tx = self.pool.begin().await?;
        // The mark first: it takes the write lock, and refuses a stale batch.
        let moved =
            sqlx::query("UPDATE spool_state SET applied_seq = ? WHERE id = ? AND applied_seq = ?")
                .bind(agg.upto as i64)
                .bind(spool as i64)
                .bind(from as i64)
                .execute(&mut *tx)
                .await?;
        if moved.rows_affected() != 1 {
            let actual: i64 =
                sqlx::query_scalar("SELECT applied_seq FROM spool_state WHERE id = ?")
                    .bind(spool as i64)
                    .fetch_one(&mut *tx)
                    .await?;
            tx.rollback().await?;
            return Err(CommitError::Moved(actual as u64));
        }
        let counts: Vec<_> = agg.counts.iter().collect();
        for chunk in counts.chunks(CHUNK) {
            let rows = vec!["(?, ?, ?, ?)"; chunk.len()].join(", ");
            let sql = self.engine.add_counts(&rows);
            let mut query = sqlx::query(&sql);
            for ((hour, metric, dim), n) in chunk {
                query = query.bind(*hour).bind(*metric).bind(dim.as_str()).bind(*n);
            }
            query.execute(&mut *tx).await?;
        }
        let visitors: Vec<_> = agg.visitors.iter().collect();
        for chunk in visitors.chunks(CHUNK) {
            let rows = vec!["(?, ?)"; chunk.len()].join(", ");
            let verb = self.engine.insert_ignore();
            let sql = format!("{verb} INTO visitors (hour, visitor) VALUES {rows}");
            let mut query = sqlx::query(&sql);
            for (hour, visitor) in chunk {
                query = query.bind(*hour).bind(*visitor);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Totals (dimension '') per metric over `[from, to)`.
    pub async fn totals(&self, from: i64, to: i64) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT CAST(metric AS CHAR) AS metric, CAST(SUM(n) AS SIGNED) AS n FROM counts \
             WHERE dim = '' AND hour >= ? AND hour < ? GROUP BY metric",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("metric")?, r.try_get("n")?)))
            .collect()
    }

    /// Page views per hour over `[from, to)`.
    pub async fn views_by_hour(&self, from: i64, to: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT hour, n FROM counts WHERE metric = 'views' AND dim = '' AND hour >= ? AND hour < ? ORDER BY hour",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("hour")?, r.try_get("n")?)))
            .collect()
    }

    pub async fn uniques_by_hour(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, i64)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT hour, COUNT(*) AS n FROM visitors WHERE hour >= ? AND hour < ? GROUP BY hour ORDER BY hour",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("hour")?, r.try_get("n")?)))
            .collect()
    }

    /// Unique visitors per UTC day (the hash is per day, so this is the
    /// finest honest figure above an hour): (day start, count).
    pub async fn uniques_by_day(&self, from: i64, to: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
        let day = self.engine.day_of("hour");
        let sql = format!(
            "SELECT {day} AS day, COUNT(DISTINCT visitor) AS n FROM visitors \
             WHERE hour >= ? AND hour < ? GROUP BY {day} ORDER BY day"
        );
        let rows = sqlx::query(&sql)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<i64, _>("day")? * 86_400, r.try_get("n")?)))
            .collect()
    }

    /// The `limit` largest dimensions of one metric over `[from, to)`.
    pub async fn top(
        &self,
        metric: &str,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT CAST(dim AS CHAR) AS dim, CAST(SUM(n) AS SIGNED) AS total FROM counts \
             WHERE metric = ? AND hour >= ? AND hour < ? GROUP BY dim ORDER BY total DESC, dim LIMIT ?",
        )
        .bind(metric)
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("dim")?, r.try_get("total")?)))
            .collect()
    }

    /// Every counter row over `[from, to)`, for CSV export.
    pub async fn rows(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, String, String, i64)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT hour, CAST(metric AS CHAR) AS metric, CAST(dim AS CHAR) AS dim, n FROM counts \
             WHERE hour >= ? AND hour < ? ORDER BY hour, metric, dim",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("hour")?,
                    r.try_get("metric")?,
                    r.try_get("dim")?,
                    r.try_get("n")?,
                ))
            })
            .collect()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
