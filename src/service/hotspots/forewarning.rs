//! Seasonal forewarning (冬病夏治): the places where a seasonal topic (heating in winter, waterlogging in the flood
//! season: the `season` of the taxonomy, `crate::domain::topic::Season`) was hot last season become a proposed
//! proactive list some weeks before the season comes again, for a leader to accept.
//!
//! **Proposing** ([`propose`], after every scheduler pass, and `gridline scan forewarning`). For each active topic
//! with a season and each district the policy `forewarning.districts` names: when the next season starts on day `S`
//! within `forewarning.weeks_before` weeks (`S − 7·weeks ≤ today < S`, Beijing days), a `gistar` cell scan of that
//! topic over last season (the occurrence that started a year before `S`, cut to yesterday if it has not ended)
//! inside the district, run as the district's leader would, stored under the schedule key
//! `forewarning:{district}:{topic}:{S}` so that it runs once. Its expected counts are the households (`history` 0):
//! the weeks before a season are its off-season, and a season measured against them would make every place with a
//! call "hot". An occurrence is at most 366 days, the longest window a scan takes, so no season is cut short.
//!
//! **Reading** ([`list`]). The proposals a reader may see are the scans they may see (`super::jobs`); each with its
//! topic, season, `S`, last season's window, the scan's clusters and which of them were tasked already. Accepting a
//! cluster is tasking it (`POST /api/v1/scans/{id}/tasks`, `super::proactive`): nothing here makes cases.

use super::params::{Kind, ScanRequest};
use super::scan::ScanResult;
use super::{ScanError, invalid, jobs};
use crate::analytics::counts::local_day;
use crate::clock::Clock;
use crate::db::Db;
use crate::domain::access::Principal;
use crate::domain::topic::{Season, forewarning_due};
use crate::geo::index::PlaceIndex;
use chrono::NaiveDate;
use std::collections::HashMap;

/// The policy key: how many weeks before a season starts its forewarning is proposed (1 to [`MAX_WEEKS`]).
pub const WEEKS_POLICY: &str = "forewarning.weeks_before";
/// The policy key naming the districts that get forewarnings (comma-separated codes; empty: none).
pub const DISTRICTS_POLICY: &str = "forewarning.districts";
/// Weeks before a season by default.
pub const DEFAULT_WEEKS: u32 = 6;
/// The most weeks before a season (half a year: more would reach back into the season before).
pub const MAX_WEEKS: u32 = 26;
/// The most proposals a list page holds.
pub const MAX_PAGE: usize = 100;
/// What every forewarning's schedule key starts with.
const KEY_PREFIX: &str = "forewarning:";

/// Checks a value of [`WEEKS_POLICY`].
pub fn check_weeks_policy(value: &str) -> Result<(), String> {
    match value.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_WEEKS).contains(&n) => Ok(()),
        _ => Err(format!(
            "policy {WEEKS_POLICY}: {:?} is not a whole number of weeks from 1 to {MAX_WEEKS}",
            value.chars().take(40).collect::<String>()
        )),
    }
}

fn weeks_before(db: &Db) -> Result<u32, ScanError> {
    let values = crate::store::topics::policy_values(&mut *db.reader()?)?;
    Ok(values
        .iter()
        .find(|(k, _)| k == WEEKS_POLICY)
        .and_then(|(_, v)| v.trim().parse().ok())
        .filter(|w| (1..=MAX_WEEKS).contains(w))
        .unwrap_or(DEFAULT_WEEKS))
}

fn schedule_key(district: &str, topic: &str, season_starts: NaiveDate) -> String {
    format!("{KEY_PREFIX}{district}:{topic}:{season_starts}")
}

/// (district, topic, first day of the season) of a forewarning's schedule key.
fn parse_key(key: &str) -> Option<(String, String, NaiveDate)> {
    let mut parts = key.strip_prefix(KEY_PREFIX)?.split(':');
    let (district, topic, starts) = (parts.next()?, parts.next()?, parts.next()?);
    let starts = NaiveDate::parse_from_str(starts, "%Y-%m-%d").ok()?;
    parts
        .next()
        .is_none()
        .then(|| (district.to_owned(), topic.to_owned(), starts))
}

