//! Credentials: password hashing (argon2id) and opaque bearer tokens (stored only as SHA-256 hashes). Who may do
//! what is decided in `crate::domain::access`; the signed-in user reaches handlers through `crate::http::access`.

pub mod password;
pub mod token;
