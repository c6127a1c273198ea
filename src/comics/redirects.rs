//! The `redirects` table: old addresses (a comic moved in from another
//! system, a page renamed) answered with a permanent redirect. The reader
//! side (`reader::legacy`) keeps them in memory; this file owns the SQL.

use sqlx::AnyConnection;

use crate::visible;

use crate::db::Db;

/// A redirect as the admin lists it.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Redirect {
    pub id: i64,
    pub from_path: String,
    pub page_id: Option<i64>,
    pub to_path: String,
    pub source: String,
    pub created_at: i64,
}

/// Where a redirect leads, resolved for the reader: a page (by its series
/// and current slug) or a fixed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Page { series_id: i64, slug: String },
    Path(String),
}

/// The form every address is compared in: the path without a trailing
/// slash (the root stays `/`), then `?` and the query's parameters sorted,
/// tracking parameters (`utm_*`, `fbclid`) dropped. `/comic/Page-1/` and
/// `/comic/Page-1` are one address; so are `/?post_type=comic&p=16` and
/// `/?p=16&post_type=comic`.
pub fn normalize(path: &str, query: &str) -> String {
    let path = canonical_escapes(path.trim());
    let path = path.as_str();
    let trimmed = path.trim_end_matches('/');
    let mut out = if trimmed.is_empty() {
        "/".to_owned()
    } else if trimmed.starts_with('/') {
        trimmed.to_owned()
    } else {
        format!("/{trimmed}")
    };
    let mut params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| !k.starts_with("utm_") && k != "fbclid" && k != "gclid")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    params.sort();
    if !params.is_empty() {
        out.push('?');
        let encoded: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        out.push_str(&encoded);
    }
    out
}

/// One spelling per path: escapes decoded, then every byte outside the
/// unreserved set (and `/`) escaped again in upper-case hex, so
/// `/caf%c3%a9`, `/caf%C3%A9` and a raw `/café` are one address.
fn canonical_escapes(path: &str) -> String {
    use percent_encoding::{percent_decode_str, percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const PATH: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'!')
        .remove(b'$')
        .remove(b'&')
        .remove(b'\'')
        .remove(b'(')
        .remove(b')')
        .remove(b'*')
        .remove(b'+')
        .remove(b',')
        .remove(b';')
        .remove(b'=')
        .remove(b':')
        .remove(b'@');
    let bytes: Vec<u8> = percent_decode_str(path).collect();
    percent_encode(&bytes, PATH).to_string()
}

/// Splits `"/comic/x/?a=1"` into path and query, then normalizes.
pub fn normalize_url(url: &str) -> String {
    let url = url.split('#').next().unwrap_or("");
    match url.split_once('?') {
        Some((path, query)) => normalize(path, query),
        None => normalize(url, ""),
    }
}

/// The longest normalised address kept (the column's size).
pub const MAX_FROM: usize = 700;

/// Adds (or repoints) a redirect. Returns false when `from` is where the
/// target already lives (a redirect to itself would loop) or is longer
/// than [`MAX_FROM`] once normalised.
pub async fn upsert(
    conn: &mut AnyConnection,
    from: &str,
    page_id: Option<i64>,
    to_path: &str,
    source: &str,
) -> Result<bool, sqlx::Error> {
    let from = normalize_url(from);
    if from == normalize_url(to_path) || from.len() > MAX_FROM {
        return Ok(false);
    }
    sqlx::query("DELETE FROM redirects WHERE from_path = ?")
        .bind(&from)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO redirects (from_path, page_id, to_path, source, created_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&from)
    .bind(page_id)
    .bind(to_path)
    .bind(source)
    .bind(crate::db::now())
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Every redirect, newest first (the admin's list).
pub async fn all(db: &Db) -> Result<Vec<Redirect>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, from_path, page_id, to_path, source, created_at FROM redirects \
         ORDER BY from_path",
    )
    .fetch_all(db)
    .await
}

pub async fn delete(db: &Db, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM redirects WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Every redirect with its target resolved (a page's current slug), in one
/// query, for the reader's in-memory table. A redirect to a page readers
/// cannot see yet (a draft, a scheduled page) is left out: its old address
/// answers 404 like the page, rather than telling its slug.
pub async fn targets(db: &Db) -> Result<Vec<(String, Target)>, sqlx::Error> {
    type Row = (String, Option<i64>, Option<i64>, Option<String>, String);
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT r.from_path, r.page_id, p.series_id, p.slug, r.to_path FROM redirects r \
         LEFT JOIN pages p ON p.id = r.page_id AND {}",
        visible!("p")
    ))
    .bind(crate::db::now())
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(from, page_id, series, slug, to)| {
            let target = match (page_id, series, slug) {
                (Some(_), Some(series_id), Some(slug)) => Target::Page { series_id, slug },
                (Some(_), _, _) => return None,
                (None, _, _) => Target::Path(to),
            };
            Some((from, target))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_compare_without_trailing_slashes_or_parameter_order() {
        assert_eq!(normalize("/comic/page-1/", ""), "/comic/page-1");
        assert_eq!(
            normalize("/", "post_type=comic&p=16"),
            "/?p=16&post_type=comic"
        );
        assert_eq!(normalize("", "p=16&utm_source=x"), "/?p=16");
        assert_eq!(
            normalize_url("/chapter/one/?utm_medium=y#top"),
            "/chapter/one"
        );
        assert_eq!(normalize_url("/?comic=caf%C3%A9"), "/?comic=caf%C3%A9");
        assert_eq!(normalize_url("/index.html?pg=3"), "/index.html?pg=3");
        assert_eq!(normalize("/caf%c3%a9/", ""), "/caf%C3%A9");
        assert_eq!(normalize("/café", ""), "/caf%C3%A9");
        assert_eq!(
            normalize("/tagged/chapter%20start/", ""),
            "/tagged/chapter%20start"
        );
    }
}
