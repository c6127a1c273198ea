//! Where SQLite and MariaDB disagree, for the analytics store (the site's
//! twin is `halftone::db::dialect`). Everything else is shared SQL.

/// The engine behind the store's URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    MySql,
}

impl Engine {
    pub fn of_url(url: &str) -> Engine {
        if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else {
            Engine::MySql
        }
    }

    /// Statements run on every new connection.
    pub fn session_setup(self) -> &'static [&'static str] {
        match self {
            // wait_timeout: a connection left behind by a process that died
            // mid-commit (power cut, lost network) holds the spool mark's row
            // lock until the server drops it; two minutes, not eight hours.
            Engine::MySql => &[
                "SET time_zone = '+00:00'",
                "SET NAMES utf8mb4",
                "SET SESSION wait_timeout = 120",
            ],
            // FULL: a committed batch survives a power cut, so the spool
            // segments it let us delete are truly no longer needed (one
            // batch a second makes the extra fsync cheap).
            Engine::Sqlite => &[
                "PRAGMA journal_mode = WAL",
                "PRAGMA synchronous = FULL",
                "PRAGMA busy_timeout = 1000",
            ],
        }
    }

    /// `INSERT` that skips a row whose key exists.
    pub fn insert_ignore(self) -> &'static str {
        match self {
            Engine::MySql => "INSERT IGNORE",
            Engine::Sqlite => "INSERT OR IGNORE",
        }
    }

    /// Adds `n` to a counter row, creating it at `n`.
    pub fn add_counts(self, rows: &str) -> String {
        match self {
            Engine::MySql => format!(
                "INSERT INTO counts (hour, metric, dim, n) VALUES {rows} \
                 ON DUPLICATE KEY UPDATE n = n + VALUES(n)"
            ),
            Engine::Sqlite => format!(
                "INSERT INTO counts (hour, metric, dim, n) VALUES {rows} \
                 ON CONFLICT (hour, metric, dim) DO UPDATE SET n = counts.n + excluded.n"
            ),
        }
    }

    /// Integer division of an hour's start by a day's seconds.
    pub fn day_of(self, column: &str) -> String {
        match self {
            Engine::MySql => format!("{column} DIV 86400"),
            Engine::Sqlite => format!("{column} / 86400"),
        }
    }
}
