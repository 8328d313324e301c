//! Storage: diesel only, one file per aggregate. Functions take `&mut DbConnection` so one service call can wrap
//! several of them in one transaction; none of them opens its own.

pub mod assessment;
pub mod audit;
pub mod cases;
pub mod chain;
pub mod changes;
pub mod org;
pub mod photos;
pub mod places;
pub mod sync;
pub mod topics;
pub mod users;
pub mod work;
pub mod workflow;
