//! The steps taken on cases (the workflow history); diesel only.

use crate::db::DbConnection;
use crate::db::schema::case_transitions;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// One step taken on a case.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = case_transitions)]
pub struct TransitionRow {
    /// `trn_` id.
    pub id: String,
    /// The case.
    pub case_id: String,
    /// The case's district.
    pub district_code: String,
    /// 1, 2, ... per case.
    pub seq: i32,
    /// The action (`domain::workflow::Action`).
    pub action: String,
    /// Status before.
    pub from_status: String,
    /// Status after.
    pub to_status: String,
    /// Who.
    pub actor_id: String,
    /// Their display name then.
    pub actor_name: String,
    /// Their role then.
    pub actor_role: String,
    /// When.
    pub at: NaiveDateTime,
    /// Reason or note.
    pub note: String,
    /// What the action needed, as JSON (targets, days, into_case, callback).
    pub details: String,
    /// SHA-256 of the evidence photos, as a JSON array.
    pub evidence: String,
}

/// Records a step.
pub fn insert(conn: &mut DbConnection, row: &TransitionRow) -> QueryResult<()> {
    diesel::insert_into(case_transitions::table)
        .values(row.clone())
        .execute(conn)
        .map(|_| ())
}

/// The steps of a case, in order.
pub fn of_case(conn: &mut DbConnection, case_id: &str) -> QueryResult<Vec<TransitionRow>> {
    case_transitions::table
        .filter(case_transitions::case_id.eq(case_id))
        .order(case_transitions::seq.asc())
        .select(TransitionRow::as_select())
        .load(conn)
}

/// The `extend` and `approve_extension` steps of a case since its latest reopen (all of them if it was never
/// reopened): (action, details JSON), in order.
pub fn extension_steps_of_cycle(
    conn: &mut DbConnection,
    case_id: &str,
) -> QueryResult<Vec<(String, String)>> {
    let reopened: Option<i32> = case_transitions::table
        .filter(case_transitions::case_id.eq(case_id))
        .filter(case_transitions::action.eq("reopen"))
        .select(diesel::dsl::max(case_transitions::seq))
        .first(conn)?;
    case_transitions::table
        .filter(case_transitions::case_id.eq(case_id))
        .filter(case_transitions::seq.gt(reopened.unwrap_or(0)))
        .filter(case_transitions::action.eq_any(["extend", "approve_extension"]))
        .order(case_transitions::seq.asc())
        .select((case_transitions::action, case_transitions::details))
        .load(conn)
}

/// The number of the last step of a case (0 before the first).
pub fn last_seq(conn: &mut DbConnection, case_id: &str) -> QueryResult<i32> {
    Ok(case_transitions::table
        .filter(case_transitions::case_id.eq(case_id))
        .select(diesel::dsl::max(case_transitions::seq))
        .first::<Option<i32>>(conn)?
        .unwrap_or(0))
}

/// Records many steps (bulk loads such as the simulator).
pub fn insert_many(conn: &mut DbConnection, rows: &[TransitionRow]) -> QueryResult<()> {
    for chunk in rows.chunks(500) {
        crate::with_backend!(conn, c => diesel::insert_into(case_transitions::table).values(chunk).execute(c))?;
    }
    Ok(())
}
