//! What a hot spot scan reads: hotline tickets per place and topic (and per day for a few places) from the kept
//! counts (`place_counts`), never from the raw tickets. Every value is bound; the number of binds is bounded by the
//! caller's topic and place limits.

use crate::db::DbConnection;
use crate::geo::place::Level;
use crate::store::sql::{Bind, Sql};
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

/// Tickets of one place and topic (and day, when asked for).
#[derive(Debug, Clone, QueryableByName)]
pub struct PlaceTopic {
    /// Place code.
    #[diesel(sql_type = Text)]
    pub place: String,
    /// Topic code (second level).
    #[diesel(sql_type = Text)]
    pub topic: String,
    /// The day as `YYYY-MM-DD`.
    #[diesel(sql_type = Text)]
    pub day: String,
    /// Tickets.
    #[diesel(sql_type = BigInt)]
    pub tickets: i64,
}

/// `<head> FROM place_counts WHERE` the level, days, topics (by prefix) and places (by prefix, or by code with
/// `exact_places`; `Some(&[])`: nowhere) `<tail>`, over places with tickets.
#[expect(
    clippy::too_many_arguments,
    reason = "a query's filters, each a plain value; a struct would only rename them"
)]
fn filtered<T>(
    conn: &mut DbConnection,
    head: &str,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
    topics: &[String],
    places: Option<&[String]>,
    exact_places: bool,
    tail: &str,
) -> QueryResult<Vec<T>>
where
    T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
{
    let mut q = Sql::new(conn, head);
    q.push(" FROM place_counts WHERE level = ");
    q.bind(Bind::Text(level.as_str().to_owned()));
    q.push(" AND day >= ");
    q.bind(Bind::Date(from));
    q.push(" AND day <= ");
    q.bind(Bind::Date(to));
    q.push(" AND tickets <> 0");
    q.any_of("topic_code", topics, true);
    match places {
        Some([]) => q.push(" AND 1 = 0"),
        Some(ps) => q.any_of("place_code", ps, !exact_places),
        None => {}
    }
    q.push(tail);
    q.load(conn)
}

/// Tickets per place of `level`, topic and day over `from..=to`: topics by prefix (empty: all), places by prefix
/// (`None`: everywhere; an empty list: nowhere) or, with `exact_places`, by code. Groups without tickets are left
/// out.
pub fn tickets(
    conn: &mut DbConnection,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
    topics: &[String],
    places: Option<&[String]>,
    exact_places: bool,
) -> QueryResult<Vec<PlaceTopic>> {
    let day = match conn {
        DbConnection::Pg(_) => "to_char(day, 'YYYY-MM-DD')",
        DbConnection::Sqlite(_) => "CAST(day AS TEXT)",
    };
    let head = format!(
        "SELECT place_code AS place, topic_code AS topic, {day} AS day, CAST(SUM(tickets) AS BIGINT) AS tickets"
    );
    let tail = format!(" GROUP BY place_code, topic_code, {day}");
    filtered(
        conn,
        &head,
        level,
        from,
        to,
        topics,
        places,
        exact_places,
        &tail,
    )
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Tickets of `topics` (by prefix; empty: all) in `from..=to` inside `places` (by prefix; `None`: everywhere) at
/// `level`, in all.
pub fn total(
    conn: &mut DbConnection,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
    topics: &[String],
    places: Option<&[String]>,
) -> QueryResult<i64> {
    let rows: Vec<Total> = filtered(
        conn,
        "SELECT CAST(COALESCE(SUM(tickets), 0) AS BIGINT) AS n",
        level,
        from,
        to,
        topics,
        places,
        false,
        "",
    )?;
    Ok(rows.first().map_or(0, |r| r.n))
}
