//! Signed links: confirm a subscription, unsubscribe.
//!
//! A token is `{purpose}.{subscriber}.{expires}.{mac}` where the MAC is
//! HMAC-SHA256 over the purpose, the subscriber's id and address, and the
//! expiry. Nothing is stored per link, so an unsubscribe link in a mail from
//! years ago (or in an exported CSV) keeps working, and a deleted-then-
//! re-added address does not revive old links (its id differs).

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::comics::settings;
use crate::db::Db;

type HmacSha256 = Hmac<Sha256>;

/// MAC bytes kept in a link (128 bits).
const MAC_BYTES: usize = 16;

/// What a link may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Confirm,
    Unsubscribe,
    /// Comments: confirm reply notices for an address (the "subscriber" is
    /// the comment that asked), stop them, and the comment form's ticket
    /// (the "subscriber" is the moment it was issued).
    CommenterConfirm,
    CommenterUnsubscribe,
    CommentTicket,
}

impl Purpose {
    fn tag(self) -> &'static str {
        match self {
            Purpose::Confirm => "c",
            Purpose::Unsubscribe => "u",
            Purpose::CommenterConfirm => "cc",
            Purpose::CommenterUnsubscribe => "cu",
            Purpose::CommentTicket => "t",
        }
    }
}

/// The parts of a token whose MAC has not been checked yet: the caller looks
/// the subscriber up and calls [`Signer::verify`] with their address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub purpose: Purpose,
    pub subscriber: i64,
    /// Unix seconds; 0 = never expires.
    pub expires: i64,
    mac: Vec<u8>,
}

impl Claim {
    pub fn parse(token: &str) -> Option<Claim> {
        let mut parts = token.trim().split('.');
        let purpose = match parts.next()? {
            "c" => Purpose::Confirm,
            "u" => Purpose::Unsubscribe,
            "cc" => Purpose::CommenterConfirm,
            "cu" => Purpose::CommenterUnsubscribe,
            "t" => Purpose::CommentTicket,
            _ => return None,
        };
        let subscriber = parts.next()?.parse().ok()?;
        let expires = parts.next()?.parse().ok()?;
        let mac = hex::decode(parts.next()?).ok()?;
        if parts.next().is_some() || mac.len() != MAC_BYTES {
            return None;
        }
        Some(Claim {
            purpose,
            subscriber,
            expires,
            mac,
        })
    }
}

#[derive(Clone)]
pub struct Signer {
    key: SecretString,
}

impl Signer {
    pub fn new(key: SecretString) -> Self {
        Self { key }
    }

    /// The configured key, or the site's own random one, made on first use
    /// and kept in the settings table so every node (and every old link)
    /// agrees.
    pub async fn load(db: &Db, configured: Option<&SecretString>) -> Result<Self, sqlx::Error> {
        if let Some(key) = configured {
            return Ok(Self::new(key.clone()));
        }
        const NAME: &str = "newsletter.key";
        if let Some(key) = settings::load_map(db).await?.remove(NAME) {
            return Ok(Self::new(key.into()));
        }
        let fresh = hex::encode(rand::random::<[u8; 32]>());
        // Two nodes may race here: the first insert wins, the other fails on
        // the primary key and both read the winner back.
        let _ = sqlx::query("INSERT INTO settings (name, value) VALUES (?, ?)")
            .bind(NAME)
            .bind(&fresh)
            .execute(db)
            .await;
        let key = settings::load_map(db)
            .await?
            .remove(NAME)
            .ok_or(sqlx::Error::RowNotFound)?;
        Ok(Self::new(key.into()))
    }

    fn mac(&self, purpose: Purpose, subscriber: i64, email: &str, expires: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.key.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(format!("{}|{subscriber}|{email}|{expires}", purpose.tag()).as_bytes());
        mac
    }

    pub fn sign(&self, purpose: Purpose, subscriber: i64, email: &str, expires: i64) -> String {
        let tag = self
            .mac(purpose, subscriber, email, expires)
            .finalize()
            .into_bytes();
        format!(
            "{}.{subscriber}.{expires}.{}",
            purpose.tag(),
            hex::encode(&tag[..MAC_BYTES])
        )
    }

    /// Whether `claim` was made by us for this address and is still valid.
    pub fn verify(&self, claim: &Claim, email: &str, now: i64) -> Result<(), TokenError> {
        self.mac(claim.purpose, claim.subscriber, email, claim.expires)
            .verify_truncated_left(&claim.mac)
            .map_err(|_| TokenError::Invalid)?;
        if claim.expires != 0 && claim.expires < now {
            return Err(TokenError::Expired);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Invalid,
    Expired,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new("k".to_owned().into())
    }

    #[test]
    fn a_token_verifies_for_its_own_address_only() {
        let s = signer();
        let token = s.sign(Purpose::Unsubscribe, 7, "a@example.com", 0);
        let claim = Claim::parse(&token).expect("parses");
        assert_eq!(claim.subscriber, 7);
        assert_eq!(s.verify(&claim, "a@example.com", 1), Ok(()));
        assert_eq!(
            s.verify(&claim, "b@example.com", 1),
            Err(TokenError::Invalid)
        );
        let other_key = Signer::new("other".to_owned().into());
        assert_eq!(
            other_key.verify(&claim, "a@example.com", 1),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn tampering_or_expiry_is_refused() {
        let s = signer();
        let token = s.sign(Purpose::Confirm, 3, "a@example.com", 100);
        let claim = Claim::parse(&token).unwrap();
        assert_eq!(
            s.verify(&claim, "a@example.com", 101),
            Err(TokenError::Expired)
        );
        // Another id, another purpose, a longer life: all break the MAC.
        for forged in [
            token.replacen(".3.", ".4.", 1),
            token.replacen("c.", "u.", 1),
            token.replacen(".100.", ".999.", 1),
        ] {
            let claim = Claim::parse(&forged).unwrap();
            assert_eq!(
                s.verify(&claim, "a@example.com", 50),
                Err(TokenError::Invalid)
            );
        }
        for junk in ["", "c", "c.1.2", "c.1.2.zz", "x.1.2.00", "c.1.2.00.00"] {
            assert!(Claim::parse(junk).is_none(), "{junk}");
        }
    }
}
