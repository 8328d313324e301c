//! Storage: diesel only, one file per aggregate. Functions take `&mut DbConnection` so one service call can wrap
//! several of them in one transaction; none of them opens its own.

pub mod assessment;
pub mod audit;
pub mod cases;
pub mod chain;
pub mod changes;
pub mod counts;
pub mod hotspots;
pub mod org;
pub mod photos;
pub mod places;
pub mod proactive;
pub mod scans;
pub(crate) mod sql;
pub mod sync;
pub mod topics;
pub mod users;
pub mod work;
pub mod workflow;

use crate::db::DbConnection;
use diesel::{QueryResult, RunQueryDsl};

/// Serialises the transactions that name the same `key` until they end: on PostgreSQL a transaction-scoped
/// advisory lock (call it inside a transaction); on SQLite nothing, because every write already goes through the
/// one writer connection. For check-then-insert rules (counted limits) that no constraint can express.
pub fn serialize_on(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<diesel::sql_types::Text, _>(format!("gridline.{key}"))
            .execute(c)?;
    }
    Ok(())
}
