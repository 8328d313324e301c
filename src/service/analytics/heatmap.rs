//! Heat maps and series for leaders: tickets and cases per place of one level over a window of days, with the
//! period before it, rates per 1,000 households and the series behind one place. Read from the kept counts
//! (`service::analytics::counts`), never from the raw tickets.
//!
//! Guarantees: every place of the level inside the reader's jurisdiction appears, zeros included, and nothing from
//! outside it: a level coarser than the jurisdiction, or a place outside it, is refused (never trimmed); every
//! parameter is checked and refused with a stable code; windows are at most a year.

use crate::analytics::counts::Filter;
use crate::analytics::counts::{self as calc, Step, Tally, Window, WindowError};
use crate::db::{Db, DbError};
use crate::domain::access::Principal;
use crate::domain::access::Role;
use crate::domain::time::parse_day;
use crate::domain::topic::{TopicFilterError, filter_topics};
use crate::error::{Details, ErrorKind, ServiceError};
use crate::geo::index::PlaceIndex;
use crate::geo::place::{CITY_CODE, Level};
use crate::service::analytics::counts;
use crate::store::counts as store;
use chrono::{NaiveDate, NaiveDateTime};
use std::collections::HashMap;

/// The sources a filter accepts.
pub const SOURCES: [&str; 4] = ["hotline", "patrol", "mixed", "proactive"];
/// The status classes a filter accepts.
pub const CLASSES: [&str; 3] = ["open", "closed", "overdue"];
/// The levels a heat map is drawn at.
pub const LEVELS: [&str; 4] = ["district", "street", "community", "cell"];
/// The steps of a series.
pub const STEPS: [&str; 3] = ["day", "week", "month"];

/// Why a heat map or series is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeatError {
    /// A parameter has a value outside its set or format.
    #[error("{message}")]
    Invalid {
        /// Stable code.
        code: &'static str,
        /// What to change.
        message: String,
    },
    /// A parameter has a value outside a fixed set.
    #[error("{message}")]
    NotOneOf {
        /// Stable code.
        code: &'static str,
        /// What to change.
        message: String,
        /// The values accepted.
        accepted: &'static [&'static str],
    },
    /// The window is reversed or too long.
    #[error("{0}")]
    Window(#[from] WindowError),
    /// The request reaches places outside the reader's jurisdiction.
    #[error("{0}")]
    Outside(String),
    /// No such place (or not visible to the reader).
    #[error("no place has the code {0}")]
    PlaceNotFound(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::error::from_query_error!(HeatError);

impl ServiceError for HeatError {
    fn kind(&self) -> ErrorKind {
        match self {
            HeatError::Invalid { code, .. } | HeatError::NotOneOf { code, .. } => {
                ErrorKind::Invalid(code)
            }
            HeatError::Window(WindowError::Reversed) => ErrorKind::Invalid("window_reversed"),
            HeatError::Window(_) => ErrorKind::Invalid("window_too_long"),
            HeatError::Outside(_) => ErrorKind::Forbidden("outside_jurisdiction"),
            HeatError::PlaceNotFound(_) => ErrorKind::NotFound("place_not_found"),
            HeatError::Db(_) => ErrorKind::Internal,
        }
    }

    fn details(&self) -> Details {
        match self {
            HeatError::NotOneOf { accepted, .. } => {
                Details::Accepted(accepted.iter().map(|a| (*a).to_owned()).collect())
            }
            _ => Details::None,
        }
    }
}

/// A value outside `accepted`: refused with `code`, naming the parameter and the values it takes.
fn not_one_of(
    code: &'static str,
    name: &str,
    value: &str,
    accepted: &'static [&'static str],
) -> HeatError {
    HeatError::NotOneOf {
        code,
        message: format!(
            "{name} {:?} is not one of {}",
            value.chars().take(40).collect::<String>(),
            accepted.join(", ")
        ),
        accepted,
    }
}

fn invalid(code: &'static str, message: impl Into<String>) -> HeatError {
    HeatError::Invalid {
        code,
        message: message.into(),
    }
}

/// Where a reader's numbers may come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Place codes (by prefix) the reader sees; `None`: the whole city.
    pub places: Option<Vec<String>>,
    /// Topics (by prefix) the reader sees; `None`: every topic.
    pub topics: Option<Vec<String>>,
}

