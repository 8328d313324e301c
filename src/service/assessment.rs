//! The monthly assessment (一份卷子) of streets, districts, departments and handlers: rates, score, points, rank
//! and the change from the previous month, within the reader's jurisdiction.
//!
//! The formulas and what counts are in `domain::assessment`; the sums come from GROUP BY queries
//! (`store::assessment`): per month one over the case work (volume, response, latest callbacks), and at the
//! department level one for whistles. Nothing here walks the tickets one by one.

use crate::db::{Db, DbError};
use crate::domain::access;
use crate::domain::access::Principal;
use crate::domain::assessment::{
    self as rules, AssessmentPolicy, Counts, Level, Month, POLICY_PREFIX, Rates,
};
use crate::error::{ErrorKind, InvalidField, ServiceError};
use crate::store::assessment::{self as store, GroupBy, Scope, WhistleSums};
use crate::store::topics as policy_store;
use chrono::NaiveDateTime;
use std::collections::HashMap;

/// Errors of the assessment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssessmentError {
    /// A parameter is missing or malformed.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::error::from_query_error!(AssessmentError);

impl ServiceError for AssessmentError {
    fn kind(&self) -> ErrorKind {
        match self {
            AssessmentError::Invalid(_) => ErrorKind::Invalid("invalid_field"),
            AssessmentError::Db(_) => ErrorKind::Internal,
        }
    }
}

/// Parses the month parameter (`YYYY-MM`).
pub fn parse_month(s: Option<&str>) -> Result<Month, AssessmentError> {
    let s = s.map(str::trim).filter(|s| !s.is_empty()).ok_or_else(|| {
        AssessmentError::Invalid(InvalidField::new(
            "month",
            "is required, as YYYY-MM (e.g. 2026-11)",
        ))
    })?;
    Month::parse(s).ok_or_else(|| {
        AssessmentError::Invalid(InvalidField::new(
            "month",
            format!("{s:?} is not a month: give YYYY-MM (e.g. 2026-11)"),
        ))
    })
}

/// Parses the level parameter (default `street`).
pub fn parse_level(s: Option<&str>) -> Result<Level, AssessmentError> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(Level::Street);
    };
    Level::parse(s).ok_or_else(|| {
        AssessmentError::Invalid(InvalidField::new(
            "level",
            format!(
                "{s:?} is not a level: use one of {}",
                Level::ALL.map(Level::as_str).join(", ")
            ),
        ))
    })
}

/// Whistle report-ins of a department in the month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Whistles {
    /// Times it was summoned (吹哨) in the month.
    pub summoned: i64,
    /// Reported in after the deadline.
    pub late: i64,
    /// Never reported in, and the deadline has passed.
    pub missing: i64,
}

/// Month-on-month changes (this month − the previous), `None` where either month has no value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Changes {
    /// Response rate.
    pub response: Option<f64>,
    /// Resolution rate.
    pub resolution: Option<f64>,
    /// Satisfaction rate.
    pub satisfaction: Option<f64>,
    /// Score.
    pub score: Option<f64>,
}

/// One assessed street, district, department or handler.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Street or district code, unit id or user id.
    pub code: String,
    /// Its name (the handler's name as stored with the work).
    pub name: Option<String>,
    /// What was counted.
    pub counts: Counts,
    /// Rates and score.
    pub rates: Rates,
    /// Points.
    pub points: f64,
    /// 1 for the highest score; `None` without a score.
    pub rank: Option<usize>,
    /// Against the previous month.
    pub change: Changes,
    /// Whistle report-ins (department level only).
    pub whistles: Option<Whistles>,
}

/// A month's assessment at one level.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The month.
    pub month: Month,
    /// The month compared with.
    pub previous: Month,
    /// The level.
    pub level: Level,
    /// The weights and points used.
    pub policy: AssessmentPolicy,
    /// Ranked: by score, highest first, ties by code; entries without a score last.
    pub entries: Vec<Entry>,
}

/// The assessment policy: stored `assessment.*` values over the defaults (a value that does not fit is logged
/// and ignored).
pub fn load_policy(conn: &mut crate::db::DbConnection) -> diesel::QueryResult<AssessmentPolicy> {
    let mut p = AssessmentPolicy::default();
    for (key, value) in policy_store::policy_values(conn)? {
        if let Some(k) = key.strip_prefix(POLICY_PREFIX)
            && let Err(why) = p.set(k, &value)
        {
            tracing::warn!(%key, %value, %why, "ignoring an assessment policy value");
        }
    }
    Ok(p)
}

fn group_by(level: Level) -> GroupBy {
    match level {
        Level::Street => GroupBy::Street,
        Level::District => GroupBy::District,
        Level::Department => GroupBy::Department,
        Level::Handler => GroupBy::Handler,
    }
}

/// Counts per key, with the names the work carries.
pub(crate) type Sums = HashMap<String, (Option<String>, Counts)>;

