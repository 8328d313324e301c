//! The tables behind the heat maps: `place_counts` (tickets and cases per level, place, day, topic, source and
//! status class), `count_marks` (what each case last added) and `count_cursor` (how far the counts have followed
//! the change log, and the counts' version, which every write of `place_counts` moves up), and the raw facts of
//! cases and tickets the counts are made from. Every value is bound.
//!
//! Cost: counting runs in passes over many cases (never inside a filing), so reads of many cases use one `IN` list;
//! on SQLite each changed row is one run of a cached single-row upsert ([`AddRow`]), on PostgreSQL, where every
//! statement is a round trip, many rows go as one multi-row upsert.

use crate::analytics::counts::{Filter, RowKey, StatusClass, Tally};
use crate::db::DbConnection;
use crate::db::schema::{
    case_work, cases, change_counter, changes, count_cursor, count_marks, place_counts, tickets,
};
use crate::geo::place::Level;
use crate::store::sql::{Bind, Sql};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Date, HasSqlType, Integer, Text};
use std::collections::BTreeMap;

/// Rows per upsert statement on PostgreSQL (8 values each).
const UPSERT_CHUNK: usize = 500;

/// A case as the counts see it, with what it last added to them.
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
    /// Its contribution as last stored (`count_marks`); `None` when it was never counted.
    pub mark: Option<String>,
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

/// `cases LEFT JOIN case_work LEFT JOIN count_marks`, the columns of [`CaseFacts`].
macro_rules! case_facts {
    () => {
        cases::table
            .left_join(case_work::table)
            .left_join(count_marks::table.on(count_marks::case_id.eq(cases::id)))
            .select((
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
                count_marks::contribution.nullable(),
            ))
    };
}

/// `tickets`, the columns of [`TicketFacts`].
macro_rules! ticket_facts {
    () => {
        tickets::table.select((
            tickets::case_id,
            tickets::place_code,
            tickets::district_code,
            tickets::received_at,
            tickets::topic_code,
        ))
    };
}

/// The facts of the cases `ids` with their stored contributions (missing ids are left out): one read.
pub fn cases_by_id(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<CaseFacts>> {
    match ids {
        [] => Ok(Vec::new()),
        [id] => crate::with_backend!(conn, c => case_facts!().filter(cases::id.eq(id)).load(c)),
        _ => crate::with_backend!(conn, c => case_facts!().filter(cases::id.eq_any(ids)).load(c)),
    }
}

/// Up to `limit` cases with ids after `after`, in id order (for a rebuild).
pub fn cases_after(
    conn: &mut DbConnection,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<CaseFacts>> {
    case_facts!()
        .filter(cases::id.gt(after))
        .order(cases::id)
        .limit(limit)
        .load(conn)
}

/// The tickets of the cases `ids`: one read.
pub fn tickets_of(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<TicketFacts>> {
    match ids {
        [] => Ok(Vec::new()),
        [id] => {
            crate::with_backend!(conn, c => ticket_facts!().filter(tickets::case_id.eq(id)).load(c))
        }
        _ => crate::with_backend!(conn, c => ticket_facts!()
            .filter(tickets::case_id.eq_any(ids))
            .load(c)),
    }
}

/// What a case adds to the counts, as [`put_marks`] stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// The case.
    pub case_id: String,
    /// Its class (`none` for a case merged away).
    pub class: &'static str,
    /// Its contribution, encoded.
    pub contribution: String,
}

/// The single-row upsert of a case's mark, a statement diesel prepares once per connection (its type is its key).
struct PutMark<'a>(&'a Mark);

/// The cache key of [`PutMark`].
struct PutMarkStatement;

impl QueryId for PutMark<'_> {
    type QueryId = PutMarkStatement;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> QueryFragment<DB> for PutMark<'_>
where
    DB: Backend + HasSqlType<Text>,
    str: ToSql<Text, DB>,
    String: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("INSERT INTO count_marks (case_id, class, contribution) VALUES (");
        out.push_bind_param::<Text, String>(&self.0.case_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, str>(self.0.class)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, String>(&self.0.contribution)?;
        out.push_sql(
            ") ON CONFLICT (case_id) DO UPDATE SET class = excluded.class, contribution = excluded.contribution",
        );
        Ok(())
    }
}

impl<C> RunQueryDsl<C> for PutMark<'_> {}

