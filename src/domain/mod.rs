//! Pure rules of the domain: no actix, no diesel, tested as plain functions.

pub mod chain;
pub mod ids;
pub mod org;
pub mod time;
