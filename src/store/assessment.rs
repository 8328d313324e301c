//! The sums behind the monthly assessment: a GROUP BY query over `case_work` and one over `whistle_calls`,
//! grouped by street, district, department, handler or topic. Raw SQL, because the department level unpacks each case's
//! JSON array of departments (`json_each` on SQLite, `jsonb_array_elements_text` on PostgreSQL) and diesel's DSL
//! cannot; every value is bound, never spliced in.
//!
//! Each case's work carries its tickets and its latest callbacks' sums (triggers keep them, migration
//! `2026-11-26-000014_assessment_sums`), so a month is one range scan of an index that covers every column read:
//! no ticket or callback rows, no table rows, one sort for the GROUP BY (`cargo bench --bench assessment` has the
//! figures).

use crate::db::DbConnection;
use crate::db::schema::{places, units};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

/// What the rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// `case_work.street_code` (cases without a street are left out).
    Street,
    /// `case_work.district_code`.
    District,
    /// Each unit id in `case_work.departments` (cases without departments are left out).
    Department,
    /// `case_work.accepted_by` (cases nobody accepted are left out).
    Handler,
    /// The case's topic (`cases.topic_code`), for the monthly topic ranking.
    Topic,
}

/// Which work the sums cover; the default covers the whole city.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Only cases in these districts or streets (`None`: anywhere). An empty list covers nothing.
    pub places: Option<Vec<String>>,
    /// Only cases on these topics or classes, by code prefix (`None`: every topic).
    pub topics: Option<Vec<String>>,
}

/// Ticket volume, response and latest callbacks of one group.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct GroupSums {
    /// Street or district code, unit id or user id.
    #[diesel(sql_type = Text)]
    pub key: String,
    /// The handler's name as stored with the work (handler level only).
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    /// Tickets of the cases dispatched in the range.
    #[diesel(sql_type = BigInt)]
    pub tickets: i64,
    /// Of those, tickets whose case was accepted by its response deadline.
    #[diesel(sql_type = BigInt)]
    pub responded: i64,
    /// Tickets whose latest callback reached the caller.
    #[diesel(sql_type = BigInt)]
    pub reached: i64,
    /// Resolved `yes`.
    #[diesel(sql_type = BigInt)]
    pub resolved: i64,
    /// Resolved `partly`.
    #[diesel(sql_type = BigInt)]
    pub partly: i64,
    /// `satisfied`.
    #[diesel(sql_type = BigInt)]
    pub satisfied: i64,
    /// `basically_satisfied`.
    #[diesel(sql_type = BigInt)]
    pub basic: i64,
    /// Resolved `yes` and satisfied or basically satisfied.
    #[diesel(sql_type = BigInt)]
    pub both_ok: i64,
    /// Neither resolved `yes` nor (basically) satisfied.
    #[diesel(sql_type = BigInt)]
    pub both_missing: i64,
    /// Of the reached, those whose case's reply had no evidence.
    #[diesel(sql_type = BigInt)]
    pub no_evidence: i64,
}

/// Whistle report-ins of one department.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct WhistleSums {
    /// The summoned unit.
    #[diesel(sql_type = Text)]
    pub key: String,
    /// Times summoned in the range.
    #[diesel(sql_type = BigInt)]
    pub summoned: i64,
    /// Reported in after the deadline.
    #[diesel(sql_type = BigInt)]
    pub late: i64,
    /// Not reported in, and the deadline has passed.
    #[diesel(sql_type = BigInt)]
    pub missing: i64,
}

enum Bind {
    Text(String),
    Time(NaiveDateTime),
}

/// SQL text with its bound values, written with the backend's placeholders (`?` or `$n`).
struct Sql {
    text: String,
    binds: Vec<Bind>,
    numbered: bool,
}

impl Sql {
    fn new(conn: &DbConnection) -> Sql {
        Sql {
            text: String::new(),
            binds: Vec::new(),
            numbered: matches!(conn, DbConnection::Pg(_)),
        }
    }

    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn bind(&mut self, b: Bind) -> &mut Self {
        self.binds.push(b);
        if self.numbered {
            self.text.push_str(&format!("${}", self.binds.len()));
        } else {
            self.text.push('?');
        }
        self
    }