/// A forewarning scan [`propose`] ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposed {
    /// The district.
    pub district: String,
    /// The topic.
    pub topic: String,
    /// The first day of the coming season.
    pub season_starts: NaiveDate,
    /// First day of last season scanned.
    pub from: NaiveDate,
    /// Last day of last season scanned.
    pub to: NaiveDate,
    /// The scan (finished, or failed with its code).
    pub scan_id: String,
}

/// The forewarnings due today (the Beijing day of the clock), each scanned once; how many it ran.
pub fn propose(db: &Db, index: &PlaceIndex, clock: &Clock) -> Result<usize, ScanError> {
    Ok(propose_on(db, index, clock, local_day(clock.now()))?.len())
}

/// The forewarnings due on `today` that were not proposed before, each scanned to its end on the calling thread.
pub fn propose_on(
    db: &Db,
    index: &PlaceIndex,
    clock: &Clock,
    today: NaiveDate,
) -> Result<Vec<Proposed>, ScanError> {
    let districts: Vec<String> = jobs::policy_districts(db, DISTRICTS_POLICY)?
        .into_iter()
        .filter(|d| {
            let known = index.place(d).is_some();
            if !known {
                tracing::warn!(district = %d, "the forewarning policy names no known district");
            }
            known
        })
        .collect();
    if districts.is_empty() {
        return Ok(Vec::new());
    }
    let weeks = weeks_before(db)?;
    let seasonal: Vec<(String, Season)> = crate::store::topics::all(&mut *db.reader()?)?
        .into_iter()
        .filter(|t| t.active)
        .filter_map(|t| {
            let season = t.season.as_deref().and_then(Season::parse);
            if t.season.is_some() && season.is_none() {
                tracing::warn!(topic = %t.code, season = ?t.season, "a stored season cannot be read");
            }
            Some((t.code, season?))
        })
        .collect();
    let mut out = Vec::new();
    for (topic, season) in seasonal {
        let Some(due) = forewarning_due(season, today, weeks) else {
            continue;
        };
        for district in &districts {
            let key = schedule_key(district, &topic, due.season_starts);
            let req = ScanRequest {
                kind: Some(Kind::Gistar.as_str().to_owned()),
                topics: vec![topic.clone()],
                from: Some(due.last_from.to_string()),
                to: Some(due.last_to.to_string()),
                history: Some(0),
                ..ScanRequest::default()
            };
            let user = jobs::scheduler_of(district, "季节预警");
            if let Some(scan_id) = jobs::run_scheduled(db, index, clock, &user, &req, &key)? {
                tracing::info!(
                    %district, %topic, %season, season_starts = %due.season_starts,
                    from = %due.last_from, to = %due.last_to, scan = %scan_id,
                    "forewarning: last season scanned"
                );
                out.push(Proposed {
                    district: district.clone(),
                    topic: topic.clone(),
                    season_starts: due.season_starts,
                    from: due.last_from,
                    to: due.last_to,
                    scan_id,
                });
            }
        }
    }
    Ok(out)
}

/// A proposal as a reader sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// The district.
    pub district: String,
    /// The topic's code.
    pub topic: String,
    /// Its Chinese name (empty when the taxonomy lost it).
    pub name_zh: String,
    /// Its English name.
    pub name_en: String,
    /// Its season as the taxonomy says now (`None`: not seasonal any more).
    pub season: Option<String>,
    /// The first day of the season the proposal is for.
    pub season_starts: NaiveDate,
    /// The scan of last season (its window is last season's days).
    pub scan: jobs::Scan,
    /// The scan's clusters tasked already: rank → case id.
    pub tasked: HashMap<u32, String>,
}

