//! The monthly topic (每月一题) ranking of the city or of one district: topics by calls, their growth on the month
//! before and on the same month a year before, repeat rate, the assessment's three rates, the streets where each
//! concentrates, and the candidates for next month's list.
//!
//! Where each figure comes from:
//! - calls (tickets), problems (cases), growth and repeat rate: the kept counts (`place_counts`, per Beijing day of
//!   receipt), one read per month of the place's own rows and one of the streets' rows for the month: never the raw
//!   tickets;
//! - 响应率 / 解决率 / 满意率: the assessment's sums and formulas (`service::assessment`, `domain::assessment`)
//!   grouped by the case's topic: as in the assessment, a ticket belongs to the month its case was first
//!   dispatched, so `assessed_tickets` may differ from `tickets`;
//! - repeat rate, concentration and candidates: `analytics::monthly` (its module comment has the definitions).
//!
//! Scope: a reader of the city (admins, hotline operators, city-wide accounts) reads the city and any district; a
//! reader whose jurisdiction holds a whole district reads that district (the default level for them); anything
//! else is "not found", as for places. Department handlers see their topics only.

use crate::analytics::counts::Filter;
use crate::analytics::counts::local_day;
use crate::analytics::monthly::{self as calc, Candidate, TopicFigures};
use crate::db::{Db, DbConnection, DbError};
use crate::domain::access::Principal;
use crate::domain::assessment::{self as rules, Counts, Month, Rates};
use crate::error::{Details, ErrorKind, ServiceError};
use crate::geo::index::PlaceIndex;
use crate::geo::place::{CITY_CODE, Level};
use crate::service::analytics::heatmap::Scope;
use crate::service::assessment::{load_policy, month_sums};
use crate::store::assessment::{GroupBy, Scope as AssessmentScope};
use crate::store::counts as store;
use chrono::NaiveDateTime;
use std::collections::{BTreeMap, HashMap};

/// The levels a ranking is made at.
pub const LEVELS: [&str; 2] = ["city", "district"];

/// Why a ranking is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RankingError {
    /// The month is missing or not `YYYY-MM`.
    #[error("{0}")]
    InvalidMonth(String),
    /// The month has not begun yet (Beijing time).
    #[error("{0} has not begun yet: ask for this month or an earlier one")]
    MonthInFuture(String),
    /// The level is not one of [`LEVELS`].
    #[error("level {0:?} is not one of city, district")]
    UnknownLevel(String),
    /// A district ranking without `district`, for a reader who may read several.
    #[error("{0}")]
    DistrictRequired(String),
    /// `district` is malformed, or given with the city level.
    #[error("{0}")]
    InvalidDistrict(String),
    /// No such district, or outside the reader's jurisdiction.
    #[error("{0}")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::error::from_query_error!(RankingError);

impl ServiceError for RankingError {
    fn kind(&self) -> ErrorKind {
        match self {
            RankingError::InvalidMonth(_) => ErrorKind::Invalid("invalid_month"),
            RankingError::MonthInFuture(_) => ErrorKind::Invalid("month_in_future"),
            RankingError::UnknownLevel(_) => ErrorKind::Invalid("unknown_level"),
            RankingError::DistrictRequired(_) => ErrorKind::Invalid("district_required"),
            RankingError::InvalidDistrict(_) => ErrorKind::Invalid("invalid_district"),
            RankingError::NotFound(_) => ErrorKind::NotFound("place_not_found"),
            RankingError::Db(_) => ErrorKind::Internal,
        }
    }

    fn details(&self) -> Details {
        match self {
            RankingError::UnknownLevel(_) => {
                Details::Accepted(LEVELS.iter().map(|l| (*l).to_owned()).collect())
            }
            _ => Details::None,
        }
    }
}

/// A ranking request as the client wrote it.
#[derive(Debug, Clone, Default)]
pub struct RankingRequest {
    /// `YYYY-MM` (Beijing).
    pub month: Option<String>,
    /// `city` or `district` (default: the reader's own: the city for its readers, else their district).
    pub level: Option<String>,
    /// The district (6 digits) of a district ranking.
    pub district: Option<String>,
}

/// A street's part of a topic's calls.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceShare {
    /// Street code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its tickets on the topic.
    pub tickets: i64,
    /// Its share of the topic's tickets in the scope (0–1).
    pub share: f64,
}

