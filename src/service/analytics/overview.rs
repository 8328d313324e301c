//! The overview of a reader's own places (`GET /api/v1/my/overview`): one level below each place of their
//! jurisdiction (a community secretary's cells, a street's communities, a district's streets, the city's
//! districts), per place the unfinished, overdue and escalated cases; today's patrol coverage of the cells (which
//! had a patrol report today and which did not, with their grid member); and per cell its responsibility chain and
//! the cases late there with who handles them.
//!
//! Guarantees: nothing from outside the reader's jurisdiction; the case numbers come from the kept counts
//! (`service::analytics::counts`), the late cases and patrol reports from bounded queries per place of the jurisdiction; the
//! cell list is cut at [`MAX_CELLS`] (and says so), the late cases at [`MAX_LATE`].

use crate::analytics::counts::Filter;
use crate::analytics::counts::{self as calc, BEIJING_OFFSET_HOURS};
use crate::db::Db;
use crate::domain::access::Principal;
use crate::geo::index::PlaceIndex;
use crate::geo::place::{CITY_CODE, Level};
use crate::service::analytics::heatmap::{HeatError, Scope};
use crate::service::chain::index::SharedChainIndex;
use crate::store::counts::{self as store, LateCase};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use std::collections::HashMap;

/// The most cells an overview lists (a district has about 2,000; the city's readers get districts only).
pub const MAX_CELLS: usize = 5_000;
/// The most late cases an overview lists per place of the jurisdiction.
pub const MAX_LATE: i64 = 1_000;

/// One of the reader's places.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceLine {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Level.
    pub level: Level,
    /// Unfinished cases (open or overdue).
    pub open: i64,
    /// Of those, overdue.
    pub overdue: i64,
    /// Unfinished cases that crossed an escalation rung.
    pub escalated: i64,
}

/// One link of a cell's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLine {
    /// The kind of responsibility.
    pub kind: &'static str,
    /// The person named.
    pub person: Option<String>,
    /// The unit named.
    pub unit: Option<String>,
    /// Whether a level above answers because nobody is assigned here.
    pub fallback: bool,
}

/// A cell: its patrol today, chain and late cases.
#[derive(Debug, Clone, PartialEq)]
pub struct CellLine {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Patrol reports filed in the cell today (Beijing day).
    pub reports_today: i64,
    /// The grid member answering for the cell now.
    pub grid_member: Option<String>,
    /// The chain, top-down.
    pub chain: Vec<ChainLine>,
    /// Unfinished cases past their completion deadline.
    pub late: Vec<LateCase>,
}

/// The overview.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// When it was read.
    pub at: NaiveDateTime,
    /// Today (Beijing).
    pub day: NaiveDate,
    /// The places one level below the jurisdiction.
    pub places: Vec<PlaceLine>,
    /// Cells in the jurisdiction.
    pub cells_total: usize,
    /// Of those, patrolled today.
    pub cells_patrolled: usize,
    /// The cells (all, unless over [`MAX_CELLS`]).
    pub cells: Vec<CellLine>,
    /// Whether the cell list was cut.
    pub cells_truncated: bool,
}

