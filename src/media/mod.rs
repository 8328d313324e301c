//! Photos as evidence: checking and decoding an uploaded file ([`ingest`]), the display and thumbnail JPEGs made
//! from it, its EXIF position and time, and where the bytes are kept ([`store`]).
//!
//! Guarantees: a photo is named by the SHA-256 of its bytes ([`PhotoHash`]); nothing is decoded before its size was
//! read from the header and found within the limits; bad bytes of any kind are a [`ingest::IngestError`] with a
//! stable code, never a panic; derivatives are fresh encodes that carry no metadata. No actix, no diesel.

pub mod ingest;
pub mod store;

use std::fmt;

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The SHA-256 of a photo's bytes, as 64 lowercase hex digits: the photo's name everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhotoHash(String);

impl PhotoHash {
    /// Parses 64 hex digits (either case).
    pub fn parse(s: &str) -> Option<PhotoHash> {
        let s = s.trim();
        (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| PhotoHash(s.to_ascii_lowercase()))
    }

    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> PhotoHash {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(bytes);
        let mut hex = String::with_capacity(64);
        for b in digest {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 15)]));
        }
        PhotoHash(hex)
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhotoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