impl Scope {
    /// The jurisdiction of `user`, as for the case list: city-wide roles and readers of the city see everything;
    /// department handlers their topics (inside their places, when they have any); everyone else their places.
    pub fn of(user: &Principal) -> Scope {
        let (places, topics) = crate::domain::access::case_scope(user);
        let places = if user.role == Role::DepartmentHandler && places.is_none() {
            None
        } else {
            places
        };
        Scope { places, topics }
    }

    fn sees_place(&self, code: &str) -> bool {
        self.places.as_ref().is_none_or(|ps| {
            ps.iter()
                .any(|p| p == CITY_CODE || code.starts_with(p.as_str()))
        })
    }
}

/// What is counted: a window and filters (empty lists: no filter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filters {
    /// The days.
    pub window: Window,
    /// First- or second-level topic codes.
    pub topics: Vec<String>,
    /// Sources ([`SOURCES`]).
    pub sources: Vec<String>,
    /// Status classes ([`CLASSES`]).
    pub classes: Vec<String>,
}

/// A heat map request as the client wrote it.
#[derive(Debug, Clone, Default)]
pub struct HeatRequest {
    /// `district`, `street`, `community` or `cell`.
    pub level: Option<String>,
    /// First day, `YYYY-MM-DD` (Beijing).
    pub from: Option<String>,
    /// Last day, included.
    pub to: Option<String>,
    /// Topic codes (repeatable).
    pub topics: Vec<String>,
    /// Sources (repeatable).
    pub sources: Vec<String>,
    /// Status classes (repeatable).
    pub statuses: Vec<String>,
    /// Only the places inside this one (inside the jurisdiction).
    pub within: Option<String>,
}

/// Parses a day.
fn day(field: &'static str, value: Option<&str>) -> Result<NaiveDate, HeatError> {
    parse_day(field, value).map_err(|e| invalid(e.code(), e.to_string()))
}

/// Parses a level name.
pub fn level(value: Option<&str>) -> Result<Level, HeatError> {
    let v = value.map(str::trim).unwrap_or("");
    Level::parse(v)
        .filter(|l| *l != Level::City)
        .ok_or_else(|| not_one_of("unknown_level", "level", v, &LEVELS))
}

fn checked(
    name: &str,
    values: &[String],
    accepted: &'static [&'static str],
    code: &'static str,
) -> Result<Vec<String>, HeatError> {
    let mut out = Vec::new();
    for v in values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        if !accepted.contains(&v) {
            return Err(not_one_of(code, name, v, accepted));
        }
        if !out.iter().any(|o| o == v) {
            out.push(v.to_owned());
        }
    }
    Ok(out)
}

/// The window of `from` and `to` (both days included): when both are absent, `default` (without one, `from` and
/// `to` are required); one without the other is refused.
pub fn window(
    from: Option<&str>,
    to: Option<&str>,
    default: Option<Window>,
) -> Result<Window, HeatError> {
    let given = |v: Option<&str>| v.is_some_and(|v| !v.trim().is_empty());
    if let Some(d) = default
        && !given(from)
        && !given(to)
    {
        return Ok(d);
    }
    Ok(Window::new(day("from", from)?, day("to", to)?)?)
}