/// One topic's month.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicRow {
    /// 1 for the most calls.
    pub rank: usize,
    /// Second-level topic code.
    pub code: String,
    /// Its name (Chinese), as the taxonomy has it.
    pub name: String,
    /// Tickets (calls) received in the month.
    pub tickets: i64,
    /// Cases (problems) opened in the month.
    pub cases: i64,
    /// Its share of the scope's tickets (0–1; `None` when the scope had none).
    pub share: Option<f64>,
    /// Tickets in the month before.
    pub previous_tickets: i64,
    /// Tickets in the same month a year before.
    pub last_year_tickets: i64,
    /// Change on the month before, percent (`None` when that month had none).
    pub change_previous_pct: Option<f64>,
    /// Change on the same month a year before, percent.
    pub change_last_year_pct: Option<f64>,
    /// Share of the calls that joined a problem already known (`analytics::monthly::repeat_rate`).
    pub repeat_rate: Option<f64>,
    /// Tickets of the cases first dispatched in the month (the assessment's base).
    pub assessed: Counts,
    /// The assessment's rates over them.
    pub rates: Rates,
    /// The streets with most of its calls.
    pub places: Vec<PlaceShare>,
}

/// A proposed topic for next month's list.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateRow {
    /// 1 for the strongest.
    pub rank: usize,
    /// The topic.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Its tickets in the month.
    pub tickets: i64,
    /// The arithmetic behind it.
    pub candidate: Candidate,
}

/// A street's calls in the month (every street of the scope, zeros included): the report's choropleth.
#[derive(Debug, Clone, PartialEq)]
pub struct StreetTotal {
    /// Street code.
    pub code: String,
    /// Its name.
    pub name: String,
    /// Tickets received in the month.
    pub tickets: i64,
}

/// The ranking of one month.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    /// The month.
    pub month: Month,
    /// The month before.
    pub previous: Month,
    /// The same month a year before.
    pub last_year: Month,
    /// `city` or `district`.
    pub level: &'static str,
    /// The city's or the district's code.
    pub place: String,
    /// Its name.
    pub place_name: String,
    /// The month is still running (its figures will grow).
    pub partial: bool,
    /// Tickets in the scope.
    pub tickets: i64,
    /// Cases in the scope.
    pub cases: i64,
    /// The assessment's rates of the whole scope.
    pub rates: Rates,
    /// Topics with calls or cases, most calls first (ties: more cases, then code).
    pub topics: Vec<TopicRow>,
    /// Candidates for next month's list, strongest first.
    pub candidates: Vec<CandidateRow>,
    /// Every street of the scope with its calls.
    pub streets: Vec<StreetTotal>,
}

/// Reads the month parameter.
pub fn parse_month(value: Option<&str>) -> Result<Month, RankingError> {
    let v = value.map(str::trim).unwrap_or("");
    if v.is_empty() {
        return Err(RankingError::InvalidMonth(
            "month is required, as YYYY-MM (e.g. 2026-11)".into(),
        ));
    }
    Month::parse(v).ok_or_else(|| {
        RankingError::InvalidMonth(format!(
            "month {:?} is not a month: give YYYY-MM (e.g. 2026-11)",
            v.chars().take(40).collect::<String>()
        ))
    })
}

