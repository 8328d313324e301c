//! The `proactive_tasks` table: the proactive cases made from scan clusters, with their evidence. Read with the
//! case's status and close time for the list and its "did it work" figures.

use crate::db::DbConnection;
use crate::db::schema::{case_work, cases, proactive_tasks};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

type Backend = <DbConnection as Connection>::Backend;

/// A stored proactive task.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = proactive_tasks)]
pub struct TaskRow {
    /// The case made for it.
    pub case_id: String,
    /// The scan.
    pub scan_id: String,
    /// The cluster's rank (`gistar`) or the pattern's position from 1 (`emerging`).
    pub cluster: i32,
    /// The case's topic (four digits).
    pub topic_code: String,
    /// The topic code the scan reported the cluster under (2 or 4 digits; empty: all topics).
    pub scanned_topic: String,
    /// The level of the scan's units.
    pub level: String,
    /// The cluster's unit codes, comma-separated.
    pub units: String,
    /// The cell the case is placed on.
    pub place_code: String,
    /// The strongest Gi* z of the cluster (`gistar`).
    pub strongest_z: Option<f64>,
    /// The emerging hot spot category (`emerging`).
    pub trend: Option<String>,
    /// First day of the scan's window.
    pub window_from: NaiveDate,
    /// Last day of the scan's window.
    pub window_to: NaiveDate,
    /// Calls on the topic in the cluster in the scan's window.
    pub window_tickets: i64,
    /// Calls expected from the scan's baseline (`gistar`).
    pub baseline_tickets: Option<f64>,
    /// Who tasked it.
    pub created_by: String,
    /// When.
    pub created_at: NaiveDateTime,
}

/// A task with its case's status and the time its case closed (if it is closed).
pub type Listed = (TaskRow, String, Option<NaiveDateTime>);

/// Stores a task.
pub fn insert(conn: &mut DbConnection, row: &TaskRow) -> QueryResult<()> {
    diesel::insert_into(proactive_tasks::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The task of a scan's cluster, if it was tasked.
pub fn of_cluster(
    conn: &mut DbConnection,
    scan_id: &str,
    cluster: i32,
) -> QueryResult<Option<TaskRow>> {
    proactive_tasks::table
        .filter(proactive_tasks::scan_id.eq(scan_id))
        .filter(proactive_tasks::cluster.eq(cluster))
        .select(TaskRow::as_select())
        .first(conn)
        .optional()
}

/// The tasked clusters of `scans`: (scan id, cluster, case id).
pub fn tasked_of_scans(
    conn: &mut DbConnection,
    scans: &[String],
) -> QueryResult<Vec<(String, i32, String)>> {
    proactive_tasks::table
        .filter(proactive_tasks::scan_id.eq_any(scans))
        .select((
            proactive_tasks::scan_id,
            proactive_tasks::cluster,
            proactive_tasks::case_id,
        ))
        .load(conn)
}

/// What a list is limited to: place-code prefixes and topic prefixes (`None`: no limit), and one scan.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Place-code prefixes of the cells the cases are placed on.
    pub places: Option<Vec<String>>,
    /// Topic prefixes.
    pub topics: Option<Vec<String>>,
    /// One scan only.
    pub scan_id: Option<String>,
}

type Cond =
    Box<dyn BoxableExpression<proactive_tasks::table, Backend, SqlType = diesel::sql_types::Bool>>;

fn any_prefix(values: &[String], f: impl Fn(String) -> Cond) -> Cond {
    values
        .iter()
        .map(|v| f(format!("{v}%")))
        .reduce(|a, b| Box::new(a.or(b)))
        .unwrap_or_else(|| Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("1 = 0")))
}

fn filtered(f: &Filter) -> proactive_tasks::BoxedQuery<'static, Backend> {
    let mut q = proactive_tasks::table.into_boxed();
    if let Some(ps) = &f.places {
        q = q.filter(any_prefix(ps, |p| {
            Box::new(proactive_tasks::place_code.like(p))
        }));
    }
    if let Some(ts) = &f.topics {
        q = q.filter(any_prefix(ts, |t| {
            Box::new(proactive_tasks::topic_code.like(t))
        }));
    }
    if let Some(s) = &f.scan_id {
        q = q.filter(proactive_tasks::scan_id.eq(s.clone()));
    }
    q
}

/// How many tasks the filter lets through.
pub fn count(conn: &mut DbConnection, f: &Filter) -> QueryResult<i64> {
    filtered(f).count().get_result(conn)
}

/// The (case id, scan id) of one page of tasks, newest first.
pub fn page(
    conn: &mut DbConnection,
    f: &Filter,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<(String, String)>> {
    filtered(f)
        .order((
            proactive_tasks::created_at.desc(),
            proactive_tasks::case_id.desc(),
        ))
        .offset(offset)
        .limit(limit)
        .select((proactive_tasks::case_id, proactive_tasks::scan_id))
        .load(conn)
}

/// The case ids of the tasks of `scans` that the filter lets through.
pub fn of_scans(conn: &mut DbConnection, f: &Filter, scans: &[String]) -> QueryResult<Vec<String>> {
    filtered(f)
        .filter(proactive_tasks::scan_id.eq_any(scans.to_vec()))
        .select(proactive_tasks::case_id)
        .load(conn)
}

/// Tasks by case id, with their case's status and close time.
pub fn by_case_ids(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<Listed>> {
    proactive_tasks::table
        .inner_join(cases::table)
        .left_join(case_work::table.on(case_work::case_id.eq(proactive_tasks::case_id)))
        .filter(proactive_tasks::case_id.eq_any(ids))
        .select((
            TaskRow::as_select(),
            cases::status,
            case_work::closed_at.nullable(),
        ))
        .load(conn)
}