/// Stores the cases' contributions (replacing the ones stored): on SQLite one cached statement run per case, on
/// PostgreSQL one multi-row statement for many.
pub fn put_marks(conn: &mut DbConnection, marks: &[Mark]) -> QueryResult<()> {
    match conn {
        DbConnection::Pg(c) if marks.len() > 1 => {
            for chunk in marks.chunks(UPSERT_CHUNK) {
                let mut text =
                    String::from("INSERT INTO count_marks (case_id, class, contribution) VALUES ");
                for i in 0..chunk.len() {
                    if i > 0 {
                        text.push_str(", ");
                    }
                    text.push_str(&format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3));
                }
                text.push_str(
                    " ON CONFLICT (case_id) DO UPDATE SET class = excluded.class, contribution = excluded.contribution",
                );
                let mut q = diesel::sql_query(text).into_boxed();
                for m in chunk {
                    q = q
                        .bind::<Text, _>(m.case_id.clone())
                        .bind::<Text, _>(m.class)
                        .bind::<Text, _>(m.contribution.clone());
                }
                q.execute(c)?;
            }
        }
        _ => {
            for m in marks {
                crate::with_backend!(conn, c => PutMark(m).execute(c))?;
            }
        }
    }
    Ok(())
}

/// Takes the counts' lock for the rest of the transaction (the cursor's row: every writer of the counts takes it
/// first, so that two never add the same change twice) and answers the cursor.
pub fn lock_cursor(conn: &mut DbConnection) -> QueryResult<i64> {
    diesel::update(count_cursor::table.find(1))
        .set(count_cursor::seq.eq(count_cursor::seq))
        .execute(conn)?;
    cursor(conn)
}

/// The cursor, read without the lock (a pass that works out its change before it writes: see
/// `service::analytics::counts::catch_up`).
pub fn cursor(conn: &mut DbConnection) -> QueryResult<i64> {
    count_cursor::table
        .find(1)
        .select(count_cursor::seq)
        .get_result(conn)
}

/// Moves the cursor to `seq` (under [`lock_cursor`]).
pub fn set_cursor(conn: &mut DbConnection, seq: i64) -> QueryResult<()> {
    diesel::update(count_cursor::table.find(1))
        .set(count_cursor::seq.eq(seq))
        .execute(conn)
        .map(|_| ())
}

/// The number of the latest committed change.
pub fn head(conn: &mut DbConnection) -> QueryResult<i64> {
    change_counter::table
        .find(1)
        .select(change_counter::seq)
        .get_result(conn)
}

/// Whether a change was committed after the cursor: one read of two single-row tables.
pub fn behind(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(count_cursor::table.inner_join(
        change_counter::table.on(change_counter::seq.gt(count_cursor::seq)),
    )))
    .get_result(conn)
}

/// The change log's entries numbered after `after` up to `upto`, in number order, at most `limit`: (kind, entity,
/// number). Every kind is read (the number index answers in order) and the caller keeps the cases.
pub fn changes_between(
    conn: &mut DbConnection,
    after: i64,
    upto: i64,
    limit: i64,
) -> QueryResult<Vec<(String, String, i64)>> {
    changes::table
        .filter(changes::seq.gt(after))
        .filter(changes::seq.le(upto))
        .order(changes::seq)
        .limit(limit)
        .select((changes::entity_kind, changes::entity_id, changes::seq))
        .load(conn)
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

/// One row's change, as a statement of its own: `AddRow` adds it (creating the row), `DropEmpty` then removes the
/// row if it reached zero. Both are prepared once per connection (their types are their keys).
struct AddRow<'a> {
    key: &'a RowKey,
    tickets: i32,
    cases: i32,
}

/// The cache key of [`AddRow`].
struct AddRowStatement;

impl QueryId for AddRow<'_> {
    type QueryId = AddRowStatement;
    const HAS_STATIC_QUERY_ID: bool = true;
}

/// Binds the six key columns in the order `level, day, place_code, topic_code, source, status`, separated by `sep`.
fn push_key<'b, DB>(
    out: &mut AstPass<'_, 'b, DB>,
    key: &'b RowKey,
    sep: [&str; 6],
) -> QueryResult<()>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Date>,
    str: ToSql<Text, DB>,
    String: ToSql<Text, DB>,
    NaiveDate: ToSql<Date, DB>,
{
    out.push_sql(sep[0]);
    out.push_bind_param::<Text, str>(key.level.as_str())?;
    out.push_sql(sep[1]);
    out.push_bind_param::<Date, NaiveDate>(&key.day)?;
    out.push_sql(sep[2]);
    out.push_bind_param::<Text, String>(&key.place)?;
    out.push_sql(sep[3]);
    out.push_bind_param::<Text, String>(&key.topic)?;
    out.push_sql(sep[4]);
    out.push_bind_param::<Text, String>(&key.source)?;
    out.push_sql(sep[5]);
    out.push_bind_param::<Text, str>(key.class.as_str())?;
    Ok(())
}

