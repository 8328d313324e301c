//! The change log behind the phones' pull feed: one row per (entity, place) with the sequence number of the
//! entity's latest change there and whether it has left that place. Written only by the database's triggers
//! (migration `2026-11-26-000017_changes`), in the transaction of each change; read here, a page at a time.

use crate::db::DbConnection;
use crate::db::schema::{case_transitions, change_counter, changes, reports};
use crate::store::cases::ReportRow;
use crate::store::workflow::TransitionRow;
use diesel::prelude::*;

type Backend = <DbConnection as Connection>::Backend;
type Condition =
    Box<dyn BoxableExpression<changes::table, Backend, SqlType = diesel::sql_types::Bool>>;

/// A row of the change log.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = changes)]
pub struct ChangeRow {
    /// `case` or `report`.
    pub entity_kind: String,
    /// The entity's id.
    pub entity_id: String,
    /// The place it changed at (its most precise place; '' for an unplaced case).
    pub place_code: String,
    /// The number of its latest change there.
    pub seq: i64,
    /// It has left the place (re-placed elsewhere, or merged into another case).
    pub gone: bool,
}

/// Changes at places inside one of `prefixes` (place codes; `None` for everywhere) numbered after `after`, in
/// order, at most `limit`.
pub fn page(
    conn: &mut DbConnection,
    prefixes: Option<&[String]>,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<ChangeRow>> {
    let mut q = changes::table
        .filter(changes::seq.gt(after))
        .select(ChangeRow::as_select())
        .limit(limit)
        .into_boxed();
    match prefixes {
        None => q = q.order(changes::seq.asc()),
        Some(prefixes) => {
            // Codes are digits, and ':' follows '9': [code, code + ':') is every code that starts with `code`.
            let inside = prefixes
                .iter()
                .map(|p| -> Condition {
                    Box::new(
                        changes::place_code
                            .ge(p.clone())
                            .and(changes::place_code.lt(format!("{p}:"))),
                    )
                })
                .reduce(|a, b| Box::new(a.or(b)));
            let Some(inside) = inside else {
                return Ok(Vec::new());
            };
            // `seq + 0`: ordering by the bare column would let SQLite walk the whole city's log in order
            // (`changes_seq`) looking for the reader's few places; this way it scans the places' ranges of
            // `changes_place_seq` and sorts what it found.
            q = q.filter(inside).order((changes::seq + 0_i64).asc());
        }
    }
    q.load(conn)
}

/// The latest change number (as this transaction sees it).
pub fn latest(conn: &mut DbConnection) -> QueryResult<i64> {
    change_counter::table
        .find(1)
        .select(change_counter::seq)
        .first(conn)
        .optional()
        .map(Option::unwrap_or_default)
}

/// Patrol reports by id.
pub fn reports_by_id(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<ReportRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    reports::table
        .filter(reports::id.eq_any(ids))
        .select(ReportRow::as_select())
        .load(conn)
}

/// The workflow steps of the cases, by case and in order.
pub fn transitions_of(
    conn: &mut DbConnection,
    case_ids: &[String],
) -> QueryResult<Vec<TransitionRow>> {
    if case_ids.is_empty() {
        return Ok(Vec::new());
    }
    case_transitions::table
        .filter(case_transitions::case_id.eq_any(case_ids))
        .order((case_transitions::case_id.asc(), case_transitions::seq.asc()))
        .select(TransitionRow::as_select())
        .load(conn)
}