/// The proposals `user` may see (those whose scan they may see), newest season first: page `page` (from 1) of
/// `per_page`, and how many there are in all.
pub fn list(
    db: &Db,
    user: &Principal,
    page: usize,
    per_page: usize,
) -> Result<(Vec<Proposal>, usize), ScanError> {
    if page == 0 || per_page == 0 || per_page > MAX_PAGE || page > 100_000 {
        return Err(invalid(
            "invalid_page",
            format!("page starts at 1 and per_page is 1 to {MAX_PAGE}"),
        ));
    }
    let visible = jobs::scheduled_visible(db, user, KEY_PREFIX)?;
    let mut sights: HashMap<String, jobs::Sight> = HashMap::new();
    let mut keyed: Vec<((String, String, NaiveDate), String)> = Vec::new();
    for (key, id, sight) in visible {
        if let Some(k) = parse_key(&key) {
            keyed.push((k, id.clone()));
            sights.insert(id, sight);
        }
    }
    keyed.sort_by(|((d1, t1, s1), _), ((d2, t2, s2), _)| {
        s2.cmp(s1).then_with(|| d1.cmp(d2)).then_with(|| t1.cmp(t2))
    });
    let total = keyed.len();
    let wanted: Vec<((String, String, NaiveDate), String)> = keyed
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let ids: Vec<String> = wanted.iter().map(|(_, id)| id.clone()).collect();
    let mut scans: HashMap<String, jobs::Scan> = jobs::by_ids(db, &ids)?
        .into_iter()
        .filter_map(|s| {
            let sight = sights.remove(&s.id)?;
            jobs::seen(s, sight)
        })
        .map(|s| (s.id.clone(), s))
        .collect();
    let mut c = db.reader()?;
    let mut tasked: HashMap<String, HashMap<u32, String>> = HashMap::new();
    for (scan, cluster, case) in crate::store::proactive::tasked_of_scans(&mut c, &ids)? {
        if let Ok(rank) = u32::try_from(cluster) {
            tasked.entry(scan).or_default().insert(rank, case);
        }
    }
    let topics: HashMap<String, crate::store::topics::TopicRow> =
        crate::store::topics::all(&mut c)?
            .into_iter()
            .map(|t| (t.code.clone(), t))
            .collect();
    let mut out = Vec::with_capacity(wanted.len());
    for ((district, topic, season_starts), id) in wanted {
        let Some(scan) = scans.remove(&id) else {
            continue;
        };
        let row = topics.get(&topic);
        // A reader who sees part of the scan sees the tasks of its clusters in that part only.
        let mut tasked = tasked.remove(&id).unwrap_or_default();
        if let Some(ScanResult::Gistar(c)) = &scan.result {
            tasked.retain(|rank, _| c.clusters.iter().any(|k| k.rank == *rank));
        }
        out.push(Proposal {
            name_zh: row.map(|t| t.name_zh.clone()).unwrap_or_default(),
            name_en: row.map(|t| t.name_en.clone()).unwrap_or_default(),
            season: row.and_then(|t| t.season.clone()),
            tasked,
            district,
            topic,
            season_starts,
            scan,
        });
    }
    Ok((out, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_key_names_district_topic_and_season_and_reads_back() {
        let starts = NaiveDate::from_ymd_opt(2026, 11, 15).unwrap();
        let key = schedule_key("110105", "0701", starts);
        assert_eq!(key, "forewarning:110105:0701:2026-11-15");
        assert_eq!(
            parse_key(&key),
            Some(("110105".to_owned(), "0701".to_owned(), starts))
        );
        assert_eq!(parse_key("monthly:110105:2026-11"), None);
        assert_eq!(parse_key("forewarning:110105:0701:2026-11-15:x"), None);
        assert_eq!(parse_key("forewarning:110105:0701:soon"), None);
    }

    #[test]
    fn the_weeks_policy_takes_one_to_twenty_six_weeks() {
        assert!(check_weeks_policy("6").is_ok());
        assert!(check_weeks_policy("26").is_ok());
        for bad in ["0", "27", "six", "-1", "1.5", ""] {
            assert!(check_weeks_policy(bad).is_err(), "{bad}");
        }
    }
}
