//! The tables behind the heat maps: `place_counts` (tickets and cases per level, place, day, topic, source and
//! status class) and `count_marks` (what each case last added), and the raw facts of cases and tickets the counts
//! are made from. Changes are applied as one multi-row upsert that adds to what is stored; every value is bound.

use crate::analytics::counts::{RowKey, StatusClass, Tally};
use crate::db::DbConnection;
use crate::db::schema::{case_work, cases, count_marks, place_counts, tickets};
use crate::geo::place::Level;
use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Integer, Text};
use std::collections::BTreeMap;

/// Rows per upsert statement (8 values each stays below SQLite's 32,766 bound parameters).
const UPSERT_CHUNK: usize = 500;

/// A case as the counts see it.
#[derive(Debug, Clone, Queryable)]
pub struct CaseFacts {
    /// Case id.
    pub id: String,
    /// Its most precise place (`None` while unplaced).
    pub place_code: Option<String>,
    /// Its district.
    pub district_code: String,
    /// When its first item arrived.
    pub opened_at: NaiveDateTime,
    /// Its topic.
    pub topic_code: String,
    /// `hotline`, `patrol` or `mixed`.
    pub source: String,
    /// Its status.
    pub status: String,
    /// Completion deadline (dispatched cases).
    pub complete_due_at: Option<NaiveDateTime>,
    /// When the handler replied.
    pub replied_at: Option<NaiveDateTime>,
    /// When the work was closed.
    pub closed_at: Option<NaiveDateTime>,
}

/// A ticket as the counts see it.
#[derive(Debug, Clone, Queryable)]
pub struct TicketFacts {
    /// The case it belongs to.
    pub case_id: String,
    /// Its own place (`None` when only its district is known).
    pub place_code: Option<String>,
    /// Its district.
    pub district_code: String,
    /// When the hotline received it.
    pub received_at: NaiveDateTime,
    /// Its topic.
    pub topic_code: String,
}

/// The columns of [`CaseFacts`] over `cases LEFT JOIN case_work`.
macro_rules! case_cols {
    () => {
        (
            cases::id,
            cases::place_code,
            cases::district_code,
            cases::opened_at,
            cases::topic_code,
            cases::source,
            cases::status,
            case_work::complete_due_at.nullable(),
            case_work::replied_at.nullable(),
            case_work::closed_at.nullable(),
        )
    };
}

type TicketCols = (
    tickets::case_id,
    tickets::place_code,
    tickets::district_code,
    tickets::received_at,
    tickets::topic_code,
);

const TICKET_COLS: TicketCols = (
    tickets::case_id,
    tickets::place_code,
    tickets::district_code,
    tickets::received_at,
    tickets::topic_code,
);

