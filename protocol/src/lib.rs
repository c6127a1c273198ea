//! What the site (`halftone`) and the analytics service
//! (`halftone-analytics`) share, so neither depends on the other.

pub mod events;
pub mod net;
pub mod token;

/// Compares a secret with what a request brought, in time that does not
/// depend on where they differ (no timing oracle for guessing it byte by
/// byte). Empty never matches.
pub fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    a.len() == b.len()
        && !a.is_empty()
        && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A spreadsheet runs a cell that starts with `=`, `+`, `-`, `@`, a tab or
/// a carriage return as a formula (OWASP "CSV injection"): such a value gets
/// a leading `'`. Used for every CSV a person may open in a spreadsheet
/// (the analytics export and the site's subscriber export).
pub fn spreadsheet_safe(value: &str) -> std::borrow::Cow<'_, str> {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}").into()
    } else {
        value.into()
    }
}
