//! Use-cases: each public function is one unit of work (one transaction where it writes), called by the HTTP
//! handlers and the command line alike.

pub mod assessment;
pub mod auth;
pub mod cases;
pub mod chain;
pub mod chain_index;
pub mod chain_seed;
pub mod devices;
pub mod dispatch;
pub mod geodata;
pub mod intake;
pub mod open311;
pub mod org;
pub mod photos;
pub mod pipeline;
pub mod places;
pub mod policy;
pub mod public_status;
pub mod pull;
pub mod scheduler;
pub mod simulate;
pub mod sync;
pub mod ticket_import;
pub mod ticket_queue;
pub mod tiles;
pub mod topics;
pub mod work;
pub mod workflow;
