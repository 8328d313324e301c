//! The integration tests: one binary, one module per area, real HTTP through the real routes on SQLite (or on
//! PostgreSQL when `GRIDLINE_TEST_POSTGRES_URL` is set). The Beijing template database is built once per run.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails by panicking: unwrap and expect say where"
)]

mod common;

mod api_spec;
mod assessment;
mod auth;
mod chain;
mod chain_import;
mod chain_live;
mod cli;
mod forewarning;
mod geodata;
mod geodata_import;
mod health;
mod heatmap;
mod hotspots;
mod intake;
mod layering;
mod locate;
mod lookup;
mod monthly;
mod open311;
mod org;
mod phone;
mod photos;
mod places;
mod proactive;
mod pull;
mod readme;
mod scan;
mod scopes;
mod simulate;
mod storage;
mod sync;
mod tiles;
mod web;
mod work;
mod workflow;
