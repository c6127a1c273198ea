//! Where SQLite and MariaDB disagree. Everything else is shared SQL.

use crate::config::Backend;

/// Statements run on every new connection.
pub fn session_setup(backend: Backend) -> &'static [&'static str] {
    match backend {
        // WAL lets readers proceed while a writer commits; NORMAL sync is
        // durable across application crashes, which is what WAL mode promises.
        Backend::Sqlite => &[
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = NORMAL",
            "PRAGMA foreign_keys = ON",
            // busy_timeout: set by `Db::connect` from the settings.
        ],
        // Timestamps are integers, but keep the session in UTC so nothing
        // server-side ever shifts a value by the host's zone. wait_timeout:
        // a node that dies mid-transaction (power cut, lost network) leaves
        // its connection and row locks behind until the server drops it;
        // five minutes, not the default eight hours.
        Backend::MySql => &[
            "SET time_zone = '+00:00'",
            "SET NAMES utf8mb4",
            "SET SESSION wait_timeout = 300",
        ],
    }
}

/// The `BEGIN` of a read-then-write transaction (see `Db::begin_write`).
pub fn begin_write(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::MySql => "BEGIN",
    }
}

/// Locks the rows a read-then-write transaction read (MariaDB); SQLite's
/// `BEGIN IMMEDIATE` already holds the database's write lock.
pub fn for_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "",
        Backend::MySql => " FOR UPDATE",
    }
}

/// `INSERT … ON CONFLICT` (SQLite) versus `ON DUPLICATE KEY` (MariaDB) for settings.
pub fn upsert_setting(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "INSERT INTO settings (name, value) VALUES (?, ?) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        }
        Backend::MySql => {
            "INSERT INTO settings (name, value) VALUES (?, ?) \
             ON DUPLICATE KEY UPDATE value = VALUES(value)"
        }
    }
}

/// `INSERT` that skips a row whose key exists (link tables, claims).
pub fn insert_ignore(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "INSERT OR IGNORE",
        Backend::MySql => "INSERT IGNORE",
    }
}

/// `ORDER BY` a random value.
pub fn random(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "RANDOM()",
        Backend::MySql => "RAND()",
    }
}

/// A setting inserted only if it does not exist yet.
pub fn insert_ignore_setting(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)",
        Backend::MySql => "INSERT IGNORE INTO settings (name, value) VALUES (?, ?)",
    }
}

/// The id of the row an `INSERT` just created on this connection.
///
/// MariaDB reports it with the result; sqlx's `Any` driver drops it for
/// SQLite, which is asked with `last_insert_rowid()` on the same connection.
pub async fn inserted_id(
    conn: &mut sqlx::AnyConnection,
    result: &sqlx::any::AnyQueryResult,
) -> Result<i64, sqlx::Error> {
    match result.last_insert_id() {
        Some(id) => Ok(id),
        None => {
            sqlx::query_scalar("SELECT last_insert_rowid()")
                .fetch_one(conn)
                .await
        }
    }
}