/// The heat map's filters checked for `scope` within `window`: sources, status classes and topics (against the
/// taxonomy and the reader's topics; a department handler's numbers default to their topics). The heat map, the
/// series and the vector tiles all check their filters here.
pub fn filters(
    db: &Db,
    window: Window,
    topic_values: &[String],
    sources: &[String],
    statuses: &[String],
    scope: &Scope,
) -> Result<Filters, HeatError> {
    let sources = checked("source", sources, &SOURCES, "unknown_source")?;
    let classes = checked("status", statuses, &CLASSES, "unknown_status")?;
    let topics = topics(db, topic_values, scope)?;
    Ok(Filters {
        window,
        topics,
        sources,
        classes,
    })
}

/// Checks topic codes against the taxonomy and the reader's topics.
fn topics(db: &Db, values: &[String], scope: &Scope) -> Result<Vec<String>, HeatError> {
    // The taxonomy is read only to check named topics (a map's tiles, asked for many at a time, name none).
    let named = values
        .iter()
        .any(|v| v.split(',').any(|p| !p.trim().is_empty()));
    let known: Vec<String> = if named {
        crate::store::topics::all(&mut *db.reader()?)?
            .into_iter()
            .map(|t| t.code)
            .collect()
    } else {
        Vec::new()
    };
    filter_topics(values, &known, scope.topics.as_deref()).map_err(|e| match e {
        TopicFilterError::TooMany => invalid("too_many_topics", e.to_string()),
        TopicFilterError::NotYours(_) => HeatError::Outside(e.to_string()),
        _ => invalid("unknown_topic", e.to_string()),
    })
}

/// The place prefixes a request covers: the `within` place (visible to the reader) or the reader's jurisdiction;
/// refused when `level` is coarser than any of them.
fn coverage(
    scope: &Scope,
    level: Level,
    within: Option<&str>,
) -> Result<Option<Vec<String>>, HeatError> {
    let places = match within.map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => {
            if w != CITY_CODE && (!scope.sees_place(w) || calc::level_of(w).is_none()) {
                return Err(HeatError::PlaceNotFound(w.chars().take(40).collect()));
            }
            if w == CITY_CODE {
                if scope.places.is_some() {
                    return Err(HeatError::PlaceNotFound(w.to_owned()));
                }
                None
            } else {
                Some(vec![w.to_owned()])
            }
        }
        None => scope.places.clone(),
    };
    if let Some(ps) = &places {
        if ps.iter().any(|p| p == CITY_CODE) {
            return Ok(None);
        }
        if ps.is_empty() {
            return Err(HeatError::Outside("your account has no places".into()));
        }
        if let Some(p) = ps.iter().find(|p| p.len() > level.code_len()) {
            return Err(HeatError::Outside(format!(
                "a {level} would reach beyond {p}, the finest place you may read at this level: ask for a finer level"
            )));
        }
    }
    Ok(places)
}

/// Tickets and cases per place of `level` under `filters`, in the window and in the period before it, with every
/// change counted up to the last pass (places without any are left out): the places inside `scope` or, given
/// `codes` (all of `level`, already kept inside the reader's jurisdiction), exactly those. The reader's topics bound
/// the numbers. The heat map and the vector tiles read their numbers here. `version`: the counts' version the
/// caller has just read, if it has (see [`counts::sums`]).
pub fn counts_by_place(
    db: &Db,
    level: Level,
    filters: &Filters,
    scope: &Scope,
    codes: Option<Vec<String>>,
    version: Option<i64>,
    now: NaiveDateTime,
) -> Result<HashMap<String, (Tally, Tally)>, DbError> {
    let f = Filter {
        topics: filters.topics.clone(),
        sources: filters.sources.clone(),
        classes: filters.classes.clone(),
        within: match codes {
            Some(_) => None,
            None => scope
                .places
                .clone()
                .filter(|p| !p.iter().any(|c| c == CITY_CODE)),
        },
        places: codes,
    };
    let today = calc::local_day(now);
    Ok(counts::sums(db, level, filters.window, &f, today, version)?
        .into_iter()
        .map(|s| (s.code, (s.now, s.before)))
        .collect())
}

