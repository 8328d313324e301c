//! Storage: diesel only, one file per aggregate. Functions take `&mut DbConnection` so one service call can wrap
//! several of them in one transaction; none of them opens its own.

pub mod chain;
pub mod org;
pub mod places;
pub mod users;
