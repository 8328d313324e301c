//! The work on dispatched cases: their clocks and handlers (`case_work`), the escalation rungs they crossed
//! (`escalations`) and the departments whistled to them (`whistle_calls`); diesel only.

use crate::db::DbConnection;
use crate::db::schema::{case_work, escalations, ticket_callbacks, whistle_calls};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// The work on one case.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = case_work, primary_key(case_id), treat_none_as_null = true)]
pub struct WorkRow {
    /// The case.
    pub case_id: String,
    /// Its district.
    pub district_code: String,
    /// The street whose office handles it (9 digits), if any.
    pub street_code: Option<String>,
    /// The unit handling it (the street office, or what the dispatcher named first).
    pub handler_unit_id: Option<String>,
    /// Departments it was also sent to (双派), JSON array of unit ids.
    pub departments: String,
    /// Units copied (the district command centre when the street handles it), JSON array of unit ids.
    pub copied: String,
    /// `2h`, `24h`, `7d` or `15d`.
    pub time_class: String,
    /// The first dispatch: the clocks start here.
    pub dispatched_at: NaiveDateTime,
    /// Accept (签收, contact the caller) by then.
    pub respond_due_at: NaiveDateTime,
    /// Reply by then (extensions included).
    pub complete_due_at: NaiveDateTime,
    /// Days of extension granted.
    pub extension_days: i32,
    /// When it was accepted.
    pub accepted_at: Option<NaiveDateTime>,
    /// Who accepted it (user id): the handler.
    pub accepted_by: Option<String>,
    /// Their name then.
    pub accepted_by_name: Option<String>,
    /// When the handler replied (or the grid member fixed it).
    pub replied_at: Option<NaiveDateTime>,
    /// When it closed.
    pub closed_at: Option<NaiveDateTime>,
    /// Times it was returned (退单).
    pub return_count: i32,
    /// Returned often enough to look like buck-passing.
    pub buck_passing: bool,
    /// The reply came without evidence photos.
    pub evidence_missing: bool,
    /// Escalation rungs crossed so far.
    pub rung: i32,
    /// When the next rung falls due (`None`: no more rungs, or the work is done).
    pub next_rung_at: Option<NaiveDateTime>,
    /// The handling cycle: 1 from the first dispatch, +1 at each reopen.
    pub cycle: i32,
    /// When this cycle started (the first dispatch, then the latest reopen): the ladder counts from here.
    pub cycle_started_at: NaiveDateTime,
    /// Days of an extension asked for and waiting for approval.
    pub extension_pending_days: Option<i32>,
}

/// A rung of the escalation ladder a case crossed.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = escalations)]
pub struct EscalationRow {
    /// The case.
    pub case_id: String,
    /// The handling cycle it was crossed in (1 before any reopen).
    pub cycle: i32,
    /// 1, 2, 3 ...
    pub rung: i32,
    /// `remind`, `supervise`, `investigate` (policy names).
    pub name: String,
    /// The case's district.
    pub district_code: String,
    /// When it fell due.
    pub due_at: NaiveDateTime,
    /// When the scheduler recorded it.
    pub fired_at: NaiveDateTime,
    /// Who was notified, JSON array.
    pub notified: String,
}

/// A department summoned by a whistle.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = whistle_calls)]
pub struct WhistleCallRow {
    /// The case.
    pub case_id: String,
    /// The `seq` of the whistle step.
    pub whistle_seq: i32,
    /// The department.
    pub unit_id: String,
    /// Its name then.
    pub unit_name: String,
    /// The case's district.
    pub district_code: String,
    /// When it was summoned.
    pub summoned_at: NaiveDateTime,
    /// Report in by then.
    pub due_at: NaiveDateTime,
    /// When it reported in.
    pub reported_at: Option<NaiveDateTime>,
    /// Who reported (user id).
    pub reported_by: Option<String>,
    /// Their name then.
    pub reported_by_name: Option<String>,
}

/// The callback (回访) of one ticket's caller in one round.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ticket_callbacks)]
pub struct CallbackRow {
    /// The ticket.
    pub ticket_id: String,
    /// 1 for the first callback, +1 after each reopen.
    pub round: i32,
    /// Its case.
    pub case_id: String,
    /// The case's district.
    pub district_code: String,
    /// When.
    pub at: NaiveDateTime,
    /// Who called (user id).
    pub actor_id: String,
    /// Whether the caller was reached.
    pub contacted: bool,
    /// `yes`, `partly`, `no` (when reached).
    pub resolved: Option<String>,
    /// `satisfied`, `basically_satisfied`, `dissatisfied` (when reached).
    pub satisfaction: Option<String>,
    /// Note.
    pub note: String,
}

