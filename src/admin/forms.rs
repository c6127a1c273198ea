//! What the admin's forms share: titles and slugs checked the same way,
//! and a write refused because its slug is taken turned into a message
//! on the form's page (the database's unique constraint decides).

use actix_web::HttpResponse;

use super::view;
use crate::comics::{Slug, WriteError};
use crate::error::AppError;

/// A slug from the form, or derived from the title when left empty.
pub fn slug_or_title(slug: &str, title: &str) -> Result<String, String> {
    if slug.trim().is_empty() {
        Slug::from_text(title)
            .map(Slug::into_string)
            .ok_or_else(|| "Give a title with at least one letter or digit.".into())
    } else {
        Slug::parse(slug.trim())
            .map(Slug::into_string)
            .map_err(|e| format!("Slug: {e}."))
    }
}

pub fn title_ok(title: &str) -> Result<&str, String> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 300 {
        Err("The title must have 1 to 300 characters.".into())
    } else {
        Ok(title)
    }
}

/// A form's title and slug (derived from the title when left empty),
/// checked together.
pub fn title_and_slug<'a>(title: &'a str, slug: &str) -> Result<(&'a str, String), String> {
    Ok((title_ok(title)?, slug_or_title(slug, title)?))
}

/// A slug-named write's result: `Ok(Ok(v))`, `Ok(Err(page))` to send the
/// author back to `back` saying "{what} already uses the slug …", or the
/// database error.
pub fn saved<T>(
    result: Result<T, WriteError>,
    back: &str,
    what: &str,
) -> Result<Result<T, HttpResponse>, AppError> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(WriteError::SlugTaken(slug)) => Ok(Err(view::fail(
            back,
            &format!("{what} already uses the slug “{slug}”."),
        ))),
        Err(WriteError::Db(e)) => Err(e.into()),
    }
}

/// A content warning typed in a form: trimmed, one line, at most 300 characters.
pub fn content_warning(text: &str) -> Result<&str, String> {
    let text = text.trim();
    if text.chars().count() > 300 {
        return Err("A content warning can be at most 300 characters long.".into());
    }
    if text.contains(['\n', '\r']) {
        return Err("A content warning is one line.".into());
    }
    Ok(text)
}
