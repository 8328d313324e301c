//! What a hot spot scan reads: hotline tickets per place and topic (and per day for a few places) from the kept
//! counts (`place_counts`), never from the raw tickets. Every value is bound; the number of binds is bounded by the
//! caller's topic and place limits.

use crate::db::DbConnection;
use crate::geo::place::Level;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};

/// Tickets of one place and topic (and day, when asked for).
#[derive(Debug, Clone, QueryableByName)]
pub struct PlaceTopic {
    /// Place code.
    #[diesel(sql_type = Text)]
    pub place: String,
    /// Topic code (second level).
    #[diesel(sql_type = Text)]
    pub topic: String,
    /// The day as `YYYY-MM-DD` (empty when not grouped by day).
    #[diesel(sql_type = Text)]
    pub day: String,
    /// Tickets.
    #[diesel(sql_type = BigInt)]
    pub tickets: i64,
}

enum Bind {
    Text(String),
    Date(NaiveDate),
}

/// The filters of a scan's reads: `WHERE ...` text and its binds.
struct Where {
    text: String,
    binds: Vec<Bind>,
    pg: bool,
}

impl Where {
    fn new(
        pg: bool,
        level: Level,
        from: NaiveDate,
        to: NaiveDate,
        topics: &[String],
        places: Option<&[String]>,
        exact_places: bool,
    ) -> Where {
        let mut w = Where {
            text: String::from(" FROM place_counts WHERE level = "),
            binds: Vec::new(),
            pg,
        };
        w.bind(Bind::Text(level.as_str().to_owned()));
        w.text.push_str(" AND day >= ");
        w.bind(Bind::Date(from));
        w.text.push_str(" AND day <= ");
        w.bind(Bind::Date(to));
        w.text.push_str(" AND tickets <> 0");
        if !topics.is_empty() {
            w.text.push_str(" AND (1 = 0");
            for t in topics {
                w.text.push_str(" OR topic_code LIKE ");
                w.bind(Bind::Text(format!("{t}%")));
            }
            w.text.push(')');
        }
        if let Some(ps) = places {
            w.text.push_str(" AND (1 = 0");
            for p in ps {
                if exact_places {
                    w.text.push_str(" OR place_code = ");
                    w.bind(Bind::Text(p.clone()));
                } else {
                    w.text.push_str(" OR place_code LIKE ");
                    w.bind(Bind::Text(format!("{p}%")));
                }
            }
            w.text.push(')');
        }
        w
    }

    fn bind(&mut self, b: Bind) {
        self.binds.push(b);
        if self.pg {
            self.text.push_str(&format!("${}", self.binds.len()));
        } else {
            self.text.push('?');
        }
    }

    fn load<
        T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
    >(
        self,
        conn: &mut DbConnection,
        head: &str,
        tail: &str,
    ) -> QueryResult<Vec<T>> {
        let text = format!("{head}{}{tail}", self.text);
        crate::with_backend!(conn, c => {
            let mut q = diesel::sql_query(text).into_boxed();
            for b in self.binds {
                q = match b {
                    Bind::Text(s) => q.bind::<Text, _>(s),
                    Bind::Date(d) => q.bind::<Date, _>(d),
                };
            }
            q.load::<T>(c)
        })
    }
}

/// Tickets per place of `level` and topic over `from..=to`: topics by prefix (empty: all), places by prefix
/// (`None`: everywhere; an empty list: nowhere) or, with `exact_places`, by code; with `by_day` also per day.
/// Groups without tickets are left out.
#[expect(
    clippy::too_many_arguments,
    reason = "a query's filters, each a plain value; a struct would only rename them"
)]
pub fn tickets(
    conn: &mut DbConnection,
    level: Level,
    from: NaiveDate,
    to: NaiveDate,
    topics: &[String],
    places: Option<&[String]>,
    exact_places: bool,
    by_day: bool,
) -> QueryResult<Vec<PlaceTopic>> {
    let pg = matches!(conn, DbConnection::Pg(_));
    let day = match (by_day, pg) {
        (false, _) => "''",
        (true, true) => "to_char(day, 'YYYY-MM-DD')",
        (true, false) => "CAST(day AS TEXT)",
    };
    let head = format!(
        "SELECT place_code AS place, topic_code AS topic, {day} AS day, CAST(SUM(tickets) AS BIGINT) AS tickets"
    );
    let mut tail = String::from(" GROUP BY place_code, topic_code");
    if by_day {
        tail.push_str(&format!(", {day}"));
    }
    Where::new(pg, level, from, to, topics, places, exact_places).load(conn, &head, &tail)
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
    let pg = matches!(conn, DbConnection::Pg(_));
    let rows: Vec<Total> = Where::new(pg, level, from, to, topics, places, false).load(
        conn,
        "SELECT CAST(COALESCE(SUM(tickets), 0) AS BIGINT) AS n",
        "",
    )?;
    Ok(rows.first().map_or(0, |r| r.n))
}