/// The scope's place (`CITY_CODE` or a district) for `user`, checked.
fn place_of(
    index: &PlaceIndex,
    scope: &Scope,
    level: Option<&str>,
    district: Option<&str>,
) -> Result<(&'static str, String), RankingError> {
    let district = district.map(str::trim).filter(|d| !d.is_empty());
    let level = match level.map(str::trim).filter(|l| !l.is_empty()) {
        Some("city") => "city",
        Some("district") => "district",
        Some(other) => {
            return Err(RankingError::UnknownLevel(other.chars().take(40).collect()));
        }
        None if scope.places.is_none() && district.is_none() => "city",
        None => "district",
    };
    let readable = |code: &str| {
        scope
            .places
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| p == CITY_CODE || p == code))
    };
    if level == "city" {
        if district.is_some() {
            return Err(RankingError::InvalidDistrict(
                "district is for level=district; leave it out for the city".into(),
            ));
        }
        if !readable(CITY_CODE) {
            return Err(RankingError::NotFound(
                "the city lies outside your jurisdiction: ask for level=district".into(),
            ));
        }
        return Ok(("city", CITY_CODE.to_owned()));
    }
    let code = match district {
        Some(d) => {
            if d.len() != 6 || !d.bytes().all(|b| b.is_ascii_digit()) || d == CITY_CODE {
                return Err(RankingError::InvalidDistrict(format!(
                    "district {:?} is not a district code: give its 6 digits (e.g. 110105)",
                    d.chars().take(40).collect::<String>()
                )));
            }
            d.to_owned()
        }
        None => {
            let mine: Vec<&String> = scope
                .places
                .iter()
                .flatten()
                .filter(|p| p.len() == 6 && p.as_str() != CITY_CODE)
                .collect();
            match mine.as_slice() {
                [one] => (*one).clone(),
                [] if scope.places.is_some() => {
                    return Err(RankingError::NotFound(
                        "your jurisdiction holds no whole district".into(),
                    ));
                }
                _ => {
                    return Err(RankingError::DistrictRequired(
                        "name the district: district=CODE (6 digits)".into(),
                    ));
                }
            }
        }
    };
    let exists = index
        .place(&code)
        .is_some_and(|p| p.level == Level::District);
    if !exists || !readable(&code) {
        return Err(RankingError::NotFound(format!(
            "no district has the code {code}"
        )));
    }
    Ok(("district", code))
}

/// Tickets, cases and first calls (cases with calls) per topic of one month.
fn month_topics(
    c: &mut DbConnection,
    level: Level,
    place: &str,
    month: Month,
    f: &Filter,
) -> Result<BTreeMap<String, (i64, i64, i64)>, RankingError> {
    let mut out: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    for r in store::per_topic(c, level, place, month.first_day(), month.last_day(), f)? {
        let e = out.entry(r.topic).or_default();
        e.0 += r.tickets;
        e.1 += r.cases;
        if r.source == "hotline" || r.source == "mixed" {
            e.2 += r.cases;
        }
    }
    Ok(out)
}

