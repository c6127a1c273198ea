//! The content model: series, chapters, pages, their images, tags,
//! characters and static pages. Each submodule owns its tables' SQL.
//!
//! Invariants kept here:
//! - Reading order is `(position, id)` within a series; dates never decide it.
//! - A page is visible to readers iff `status = 'published' AND live_at <= now`
//!   (the `visible!` macro). Nothing else is consulted, so a scheduled page
//!   appears by itself when its time comes, with no job to flip it.
//! - `page_images.position` runs 0..n for each page; position 0 is the cover.

pub mod catalog;
pub mod chapters;
pub mod characters;
pub mod editing;
pub mod model;
pub mod pages;
pub mod portable;
pub mod redirects;
pub mod searchable;
pub mod series;
pub mod settings;
pub mod static_pages;
pub mod taxonomy;

pub use model::*;

/// The SQL condition "this page is visible to readers now", on alias `$p`.
/// It takes one bound parameter: the current time in Unix seconds.
///
/// The unary `+` keeps `live_at` out of index selection (valid SQL on both
/// engines): reader queries then walk `(series_id, status, position)` or
/// `(series_id, status, live_at)` in order and stop at the first rows,
/// instead of range-scanning every published page and sorting it.
#[macro_export]
macro_rules! visible {
    ($p:literal) => {
        concat!("(", $p, ".status = 'published' AND +", $p, ".live_at <= ?)")
    };
}

/// A write the database refused because a slug is taken (its unique
/// constraint decides, never a check before the insert), or another error.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the slug “{0}” is already used")]
    SlugTaken(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl WriteError {
    /// Maps a unique violation on a write of `slug`.
    pub(crate) fn on(slug: &str) -> impl Fn(sqlx::Error) -> WriteError + '_ {
        move |error| match error {
            sqlx::Error::Database(e) if e.is_unique_violation() => {
                WriteError::SlugTaken(slug.to_owned())
            }
            other => WriteError::Db(other),
        }
    }
}

/// `?, ?, …` with `n` placeholders, for `IN (…)` lists of bound ids.
pub(crate) fn placeholders(n: usize) -> String {
    let mut s = String::with_capacity(n * 3);
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        s.push('?');
    }
    s
}
