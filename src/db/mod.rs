//! The one data-access layer for SQLite and MariaDB.
//!
//! Both engines speak through sqlx's `Any` driver with `?` placeholders, so a
//! query is written once. Where the dialects differ, the difference is named
//! in [`dialect`] and nowhere else. Queries themselves live in the domain
//! module that owns the table (`comics::pages`, `media::store`, …).

pub mod dialect;
mod executor;
mod text;

pub use text::DbText;

use std::str::FromStr;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{MigrateDatabase, Migrator};
use sqlx::{AnyPool, Executor};

use crate::config::{Backend, Config};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static MYSQL_MIGRATIONS: Migrator = sqlx::migrate!("migrations/mysql");

/// A connection pool plus the engine behind it.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl Db {
    /// Opens the pool, creating the database (and SQLite's directory) if missing.
    #[tracing::instrument(skip_all, fields(backend))]
    pub async fn connect(config: &Config) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = config.backend()?;
        tracing::Span::current().record("backend", tracing::field::debug(backend));
        let url = config.database_url();
        if backend == Backend::Sqlite {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
        }
        if !sqlx::Any::database_exists(&url).await.unwrap_or(false) {
            tracing::info!("database does not exist yet; creating it");
            sqlx::Any::create_database(&url)
                .await
                .context("cannot create the database")?;
        }
        let options = AnyConnectOptions::from_str(&url)
            .context("database_url is not a valid database URL")?;
        let busy_ms = config.database.sqlite_busy_timeout_ms;
        let pool = AnyPoolOptions::new()
            // A SQLite connection is a file handle that cannot go stale;
            // pinging it before every query only costs a worker round trip.
            .test_before_acquire(backend == Backend::MySql)
            .max_connections(config.database.pool_size(backend))
            .min_connections(0)
            .acquire_timeout(config.acquire_timeout())
            // Below MariaDB's session wait_timeout (see `dialect`).
            .idle_timeout(std::time::Duration::from_secs(120))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    for statement in dialect::session_setup(backend) {
                        conn.execute(*statement).await?;
                    }
                    if backend == Backend::Sqlite {
                        // How long a statement waits for another process's
                        // write lock (a command beside the running site).
                        conn.execute(format!("PRAGMA busy_timeout = {busy_ms}").as_str())
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .context("cannot connect to the database (check database_url)")?;
        Ok(Self { pool, backend })
    }

    /// Opens the database only if it already exists (nothing is created):
    /// for commands that must write nothing, like `import --dry-run`.
    pub async fn connect_existing(config: &Config) -> anyhow::Result<Option<Self>> {
        sqlx::any::install_default_drivers();
        let url = config.database_url();
        if !sqlx::Any::database_exists(&url).await.unwrap_or(false) {
            return Ok(None);
        }
        Self::connect(config).await.map(Some)
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A transaction that reads, then writes what it read decides. SQLite
    /// must take the write lock at `BEGIN` for that: a deferred transaction
    /// that reads first fails ("database is locked", SQLITE_BUSY_SNAPSHOT)
    /// when another writer commits in between, and waiting does not help.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        self.pool
            .begin_with(dialect::begin_write(self.backend))
            .await
    }

    fn migrator(backend: Backend) -> &'static Migrator {
        match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::MySql => &MYSQL_MIGRATIONS,
        }
    }

    /// The newest schema this build knows (the same for both engines).
    pub fn latest_schema(backend: Backend) -> i64 {
        Self::migrator(backend)
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0)
    }

    /// Whether this build has the migration `version` (a restore refuses
    /// an archive of a schema it cannot name).
    pub fn knows_schema(backend: Backend, version: i64) -> bool {
        version == 0 || Self::migrator(backend).version_exists(version)
    }

    /// Applies migrations up to `version` only: a restore loads an older
    /// archive into the schema it was made with, then migrates the rest,
    /// so data migrations run on its rows as they did on the original.
    pub async fn migrate_to(&self, version: i64) -> anyhow::Result<()> {
        use sqlx::migrate::Migrate;
        let mut conn = self.pool.acquire().await?;
        conn.ensure_migrations_table().await?;
        let applied: std::collections::HashSet<i64> = conn
            .list_applied_migrations()
            .await?
            .into_iter()
            .map(|m| m.version)
            .collect();
        for m in Self::migrator(self.backend).iter() {
            if m.version <= version
                && m.migration_type.is_up_migration()
                && !applied.contains(&m.version)
            {
                conn.apply(m)
                    .await
                    .with_context(|| format!("migration {} failed", m.version))?;
            }
        }
        Ok(())
    }

    /// Applies pending migrations for this engine.
    #[tracing::instrument(skip_all)]
    pub async fn migrate(&self) -> anyhow::Result<()> {
        Self::migrator(self.backend)
            .run(&self.pool)
            .await
            .context("database migration failed")?;
        tracing::info!("database schema is up to date");
        Ok(())
    }

    /// A cheap read of a real table, for `/readyz`: `SELECT 1` alone never
    /// touches SQLite's file, so it answers while the file cannot be read.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT COUNT(*) FROM settings")
            .execute(self)
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Current time as Unix seconds (UTC), the only time format stored.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Backend {
    /// The engine behind an open connection (for the dialect seam).
    pub fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            Backend::Sqlite
        } else {
            Backend::MySql
        }
    }
}
