//! Scans as background jobs: a checked request is stored `queued`, run on its own thread (never on an async
//! worker: the scan reads the database through diesel) with its progress stored as it goes, and ends `finished` with
//! its result or `failed` with a code. Scans still `queued` or `running` when the server starts were cut short by a
//! restart: [`fail_interrupted`] marks them failed, so none stays "running" for ever. A reader sees only scans that
//! lie inside their jurisdiction; any other is "not found". The scheduler starts one scan per district and month as
//! the policy `scans.monthly.districts` says ([`monthly`]), and the seasonal forewarning's scans
//! (`super::forewarning`), both through [`run_scheduled`].

use super::params::{self, Kind, ScanParams, ScanRequest};
use super::scan::{self, ScanResult};
use super::{ScanError, invalid};
use crate::clock::Clock;
use crate::db::Db;
use crate::domain::access::{Principal, Role};
use crate::error::ServiceError;
use crate::geo::index::PlaceIndex;
use crate::store::scans::{self as store, NewScan, ScanRow};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use diesel::Connection;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Scans queued or running at once; one more is refused until one ends.
pub const MAX_ACTIVE: i64 = 4;
/// The most scans a list page holds.
pub const MAX_PAGE: usize = 100;
/// How many of the newest scans a list looks through.
const LIST_HORIZON: i64 = 10_000;
/// The policy key naming the districts scanned every month (comma-separated codes; empty: none).
pub const MONTHLY_POLICY: &str = "scans.monthly.districts";

/// A scan as a reader sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    /// Id.
    pub id: String,
    /// `queued`, `running`, `finished` or `failed`.
    pub status: String,
    /// Per cent done.
    pub progress: i32,
    /// The checked parameters.
    pub params: ScanParams,
    /// The result, once finished.
    pub result: Option<ScanResult>,
    /// Why it failed: (code, message).
    pub error: Option<(String, String)>,
    /// Who started it.
    pub created_by: String,
    /// When.
    pub created_at: NaiveDateTime,
    /// When it started running.
    pub started_at: Option<NaiveDateTime>,
    /// When it ended.
    pub finished_at: Option<NaiveDateTime>,
    /// Set when the reader sees only the part of the scan inside these places of theirs ([`Sight::Inside`]).
    pub trimmed_to: Option<Vec<String>>,
}

pub(crate) fn decode(row: ScanRow) -> Result<Scan, ScanError> {
    let params: ScanParams = serde_json::from_str(&row.params)
        .map_err(|e| ScanError::Stored(format!("scan {}: stored parameters: {e}", row.id)))?;
    let result = match &row.result {
        Some(r) => Some(
            serde_json::from_str(r)
                .map_err(|e| ScanError::Stored(format!("scan {}: stored result: {e}", row.id)))?,
        ),
        None => None,
    };
    Ok(Scan {
        id: row.id,
        status: row.status,
        progress: row.progress,
        params,
        result,
        error: row
            .error_code
            .map(|c| (c, row.error_message.unwrap_or_default())),
        created_by: row.created_by,
        created_at: row.created_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        trimmed_to: None,
    })
}

fn coverage_text(p: &ScanParams) -> String {
    p.coverage.as_ref().map(|c| c.join(",")).unwrap_or_default()
}

/// What of a scan a reader sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sight {
    /// All of it: what it covers lies inside the reader's places (or the reader has the city).
    All,
    /// The part inside these places of the reader: the scan covers more than their places and reaches them (a
    /// district's scan for a street's leader). Its clusters and patterns are those lying wholly inside.
    Inside(Vec<String>),
    /// Nothing: it reaches none of their places.
    Nothing,
}