/// The sums of one month per `by` (the monthly topic ranking reads them per topic).
pub(crate) fn month_sums(
    conn: &mut crate::db::DbConnection,
    by: GroupBy,
    month: Month,
    scope: &Scope,
) -> diesel::QueryResult<Sums> {
    let mut out = Sums::new();
    for g in store::sums(conn, by, month.start_utc(), month.end_utc(), scope)? {
        let counts = Counts {
            tickets: g.tickets,
            responded: g.responded,
            reached: g.reached,
            resolved: g.resolved,
            partly: g.partly,
            unresolved: g.reached - g.resolved - g.partly,
            satisfied: g.satisfied,
            basic: g.basic,
            dissatisfied: g.reached - g.satisfied - g.basic,
            both_ok: g.both_ok,
            both_missing: g.both_missing,
            no_evidence: g.no_evidence,
        };
        out.insert(g.key, (g.name, counts));
    }
    Ok(out)
}

/// The sums of `months`, side by side on two reader connections (SQLite readers do not block each other under
/// WAL).
fn sums(
    db: &Db,
    by: GroupBy,
    months: [Month; 2],
    scope: &Scope,
) -> Result<[Sums; 2], AssessmentError> {
    let run = |month: Month| -> Result<Sums, AssessmentError> {
        Ok(month_sums(&mut *db.reader()?, by, month, scope)?)
    };
    let (current, previous) = std::thread::scope(|s| {
        let previous = s.spawn(|| run(months[1]));
        let current = run(months[0]);
        (
            current,
            previous
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        )
    });
    Ok([current?, previous?])
}

/// The assessment of `month` at `level` as `user` may see it, with whistles overdue as of `now` (the moment that
/// decides which whistle report-ins are overdue).
pub fn assess(
    db: &Db,
    user: &Principal,
    month: Month,
    level: Level,
    now: NaiveDateTime,
) -> Result<Assessment, AssessmentError> {
    let (places, topics) = access::assessment_scope(user);
    let scope = Scope { places, topics };
    let pol = load_policy(&mut *db.reader()?)?;
    let previous = month.previous();
    let mut result = Assessment {
        month,
        previous,
        level,
        policy: pol,
        entries: Vec::new(),
    };
    let covers_nothing = scope.places.as_ref().is_some_and(Vec::is_empty)
        || scope.topics.as_ref().is_some_and(Vec::is_empty);
    if covers_nothing {
        return Ok(result);
    }
    let by = group_by(level);
    // Two connections for the sums, then one for the rest: a pool of two (the command line's) is enough.
    let [current, before] = sums(db, by, [month, previous], &scope)?;
    let mut conn = db.reader()?;
    let conn = &mut *conn;
    let whistles: HashMap<String, WhistleSums> = if level == Level::Department {
        store::whistles(conn, month.start_utc(), month.end_utc(), now, &scope)?
            .into_iter()
            .map(|w| (w.key.clone(), w))
            .collect()
    } else {
        HashMap::new()
    };
    let mut codes: Vec<String> = current.keys().chain(whistles.keys()).cloned().collect();
    codes.sort();
    codes.dedup();
    let names: HashMap<String, String> = match level {
        Level::Street | Level::District => store::place_names(conn)?.into_iter().collect(),
        Level::Department => store::unit_names(conn, &codes)?.into_iter().collect(),
        Level::Handler => HashMap::new(),
    };
    for code in codes {
        let (stored_name, counts) = current.get(&code).cloned().unwrap_or_default();
        let rates = rules::rates(&pol, &counts);
        let prev = before.get(&code).map(|(_, c)| rules::rates(&pol, c));
        let was = |f: fn(&Rates) -> Option<f64>| prev.as_ref().and_then(f);
        let change = Changes {
            response: rules::change(rates.response, was(|r| r.response)),
            resolution: rules::change(rates.resolution, was(|r| r.resolution)),
            satisfaction: rules::change(rates.satisfaction, was(|r| r.satisfaction)),
            score: rules::change(rates.score, was(|r| r.score)),
        };
        result.entries.push(Entry {
            name: names.get(&code).cloned().or(stored_name),
            points: rules::points(&pol, &counts),
            whistles: (level == Level::Department).then(|| {
                whistles
                    .get(&code)
                    .map_or_else(Whistles::default, |w| Whistles {
                        summoned: w.summoned,
                        late: w.late,
                        missing: w.missing,
                    })
            }),
            code,
            counts,
            rates,
            rank: None,
            change,
        });
    }
    result
        .entries
        .sort_by(|a, b| rules::compare((&a.code, a.rates.score), (&b.code, b.rates.score)));
    let keys: Vec<(&str, Option<f64>)> = result
        .entries
        .iter()
        .map(|e| (e.code.as_str(), e.rates.score))
        .collect();
    let ranks = rules::ranks(&keys);
    for (e, rank) in result.entries.iter_mut().zip(ranks) {
        e.rank = rank;
    }
    Ok(result)
}
