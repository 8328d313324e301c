//! Pure rules of the domain: no actix, no diesel, tested as plain functions.

pub mod access;
pub mod assessment;
pub mod chain;
pub mod deadline;
pub mod ids;
pub mod merge;
pub mod open311;
pub mod org;
pub mod privacy;
pub mod text;
pub mod throttle;
pub mod time;
pub mod topic;
pub mod workflow;
