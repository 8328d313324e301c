//! Pure analytics over plain data (no actix, no diesel): vector-tile geometry.

pub mod tiles;