/// What a reader with jurisdiction `mine` (`None`: the city) sees of a scan covering `coverage` (comma-separated
/// place codes; empty: the city).
pub(crate) fn sight(mine: Option<&[String]>, coverage: &str) -> Sight {
    let Some(ps) = mine else {
        return Sight::All;
    };
    let covered: Vec<&str> = coverage.split(',').filter(|c| !c.is_empty()).collect();
    if !covered.is_empty()
        && covered
            .iter()
            .all(|c| ps.iter().any(|p| c.starts_with(p.as_str())))
    {
        return Sight::All;
    }
    let reached: Vec<String> = ps
        .iter()
        .filter(|p| {
            covered.is_empty()
                || covered
                    .iter()
                    .any(|c| p.starts_with(c) || c.starts_with(p.as_str()))
        })
        .cloned()
        .collect();
    if reached.is_empty() {
        Sight::Nothing
    } else {
        Sight::Inside(reached)
    }
}

/// The scan as a reader who sees `sight` of it sees it (`None`: not at all).
pub(crate) fn seen(mut scan: Scan, sight: Sight) -> Option<Scan> {
    match sight {
        Sight::All => Some(scan),
        Sight::Nothing => None,
        Sight::Inside(places) => {
            let inside = |code: &str| places.iter().any(|p| code.starts_with(p.as_str()));
            match scan.result.as_mut() {
                Some(ScanResult::Gistar(c)) => {
                    c.clusters.retain(|k| k.units.iter().all(|u| inside(u)));
                    c.islands.retain(|u| inside(u));
                }
                Some(ScanResult::Emerging(e)) => {
                    e.patterns.retain(|p| inside(&p.code));
                    e.islands.retain(|u| inside(u));
                    e.categories = BTreeMap::new();
                    for p in &e.patterns {
                        *e.categories.entry(p.category.clone()).or_default() += 1;
                    }
                }
                None => {}
            }
            scan.trimmed_to = Some(places);
            Some(scan)
        }
    }
}

/// Checks `req` for `user`, stores it and starts it on its own thread; answers the queued scan.
pub fn submit(
    db: &Db,
    index: Arc<PlaceIndex>,
    clock: &Clock,
    user: &Principal,
    req: &ScanRequest,
) -> Result<Scan, ScanError> {
    let params = params::check(&mut *db.reader()?, user, req)?;
    crate::service::analytics::counts::current(db, clock.now())?;
    precheck(db, &index, &params)?;
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    insert(db, &id, &params, &user.username, clock.now(), None)?;
    let (db2, clock2, id2) = (db.clone(), clock.clone(), id.clone());
    let started = std::thread::Builder::new()
        .name("gridline-scan".into())
        .spawn(move || execute(&db2, &index, &clock2, &id2, &params));
    if let Err(e) = started {
        let mut c = db.writer()?;
        store::fail(&mut c, &id, "not_started", &e.to_string(), clock.now())?;
    }
    get(db, user, &id)
}

/// What can be refused before a scan is queued: a layer of fewer than two units, and a window without any call.
pub fn precheck(db: &Db, index: &PlaceIndex, params: &ScanParams) -> Result<(), ScanError> {
    let level = params.level();
    let inside = |code: &str| {
        params
            .coverage
            .as_ref()
            .is_none_or(|ps| ps.iter().any(|p| code.starts_with(p.as_str())))
    };
    let units = index
        .places()
        .iter()
        .filter(|p| p.level == level && inside(&p.code))
        .take(2)
        .count();
    if units < 2 {
        return Err(ScanError::Stats(crate::analytics::Error::TooFewUnits(
            units,
        )));
    }
    let calls = crate::store::hotspots::total(
        &mut *db.reader()?,
        level,
        params.from,
        params.to,
        &params.topics,
        params.coverage.as_deref(),
    )?;
    if calls == 0 {
        return Err(ScanError::Stats(crate::analytics::Error::AllZero));
    }
    Ok(())
}

