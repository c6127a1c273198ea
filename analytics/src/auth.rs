//! Who may read the figures: admin accounts of the site, proven by a short-
//! lived token the site signs with the shared secret (HMAC-SHA256), which
//! this service swaps for its own signed session cookie. Services (the site
//! reporting events, a scraper) use the secret as a bearer token.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub use halftone_protocol::token::{SESSION_TTL, SIGN_IN_TTL};

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

/// What the service remembers about sign-ins: the nonces of tokens already
/// used (until they expire: a sign-in link works once) and, per site user,
/// since when their sessions are void (logout, password change, removal).
#[derive(Default)]
pub struct Sessions {
    used: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    revoked: std::sync::Mutex<std::collections::HashMap<i64, i64>>,
}

impl Sessions {
    /// Checks a sign-in token and spends it; the user on success.
    pub fn sign_in(&self, secret: &str, token: &str, now: i64) -> Option<i64> {
        let signed = halftone_protocol::token::verify_sign_in(secret, token, now)?;
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        used.retain(|_, expires| *expires > now);
        if used.insert(signed.nonce, signed.expires).is_some() {
            return None;
        }
        Some(signed.user)
    }

    /// Whether a session cookie is still good.
    pub fn valid(&self, secret: &str, cookie: &str, now: i64) -> bool {
        let Some((user, issued)) = halftone_protocol::token::verify_session(secret, cookie, now)
        else {
            return false;
        };
        let revoked = self.revoked.lock().unwrap_or_else(|p| p.into_inner());
        revoked.get(&user).is_none_or(|since| issued > *since)
    }

    /// Ends every session of `user` issued until now.
    pub fn revoke(&self, user: i64, now: i64) {
        let mut revoked = self.revoked.lock().unwrap_or_else(|p| p.into_inner());
        // A revocation only matters for sessions that could still be alive.
        revoked.retain(|_, since| *since > now - SESSION_TTL);
        revoked.insert(user, now);
    }
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

    const SECRET: &str = "0123456789abcdef0123";

    #[test]
    fn a_sign_in_link_works_once_and_revocation_ends_sessions() {
        let sessions = Sessions::default();
        let token = halftone_protocol::token::sign_in_token(SECRET, 4, "abc", 1000);
        assert_eq!(sessions.sign_in(SECRET, &token, 1001), Some(4));
        assert_eq!(sessions.sign_in(SECRET, &token, 1002), None, "replayed");
        let cookie = halftone_protocol::token::session(SECRET, 4, 1001);
        assert!(sessions.valid(SECRET, &cookie, 1100));
        sessions.revoke(4, 1200);
        assert!(
            !sessions.valid(SECRET, &cookie, 1201),
            "logged out on the site"
        );
        let later = halftone_protocol::token::session(SECRET, 4, 1300);
        assert!(
            sessions.valid(SECRET, &later, 1301),
            "a new sign-in works again"
        );
        assert!(same_secret(SECRET, SECRET) && !same_secret("x", SECRET));
    }
}
