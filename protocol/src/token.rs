//! Signed tokens between the site and its analytics service (HMAC-SHA256
//! with the shared secret).
//!
//! - The **sign-in token** the site gives an admin: `expires.user.nonce.mac`,
//!   valid two minutes and *once* (the service remembers used nonces until
//!   they expire, so a token copied from a URL or a log is worth nothing).
//! - The **session** the service keeps in its cookie: `issued.user.mac`,
//!   valid an hour and ended early when the site says the user logged out,
//!   changed password or was removed (`revoke`).
//! - The **bearer** secret for service-to-service calls, compared in
//!   constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Lifetime of the sign-in token the site hands out (seconds).
pub const SIGN_IN_TTL: i64 = 120;
/// Lifetime of a dashboard session (seconds).
pub const SESSION_TTL: i64 = 3600;

fn mac(secret: &str, parts: &[&str]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    for part in parts {
        mac.update(part.as_bytes());
        mac.update(b"|");
    }
    mac
}

fn tag(secret: &str, parts: &[&str]) -> String {
    hex::encode(mac(secret, parts).finalize().into_bytes())
}

fn check(secret: &str, parts: &[&str], tag: &str) -> bool {
    hex::decode(tag).is_ok_and(|tag| mac(secret, parts).verify_slice(&tag).is_ok())
}

/// A verified sign-in: who, and the nonce to remember until `expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub user: i64,
    pub nonce: String,
    pub expires: i64,
}

/// The site's sign-in token for `user`, valid [`SIGN_IN_TTL`] from `now`.
pub fn sign_in_token(secret: &str, user: i64, nonce: &str, now: i64) -> String {
    let expires = (now + SIGN_IN_TTL).to_string();
    let user = user.to_string();
    let tag = tag(secret, &["sign-in", &expires, &user, nonce]);
    format!("{expires}.{user}.{nonce}.{tag}")
}

/// Checks a sign-in token (signature and expiry; the caller checks the
/// nonce was not used before).
pub fn verify_sign_in(secret: &str, token: &str, now: i64) -> Option<SignIn> {
    let mut parts = token.split('.');
    let (expires, user, nonce, tag) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || nonce.is_empty() || nonce.len() > 64 {
        return None;
    }
    let expires_at: i64 = expires.parse().ok()?;
    let user_id: i64 = user.parse().ok()?;
    (expires_at > now && check(secret, &["sign-in", expires, user, nonce], tag)).then(|| SignIn {
        user: user_id,
        nonce: nonce.to_owned(),
        expires: expires_at,
    })
}

/// A dashboard session for `user`, issued at `now`.
pub fn session(secret: &str, user: i64, now: i64) -> String {
    let (issued, user) = (now.to_string(), user.to_string());
    let tag = tag(secret, &["session", &issued, &user]);
    format!("{issued}.{user}.{tag}")
}

/// `(user, issued)` of a valid, unexpired session.
pub fn verify_session(secret: &str, token: &str, now: i64) -> Option<(i64, i64)> {
    let mut parts = token.split('.');
    let (issued, user, tag) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let issued_at: i64 = issued.parse().ok()?;
    let user_id: i64 = user.parse().ok()?;
    (issued_at <= now
        && now < issued_at + SESSION_TTL
        && check(secret, &["session", issued, user], tag))
    .then_some((user_id, issued_at))
}

/// The body of the site's "end this user's dashboard sessions" call.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Revoke {
    pub user: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123";

    #[test]
    fn sign_in_tokens_are_bound_to_user_nonce_and_time() {
        let token = sign_in_token(SECRET, 7, "n0nce", 1000);
        let signed = verify_sign_in(SECRET, &token, 1000).expect("valid");
        assert_eq!((signed.user, signed.nonce.as_str()), (7, "n0nce"));
        assert!(
            verify_sign_in(SECRET, &token, 1000 + SIGN_IN_TTL).is_none(),
            "expired"
        );
        assert!(verify_sign_in("another-secret-entirely", &token, 1000).is_none());
        let other_user = token.replacen(".7.", ".8.", 1);
        assert!(
            verify_sign_in(SECRET, &other_user, 1000).is_none(),
            "user is signed"
        );
        assert!(verify_sign_in(SECRET, "garbage", 1000).is_none());
        // A session is not a sign-in, and the other way round.
        let session = session(SECRET, 7, 1000);
        assert!(verify_sign_in(SECRET, &session, 1000).is_none());
        assert!(verify_session(SECRET, &token, 1000).is_none());
    }

    #[test]
    fn sessions_last_an_hour() {
        let s = session(SECRET, 3, 5000);
        assert_eq!(verify_session(SECRET, &s, 5000 + 10), Some((3, 5000)));
        assert!(verify_session(SECRET, &s, 5000 + SESSION_TTL).is_none());
    }
}