/// The facts of the cases `ids` (missing ids are left out).
pub fn cases_by_id(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<CaseFacts>> {
    cases::table
        .left_join(case_work::table)
        .filter(cases::id.eq_any(ids))
        .select(case_cols!())
        .load(conn)
}

/// Up to `limit` cases with ids after `after`, in id order (for a rebuild).
pub fn cases_after(
    conn: &mut DbConnection,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<CaseFacts>> {
    cases::table
        .left_join(case_work::table)
        .filter(cases::id.gt(after))
        .order(cases::id)
        .limit(limit)
        .select(case_cols!())
        .load(conn)
}

/// The tickets of the cases `ids`.
pub fn tickets_of(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<TicketFacts>> {
    tickets::table
        .filter(tickets::case_id.eq_any(ids))
        .select(TICKET_COLS)
        .load(conn)
}

/// The stored contributions of the cases `ids`: (case id, contribution as stored).
pub fn marks(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    count_marks::table
        .filter(count_marks::case_id.eq_any(ids))
        .select((count_marks::case_id, count_marks::contribution))
        .load(conn)
}

/// Stores a case's contribution (replacing the one stored).
pub fn put_mark(
    conn: &mut DbConnection,
    case_id: &str,
    class: &str,
    contribution: &str,
) -> QueryResult<()> {
    let row = (
        count_marks::case_id.eq(case_id),
        count_marks::class.eq(class),
        count_marks::contribution.eq(contribution),
    );
    crate::with_backend!(conn, c => diesel::insert_into(count_marks::table)
        .values(row)
        .on_conflict(count_marks::case_id)
        .do_update()
        .set((count_marks::class.eq(class), count_marks::contribution.eq(contribution)))
        .execute(c))?;
    Ok(())
}

/// Open cases (as last counted) whose completion deadline passed before `now` without a reply: their class is now
/// overdue. At most `limit`, in id order.
pub fn newly_overdue(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<String>> {
    count_marks::table
        .inner_join(case_work::table.on(case_work::case_id.eq(count_marks::case_id)))
        .filter(count_marks::class.eq(StatusClass::Open.as_str()))
        .filter(case_work::complete_due_at.lt(now))
        .filter(case_work::replied_at.is_null())
        .filter(case_work::closed_at.is_null())
        .order(count_marks::case_id)
        .limit(limit)
        .select(count_marks::case_id)
        .load(conn)
}

/// Adds `delta` to the stored rows (creating missing ones) and removes rows that reach zero.
pub fn apply(conn: &mut DbConnection, delta: &BTreeMap<RowKey, Tally>) -> QueryResult<()> {
    if delta.is_empty() {
        return Ok(());
    }
    let numbered = matches!(conn, DbConnection::Pg(_));
    let rows: Vec<(&RowKey, &Tally)> = delta.iter().collect();
    for chunk in rows.chunks(UPSERT_CHUNK) {
        let mut text = String::from(
            "INSERT INTO place_counts (level, day, place_code, topic_code, source, status, tickets, cases) VALUES ",
        );
        let mut n = 0;
        for (i, _) in chunk.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            text.push('(');
            for j in 0..8 {
                if j > 0 {
                    text.push_str(", ");
                }
                n += 1;
                if numbered {
                    text.push_str(&format!("${n}"));
                } else {
                    text.push('?');
                }
            }
            text.push(')');
        }
        text.push_str(
            " ON CONFLICT (level, day, place_code, topic_code, source, status) DO UPDATE SET \
             tickets = place_counts.tickets + excluded.tickets, cases = place_counts.cases + excluded.cases",
        );
        crate::with_backend!(conn, c => {
            let mut q = diesel::sql_query(text.clone()).into_boxed();
            for (k, t) in chunk {
                q = q
                    .bind::<Text, _>(k.level.as_str())
                    .bind::<Date, _>(k.day)
                    .bind::<Text, _>(k.place.clone())
                    .bind::<Text, _>(k.topic.clone())
                    .bind::<Text, _>(k.source.clone())
                    .bind::<Text, _>(k.class.as_str())
                    .bind::<Integer, _>(clamp(t.tickets))
                    .bind::<Integer, _>(clamp(t.cases));
            }
            q.execute(c)
        })?;
    }
    if delta.values().any(|t| t.tickets < 0 || t.cases < 0) {
        for (k, _) in delta.iter().filter(|(_, t)| t.tickets < 0 || t.cases < 0) {
            diesel::delete(
                place_counts::table
                    .filter(place_counts::level.eq(k.level.as_str()))
                    .filter(place_counts::day.eq(k.day))
                    .filter(place_counts::place_code.eq(&k.place))
                    .filter(place_counts::topic_code.eq(&k.topic))
                    .filter(place_counts::source.eq(&k.source))
                    .filter(place_counts::status.eq(k.class.as_str()))
                    .filter(place_counts::tickets.eq(0))
                    .filter(place_counts::cases.eq(0)),
            )
            .execute(conn)?;
        }
    }
    Ok(())
}

fn clamp(v: i64) -> i32 {
    i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX })
}

/// One stored row.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct CountRow {
    /// Level name.
    pub level: String,
    /// Day.
    pub day: NaiveDate,
    /// Place code.
    pub place_code: String,
    /// Topic.
    pub topic_code: String,
    /// Source.
    pub source: String,
    /// Status class.
    pub status: String,
    /// Tickets.
    pub tickets: i32,
    /// Cases.
    pub cases: i32,
}

