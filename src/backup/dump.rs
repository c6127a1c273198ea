//! A database-neutral copy of every table: one JSON line per row.
//!
//! Logical rather than a file copy, so a SQLite backup restores into
//! MariaDB and back (which is how a site moves between engines). A value is
//! JSON `null`, an integer, a float, a string, or `{"hex": …}` for bytes
//! that are not UTF-8 (the schema has no binary columns today; MariaDB
//! sends `TEXT` as bytes, which are written as the text they are).

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use anyhow::Context;
use futures_util::TryStreamExt;
use serde_json::Value;
use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{AnyConnection, Row, ValueRef};

use crate::config::Backend;

/// sqlx's own bookkeeping; the archive records the schema version instead,
/// because each engine's migration files (and checksums) differ.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// What running nodes say about themselves (heartbeats, job progress, when
/// an alert was last mailed): about the machines, not the comic. A restored
/// site starts with none of it, so old nodes never show up as "gone".
const OPERATIONAL: &[&str] = &["nodes", "jobs", "alerts"];

/// The site's tables, by name, in a stable order.
pub async fn tables(conn: &mut AnyConnection) -> Result<Vec<String>, sqlx::Error> {
    let sql = match Backend::of(conn) {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Backend::MySql => {
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name"
        }
    };
    let names: Vec<String> = sqlx::query_scalar(sql).fetch_all(&mut *conn).await?;
    Ok(names
        .into_iter()
        .filter(|n| n != MIGRATIONS_TABLE && !OPERATIONAL.contains(&n.as_str()))
        .collect())
}

/// The newest migration applied to this database (0 for an empty one).
pub async fn schema_version(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    let exists = tables_including_migrations(conn).await?;
    if !exists {
        return Ok(0);
    }
    sqlx::query_scalar::<_, i64>(
        "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success = TRUE",
    )
    .fetch_one(&mut *conn)
    .await
}

async fn tables_including_migrations(conn: &mut AnyConnection) -> Result<bool, sqlx::Error> {
    let sql = match Backend::of(conn) {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Backend::MySql => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = '_sqlx_migrations'"
        }
    };
    let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut *conn).await?;
    Ok(n > 0)
}

/// A table's column names, in table order (also for an empty table).
pub async fn columns(conn: &mut AnyConnection, table: &str) -> Result<Vec<String>, sqlx::Error> {
    let sql = match Backend::of(conn) {
        Backend::Sqlite => format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
        Backend::MySql => format!(
            "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = '{table}' ORDER BY ordinal_position"
        ),
    };
    sqlx::query_scalar(&sql).fetch_all(&mut *conn).await
}

/// Table names come from the database's own catalogue; this keeps anything
/// else out of the identifiers spliced into SQL.
pub fn check_identifier(name: &str) -> anyhow::Result<()> {
    if !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(())
    } else {
        anyhow::bail!("unexpected table or column name {name:?} in the archive")
    }
}

/// An identifier (checked by [`check_identifier`]) quoted for both
/// engines: SQLite accepts MariaDB's backticks.
pub fn quoted(name: &str) -> String {
    format!("`{name}`")
}

/// Writes one table as JSON lines (the first line lists the columns) and
/// returns the row count. Runs inside the caller's snapshot transaction.
pub async fn write_table(
    conn: &mut AnyConnection,
    table: &str,
    out: &mut impl Write,
) -> anyhow::Result<u64> {
    check_identifier(table)?;
    let columns = columns(conn, table).await?;
    serde_json::to_writer(&mut *out, &columns)?;
    out.write_all(b"\n")?;
    let list = columns
        .iter()
        .map(|c| quoted(c))
        .collect::<Vec<_>>()
        .join(", ");
    // Rows in primary-key order, so two backups of the same data are the
    // same bytes (and a diff of two archives means something).
    let sql = format!("SELECT {list} FROM {} ORDER BY 1", quoted(table));
    let mut rows = sqlx::query(&sql).fetch(&mut *conn);
    let mut count = 0;
    let mut line = Vec::with_capacity(columns.len());
    while let Some(row) = rows.try_next().await? {
        line.clear();
        for (i, column) in columns.iter().enumerate() {
            line.push(
                value(&row, i).with_context(|| {
                    format!("cannot read {table}.{column} of row {}", count + 1)
                })?,
            );
        }
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
        count += 1;
    }
    Ok(count)
}

