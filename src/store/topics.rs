//! The topic taxonomy and policy values.

use crate::db::DbConnection;
use crate::db::schema::{policy, topics};
use diesel::prelude::*;

/// A stored topic or class.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = topics)]
pub struct TopicRow {
    /// Code (two digits for a class, four for a topic).
    pub code: String,
    /// The class of a topic.
    pub parent_code: Option<String>,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Default time class (`2h`, `24h`, `7d`, `15d`).
    pub time_class: String,
    /// `part` or `event`.
    pub grid_class: String,
    /// The department of the dispatch catalogue.
    pub department: String,
    /// Merge radius in metres.
    pub merge_radius_m: i32,
    /// Merge window in hours.
    pub merge_window_hours: i32,
    /// Merge by building.
    pub merge_same_building: bool,
    /// Whether new items may use it.
    pub active: bool,
    /// The time of year its problems come (`MM-DD..MM-DD`; `None`: all year).
    pub season: Option<String>,
}

/// Every topic, in code order.
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<TopicRow>> {
    topics::table
        .order(topics::code)
        .select(TopicRow::as_select())
        .load(conn)
}

/// How many topics are stored.
pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    topics::table.count().get_result(conn)
}

/// Replaces the taxonomy: topics not in `rows` stay (old items name them) but become inactive.
pub fn replace(conn: &mut DbConnection, rows: &[TopicRow]) -> QueryResult<()> {
    diesel::update(topics::table)
        .set(topics::active.eq(false))
        .execute(conn)?;
    for row in rows {
        diesel::delete(topics::table.find(&row.code)).execute(conn)?;
    }
    crate::with_backend!(conn, c => diesel::insert_into(topics::table).values(rows).execute(c))?;
    Ok(())
}

/// Every stored policy value.
pub fn policy_values(conn: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    policy::table
        .select((policy::key, policy::value))
        .order(policy::key.asc())
        .load(conn)
}

/// Stores a policy value (replacing the one stored).
pub fn set_policy(conn: &mut DbConnection, key: &str, value: &str) -> QueryResult<()> {
    let changed = diesel::update(policy::table.find(key))
        .set(policy::value.eq(value))
        .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(policy::table)
            .values((policy::key.eq(key), policy::value.eq(value)))
            .execute(conn)?;
    }
    Ok(())
}

/// Removes a stored policy value; whether there was one.
pub fn unset_policy(conn: &mut DbConnection, key: &str) -> QueryResult<bool> {
    Ok(diesel::delete(policy::table.find(key)).execute(conn)? > 0)
}

/// One topic.
pub fn get(conn: &mut DbConnection, code: &str) -> QueryResult<Option<TopicRow>> {
    topics::table
        .find(code)
        .select(TopicRow::as_select())
        .first(conn)
        .optional()
}
