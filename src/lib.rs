//! gridline: the server behind Beijing-style 接诉即办 (respond to complaints immediately) merged with 网格化管理
//! (grid management). See README.md for what it does and how to run it.
//!
//! Layers, dependencies pointing inward: `http → service → {geo, store}`, `store → db`. `geo` imports neither
//! actix nor diesel. `phone` is a client of the HTTP API (a reference phone), not a layer of the server.

pub mod analytics;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod geo;
pub mod http;
pub mod media;
pub mod phone;
pub mod service;
pub mod store;

/// mimalloc for everything in the process, SQLite's page cache included (the `override` feature replaces `malloc`
/// itself): bulk intake spent a fifth of its time in glibc's allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