/// Every stored row (for a rebuild).
pub fn all_rows(conn: &mut DbConnection) -> QueryResult<Vec<CountRow>> {
    place_counts::table
        .select((
            place_counts::level,
            place_counts::day,
            place_counts::place_code,
            place_counts::topic_code,
            place_counts::source,
            place_counts::status,
            place_counts::tickets,
            place_counts::cases,
        ))
        .load(conn)
}

/// Empties both tables (a rebuild then writes them again).
pub fn clear(conn: &mut DbConnection) -> QueryResult<()> {
    diesel::delete(place_counts::table).execute(conn)?;
    diesel::delete(count_marks::table).execute(conn)?;
    Ok(())
}

/// What a heat map or a series sums over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Topic codes: a first-level code takes its second-level codes (by prefix). Empty: every topic.
    pub topics: Vec<String>,
    /// Sources. Empty: every source.
    pub sources: Vec<String>,
    /// Status classes. Empty: every class.
    pub classes: Vec<String>,
    /// Only places inside these codes (by prefix). `None`: everywhere.
    pub within: Option<Vec<String>>,
}

/// Sums of one group.
#[derive(Debug, Clone, QueryableByName)]
pub struct Sums {
    /// Place code or day (as text).
    #[diesel(sql_type = Text)]
    pub key: String,
    /// Tickets.
    #[diesel(sql_type = BigInt)]
    pub tickets: i64,
    /// Cases.
    #[diesel(sql_type = BigInt)]
    pub cases: i64,
}

enum Bind {
    Text(String),
    Date(NaiveDate),
}

#[expect(
    clippy::too_many_arguments,
    reason = "the two queries differ in their select, grouping and place; the rest is the filter"
)]
fn filtered(
    conn: &mut DbConnection,
    head: &str,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
    f: &Filter,
    place: Option<&str>,
    tail: &str,
) -> QueryResult<Vec<Sums>> {
    let numbered = matches!(conn, DbConnection::Pg(_));
    let mut text = String::from(head);
    let mut binds: Vec<Bind> = Vec::new();
    let mut bind = |text: &mut String, b: Bind| {
        binds.push(b);
        if numbered {
            text.push_str(&format!("${}", binds.len()));
        } else {
            text.push('?');
        }
    };
    text.push_str(" FROM place_counts WHERE level = ");
    bind(&mut text, Bind::Text(level.as_str().to_owned()));
    if let Some(p) = place {
        text.push_str(" AND place_code = ");
        bind(&mut text, Bind::Text(p.to_owned()));
    }
    text.push_str(" AND day >= ");
    bind(&mut text, Bind::Date(from));
    text.push_str(" AND day <= ");
    bind(&mut text, Bind::Date(to));
    let mut any_of = |text: &mut String, col: &str, values: &[String], prefix: bool| {
        if values.is_empty() {
            return;
        }
        text.push_str(" AND (1 = 0");
        for v in values {
            text.push_str(&format!(" OR {col} "));
            text.push_str(if prefix { "LIKE " } else { "= " });
            bind(
                text,
                Bind::Text(if prefix { format!("{v}%") } else { v.clone() }),
            );
        }
        text.push(')');
    };
    any_of(&mut text, "topic_code", &f.topics, true);
    any_of(&mut text, "source", &f.sources, false);
    any_of(&mut text, "status", &f.classes, false);
    if let Some(within) = &f.within {
        if within.is_empty() {
            text.push_str(" AND 1 = 0");
        } else {
            any_of(&mut text, "place_code", within, true);
        }
    }
    text.push_str(tail);
    crate::with_backend!(conn, c => {
        let mut q = diesel::sql_query(text).into_boxed();
        for b in binds {
            q = match b {
                Bind::Text(s) => q.bind::<Text, _>(s),
                Bind::Date(d) => q.bind::<Date, _>(d),
            };
        }
        q.load::<Sums>(c)
    })
}