/// The overview for `user` at `now`.
pub fn overview(
    db: &Db,
    index: &PlaceIndex,
    chains: &SharedChainIndex,
    user: &Principal,
    now: NaiveDateTime,
) -> Result<Overview, HeatError> {
    let scope = Scope::of(user);
    let roots: Vec<String> = match &scope.places {
        None => vec![CITY_CODE.to_owned()],
        Some(ps) if ps.iter().any(|p| p == CITY_CODE) => vec![CITY_CODE.to_owned()],
        Some(ps) if ps.is_empty() => {
            return Err(HeatError::Outside("your account has no places".into()));
        }
        Some(ps) => ps.clone(),
    };
    let city = roots.iter().any(|r| r == CITY_CODE);
    // The places one level below each root (a cell stands for itself).
    let mut lines: Vec<PlaceLine> = Vec::new();
    for r in &roots {
        let Some(root) = index.place(r) else { continue };
        if root.level == Level::Cell {
            lines.push(line(&root.code, &root.name, Level::Cell));
            continue;
        }
        for p in index
            .places()
            .iter()
            .filter(|p| p.parent.as_deref() == Some(r.as_str()))
        {
            lines.push(line(&p.code, &p.name, p.level));
        }
    }
    lines.sort_by(|a, b| a.code.cmp(&b.code));
    lines.dedup_by(|a, b| a.code == b.code);
    let prefixes: Vec<String> = if city { Vec::new() } else { roots.clone() };
    crate::service::analytics::counts::current(db, now)?;
    let mut c = db.reader()?;
    // Unfinished and overdue cases per place, from the kept counts, per level met.
    let all_days = (
        NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default(),
        NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default(),
    );
    let mut levels: Vec<Level> = lines.iter().map(|l| l.level).collect();
    levels.sort();
    levels.dedup();
    let within = (!city).then(|| prefixes.clone());
    let mut open: HashMap<String, i64> = HashMap::new();
    let mut overdue: HashMap<String, i64> = HashMap::new();
    for level in levels {
        for (class, into) in [("open", &mut open), ("overdue", &mut overdue)] {
            let f = Filter {
                classes: vec![class.to_owned()],
                within: within.clone(),
                ..Filter::default()
            };
            for s in store::per_place(&mut c, level, all_days.0, all_days.1, &f)? {
                into.insert(s.key, s.cases);
            }
        }
    }
    // Escalated and late cases, patrol reports today: per root (the whole city for the city's readers).
    let query_roots: Vec<String> = if city {
        vec![String::new()]
    } else {
        roots.clone()
    };
    let today = calc::local_day(now);
    let day_start =
        today.and_hms_opt(0, 0, 0).unwrap_or_default() - Duration::hours(BEIJING_OFFSET_HOURS);
    let mut escalated: Vec<(String, i64)> = Vec::new();
    let mut late: Vec<LateCase> = Vec::new();
    let mut reports: HashMap<String, i64> = HashMap::new();
    for r in &query_roots {
        for (place, n) in store::escalated(&mut c, r)? {
            escalated.extend(place.map(|p| (p, n)));
        }
        late.extend(store::late_cases(&mut c, r, now, MAX_LATE)?);
        reports.extend(store::reports_between(
            &mut c,
            r,
            day_start,
            day_start + Duration::days(1),
        )?);
    }
    drop(c);
    for l in &mut lines {
        l.open =
            open.get(&l.code).copied().unwrap_or(0) + overdue.get(&l.code).copied().unwrap_or(0);
        l.overdue = overdue.get(&l.code).copied().unwrap_or(0);
        l.escalated = escalated
            .iter()
            .filter(|(p, _)| p.starts_with(l.code.as_str()))
            .map(|(_, n)| n)
            .sum();
    }
    // The cells.
    let inside = |code: &str| city || roots.iter().any(|r| code.starts_with(r.as_str()));
    let cells: Vec<_> = index
        .places()
        .iter()
        .filter(|p| p.level == Level::Cell && inside(&p.code))
        .collect();
    let cells_total = cells.len();
    let cells_patrolled = cells
        .iter()
        .filter(|p| reports.contains_key(&p.code))
        .count();
    let cells_truncated = city || cells_total > MAX_CELLS;
    let listed: Vec<CellLine> = if cells_truncated {
        Vec::new()
    } else {
        cells
            .iter()
            .map(|p| {
                let chain: Vec<ChainLine> = chains
                    .chain_at(index, &p.code, now)
                    .map(|ch| {
                        ch.links
                            .iter()
                            .map(|l| ChainLine {
                                kind: l.kind.as_str(),
                                person: l.person.as_ref().map(|x| x.name.clone()),
                                unit: l.unit.as_ref().map(|x| x.name.clone()),
                                fallback: l.fallback,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let grid_member = chain
                    .iter()
                    .find(|l| l.kind == "grid_member" && !l.fallback)
                    .and_then(|l| l.person.clone());
                CellLine {
                    code: p.code.clone(),
                    name: p.name.clone(),
                    reports_today: reports.get(&p.code).copied().unwrap_or(0),
                    grid_member,
                    chain,
                    late: late
                        .iter()
                        .filter(|k| {
                            k.place_code
                                .as_deref()
                                .is_some_and(|x| x.starts_with(p.code.as_str()))
                        })
                        .cloned()
                        .collect(),
                }
            })
            .collect()
    };
    Ok(Overview {
        at: now,
        day: today,
        places: lines,
        cells_total,
        cells_patrolled,
        cells: listed,
        cells_truncated,
    })
}

fn line(code: &str, name: &str, level: Level) -> PlaceLine {
    PlaceLine {
        code: code.to_owned(),
        name: name.to_owned(),
        level,
        open: 0,
        overdue: 0,
        escalated: 0,
    }
}