/// The numbers of one place as the heat map's features and the vector tiles' features carry them (under these
/// names: [`NUMBER_FIELDS`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlaceNumbers {
    /// Tickets (calls) in the window.
    pub tickets: i64,
    /// Cases (problems) in the window.
    pub cases: i64,
    /// Households in the geodata; `None` where it has none.
    pub households: Option<i64>,
    /// Tickets per 1,000 households; `None` without households.
    pub tickets_per_1000_households: Option<f64>,
    /// Cases per 1,000 households; `None` without households.
    pub cases_per_1000_households: Option<f64>,
    /// Tickets in the period before, of the same length.
    pub previous_tickets: i64,
    /// Cases in the period before.
    pub previous_cases: i64,
    /// Change of tickets against the period before, percent; `None` when that period had none.
    pub tickets_change_pct: Option<f64>,
    /// Change of cases, percent; `None` when the period before had none.
    pub cases_change_pct: Option<f64>,
}

/// The names of [`PlaceNumbers`]' fields as features carry them, with their TileJSON types.
pub const NUMBER_FIELDS: [(&str, &str); 9] = [
    ("tickets", "Number"),
    ("cases", "Number"),
    ("households", "Number"),
    ("tickets_per_1000_households", "Number"),
    ("cases_per_1000_households", "Number"),
    ("previous_tickets", "Number"),
    ("previous_cases", "Number"),
    ("tickets_change_pct", "Number"),
    ("cases_change_pct", "Number"),
];

impl PlaceNumbers {
    /// The numbers of a place with `now` in the window, `before` in the period before and `households` (zero or
    /// `None`: the geodata has none).
    pub fn new(now: Tally, before: Tally, households: Option<i64>) -> PlaceNumbers {
        let households = households.filter(|h| *h > 0);
        let hh = households.unwrap_or(0);
        PlaceNumbers {
            tickets: now.tickets,
            cases: now.cases,
            households,
            tickets_per_1000_households: calc::per_thousand(now.tickets, hh),
            cases_per_1000_households: calc::per_thousand(now.cases, hh),
            previous_tickets: before.tickets,
            previous_cases: before.cases,
            tickets_change_pct: calc::change_pct(now.tickets, before.tickets),
            cases_change_pct: calc::change_pct(now.cases, before.cases),
        }
    }
}

/// One place of a heat map.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatRow {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Parent's code.
    pub parent: Option<String>,
    /// In the window.
    pub now: Tally,
    /// In the window before it.
    pub before: Tally,
    /// Households in the geodata (`None` where it has none).
    pub households: Option<i64>,
}

impl HeatRow {
    /// Its numbers.
    pub fn numbers(&self) -> PlaceNumbers {
        PlaceNumbers::new(self.now, self.before, self.households)
    }
}

/// A heat map.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatMap {
    /// The level.
    pub level: Level,
    /// The window and filters.
    pub filters: Filters,
    /// Every place of the level in the reader's coverage, by code.
    pub rows: Vec<HeatRow>,
}

