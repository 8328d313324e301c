//! Accounts and sign-in: roles, password hashing (argon2id), opaque bearer tokens (stored only as SHA-256
//! hashes) and the [`current_user::CurrentUser`] extractor that every protected handler takes.

pub mod current_user;
pub mod password;
pub mod policy;
pub mod role;
pub mod token;