/// The ranking of `req` as `user` may read it, at `now` (which decides the months that have begun).
pub fn ranking(
    db: &Db,
    index: &PlaceIndex,
    user: &Principal,
    req: &RankingRequest,
    now: NaiveDateTime,
) -> Result<Ranking, RankingError> {
    let month = parse_month(req.month.as_deref())?;
    if month > Month::of_day(local_day(now)) {
        return Err(RankingError::MonthInFuture(month.to_string()));
    }
    let scope = Scope::of(user);
    let (level_name, place) =
        place_of(index, &scope, req.level.as_deref(), req.district.as_deref())?;
    let level = if level_name == "city" {
        Level::City
    } else {
        Level::District
    };
    let district = (level == Level::District).then(|| place.clone());
    let topics_scope = scope.topics.clone();
    let f = Filter {
        topics: topics_scope.clone().unwrap_or_default(),
        within: district.clone().map(|d| vec![d]),
        ..Filter::default()
    };
    let mut result = Ranking {
        month,
        previous: month.previous(),
        last_year: month.year_before(),
        level: level_name,
        place_name: index.place(&place).map_or_else(
            || {
                if level == Level::City {
                    "北京市".to_owned()
                } else {
                    place.clone()
                }
            },
            |p| p.name.clone(),
        ),
        place: place.clone(),
        partial: month == Month::of_day(local_day(now)),
        tickets: 0,
        cases: 0,
        rates: Rates::default(),
        topics: Vec::new(),
        candidates: Vec::new(),
        streets: Vec::new(),
    };
    let street_names: BTreeMap<&str, &str> = index
        .places()
        .iter()
        .filter(|p| {
            p.level == Level::Street
                && district
                    .as_ref()
                    .is_none_or(|d| p.code.starts_with(d.as_str()))
        })
        .map(|p| (p.code.as_str(), p.name.as_str()))
        .collect();
    if topics_scope.as_ref().is_some_and(Vec::is_empty) {
        result.streets = street_names
            .iter()
            .map(|(c, n)| StreetTotal {
                code: (*c).to_owned(),
                name: (*n).to_owned(),
                tickets: 0,
            })
            .collect();
        return Ok(result);
    }
    let mut c = db.reader()?;
    let c = &mut *c;
    let names: HashMap<String, String> = crate::store::topics::all(c)?
        .into_iter()
        .map(|t| (t.code, t.name_zh))
        .collect();
    let now_topics = month_topics(c, level, &place, month, &f)?;
    let before = month_topics(c, level, &place, result.previous, &f)?;
    let year_ago = month_topics(c, level, &place, result.last_year, &f)?;
    let mut by_topic: HashMap<String, Vec<(String, i64)>> = HashMap::new();
    let mut street_tickets: HashMap<String, i64> = HashMap::new();
    for r in store::per_place_topic(c, Level::Street, month.first_day(), month.last_day(), &f)? {
        *street_tickets.entry(r.place.clone()).or_default() += r.tickets;
        by_topic
            .entry(r.topic)
            .or_default()
            .push((r.place, r.tickets));
    }
    let policy = load_policy(c)?;
    let assessed = month_sums(
        c,
        GroupBy::Topic,
        month,
        &AssessmentScope {
            places: district.clone().map(|d| vec![d]),
            topics: topics_scope,
        },
    )?;
    let total_assessed = assessed
        .values()
        .fold(Counts::default(), |acc, (_, c)| acc.plus(*c));
    result.rates = rules::rates(&policy, &total_assessed);
    result.tickets = now_topics.values().map(|v| v.0).sum();
    result.cases = now_topics.values().map(|v| v.1).sum();
    let name_of = |code: &str| names.get(code).cloned().unwrap_or_else(|| code.to_owned());
    for (code, &(tickets, cases, first_calls)) in &now_topics {
        let previous_tickets = before.get(code).map_or(0, |v| v.0);
        let last_year_tickets = year_ago.get(code).map_or(0, |v| v.0);
        let counts = assessed.get(code).map(|(_, c)| *c).unwrap_or_default();
        #[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^52")]
        let share = (result.tickets > 0).then(|| tickets as f64 / result.tickets as f64);
        let places = calc::concentration(
            by_topic.get(code).map_or(&[][..], Vec::as_slice),
            calc::PLACES_PER_TOPIC,
        )
        .into_iter()
        .map(|s| PlaceShare {
            name: street_names
                .get(s.code.as_str())
                .map_or_else(|| s.code.clone(), |n| (*n).to_owned()),
            code: s.code,
            tickets: s.tickets,
            share: s.share,
        })
        .collect();
        result.topics.push(TopicRow {
            rank: 0,
            code: code.clone(),
            name: name_of(code),
            tickets,
            cases,
            share,
            previous_tickets,
            last_year_tickets,
            change_previous_pct: crate::analytics::counts::change_pct(tickets, previous_tickets),
            change_last_year_pct: crate::analytics::counts::change_pct(tickets, last_year_tickets),
            repeat_rate: calc::repeat_rate(tickets, first_calls),
            assessed: counts,
            rates: rules::rates(&policy, &counts),
            places,
        });
    }
    result.topics.sort_by(|a, b| {
        b.tickets
            .cmp(&a.tickets)
            .then_with(|| b.cases.cmp(&a.cases))
            .then_with(|| a.code.cmp(&b.code))
    });
    for (k, t) in result.topics.iter_mut().enumerate() {
        t.rank = k + 1;
    }
    let figures: Vec<TopicFigures> = result
        .topics
        .iter()
        .map(|t| TopicFigures {
            code: t.code.clone(),
            tickets: t.tickets,
            previous_tickets: t.previous_tickets,
            resolution: t.rates.resolution,
        })
        .collect();
    result.candidates = calc::candidates(&figures, result.rates.resolution, calc::CANDIDATES)
        .into_iter()
        .enumerate()
        .map(|(k, cand)| CandidateRow {
            rank: k + 1,
            name: name_of(&cand.code),
            tickets: now_topics.get(&cand.code).map_or(0, |v| v.0),
            code: cand.code.clone(),
            candidate: cand,
        })
        .collect();
    result.streets = street_names
        .iter()
        .map(|(code, name)| StreetTotal {
            code: (*code).to_owned(),
            name: (*name).to_owned(),
            tickets: street_tickets.get(*code).copied().unwrap_or(0),
        })
        .collect();
    Ok(result)
}