    fn bind_list(&mut self, values: &[String]) -> &mut Self {
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(Bind::Text(v.clone()));
        }
        self
    }

    /// `AND` the scope's conditions on the case work `w` (districts by `district_col`).
    fn scope(&mut self, scope: &Scope, district_col: &str) -> &mut Self {
        if let Some(places) = &scope.places {
            let districts: Vec<String> = places.iter().filter(|p| p.len() == 6).cloned().collect();
            let streets: Vec<String> = places.iter().filter(|p| p.len() == 9).cloned().collect();
            self.push(" AND (1 = 0");
            if !districts.is_empty() {
                self.push(&format!(" OR {district_col} IN ("))
                    .bind_list(&districts)
                    .push(")");
            }
            if !streets.is_empty() {
                self.push(" OR w.street_code IN (")
                    .bind_list(&streets)
                    .push(")");
            }
            self.push(")");
        }
        if let Some(topics) = &scope.topics {
            self.push(" AND EXISTS (SELECT 1 FROM cases ca WHERE ca.id = w.case_id AND (1 = 0");
            for t in topics {
                self.push(" OR ca.topic_code LIKE ")
                    .bind(Bind::Text(format!("{t}%")));
            }
            self.push("))");
        }
        self
    }

    /// The grouping key and the tables it needs after `FROM case_work w`.
    fn group(&mut self, by: GroupBy) -> &'static str {
        match by {
            GroupBy::Street => "w.street_code",
            GroupBy::District => "w.district_code",
            GroupBy::Handler => "w.accepted_by",
            GroupBy::Topic => {
                self.push(" JOIN cases ct ON ct.id = w.case_id");
                "ct.topic_code"
            }
            GroupBy::Department => {
                if self.numbered {
                    self.push(
                        " CROSS JOIN LATERAL jsonb_array_elements_text(w.departments::jsonb) AS d(value)",
                    );
                } else {
                    self.push(" JOIN json_each(w.departments) AS d");
                }
                "d.value"
            }
        }
    }

    /// The conditions every ticket query shares: the month range and the key being known.
    fn range(&mut self, by: GroupBy, key: &str, from: NaiveDateTime, to: NaiveDateTime) {
        self.push(" WHERE w.dispatched_at >= ")
            .bind(Bind::Time(from))
            .push(" AND w.dispatched_at < ")
            .bind(Bind::Time(to));
        match by {
            GroupBy::Department => self.push(" AND w.departments <> '[]'"),
            GroupBy::District => self,
            _ => self.push(&format!(" AND {key} IS NOT NULL")),
        };
    }

    fn load<R>(self, conn: &mut DbConnection) -> QueryResult<Vec<R>>
    where
        R: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
    {
        let Sql { text, binds, .. } = self;
        crate::with_backend!(conn, c => {
            let mut q = diesel::sql_query(text).into_boxed();
            for b in binds {
                q = match b {
                    Bind::Text(s) => q.bind::<Text, _>(s),
                    Bind::Time(t) => q.bind::<Timestamp, _>(t),
                };
            }
            q.load::<R>(c)
        })
    }
}

/// The sums of the cases first dispatched in `[from, to)`, per group: one scan of the `case_work_assessment`
/// index, which holds each case's tickets and its latest callbacks' sums (kept by triggers, migration
/// `2026-11-26-000014_assessment_sums`).
pub fn sums(
    conn: &mut DbConnection,
    by: GroupBy,
    from: NaiveDateTime,
    to: NaiveDateTime,
    scope: &Scope,
) -> QueryResult<Vec<GroupSums>> {
    let mut q = Sql::new(conn);
    let mut from_clause = Sql::new(conn);
    let key = from_clause.group(by);
    let name = if by == GroupBy::Handler {
        "MAX(w.accepted_by_name)"
    } else {
        "NULL"
    };
    q.push(&format!(
        "SELECT {key} AS key, {name} AS name, SUM(w.tickets) AS tickets, \
         SUM(CASE WHEN w.accepted_at IS NOT NULL AND w.accepted_at <= w.respond_due_at THEN w.tickets ELSE 0 END) \
         AS responded, SUM(w.cb_reached) AS reached, SUM(w.cb_resolved) AS resolved, \
         SUM(w.cb_partly) AS partly, SUM(w.cb_satisfied) AS satisfied, SUM(w.cb_basic) AS basic, \
         SUM(w.cb_both_ok) AS both_ok, SUM(w.cb_both_missing) AS both_missing, \
         SUM(CASE WHEN w.evidence_missing THEN w.cb_reached ELSE 0 END) AS no_evidence \
         FROM case_work w"
    ));
    q.push(&from_clause.text);
    q.range(by, key, from, to);
    // Cases without tickets (patrol reports alone) have neither volume nor callbacks.
    q.push(" AND w.tickets > 0");
    q.scope(scope, "w.district_code");
    q.push(&format!(" GROUP BY {key}"));
    q.load(conn)
}

/// Whistle report-ins per summoned unit, of the whistles blown in `[from, to)`; `now` decides which missing
/// report-ins are overdue.
pub fn whistles(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
    now: NaiveDateTime,
    scope: &Scope,
) -> QueryResult<Vec<WhistleSums>> {
    let mut q = Sql::new(conn);
    q.push(
        "SELECT wc.unit_id AS key, COUNT(*) AS summoned, \
         SUM(CASE WHEN wc.reported_at IS NOT NULL AND wc.reported_at > wc.due_at THEN 1 ELSE 0 END) AS late, \
         SUM(CASE WHEN wc.reported_at IS NULL AND wc.due_at < ",
    )
    .bind(Bind::Time(now))
    .push(
        " THEN 1 ELSE 0 END) AS missing \
         FROM whistle_calls wc LEFT JOIN case_work w ON w.case_id = wc.case_id \
         WHERE wc.summoned_at >= ",
    )
    .bind(Bind::Time(from))
    .push(" AND wc.summoned_at < ")
    .bind(Bind::Time(to))
    .scope(scope, "wc.district_code")
    .push(" GROUP BY wc.unit_id");
    q.load(conn)
}

/// Names of the districts and streets, by code.
pub fn place_names(conn: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    places::table
        .filter(places::level.eq_any(["district", "street"]))
        .select((places::code, places::name))
        .load(conn)
}

/// Names of units, by id.
pub fn unit_names(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(
            units::table
                .filter(units::id.eq_any(chunk))
                .select((units::id, units::name))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(out)
}
