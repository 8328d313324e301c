//! The `scans` table: hot spot scans as jobs, their parameters, progress and result (JSON text).

use crate::db::DbConnection;
use crate::db::schema::scans;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A stored scan.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = scans)]
pub struct ScanRow {
    /// Id.
    pub id: String,
    /// `gistar` or `emerging`.
    pub kind: String,
    /// `queued`, `running`, `finished` or `failed`.
    pub status: String,
    /// Per cent done.
    pub progress: i32,
    /// The checked parameters (JSON).
    pub params: String,
    /// The result (JSON), once finished.
    pub result: Option<String>,
    /// Why it failed.
    pub error_code: Option<String>,
    /// Why it failed, for a person.
    pub error_message: Option<String>,
    /// Place-code prefixes covered, comma-separated (empty: the city).
    pub coverage: String,
    /// Who started it.
    pub created_by: String,
    /// When.
    pub created_at: NaiveDateTime,
    /// When it started running.
    pub started_at: Option<NaiveDateTime>,
    /// When it ended.
    pub finished_at: Option<NaiveDateTime>,
    /// The scheduler's key (monthly scans).
    pub schedule_key: Option<String>,
}

/// A new scan.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = scans)]
pub struct NewScan<'a> {
    /// Id.
    pub id: &'a str,
    /// Kind.
    pub kind: &'a str,
    /// Status (`queued`).
    pub status: &'a str,
    /// 0.
    pub progress: i32,
    /// Parameters (JSON).
    pub params: &'a str,
    /// Coverage.
    pub coverage: &'a str,
    /// Who.
    pub created_by: &'a str,
    /// When.
    pub created_at: NaiveDateTime,
    /// The scheduler's key.
    pub schedule_key: Option<&'a str>,
}

/// Stores a new scan.
pub fn insert(conn: &mut DbConnection, s: &NewScan<'_>) -> QueryResult<()> {
    diesel::insert_into(scans::table)
        .values(s)
        .execute(conn)
        .map(|_| ())
}

/// A scan by id.
pub fn get(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ScanRow>> {
    scans::table
        .find(id)
        .select(ScanRow::as_select())
        .first(conn)
        .optional()
}

/// Whether a scan has this schedule key.
pub fn scheduled(conn: &mut DbConnection, key: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        scans::table.filter(scans::schedule_key.eq(key)),
    ))
    .get_result(conn)
}

/// The scans whose schedule key starts with `prefix` (at most `limit`, newest first): (id, coverage, key) for
/// the scope check.
pub fn scheduled_under(
    conn: &mut DbConnection,
    prefix: &str,
    limit: i64,
) -> QueryResult<Vec<(String, String, String)>> {
    scans::table
        .filter(scans::schedule_key.like(format!("{prefix}%")))
        .order((scans::created_at.desc(), scans::id.desc()))
        .limit(limit)
        .select((
            scans::id,
            scans::coverage,
            scans::schedule_key.assume_not_null(),
        ))
        .load(conn)
}

/// Scans queued or running.
pub fn active(conn: &mut DbConnection) -> QueryResult<i64> {
    scans::table
        .filter(scans::status.eq_any(["queued", "running"]))
        .count()
        .get_result(conn)
}

/// The newest scans (at most `limit`), without their results: (id, coverage) first for the scope check.
pub fn newest(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<(String, String)>> {
    scans::table
        .order((scans::created_at.desc(), scans::id.desc()))
        .limit(limit)
        .select((scans::id, scans::coverage))
        .load(conn)
}

/// Scans by id.
pub fn by_ids(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<ScanRow>> {
    scans::table
        .filter(scans::id.eq_any(ids))
        .select(ScanRow::as_select())
        .load(conn)
}

/// Marks a scan running.
pub fn start(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(scans::table.find(id))
        .set((scans::status.eq("running"), scans::started_at.eq(at)))
        .execute(conn)
        .map(|_| ())
}

/// Records progress (per cent) of a running scan.
pub fn progress(conn: &mut DbConnection, id: &str, pct: i32) -> QueryResult<()> {
    diesel::update(scans::table.find(id).filter(scans::status.eq("running")))
        .set(scans::progress.eq(pct))
        .execute(conn)
        .map(|_| ())
}

/// Stores a finished scan's result.
pub fn finish(
    conn: &mut DbConnection,
    id: &str,
    result: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(scans::table.find(id))
        .set((
            scans::status.eq("finished"),
            scans::progress.eq(100),
            scans::result.eq(result),
            scans::finished_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Marks a scan failed.
pub fn fail(
    conn: &mut DbConnection,
    id: &str,
    code: &str,
    message: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(scans::table.find(id))
        .set((
            scans::status.eq("failed"),
            scans::error_code.eq(code),
            scans::error_message.eq(message),
            scans::finished_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Marks every queued or running scan failed (at start: they were cut short by a restart). Returns how many.
pub fn fail_unfinished(conn: &mut DbConnection, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(scans::table.filter(scans::status.eq_any(["queued", "running"])))
        .set((
            scans::status.eq("failed"),
            scans::error_code.eq("interrupted"),
            scans::error_message.eq("the server stopped while the scan ran; start it again"),
            scans::finished_at.eq(at),
        ))
        .execute(conn)
}
