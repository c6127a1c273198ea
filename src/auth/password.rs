//! Password hashing with argon2id, off the async threads.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use secrecy::{ExposeSecret, SecretString};

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 1024;

/// Checks a new password's shape; the message is shown to the user.
pub fn validate(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(format!("The password needs at least {MIN_LEN} characters."));
    }
    if chars > MAX_LEN {
        return Err(format!(
            "The password can have at most {MAX_LEN} characters."
        ));
    }
    Ok(())
}

/// argon2id with the crate's (OWASP-recommended) default parameters.
pub async fn hash(password: SecretString) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("cannot hash password: {e}"))
    })
    .await?
}

/// A hash of a password nobody has, verified when an account does not
/// exist so that the answer takes as long either way.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$HFVn9mYwXk7pJ1pJxJ6v1YqKQ1v9l1sK3b0m0m2vJ1c";

pub async fn verify(password: SecretString, stored: Option<String>) -> bool {
    let exists = stored.is_some();
    let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .unwrap_or(false)
        && exists
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = hash(SecretString::from("correct horse battery"))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify(
                SecretString::from("correct horse battery"),
                Some(hash.clone())
            )
            .await
        );
        assert!(!verify(SecretString::from("wrong horse battery"), Some(hash)).await);
        assert!(!verify(SecretString::from("anything at all"), None).await);
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(validate("short").is_err());
        assert!(validate("long enough!").is_ok());
    }
}