/// The work on a case, if it was ever dispatched.
pub fn get(conn: &mut DbConnection, case_id: &str) -> QueryResult<Option<WorkRow>> {
    case_work::table
        .find(case_id)
        .select(WorkRow::as_select())
        .first(conn)
        .optional()
}

/// The work on each of `case_ids` that was ever dispatched.
pub fn get_many(conn: &mut DbConnection, case_ids: &[String]) -> QueryResult<Vec<WorkRow>> {
    let mut out = Vec::new();
    for chunk in case_ids.chunks(500) {
        out.extend(
            case_work::table
                .filter(case_work::case_id.eq_any(chunk))
                .select(WorkRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Stores the work on a case (new or changed).
pub fn put(conn: &mut DbConnection, row: &WorkRow) -> QueryResult<()> {
    let changed = diesel::update(case_work::table.find(&row.case_id))
        .set(row.clone())
        .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(case_work::table)
            .values(row.clone())
            .execute(conn)?;
    }
    Ok(())
}

/// Work whose next escalation rung is due at `now`, oldest first, at most `limit`.
pub fn due_for_escalation(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<WorkRow>> {
    case_work::table
        .filter(case_work::next_rung_at.le(now))
        .order(case_work::next_rung_at.asc())
        .limit(limit)
        .select(WorkRow::as_select())
        .load(conn)
}

/// How much work has a rung due at `now`.
pub fn count_due_for_escalation(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<i64> {
    case_work::table
        .filter(case_work::next_rung_at.le(now))
        .count()
        .get_result(conn)
}

/// Records a crossed rung; `false` when it was already recorded (nothing changes then).
pub fn insert_escalation(conn: &mut DbConnection, row: &EscalationRow) -> QueryResult<bool> {
    let n = crate::with_backend!(conn, c => diesel::insert_into(escalations::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(n == 1)
}

/// The rungs a case crossed, in order (cycle by cycle).
pub fn escalations_of(conn: &mut DbConnection, case_id: &str) -> QueryResult<Vec<EscalationRow>> {
    escalations::table
        .filter(escalations::case_id.eq(case_id))
        .order((escalations::cycle.asc(), escalations::rung.asc()))
        .select(EscalationRow::as_select())
        .load(conn)
}

/// Rungs crossed after `after` (fired_at, case id, rung), in that order, at most `limit`.
pub fn escalations_after(
    conn: &mut DbConnection,
    after: &(NaiveDateTime, String, i32),
    limit: i64,
) -> QueryResult<Vec<EscalationRow>> {
    let (t, id, rung) = after.clone();
    escalations::table
        .filter(
            escalations::fired_at
                .gt(t)
                .or(escalations::fired_at.eq(t).and(
                    escalations::case_id
                        .gt(id.clone())
                        .or(escalations::case_id.eq(id).and(escalations::rung.gt(rung))),
                )),
        )
        .order((
            escalations::fired_at.asc(),
            escalations::case_id.asc(),
            escalations::rung.asc(),
        ))
        .limit(limit)
        .select(EscalationRow::as_select())
        .load(conn)
}

/// Records departments summoned by a whistle.
pub fn insert_whistle_calls(conn: &mut DbConnection, rows: &[WhistleCallRow]) -> QueryResult<()> {
    crate::with_backend!(conn, c => diesel::insert_into(whistle_calls::table).values(rows).execute(c))
        .map(|_| ())
}

/// The departments whistled to a case, in order.
pub fn whistle_calls_of(
    conn: &mut DbConnection,
    case_id: &str,
) -> QueryResult<Vec<WhistleCallRow>> {
    whistle_calls::table
        .filter(whistle_calls::case_id.eq(case_id))
        .order((
            whistle_calls::whistle_seq.asc(),
            whistle_calls::summoned_at.asc(),
        ))
        .select(WhistleCallRow::as_select())
        .load(conn)
}

/// The departments whistled to each of `case_ids`.
pub fn whistle_calls_of_many(
    conn: &mut DbConnection,
    case_ids: &[String],
) -> QueryResult<Vec<WhistleCallRow>> {
    let mut out = Vec::new();
    for chunk in case_ids.chunks(500) {
        out.extend(
            whistle_calls::table
                .filter(whistle_calls::case_id.eq_any(chunk))
                .select(WhistleCallRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Marks a department as reported in on the latest whistle of a case; the number of rows changed (0 when it was
/// not summoned or had already reported).
pub fn report_in(
    conn: &mut DbConnection,
    case_id: &str,
    whistle_seq: i32,
    unit_id: &str,
    at: NaiveDateTime,
    by: &str,
    by_name: &str,
) -> QueryResult<usize> {
    diesel::update(
        whistle_calls::table
            .filter(whistle_calls::case_id.eq(case_id))
            .filter(whistle_calls::whistle_seq.eq(whistle_seq))
            .filter(whistle_calls::unit_id.eq(unit_id))
            .filter(whistle_calls::reported_at.is_null()),
    )
    .set((
        whistle_calls::reported_at.eq(Some(at)),
        whistle_calls::reported_by.eq(Some(by)),
        whistle_calls::reported_by_name.eq(Some(by_name)),
    ))
    .execute(conn)
}

/// Records callbacks.
pub fn insert_callbacks(conn: &mut DbConnection, rows: &[CallbackRow]) -> QueryResult<()> {
    for chunk in rows.chunks(1000) {
        crate::with_backend!(conn, c => diesel::insert_into(ticket_callbacks::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// The callbacks of a case's tickets, by ticket and round.
pub fn callbacks_of(conn: &mut DbConnection, case_id: &str) -> QueryResult<Vec<CallbackRow>> {
    ticket_callbacks::table
        .filter(ticket_callbacks::case_id.eq(case_id))
        .order((
            ticket_callbacks::ticket_id.asc(),
            ticket_callbacks::round.asc(),
        ))
        .select(CallbackRow::as_select())
        .load(conn)
}

/// The latest callback round of a case (0 before the first).
pub fn last_round(conn: &mut DbConnection, case_id: &str) -> QueryResult<i32> {
    Ok(ticket_callbacks::table
        .filter(ticket_callbacks::case_id.eq(case_id))
        .select(diesel::dsl::max(ticket_callbacks::round))
        .first::<Option<i32>>(conn)?
        .unwrap_or(0))
}

/// Inserts the work of many cases that have none yet (bulk loads such as the simulator).
pub fn insert_many(conn: &mut DbConnection, rows: &[WorkRow]) -> QueryResult<()> {
    for chunk in rows.chunks(500) {
        crate::with_backend!(conn, c => diesel::insert_into(case_work::table).values(chunk).execute(c))?;
    }
    Ok(())
}

/// The open cases a unit works on, at most `limit`, by id: those it handles or was sent as a department (work not
/// closed, the case neither returned for re-dispatch nor finished) and those whose latest whistle summoned it and
/// it has not reported in yet. Deleting the unit would leave them stuck.
pub fn open_cases_of_unit(
    conn: &mut DbConnection,
    unit_id: &str,
    limit: i64,
) -> QueryResult<Vec<String>> {
    use crate::db::schema::cases;
    // `departments` is a JSON array of ids: the quoted id is found in it as text.
    let in_departments = format!("%\"{unit_id}\"%");
    let mut ids: Vec<String> = case_work::table
        .inner_join(cases::table)
        .filter(case_work::closed_at.is_null())
        .filter(cases::status.ne("returned"))
        .filter(cases::status.ne("closed"))
        .filter(cases::status.ne("merged"))
        .filter(
            case_work::handler_unit_id
                .eq(unit_id)
                .or(case_work::departments.like(in_departments)),
        )
        .order(case_work::case_id.asc())
        .limit(limit)
        .select(case_work::case_id)
        .load(conn)?;
    let summoned: Vec<String> = whistle_calls::table
        .inner_join(cases::table)
        .filter(whistle_calls::unit_id.eq(unit_id))
        .filter(whistle_calls::reported_at.is_null())
        .filter(cases::status.eq("whistled"))
        .order(whistle_calls::case_id.asc())
        .limit(limit)
        .select(whistle_calls::case_id)
        .load(conn)?;
    ids.extend(summoned);
    ids.sort();
    ids.dedup();
    ids.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(ids)
}
