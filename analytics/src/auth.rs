//! Who may read the figures: admin accounts of the site, proven by a short-
//! lived token the site signs with the shared secret (HMAC-SHA256), which
//! this service swaps for its own signed session cookie. Services (the site
//! reporting events, a scraper) use the secret as a bearer token.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Lifetime of the sign-in token the site hands out (seconds).
pub const SIGN_IN_TTL: i64 = 120;
/// Lifetime of the dashboard session cookie (seconds).
pub const SESSION_TTL: i64 = 12 * 3600;
pub const COOKIE: &str = "halftone_analytics";

fn mac(secret: &str, purpose: &str, expires: i64) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(purpose.as_bytes());
    mac.update(b"|");
    mac.update(expires.to_string().as_bytes());
    mac
}

/// `"{expires}.{hex mac}"` for `purpose`, valid until `expires` (Unix seconds).
pub fn sign(secret: &str, purpose: &str, expires: i64) -> String {
    let tag = mac(secret, purpose, expires).finalize().into_bytes();
    format!("{expires}.{}", hex::encode(tag))
}

/// The site's sign-in token: valid for [`SIGN_IN_TTL`] from `now`.
pub fn sign_in_token(secret: &str, now: i64) -> String {
    sign(secret, "sign-in", now + SIGN_IN_TTL)
}

/// Checks a token in constant time and that it has not expired.
pub fn verify(secret: &str, purpose: &str, token: &str, now: i64) -> bool {
    let Some((expires, tag)) = token.split_once('.') else {
        return false;
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return false;
    };
    let Ok(tag) = hex::decode(tag) else {
        return false;
    };
    expires > now && mac(secret, purpose, expires).verify_slice(&tag).is_ok()
}

/// Constant-time comparison for the bearer secret.
pub fn same_secret(given: &str, secret: &str) -> bool {
    let a = mac(secret, "bearer", 0).finalize().into_bytes();
    let b = mac(given, "bearer", 0).finalize().into_bytes();
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_are_bound_to_their_purpose() {
        let secret = "0123456789abcdef0123";
        let token = sign_in_token(secret, 1000);
        assert!(verify(secret, "sign-in", &token, 1000));
        assert!(!verify(secret, "sign-in", &token, 1000 + SIGN_IN_TTL));
        assert!(!verify(secret, "session", &token, 1000));
        assert!(!verify("another-secret-entirely", "sign-in", &token, 1000));
        assert!(!verify(secret, "sign-in", "garbage", 1000));
        let forged = format!(
            "{}.{}",
            999_999,
            token.split_once('.').map(|t| t.1).unwrap_or("")
        );
        assert!(!verify(secret, "sign-in", &forged, 1000));
    }
}
