//! What the site (`halftone`) and the analytics service
//! (`halftone-analytics`) share, so neither depends on the other.

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
