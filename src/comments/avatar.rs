//! A commenter's avatar without a third party: their initials on one of a
//! few colours, chosen from a hash of their address (or name), so the same
//! reader keeps the same colour and no image service learns who reads what.
//! The colours are classes in `reader.css` (the CSP allows no inline style),
//! each dark enough for white initials (contrast above 4.5:1).

use sha2::{Digest, Sha256};

pub const COLOURS: usize = 8;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Avatar {
    pub initials: String,
    /// 0..COLOURS: the `avatar-N` class.
    pub colour: usize,
}

pub fn for_commenter(name: &str, email: &str) -> Avatar {
    let seed = if email.is_empty() {
        name.trim().to_lowercase()
    } else {
        email.to_owned()
    };
    let digest = Sha256::digest(seed.as_bytes());
    let initials: String = name
        .split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    Avatar {
        initials: if initials.is_empty() {
            "?".to_owned()
        } else {
            initials
        },
        colour: usize::from(digest[0]) % COLOURS,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn initials_and_a_stable_colour() {
        let a = super::for_commenter("ada lovelace", "ada@example.com");
        assert_eq!(a.initials, "AL");
        assert_eq!(
            a.colour,
            super::for_commenter("Ada", "ada@example.com").colour
        );
        assert_eq!(super::for_commenter("  ", "").initials, "?");
        assert_eq!(super::for_commenter("émile zola", "").initials, "ÉZ");
    }
}