fn insert(
    db: &Db,
    id: &str,
    params: &ScanParams,
    by: &str,
    now: NaiveDateTime,
    schedule_key: Option<&str>,
) -> Result<(), ScanError> {
    let text = serde_json::to_string(params)
        .map_err(|e| ScanError::Stored(format!("scan parameters: {e}")))?;
    let coverage = coverage_text(params);
    db.writer()?.transaction::<_, ScanError, _>(|c| {
        crate::store::serialize_on(c, "scans.active")?;
        if schedule_key.is_none() && store::active(c)? >= MAX_ACTIVE {
            return Err(invalid(
                "too_many_scans",
                format!("{MAX_ACTIVE} scans are already running: wait for one to finish"),
            ));
        }
        store::insert(
            c,
            &NewScan {
                id,
                kind: params.kind.as_str(),
                status: "queued",
                progress: 0,
                params: &text,
                coverage: &coverage,
                created_by: by,
                created_at: now,
                schedule_key,
            },
        )?;
        Ok(())
    })
}

/// Runs a stored scan to its end on the calling thread, storing progress, result or failure.
pub fn execute(db: &Db, index: &PlaceIndex, clock: &Clock, id: &str, params: &ScanParams) {
    let outcome = (|| -> Result<ScanResult, ScanError> {
        store::start(&mut *db.writer()?, id, clock.now())?;
        crate::service::analytics::counts::current(db, clock.now())?;
        let mut last = 0;
        let mut progress = |share: f64| {
            let pct = (share.clamp(0.0, 1.0) * 100.0).round() as i32;
            if pct >= last + 5 && pct < 100 {
                last = pct;
                if let Ok(mut c) = db.writer() {
                    let _ = store::progress(&mut c, id, pct);
                }
            }
        };
        scan::run(db, index, params, &mut progress)
    })();
    let stored = (|| -> Result<(), ScanError> {
        let mut c = db.writer()?;
        match outcome {
            Ok(result) => {
                let text = serde_json::to_string(&result)
                    .map_err(|e| ScanError::Stored(format!("scan result: {e}")))?;
                store::finish(&mut c, id, &text, clock.now())?;
                tracing::info!(scan = %id, "scan finished");
            }
            Err(e) => {
                let code = e.code().unwrap_or("internal_error");
                let message = if e.code().is_some() {
                    e.to_string()
                } else {
                    tracing::error!(scan = %id, error = %e, "scan failed");
                    "the scan failed on the server; see its log".to_owned()
                };
                store::fail(&mut c, id, code, &message, clock.now())?;
            }
        }
        Ok(())
    })();
    if let Err(e) = stored {
        tracing::error!(scan = %id, error = %e, "cannot store the end of a scan");
    }
}

/// A scan `user` may see.
pub fn get(db: &Db, user: &Principal, id: &str) -> Result<Scan, ScanError> {
    let not_found = || ScanError::NotFound(id.chars().take(40).collect());
    let row = store::get(&mut *db.reader()?, id)?.ok_or_else(not_found)?;
    let sight = sight(params::jurisdiction(user).as_deref(), &row.coverage);
    seen(decode(row)?, sight).ok_or_else(not_found)
}

/// The scans `user` may see, newest first: page `page` (from 1) of `per_page`, and how many there are in all.
pub fn list(
    db: &Db,
    user: &Principal,
    page: usize,
    per_page: usize,
) -> Result<(Vec<Scan>, usize), ScanError> {
    if page == 0 || per_page == 0 || per_page > MAX_PAGE || page > 100_000 {
        return Err(invalid(
            "invalid_page",
            format!("page starts at 1 and per_page is 1 to {MAX_PAGE}"),
        ));
    }
    let mine = params::jurisdiction(user);
    let mut c = db.reader()?;
    let seen_ones: Vec<(String, Sight)> = store::newest(&mut c, LIST_HORIZON)?
        .into_iter()
        .map(|(id, coverage)| (id, sight(mine.as_deref(), &coverage)))
        .filter(|(_, s)| *s != Sight::Nothing)
        .collect();
    let ids: Vec<String> = seen_ones.iter().map(|(id, _)| id.clone()).collect();
    let sights: HashMap<String, Sight> = seen_ones.into_iter().collect();
    let total = ids.len();
    let wanted: Vec<String> = ids
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut rows = store::by_ids(&mut c, &wanted)?;
    rows.sort_by_key(|r| wanted.iter().position(|w| *w == r.id));
    let mut scans = Vec::with_capacity(rows.len());
    for row in rows {
        let sight = sights.get(&row.id).cloned().unwrap_or(Sight::Nothing);
        scans.extend(seen(decode(row)?, sight));
    }
    Ok((scans, total))
}

