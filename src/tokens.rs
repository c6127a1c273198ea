//! Random tokens (session and device cookies, node ids, temporary slugs) and
//! the hashes stored in their place.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// 32 random bytes, hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database keeps of a token: its SHA-256, hex.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