impl<DB> QueryFragment<DB> for AddRow<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Date> + HasSqlType<Integer>,
    str: ToSql<Text, DB>,
    String: ToSql<Text, DB>,
    NaiveDate: ToSql<Date, DB>,
    i32: ToSql<Integer, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        push_key(
            &mut out,
            self.key,
            [
                "INSERT INTO place_counts (level, day, place_code, topic_code, source, status, tickets, cases) VALUES (",
                ", ",
                ", ",
                ", ",
                ", ",
                ", ",
            ],
        )?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, i32>(&self.tickets)?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, i32>(&self.cases)?;
        out.push_sql(
            ") ON CONFLICT (level, day, place_code, topic_code, source, status) DO UPDATE SET \
             tickets = place_counts.tickets + excluded.tickets, cases = place_counts.cases + excluded.cases",
        );
        Ok(())
    }
}

impl<C> RunQueryDsl<C> for AddRow<'_> {}

/// Removes the row of a key if both its numbers are zero.
struct DropEmpty<'a>(&'a RowKey);

/// The cache key of [`DropEmpty`].
struct DropEmptyStatement;

impl QueryId for DropEmpty<'_> {
    type QueryId = DropEmptyStatement;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> QueryFragment<DB> for DropEmpty<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<Date>,
    str: ToSql<Text, DB>,
    String: ToSql<Text, DB>,
    NaiveDate: ToSql<Date, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        push_key(
            &mut out,
            self.0,
            [
                "DELETE FROM place_counts WHERE level = ",
                " AND day = ",
                " AND place_code = ",
                " AND topic_code = ",
                " AND source = ",
                " AND status = ",
            ],
        )?;
        out.push_sql(" AND tickets = 0 AND cases = 0");
        Ok(())
    }
}

impl<C> RunQueryDsl<C> for DropEmpty<'_> {}

/// Adds `delta` (one entry per key: the caller sums first) to the stored rows, creating missing ones, and removes
/// rows that reach zero; the counts' version goes up by one when any row changed. Answers the new version (`None`
/// when `delta` is empty and nothing changed).
pub fn apply(conn: &mut DbConnection, delta: &BTreeMap<RowKey, Tally>) -> QueryResult<Option<i64>> {
    if delta.is_empty() {
        return Ok(None);
    }
    match conn {
        DbConnection::Pg(c) if delta.len() > 1 => {
            let rows: Vec<(&RowKey, &Tally)> = delta.iter().collect();
            for chunk in rows.chunks(UPSERT_CHUNK) {
                upsert_many(c, chunk)?;
            }
        }
        _ => {
            for (key, t) in delta {
                let row = AddRow {
                    key,
                    tickets: clamp(t.tickets),
                    cases: clamp(t.cases),
                };
                crate::with_backend!(conn, c => row.execute(c))?;
            }
        }
    }
    for (key, _) in delta.iter().filter(|(_, t)| t.tickets < 0 || t.cases < 0) {
        crate::with_backend!(conn, c => DropEmpty(key).execute(c))?;
    }
    bump_version(conn).map(Some)
}

/// Adds one to the counts' version (in the caller's transaction, under [`lock_cursor`]) and answers it.
fn bump_version(conn: &mut DbConnection) -> QueryResult<i64> {
    diesel::update(count_cursor::table.find(1))
        .set(count_cursor::version.eq(count_cursor::version + 1))
        .execute(conn)?;
    version(conn)
}

/// The counts' version: it changes with every write of `place_counts`.
pub fn version(conn: &mut DbConnection) -> QueryResult<i64> {
    count_cursor::table
        .find(1)
        .select(count_cursor::version)
        .get_result(conn)
}