/// The scans started under a schedule key beginning with `prefix` that `user` sees (the rule of [`get`] and
/// [`list`]), newest first: (schedule key, scan id, what they see of it).
pub(crate) fn scheduled_visible(
    db: &Db,
    user: &Principal,
    prefix: &str,
) -> Result<Vec<(String, String, Sight)>, ScanError> {
    let mine = params::jurisdiction(user);
    Ok(
        store::scheduled_under(&mut *db.reader()?, prefix, LIST_HORIZON)?
            .into_iter()
            .map(|(id, coverage, key)| (key, id, sight(mine.as_deref(), &coverage)))
            .filter(|(_, _, s)| *s != Sight::Nothing)
            .collect(),
    )
}

/// Scans by id (any order; an id with no scan is left out).
pub(crate) fn by_ids(db: &Db, ids: &[String]) -> Result<Vec<Scan>, ScanError> {
    store::by_ids(&mut *db.reader()?, ids)?
        .into_iter()
        .map(decode)
        .collect()
}

/// Marks the scans a restart cut short as failed (call at start, before serving). Returns how many.
pub fn fail_interrupted(db: &Db, now: NaiveDateTime) -> Result<usize, ScanError> {
    let n = store::fail_unfinished(&mut *db.writer()?, now)?;
    if n > 0 {
        tracing::warn!(scans = n, "scans cut short by a restart were marked failed");
    }
    Ok(n)
}

/// The districts a policy value names (comma-separated codes; empty or unset: none).
pub fn policy_districts(db: &Db, key: &str) -> Result<Vec<String>, ScanError> {
    let values = crate::store::topics::policy_values(&mut *db.reader()?)?;
    Ok(values
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default())
}

/// Checks a value of a policy naming districts ([`MONTHLY_POLICY`], the forewarning's): district codes (6 digits),
/// comma-separated, at most 16.
pub fn check_districts_policy(key: &str, value: &str) -> Result<(), String> {
    let codes: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if codes.len() > 16 {
        return Err(format!("policy {key}: name at most 16 districts"));
    }
    match codes
        .iter()
        .find(|c| c.len() != 6 || !c.bytes().all(|b| b.is_ascii_digit()))
    {
        Some(bad) => Err(format!(
            "policy {key}: {:?} is not a district code (6 digits); write codes separated by commas",
            bad.chars().take(40).collect::<String>()
        )),
        None => Ok(()),
    }
}

/// The previous calendar month of the Beijing day of `now`: (first day, last day, `YYYY-MM`).
fn previous_month(now: NaiveDateTime) -> Option<(NaiveDate, NaiveDate, String)> {
    let today = crate::analytics::counts::local_day(now);
    let first_this = today.with_day(1)?;
    let last = first_this - Duration::days(1);
    let first = last.with_day(1)?;
    Some((first, last, first.format("%Y-%m").to_string()))
}

/// The scheduler's reader of one district: a leader of that district, named `scheduler` (`what` says which job).
pub(crate) fn scheduler_of(district: &str, what: &str) -> Principal {
    Principal {
        places: vec![district.to_owned()],
        ..Principal::machine("scheduler", what, Role::Leader)
    }
}