fn value(row: &AnyRow, i: usize) -> anyhow::Result<Value> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().kind();
    Ok(match kind {
        AnyTypeInfoKind::Null => Value::Null,
        AnyTypeInfoKind::Bool => Value::from(i64::from(row.try_get::<bool, _>(i)?)),
        AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => {
            Value::from(row.try_get::<i64, _>(i)?)
        }
        AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => {
            let f: f64 = row.try_get(i)?;
            serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
        }
        AnyTypeInfoKind::Text => Value::from(row.try_get::<String, _>(i)?),
        AnyTypeInfoKind::Blob => {
            let bytes: Vec<u8> = row.try_get(i)?;
            match String::from_utf8(bytes) {
                Ok(text) => Value::from(text),
                Err(e) => {
                    let mut tagged = serde_json::Map::new();
                    tagged.insert("hex".into(), Value::from(hex::encode(e.into_bytes())));
                    Value::Object(tagged)
                }
            }
        }
    })
}

/// One table read back from its JSON lines.
pub struct TableRows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

pub fn read_table(input: impl BufRead, table: &str) -> anyhow::Result<TableRows> {
    let mut lines = input.lines();
    let header = lines
        .next()
        .with_context(|| format!("the dump of {table} is empty"))??;
    let columns: Vec<String> = serde_json::from_str(&header)
        .with_context(|| format!("the dump of {table} has a damaged header"))?;
    for c in &columns {
        check_identifier(c)?;
    }
    let mut rows = Vec::new();
    for (n, line) in lines.enumerate() {
        let line = line?;
        let row: Vec<Value> = serde_json::from_str(&line)
            .with_context(|| format!("row {} of {table} is damaged", n + 1))?;
        if row.len() != columns.len() {
            anyhow::bail!(
                "row {} of {table} has {} values for {} columns",
                n + 1,
                row.len(),
                columns.len()
            );
        }
        rows.push(row);
    }
    Ok(TableRows { columns, rows })
}

/// Inserts rows in batches (bound parameters, never spliced values).
/// Foreign keys are off on this connection while a restore loads tables
/// in any order; the caller checks them afterwards.
pub async fn load_table(
    conn: &mut AnyConnection,
    table: &str,
    data: &TableRows,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<()> {
    check_identifier(table)?;
    if data.rows.is_empty() {
        return Ok(());
    }
    let present = columns(conn, table).await?;
    if present.is_empty() {
        anyhow::bail!("the archive has a table {table} that this Halftone does not know");
    }
    for c in &data.columns {
        if !present.contains(c) {
            anyhow::bail!("the archive's {table}.{c} does not exist in this Halftone's schema");
        }
    }
    let per_row = data.columns.len().max(1);
    let batch = (4000 / per_row).max(1);
    let row_sql = format!("({})", vec!["?"; per_row].join(", "));
    let head = format!(
        "INSERT INTO {} ({}) VALUES ",
        quoted(table),
        data.columns
            .iter()
            .map(|c| quoted(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for chunk in data.rows.chunks(batch) {
        let sql = format!("{head}{}", vec![row_sql.as_str(); chunk.len()].join(", "));
        let mut query = sqlx::query(&sql);
        for row in chunk {
            for v in row {
                query = match v {
                    Value::Null => query.bind(None::<String>),
                    Value::Bool(b) => query.bind(i64::from(*b)),
                    Value::Number(n) => match n.as_i64() {
                        Some(i) => query.bind(i),
                        None => query.bind(n.as_f64().unwrap_or_default()),
                    },
                    Value::String(s) => query.bind(s.as_str()),
                    Value::Object(o) => match o.get("hex").and_then(Value::as_str) {
                        Some(h) => query.bind(hex::decode(h).context("damaged bytes value")?),
                        None => anyhow::bail!("unexpected value in {table}"),
                    },
                    Value::Array(_) => anyhow::bail!("unexpected value in {table}"),
                };
            }
        }
        query
            .execute(&mut *conn)
            .await
            .with_context(|| format!("cannot restore the rows of {table}"))?;
        progress(chunk.len() as u64);
    }
    Ok(())
}

/// Rows per table of a live database (for the manifest and the check
/// after a restore).
pub async fn counts(conn: &mut AnyConnection) -> anyhow::Result<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    for table in tables(conn).await? {
        check_identifier(&table)?;
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", quoted(&table)))
            .fetch_one(&mut *conn)
            .await?;
        out.insert(table, n as u64);
    }
    Ok(out)
}