/// One multi-row upsert (PostgreSQL: one round trip for many rows).
fn upsert_many(c: &mut diesel::PgConnection, chunk: &[(&RowKey, &Tally)]) -> QueryResult<()> {
    let mut text = String::from(
        "INSERT INTO place_counts (level, day, place_code, topic_code, source, status, tickets, cases) VALUES ",
    );
    let mut n = 0;
    for i in 0..chunk.len() {
        if i > 0 {
            text.push_str(", ");
        }
        text.push('(');
        for j in 0..8 {
            if j > 0 {
                text.push_str(", ");
            }
            n += 1;
            text.push_str(&format!("${n}"));
        }
        text.push(')');
    }
    text.push_str(
        " ON CONFLICT (level, day, place_code, topic_code, source, status) DO UPDATE SET \
         tickets = place_counts.tickets + excluded.tickets, cases = place_counts.cases + excluded.cases",
    );
    let mut q = diesel::sql_query(text).into_boxed();
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
    q.execute(c)?;
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

impl CountRow {
    /// The row's key and numbers (a level or class the code does not know reads as the city's, or as open: a
    /// rebuild then reports the row as a difference and rewrites it).
    pub fn into_key(self) -> (RowKey, Tally) {
        (
            RowKey {
                level: Level::parse(&self.level).unwrap_or(Level::City),
                place: self.place_code,
                day: self.day,
                topic: self.topic_code,
                source: self.source,
                class: StatusClass::parse(&self.status).unwrap_or(StatusClass::Open),
            },
            Tally {
                tickets: i64::from(self.tickets),
                cases: i64::from(self.cases),
            },
        )
    }
}

/// The columns of [`CountRow`].
macro_rules! count_row {
    () => {
        (
            place_counts::level,
            place_counts::day,
            place_counts::place_code,
            place_counts::topic_code,
            place_counts::source,
            place_counts::status,
            place_counts::tickets,
            place_counts::cases,
        )
    };
}

/// Every stored row (for a rebuild).
pub fn all_rows(conn: &mut DbConnection) -> QueryResult<Vec<CountRow>> {
    place_counts::table.select(count_row!()).load(conn)
}

/// The stored rows of `level` over the days `from..=to` (read by the key).
pub fn rows_between(
    conn: &mut DbConnection,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<CountRow>> {
    place_counts::table
        .filter(place_counts::level.eq(level.as_str()))
        .filter(place_counts::day.ge(from))
        .filter(place_counts::day.le(to))
        .select(count_row!())
        .load(conn)
}

/// The last day with a stored row (`None` when there is none).
pub fn last_day(conn: &mut DbConnection) -> QueryResult<Option<NaiveDate>> {
    place_counts::table
        .filter(place_counts::level.eq(Level::City.as_str()))
        .select(diesel::dsl::max(place_counts::day))
        .get_result(conn)
}

/// Runs `f` in one read transaction that sees one state of the database from its first statement to its last
/// (SQLite's read transaction does; PostgreSQL's needs repeatable read).
pub fn in_snapshot<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    conn.transaction(|c| {
        if let DbConnection::Pg(pg) = c {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(pg)?;
        }
        f(c)
    })
}

/// Empties both tables (a rebuild then writes them again); the counts' version goes up by one.
pub fn clear(conn: &mut DbConnection) -> QueryResult<()> {
    diesel::delete(place_counts::table).execute(conn)?;
    diesel::delete(count_marks::table).execute(conn)?;
    bump_version(conn).map(|_| ())
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

/// `SELECT <head> FROM place_counts WHERE` the level, place, days and filter `<tail>`: `head` writes the select
/// list (it may bind values), `place` an exact place.
#[expect(
    clippy::too_many_arguments,
    reason = "the queries differ in their select, grouping and place; the rest is the filter"
)]
fn filtered<T>(
    conn: &mut DbConnection,
    head: impl FnOnce(&mut Sql),
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
    f: &Filter,
    place: Option<&str>,
    tail: &str,
) -> QueryResult<Vec<T>>
where
    T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
{
    let mut q = Sql::new(conn, "SELECT ");
    head(&mut q);
    q.push(" FROM place_counts");
    if f.places.is_some() && !q.is_pg() {
        // Without statistics SQLite would take the key's (level, day) range, every place of the level; a few
        // places are found faster by their own index. PostgreSQL chooses from its statistics.
        q.push(" INDEXED BY place_counts_place");
    }
    q.push(" WHERE level = ");
    q.bind(Bind::Text(level.as_str().to_owned()));
    if let Some(p) = place {
        q.push(" AND place_code = ");
        q.bind(Bind::Text(p.to_owned()));
    }
    q.push(" AND day >= ");
    q.bind(Bind::Date(from));
    q.push(" AND day <= ");
    q.bind(Bind::Date(to));
    q.any_of("topic_code", &f.topics, true);
    q.any_of("source", &f.sources, false);
    q.any_of("status", &f.classes, false);
    if let Some(within) = &f.within {
        if within.is_empty() {
            q.push(" AND 1 = 0");
        } else {
            q.any_of("place_code", within, true);
        }
    }
    if let Some(codes) = &f.places {
        if codes.is_empty() {
            q.push(" AND 1 = 0");
        } else {
            q.push(" AND place_code IN (");
            for (i, code) in codes.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.bind(Bind::Text(code.clone()));
            }
            q.push(")");
        }
    }
    q.push(tail);
    q.load(conn)
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
        |q| {
            q.push("place_code AS key, CAST(SUM(tickets) AS BIGINT) AS tickets, CAST(SUM(cases) AS BIGINT) AS cases");
        },
        level,
        from,
        to,
        f,
        None,
        " GROUP BY place_code",
    )
}