/// Runs a scan the scheduler starts: `req` checked for `user`, stored under `key` unless a scan has that key
/// already, and run to its end on the calling thread (it may end failed, with its code, like any scan). The id of
/// the scan it ran, or `None` when one was started under `key` before.
pub(crate) fn run_scheduled(
    db: &Db,
    index: &PlaceIndex,
    clock: &Clock,
    user: &Principal,
    req: &ScanRequest,
    key: &str,
) -> Result<Option<String>, ScanError> {
    if store::scheduled(&mut *db.reader()?, key)? {
        return Ok(None);
    }
    let params = params::check(&mut *db.reader()?, user, req)?;
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    match insert(db, &id, &params, &user.username, clock.now(), Some(key)) {
        Ok(()) => {}
        // Another pass stored it first.
        Err(ScanError::Db(_)) if store::scheduled(&mut *db.reader()?, key)? => return Ok(None),
        Err(e) => return Err(e),
    }
    execute(db, index, clock, &id, &params);
    Ok(Some(id))
}

/// The scheduler's monthly scans: for each district the policy names, the previous month's `gistar` cell scan, if
/// not already started, run to its end on the calling thread. Returns how many it ran.
pub fn monthly(db: &Db, index: &PlaceIndex, clock: &Clock) -> Result<usize, ScanError> {
    let districts = policy_districts(db, MONTHLY_POLICY)?;
    let Some((from, to, month)) = previous_month(clock.now()) else {
        return Ok(0);
    };
    let mut ran = 0;
    for district in districts {
        if index.place(&district).is_none() {
            tracing::warn!(%district, "the monthly scan policy names no known district");
            continue;
        }
        let req = ScanRequest {
            kind: Some(Kind::Gistar.as_str().to_owned()),
            from: Some(from.to_string()),
            to: Some(to.to_string()),
            ..ScanRequest::default()
        };
        let user = scheduler_of(&district, "每月扫描");
        let key = format!("monthly:{district}:{month}");
        if run_scheduled(db, index, clock, &user, &req, &key)?.is_some() {
            ran += 1;
        }
    }
    Ok(ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_sees_a_scan_inside_their_places_whole_and_a_wider_one_reaching_them_in_part() {
        let street = vec!["110105001".to_owned()];
        let inside = || Sight::Inside(street.clone());
        assert_eq!(sight(None, ""), Sight::All);
        assert_eq!(sight(None, "110105"), Sight::All);
        assert_eq!(sight(Some(&street), "110105001"), Sight::All);
        assert_eq!(sight(Some(&street), "110105001002"), Sight::All);
        assert_eq!(sight(Some(&street), ""), inside());
        assert_eq!(sight(Some(&street), "110105"), inside());
        assert_eq!(sight(Some(&street), "110105001,110106"), inside());
        assert_eq!(sight(Some(&street), "110106,110105002"), Sight::Nothing);
        let two = vec!["110105001".to_owned(), "110106001".to_owned()];
        assert_eq!(
            sight(Some(&two), "110105"),
            Sight::Inside(vec!["110105001".to_owned()])
        );
    }

    #[test]
    fn the_monthly_policy_takes_district_codes_only() {
        let check = |v: &str| check_districts_policy(MONTHLY_POLICY, v);
        assert!(check("").is_ok());
        assert!(check("110105, 110108").is_ok());
        assert!(check("110105001").is_err());
        assert!(check("chaoyang").is_err());
    }

    #[test]
    fn the_monthly_scan_covers_the_previous_beijing_month() {
        // 31 Dec 2026 17:00 UTC is already 1 Jan 2027 in Beijing.
        let now = NaiveDate::from_ymd_opt(2026, 12, 31)
            .and_then(|d| d.and_hms_opt(17, 0, 0))
            .unwrap();
        let (from, to, key) = previous_month(now).unwrap();
        assert_eq!(from.to_string(), "2026-12-01");
        assert_eq!(to.to_string(), "2026-12-31");
        assert_eq!(key, "2026-12");
    }
}