/// Tickets and cases per place of `level` over the days `from..=to` (places without any are left out).
pub fn per_place(
    conn: &mut DbConnection,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
    f: &Filter,
) -> QueryResult<Vec<Sums>> {
    filtered(
        conn,
        "SELECT place_code AS key, CAST(SUM(tickets) AS BIGINT) AS tickets, CAST(SUM(cases) AS BIGINT) AS cases",
        level,
        from,
        to,
        f,
        None,
        " GROUP BY place_code",
    )
}

/// Tickets and cases per day of the place `code` of `level` over `from..=to` (days without any are left out; the
/// key is the day as `YYYY-MM-DD`).
pub fn per_day(
    conn: &mut DbConnection,
    level: Level,
    code: &str,
    from: NaiveDate,
    to: NaiveDate,
    f: &Filter,
) -> QueryResult<Vec<Sums>> {
    let day = if matches!(conn, DbConnection::Pg(_)) {
        "to_char(day, 'YYYY-MM-DD')"
    } else {
        "CAST(day AS TEXT)"
    };
    filtered(
        conn,
        &format!(
            "SELECT {day} AS key, CAST(SUM(tickets) AS BIGINT) AS tickets, CAST(SUM(cases) AS BIGINT) AS cases"
        ),
        level,
        from,
        to,
        f,
        Some(code),
        " GROUP BY day",
    )
}

/// An unfinished case past its completion deadline, with who handles it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct LateCase {
    /// Case id.
    pub id: String,
    /// Its place.
    pub place_code: Option<String>,
    /// Its topic.
    pub topic_code: String,
    /// Its status.
    pub status: String,
    /// When it was due.
    pub complete_due_at: NaiveDateTime,
    /// The escalation rung it reached (0: none).
    pub rung: i32,
    /// The unit handling it.
    pub handler_unit_id: Option<String>,
    /// Who accepted it.
    pub accepted_by_name: Option<String>,
}

/// Unfinished cases inside `prefix` past their completion deadline at `now` (neither replied nor closed), most
/// overdue first, at most `limit`.
pub fn late_cases(
    conn: &mut DbConnection,
    prefix: &str,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<LateCase>> {
    cases::table
        .inner_join(case_work::table)
        .filter(cases::place_code.like(format!("{prefix}%")))
        .filter(cases::status.ne_all(["closed", "merged", "self_resolved"]))
        .filter(case_work::complete_due_at.lt(now))
        .filter(case_work::replied_at.is_null())
        .filter(case_work::closed_at.is_null())
        .order((case_work::complete_due_at, cases::id))
        .limit(limit)
        .select((
            cases::id,
            cases::place_code,
            cases::topic_code,
            cases::status,
            case_work::complete_due_at,
            case_work::rung,
            case_work::handler_unit_id,
            case_work::accepted_by_name,
        ))
        .load(conn)
}

/// Places (most precise) inside `prefix` with their unfinished escalated cases (a rung crossed, neither replied nor
/// closed).
pub fn escalated(conn: &mut DbConnection, prefix: &str) -> QueryResult<Vec<(Option<String>, i64)>> {
    cases::table
        .inner_join(case_work::table)
        .filter(cases::place_code.like(format!("{prefix}%")))
        .filter(cases::status.ne_all(["closed", "merged", "self_resolved"]))
        .filter(case_work::rung.gt(0))
        .filter(case_work::replied_at.is_null())
        .filter(case_work::closed_at.is_null())
        .group_by(cases::place_code)
        .select((cases::place_code, diesel::dsl::count_star()))
        .load(conn)
}

/// Cells inside `prefix` with the patrol reports filed in `[from, to)`.
pub fn reports_between(
    conn: &mut DbConnection,
    prefix: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<(String, i64)>> {
    use crate::db::schema::reports;
    reports::table
        .filter(reports::place_code.like(format!("{prefix}%")))
        .filter(reports::reported_at.ge(from))
        .filter(reports::reported_at.lt(to))
        .group_by(reports::place_code)
        .select((reports::place_code, diesel::dsl::count_star()))
        .load(conn)
}