/// Checks a request and reads its heat map for `user`, with every change committed before `now` counted.
pub fn heatmap(
    db: &Db,
    index: &PlaceIndex,
    user: &Principal,
    req: &HeatRequest,
    now: NaiveDateTime,
) -> Result<HeatMap, HeatError> {
    let level = level(req.level.as_deref())?;
    let window = window(req.from.as_deref(), req.to.as_deref(), None)?;
    let scope = Scope::of(user);
    let places = coverage(&scope, level, req.within.as_deref())?;
    if let Some(w) = req
        .within
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty() && *w != CITY_CODE)
        && index.place(w).is_none()
    {
        return Err(HeatError::PlaceNotFound(w.chars().take(40).collect()));
    }
    counts::current(db, now)?;
    let filters = filters(db, window, &req.topics, &req.sources, &req.statuses, &scope)?;
    let read_scope = Scope {
        places: places.clone(),
        topics: scope.topics.clone(),
    };
    let counts = counts_by_place(db, level, &filters, &read_scope, None, None, now)?;
    let inside = |code: &str| {
        places
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| code.starts_with(p.as_str())))
    };
    let mut households: HashMap<&str, i64> = HashMap::new();
    for b in index.buildings() {
        if let Some(prefix) = b.code.get(..level.code_len())
            && inside(prefix)
        {
            *households.entry(prefix).or_default() += i64::from(b.households);
        }
    }
    let mut rows: Vec<HeatRow> = index
        .places()
        .iter()
        .filter(|p| p.level == level && inside(&p.code))
        .map(|p| HeatRow {
            code: p.code.clone(),
            name: p.name.clone(),
            parent: p.parent.clone(),
            now: counts.get(&p.code).map(|c| c.0).unwrap_or_default(),
            before: counts.get(&p.code).map(|c| c.1).unwrap_or_default(),
            households: households.get(p.code.as_str()).copied().filter(|h| *h > 0),
        })
        .collect();
    rows.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(HeatMap {
        level,
        filters,
        rows,
    })
}

/// A series request as the client wrote it.
#[derive(Debug, Clone, Default)]
pub struct TrendRequest {
    /// First day.
    pub from: Option<String>,
    /// Last day, included.
    pub to: Option<String>,
    /// `day`, `week` or `month` (default `day`).
    pub step: Option<String>,
    /// Topic codes (repeatable).
    pub topics: Vec<String>,
    /// Sources.
    pub sources: Vec<String>,
    /// Status classes.
    pub statuses: Vec<String>,
}

/// The series of one place.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// The place's code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its level.
    pub level: Level,
    /// The window and filters.
    pub filters: Filters,
    /// The step.
    pub step: Step,
    /// One point per step, zeros included.
    pub points: Vec<calc::Point>,
}

/// The series behind a place's numbers, for `user` (404 for a place outside the jurisdiction), with every change
/// committed before `now` counted.
pub fn trend(
    db: &Db,
    index: &PlaceIndex,
    user: &Principal,
    code: &str,
    req: &TrendRequest,
    now: NaiveDateTime,
) -> Result<Trend, HeatError> {
    let scope = Scope::of(user);
    let not_found = || HeatError::PlaceNotFound(code.chars().take(40).collect());
    let place = index.place(code).ok_or_else(not_found)?;
    let visible = if place.level == Level::City {
        scope.places.is_none()
    } else {
        scope.sees_place(code)
    };
    if !visible {
        return Err(not_found());
    }
    let window = window(req.from.as_deref(), req.to.as_deref(), None)?;
    let step_name = req.step.as_deref().map_or("day", str::trim);
    let step = Step::parse(step_name)
        .ok_or_else(|| not_one_of("unknown_step", "step", step_name, &STEPS))?;
    counts::current(db, now)?;
    let filters = filters(db, window, &req.topics, &req.sources, &req.statuses, &scope)?;
    let f = Filter {
        topics: filters.topics.clone(),
        sources: filters.sources.clone(),
        classes: filters.classes.clone(),
        within: None,
        places: None,
    };
    let per_day: Vec<(NaiveDate, Tally)> = store::per_day(
        &mut *db.reader()?,
        place.level,
        code,
        window.from,
        window.to,
        &f,
    )?
    .into_iter()
    .filter_map(|s| {
        let d = NaiveDate::parse_from_str(&s.key, "%Y-%m-%d").ok()?;
        Some((
            d,
            Tally {
                tickets: s.tickets,
                cases: s.cases,
            },
        ))
    })
    .collect();
    Ok(Trend {
        code: place.code.clone(),
        name: place.name.clone(),
        level: place.level,
        points: calc::series(window, step, &per_day),
        filters,
        step,
    })
}
