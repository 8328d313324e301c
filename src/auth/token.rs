//! Opaque bearer tokens: 256 random bits shown to the client once; only their SHA-256 is stored, so a copy
//! of the database does not hold usable tokens.

use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// The prefix that makes a gridline sign-in token recognisable (e.g. to secret scanners).
pub const PREFIX: &str = "glt_";
/// The prefix of an API key for machine clients.
pub const API_KEY_PREFIX: &str = "glk_";
/// The prefix of a registered phone's token.
pub const DEVICE_PREFIX: &str = "gld_";

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// A new random sign-in token.
pub fn generate() -> String {
    generate_with(PREFIX)
}

/// A new random secret with the given prefix (a token or an API key).
pub fn generate_with(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex(&bytes))
}

/// What is stored for a token.
pub fn hash(token: &str) -> String {
    hex(&digest(token))
}

/// A token's SHA-256, as bytes ([`hash`] is its hex).
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether a string has the shape of a secret with this prefix (checked before any lookup).
pub fn well_formed(token: &str, prefix: &str) -> bool {
    token.len() == prefix.len() + 64
        && token.starts_with(prefix)
        && token[prefix.len()..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_well_formed_and_hashed() {
        let t = generate();
        assert!(well_formed(&t, PREFIX));
        assert!(!well_formed(&t, API_KEY_PREFIX));
        assert!(well_formed(&generate_with(API_KEY_PREFIX), API_KEY_PREFIX));
        assert_ne!(t, generate());
        assert_eq!(hash(&t).len(), 64);
        assert!(!hash(&t).contains(&t[PREFIX.len()..]));
        assert!(!well_formed("glt_xyz", PREFIX));
    }
}