/// Sums of one topic and source.
#[derive(Debug, Clone, QueryableByName)]
pub struct TopicSums {
    /// Second-level topic code.
    #[diesel(sql_type = Text)]
    pub topic: String,
    /// Source.
    #[diesel(sql_type = Text)]
    pub source: String,
    /// Tickets.
    #[diesel(sql_type = BigInt)]
    pub tickets: i64,
    /// Cases.
    #[diesel(sql_type = BigInt)]
    pub cases: i64,
}

/// Tickets and cases per topic and source of the one place `code` of `level` over the days `from..=to` (read by
/// the places' index; `f.places` is replaced by `code`).
pub fn per_topic(
    conn: &mut DbConnection,
    level: Level,
    code: &str,
    from: NaiveDate,
    to: NaiveDate,
    f: &Filter,
) -> QueryResult<Vec<TopicSums>> {
    let f = Filter {
        places: Some(vec![code.to_owned()]),
        ..f.clone()
    };
    filtered(
        conn,
        |q| {
            q.push(
                "topic_code AS topic, source, CAST(SUM(tickets) AS BIGINT) AS tickets, \
                 CAST(SUM(cases) AS BIGINT) AS cases",
            );
        },
        level,
        from,
        to,
        &f,
        None,
        " GROUP BY topic_code, source",
    )
}

/// Tickets of one place and topic.
#[derive(Debug, Clone, QueryableByName)]
pub struct PlaceTopicSums {
    /// Place code.
    #[diesel(sql_type = Text)]
    pub place: String,
    /// Second-level topic code.
    #[diesel(sql_type = Text)]
    pub topic: String,
    /// Tickets.
    #[diesel(sql_type = BigInt)]
    pub tickets: i64,
}

/// Tickets per place of `level` and topic over the days `from..=to` (pairs without tickets are left out).
pub fn per_place_topic(
    conn: &mut DbConnection,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
    f: &Filter,
) -> QueryResult<Vec<PlaceTopicSums>> {
    filtered(
        conn,
        |q| {
            q.push(
                "place_code AS place, topic_code AS topic, CAST(SUM(tickets) AS BIGINT) AS tickets",
            );
        },
        level,
        from,
        to,
        f,
        None,
        " GROUP BY place_code, topic_code HAVING SUM(tickets) > 0",
    )
}

/// Sums of one place over a window and over the period before it.
#[derive(Debug, Clone, QueryableByName)]
pub struct SumsWithPrevious {
    /// Place code.
    #[diesel(sql_type = Text)]
    pub key: String,
    /// Tickets in the window.
    #[diesel(sql_type = BigInt)]
    pub tickets: i64,
    /// Cases in the window.
    #[diesel(sql_type = BigInt)]
    pub cases: i64,
    /// Tickets in the period before.
    #[diesel(sql_type = BigInt)]
    pub previous_tickets: i64,
    /// Cases in the period before.
    #[diesel(sql_type = BigInt)]
    pub previous_cases: i64,
}

/// Tickets and cases per place of `level` over `from..=to` and over the days `previous_from` up to the day before
/// `from`, in one read (places without any are left out). With `f.places` set, the read goes by the places' index.
pub fn per_place_with_previous(
    conn: &mut DbConnection,
    level: Level,
    previous_from: NaiveDate,
    from: NaiveDate,
    to: NaiveDate,
    f: &Filter,
) -> QueryResult<Vec<SumsWithPrevious>> {
    filtered(
        conn,
        |q| {
            q.push("place_code AS key");
            for (name, col, cmp) in [
                ("tickets", "tickets", ">="),
                ("cases", "cases", ">="),
                ("previous_tickets", "tickets", "<"),
                ("previous_cases", "cases", "<"),
            ] {
                q.push(&format!(", CAST(SUM(CASE WHEN day {cmp} "));
                q.bind(Bind::Date(from));
                q.push(&format!(" THEN {col} ELSE 0 END) AS BIGINT) AS {name}"));
            }
        },
        level,
        previous_from,
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
        |q| {
            q.push(&format!(
                "{day} AS key, CAST(SUM(tickets) AS BIGINT) AS tickets, CAST(SUM(cases) AS BIGINT) AS cases"
            ));
        },
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
