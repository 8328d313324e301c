//! Use-cases: each public function is one unit of work (one transaction where it writes), called by the HTTP
//! handlers and the command line alike. Grouped by context: `intake` (filing tickets and reports, Open311, bulk
//! import), `cases` (reading cases, the workflow, the work on a case, dispatch, the scheduler), `chain` (the
//! responsibility chain, its in-memory index, the generated default), `sync` (phones: devices, push, pull, photos),
//! `admin` (units and people, policy values, the taxonomy, the place layers); `auth`, `places` and `assessment` stand
//! alone. Dependencies point one way: `http → service → {domain, store, geo, media}`.

pub mod admin;
pub mod analytics;
pub mod assessment;
pub mod auth;
pub mod cases;
pub mod chain;
pub mod hotspots;
pub mod intake;
pub mod places;
pub mod simulate;
pub mod sync;
