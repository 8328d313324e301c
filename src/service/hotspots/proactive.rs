//! Proactive tasks (未诉先办): a leader turns chosen clusters of a finished scan into cases of source `proactive`,
//! one per cluster, and later reads whether the calls fell.
//!
//! **Tasking** ([`task`]). Each cluster becomes a case placed on the cell at the cluster's centre (the centre unit
//! itself on a cell layer; on a coarser layer the cell under the centre's centroid), on one four-digit topic (the
//! one asked for, else the cluster's own when it is a topic, else the topic with most calls in the cluster), with the
//! chain of that cell, and is dispatched by the dispatch rules like any received case (to the street office of its
//! place, with the deadlines of its topic's time class); a case the rules cannot route waits in the dispatcher's
//! queue. From there it is an ordinary case: the grid member sees it in the phone's pull feed, the street works it
//! with evidence photos, the command centre closes it. The evidence it was made on is kept beside it
//! (`proactive_tasks`): the scan, the cluster, the topic, the strongest z, the emerging category, the calls in the
//! scan's window and expected from its baseline. A cluster is tasked once: asking again answers the case made the
//! first time (`created: false`). A reader tasks only clusters whose units all lie in their jurisdiction; any other
//! cluster, and a scan that reaches none of their places, is "not found".
//!
//! **Did it work** ([`list`]). For each case, the hotline calls (tickets) on its topic in its cluster's units,
//! counted from the kept counts (`place_counts`, never the raw tickets), in two windows as long as the scan's
//! window: *before* — the whole Beijing days before the day the case was made; *after* — the whole days after the
//! day it closed. The after figure is "not yet" while the case is open or until its window is over. A case
//! *cooled* when the calls after are fewer than before; per scan, the share of its tasked clusters that cooled.

use super::jobs;
use super::scan::ScanResult;
use super::{ScanError, params};
use crate::analytics::counts::local_day;
use crate::clock::Clock;
use crate::db::{Db, DbConnection, DbError};
use crate::domain::access::{self, Principal};
use crate::domain::workflow::Action;
use crate::error::{ErrorKind, ServiceError};
use crate::geo::place::Level;
use crate::service::analytics::counts;
use crate::service::cases::merge::PROACTIVE;
use crate::service::cases::step::{TransitionInput, WorkflowError};
use crate::service::cases::work::{self, Router};
use crate::service::cases::{scheduler, workflow};
use crate::service::intake::Geo;
use crate::service::intake::place::snapshot;
use crate::store::cases::{self as case_store, CaseRow, Opening};
use crate::store::proactive::{self as store, Filter, TaskRow};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The most clusters one request tasks.
pub const MAX_PER_REQUEST: usize = 50;
/// The most tasks a list page holds.
pub const MAX_PAGE: usize = 100;
/// Places named per count query (keeps the bound parameters far below every backend's limit).
const PLACES_PER_QUERY: usize = 400;

/// Why tasking or listing is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProactiveError {
    /// The request is malformed (no clusters, too many, a cluster number below 1, a bad topic or page).
    #[error("{message}")]
    Invalid {
        /// Stable code.
        code: &'static str,
        /// What to change.
        message: String,
    },
    /// No such scan, or none of it lies in the reader's places.
    #[error("no scan has the id {0}")]
    ScanNotFound(String),
    /// The scan has not finished (or failed): it has no clusters.
    #[error("scan {id} is {status}: clusters can be tasked once it has finished")]
    ScanNotFinished {
        /// The scan.
        id: String,
        /// Its status.
        status: String,
    },
    /// No such cluster in the scan, or not all of it lies in the reader's places.
    #[error("scan {scan} has no cluster {cluster} in your places; see GET /api/v1/scans/{scan}")]
    ClusterNotFound {
        /// The scan.
        scan: String,
        /// The cluster asked for.
        cluster: i64,
    },
    /// An emerging pattern that is not a hot spot.
    #[error("unit {code} of the scan is a {category}, not a hot spot: only hot spots are tasked")]
    NotHot {
        /// The unit.
        code: String,
        /// Its category.
        category: String,
    },
    /// The cluster does not name one topic and the request named none.
    #[error("{0}")]
    TopicNeeded(String),
    /// The stored scan cannot be read.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// Dispatching the new case failed.
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::error::from_query_error!(ProactiveError);

impl ServiceError for ProactiveError {
    fn kind(&self) -> ErrorKind {
        match self {
            ProactiveError::Invalid { code, .. } => ErrorKind::Invalid(code),
            ProactiveError::ScanNotFound(_) => ErrorKind::NotFound("scan_not_found"),
            ProactiveError::ScanNotFinished { .. } => ErrorKind::Conflict("scan_not_finished"),
            ProactiveError::ClusterNotFound { .. } => ErrorKind::NotFound("cluster_not_found"),
            ProactiveError::NotHot { .. } => ErrorKind::Unprocessable("not_a_hot_spot"),
            ProactiveError::TopicNeeded(_) => ErrorKind::Unprocessable("topic_required"),
            ProactiveError::Scan(e) => e.kind(),
            ProactiveError::Workflow(e) => e.kind(),
            ProactiveError::Db(_) => ErrorKind::Internal,
        }
    }
}

fn invalid(code: &'static str, message: impl Into<String>) -> ProactiveError {
    ProactiveError::Invalid {
        code,
        message: message.into(),
    }
}

/// `POST /api/v1/scans/{id}/tasks`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    /// The clusters: ranks in a `gistar` scan, positions (from 1) of the patterns in an `emerging` scan.
    #[serde(default)]
    pub clusters: Vec<i64>,
    /// The four-digit topic of the cases (default: the cluster's own, or its topic with most calls).
    pub topic: Option<String>,
}

/// One cluster tasked: its task and case, and whether this request made it.
#[derive(Debug, Clone)]
pub struct Tasked {
    /// The task (evidence).
    pub task: TaskRow,
    /// The case as it is now.
    pub case: CaseRow,
    /// Whether this request made it (false: it was tasked before).
    pub created: bool,
}

/// What one cluster of a scan brings to its case.
#[derive(Debug, Clone)]
struct Candidate {
    cluster: i32,
    scanned_topic: String,
    units: Vec<String>,
    centre: (String, f64, f64),
    strongest_z: Option<f64>,
    trend: Option<String>,
    /// Calls per four-digit topic in the window and expected (`gistar`), most calls first.
    counts: Vec<(String, i64, Option<f64>)>,
}

fn candidates(
    scan_id: &str,
    result: &ScanResult,
    wanted: &[i64],
) -> Result<Vec<Candidate>, ProactiveError> {
    let missing = |n: i64| ProactiveError::ClusterNotFound {
        scan: scan_id.to_owned(),
        cluster: n,
    };
    wanted
        .iter()
        .map(|&n| {
            let k = i32::try_from(n).map_err(|_| missing(n))?;
            match result {
                ScanResult::Gistar(g) => {
                    let c = g
                        .clusters
                        .iter()
                        .find(|c| i64::from(c.rank) == n)
                        .ok_or_else(|| missing(n))?;
                    let mut counts: Vec<(String, i64, Option<f64>)> = c
                        .counts
                        .iter()
                        .map(|t| (t.topic.clone(), t.window, Some(t.baseline)))
                        .collect();
                    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                    Ok(Candidate {
                        cluster: k,
                        scanned_topic: c.topic.clone(),
                        units: c.units.clone(),
                        centre: (c.centre.code.clone(), c.centre.lon, c.centre.lat),
                        strongest_z: Some(c.strongest_z),
                        trend: None,
                        counts,
                    })
                }
                ScanResult::Emerging(e) => {
                    let p = usize::try_from(n - 1)
                        .ok()
                        .and_then(|i| e.patterns.get(i))
                        .ok_or_else(|| missing(n))?;
                    if !p.category.contains("hot") {
                        return Err(ProactiveError::NotHot {
                            code: p.code.clone(),
                            category: p.category.clone(),
                        });
                    }
                    Ok(Candidate {
                        cluster: k,
                        scanned_topic: match e.topics.as_slice() {
                            [one] => one.clone(),
                            _ => String::new(),
                        },
                        units: vec![p.code.clone()],
                        centre: (p.code.clone(), p.lon, p.lat),
                        strongest_z: None,
                        trend: Some(p.category.clone()),
                        counts: Vec::new(),
                    })
                }
            }
        })
        .collect()
}

/// The four-digit topic of a candidate's case.
fn topic_of(
    c: &mut DbConnection,
    cand: &Candidate,
    asked: Option<&str>,
) -> Result<String, ProactiveError> {
    let code = match asked.map(str::trim) {
        Some(t) => {
            if !cand.scanned_topic.is_empty() && !t.starts_with(cand.scanned_topic.as_str()) {
                return Err(invalid(
                    "invalid_topic",
                    format!(
                        "topic {:?} is not under the cluster's topic {}",
                        t.chars().take(40).collect::<String>(),
                        cand.scanned_topic
                    ),
                ));
            }
            t.to_owned()
        }
        None if cand.scanned_topic.len() == 4 => cand.scanned_topic.clone(),
        None => match cand.counts.first() {
            Some((t, _, _)) => t.clone(),
            None => {
                return Err(ProactiveError::TopicNeeded(format!(
                    "cluster {} names no single topic: send \"topic\" with a four-digit topic code",
                    cand.cluster
                )));
            }
        },
    };
    let active = code.len() == 4
        && code.bytes().all(|b| b.is_ascii_digit())
        && crate::store::topics::get(c, &code)?.is_some_and(|r| r.active);
    if !active {
        return Err(invalid(
            "invalid_topic",
            format!(
                "{:?} is not an active four-digit topic; see GET /api/v1/topics",
                code.chars().take(40).collect::<String>()
            ),
        ));
    }
    Ok(code)
}

/// The cell a candidate's case is placed on.
fn cell_of(geo: &Geo<'_>, level: Level, cand: &Candidate) -> Option<String> {
    let (code, lon, lat) = &cand.centre;
    if level == Level::Cell {
        return Some(code.clone());
    }
    let index = geo.index;
    index
        .cell_at(*lon, *lat)
        .map(|id| index.cell_code(id).to_owned())
        .filter(|cell| cell.starts_with(code.as_str()))
        .or_else(|| {
            index
                .cells_under(code)
                .next()
                .map(|id| index.cell_code(id).to_owned())
        })
}

/// Turns clusters `req.clusters` of scan `scan_id` into proactive cases for `user` (see the module): the tasks in
/// the order asked, each new or as tasked before.
pub fn task(
    db: &Db,
    geo: &Geo<'_>,
    clock: &Clock,
    user: &Principal,
    scan_id: &str,
    req: &TaskRequest,
) -> Result<Vec<Tasked>, ProactiveError> {
    if req.clusters.is_empty() {
        return Err(invalid(
            "no_clusters",
            "name at least one cluster in \"clusters\" (its rank in the scan)",
        ));
    }
    if req.clusters.len() > MAX_PER_REQUEST {
        return Err(invalid(
            "too_many_clusters",
            format!("at most {MAX_PER_REQUEST} clusters per request: send the rest in another"),
        ));
    }
    if let Some(bad) = req.clusters.iter().find(|n| **n < 1) {
        return Err(invalid(
            "invalid_cluster",
            format!("cluster {bad}: clusters are numbered from 1"),
        ));
    }
    let mut wanted = req.clusters.clone();
    let mut seen = std::collections::HashSet::new();
    wanted.retain(|n| seen.insert(*n));
    let not_found = || ProactiveError::ScanNotFound(scan_id.chars().take(40).collect());
    let row = crate::store::scans::get(&mut *db.reader()?, scan_id)?.ok_or_else(not_found)?;
    if jobs::sight(params::jurisdiction(user).as_deref(), &row.coverage) == jobs::Sight::Nothing {
        return Err(not_found());
    }
    let scan = jobs::decode(row)?;
    let Some(result) = scan.result.as_ref().filter(|_| scan.status == "finished") else {
        return Err(ProactiveError::ScanNotFinished {
            id: scan.id,
            status: scan.status,
        });
    };
    let level = scan.params.level();
    let cands = candidates(&scan.id, result, &wanted)?;
    for cand in &cands {
        if !cand.units.iter().all(|u| access::can_see_place(user, u)) {
            return Err(ProactiveError::ClusterNotFound {
                scan: scan.id.clone(),
                cluster: i64::from(cand.cluster),
            });
        }
    }
    let now = clock.now();
    // A cluster's window calls not in the scan (an emerging pattern, a narrower topic) are read from the kept
    // counts: every change committed before this request is in them.
    counts::current(db, now)?;
    let mut c = db.writer()?;
    c.transaction(|c| {
        crate::store::serialize_on(c, "proactive_tasks")?;
        let policy = work::policy(c)?;
        let mut router = Router::default();
        let mut out = Vec::with_capacity(cands.len());
        for cand in &cands {
            if let Some(task) = store::of_cluster(c, &scan.id, cand.cluster)? {
                let case = case_store::case(c, &task.case_id)?.ok_or(diesel::result::Error::NotFound)?;
                out.push(Tasked {
                    task,
                    case,
                    created: false,
                });
                continue;
            }
            let topic = topic_of(c, cand, req.topic.as_deref())?;
            let cell = cell_of(geo, level, cand).ok_or_else(|| ProactiveError::ClusterNotFound {
                scan: scan.id.clone(),
                cluster: i64::from(cand.cluster),
            })?;
            let (window_tickets, baseline_tickets) =
                match cand.counts.iter().find(|(t, _, _)| *t == topic) {
                    Some((_, w, b)) => (*w, *b),
                    None => (
                        crate::store::hotspots::total(
                            c,
                            level,
                            scan.params.from,
                            scan.params.to,
                            std::slice::from_ref(&topic),
                            Some(cand.units.as_slice()),
                        )?,
                        None,
                    ),
                };
            let chain = snapshot(geo, Some(&cell), now);
            let opening = Opening {
                district: cell.get(..6).unwrap_or_default(),
                place_code: Some(&cell),
                point: Some((cand.centre.1, cand.centre.2)),
                building: None,
                topic: &topic,
                source: PROACTIVE,
                at: now,
                chain: &chain,
            };
            // Version 1: it is stored as made, not through intake's counting.
            let case = CaseRow {
                version: 1,
                ..CaseRow::opening(&opening, now)
            };
            case_store::insert_case(c, &case)?;
            let task = TaskRow {
                case_id: case.id.clone(),
                scan_id: scan.id.clone(),
                cluster: cand.cluster,
                topic_code: topic,
                scanned_topic: cand.scanned_topic.clone(),
                level: level.as_str().to_owned(),
                units: cand.units.join(","),
                place_code: cell,
                strongest_z: cand.strongest_z,
                trend: cand.trend.clone(),
                window_from: scan.params.from,
                window_to: scan.params.to,
                window_tickets,
                baseline_tickets,
                created_by: user.username.clone(),
                created_at: now,
            };
            store::insert(c, &task)?;
            let case = if policy.auto_dispatch {
                let input = TransitionInput {
                    action: Action::Dispatch.as_str().into(),
                    ..TransitionInput::default()
                };
                let fallback = case.clone();
                let step = c.transaction(|c| {
                    workflow::take_step(
                        c,
                        &policy,
                        &mut router,
                        &scheduler::dispatcher(),
                        case,
                        Action::Dispatch,
                        &input,
                        now,
                    )
                });
                match step {
                    Ok((case, _)) => case,
                    // The dispatcher's queue shows it with the reason.
                    Err(WorkflowError::NoRoute(_)) => fallback,
                    Err(e) => return Err(e.into()),
                }
            } else {
                case
            };
            tracing::info!(scan = %scan.id, cluster = cand.cluster, case = %case.id, "proactive case made");
            out.push(Tasked {
                task,
                case,
                created: true,
            });
        }
        Ok(out)
    })
}

/// A window of whole Beijing days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Days {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
}

/// The windows of a case made on `created` (Beijing day), `length` days long: before it was made, and after the day
/// it closed (`closed`), or why there is no after figure yet at `today`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows {
    /// The days before.
    pub before: Days,
    /// The days after, once the case closed.
    pub after: Option<Days>,
    /// Whether the after window is over (its figure is final).
    pub after_over: bool,
}

/// See [`Windows`].
pub fn windows(
    created: NaiveDate,
    closed: Option<NaiveDate>,
    today: NaiveDate,
    length: i64,
) -> Windows {
    let length = length.max(1);
    let before = Days {
        from: created - Duration::days(length),
        to: created - Duration::days(1),
    };
    let after = closed.map(|d| Days {
        from: d + Duration::days(1),
        to: d + Duration::days(length),
    });
    Windows {
        before,
        after,
        after_over: after.is_some_and(|a| today > a.to),
    }
}

/// Calls on one topic in some units over a window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Calls (`None`: not yet).
    pub tickets: Option<i64>,
}

/// A proactive case with its "did it work" figures.
#[derive(Debug, Clone)]
pub struct Proactive {
    /// The task (evidence).
    pub task: TaskRow,
    /// The case's status.
    pub status: String,
    /// When the case closed (if it is closed).
    pub closed_at: Option<NaiveDateTime>,
    /// Calls before it was made.
    pub before: Figure,
    /// Calls after it closed (`None` while it is open).
    pub after: Option<Figure>,
    /// `cooled`, `not_cooled` or `not_yet`.
    pub outcome: &'static str,
    /// The outcome in words.
    pub note: String,
}

/// Per scan: how many of its tasked clusters cooled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanOutcome {
    /// The scan.
    pub scan_id: String,
    /// Clusters tasked (that the reader may see).
    pub tasked: usize,
    /// Of them, those whose after window is over.
    pub assessed: usize,
    /// Of them, those with fewer calls after than before.
    pub cooled: usize,
    /// `cooled / tasked`.
    pub share_cooled: f64,
}

/// One page of proactive cases, newest first, with the outcome of the scans they came from.
#[derive(Debug, Clone)]
pub struct Page {
    /// The cases.
    pub items: Vec<Proactive>,
    /// The scans of the page's cases.
    pub scans: Vec<ScanOutcome>,
    /// Cases the reader may see, in all.
    pub total: usize,
}

fn filter_for(user: &Principal, scan: Option<&str>) -> Filter {
    let (places, topics) = access::case_scope(user);
    Filter {
        places,
        topics,
        scan_id: scan.map(str::to_owned),
    }
}

/// What one level's count query reads: the units, the topics, and the first and last day of all windows.
type Span = (Vec<String>, Vec<String>, NaiveDate, NaiveDate);

/// The calls per (place, topic, day) at each level the tasks count at, over the days their windows span.
type Kept = HashMap<(String, String, NaiveDate), i64>;

fn kept_counts(
    c: &mut DbConnection,
    wanted: &[(&TaskRow, Days)],
) -> Result<HashMap<String, Kept>, ProactiveError> {
    let mut by_level: BTreeMap<&str, Span> = BTreeMap::new();
    for (t, d) in wanted {
        let e = by_level
            .entry(t.level.as_str())
            .or_insert_with(|| (Vec::new(), Vec::new(), d.from, d.to));
        e.0.extend(t.units.split(',').map(str::to_owned));
        e.1.push(t.topic_code.clone());
        e.2 = e.2.min(d.from);
        e.3 = e.3.max(d.to);
    }
    let mut out = HashMap::new();
    for (level_text, (mut places, mut topics, from, to)) in by_level {
        let Some(level) = Level::parse(level_text) else {
            continue;
        };
        places.sort();
        places.dedup();
        topics.sort();
        topics.dedup();
        let kept: &mut Kept = out.entry(level_text.to_owned()).or_default();
        for chunk in places.chunks(PLACES_PER_QUERY) {
            let rows =
                crate::store::hotspots::tickets(c, level, from, to, &topics, Some(chunk), true)?;
            for r in rows {
                if let Ok(day) = NaiveDate::parse_from_str(&r.day, "%Y-%m-%d") {
                    *kept.entry((r.place, r.topic, day)).or_default() += r.tickets;
                }
            }
        }
    }
    Ok(out)
}

fn sum(kept: &HashMap<String, Kept>, t: &TaskRow, d: Days) -> i64 {
    let Some(k) = kept.get(&t.level) else {
        return 0;
    };
    let mut n = 0;
    for unit in t.units.split(',') {
        let mut day = d.from;
        while day <= d.to {
            n += k
                .get(&(unit.to_owned(), t.topic_code.clone(), day))
                .copied()
                .unwrap_or(0);
            day += Duration::days(1);
        }
    }
    n
}

/// The figures of tasks (with their case's status and close time) at `today`.
fn figures(
    c: &mut DbConnection,
    rows: Vec<store::Listed>,
    today: NaiveDate,
) -> Result<Vec<Proactive>, ProactiveError> {
    let planned: Vec<(TaskRow, String, Option<NaiveDateTime>, Windows)> = rows
        .into_iter()
        .map(|(t, status, closed_at)| {
            let closed = closed_at.filter(|_| status == "closed").map(local_day);
            let length = (t.window_to - t.window_from).num_days() + 1;
            let w = windows(local_day(t.created_at), closed, today, length);
            (t, status, closed_at, w)
        })
        .collect();
    let mut wanted: Vec<(&TaskRow, Days)> = Vec::new();
    for (t, _, _, w) in &planned {
        wanted.push((t, w.before));
        if let Some(a) = w.after.filter(|_| w.after_over) {
            wanted.push((t, a));
        }
    }
    let kept = kept_counts(c, &wanted)?;
    Ok(planned
        .into_iter()
        .map(|(t, status, closed_at, w)| {
            let before = sum(&kept, &t, w.before);
            let after = w.after.map(|a| Figure {
                from: a.from,
                to: a.to,
                tickets: w.after_over.then(|| sum(&kept, &t, a)),
            });
            let (outcome, note) = match after.as_ref().and_then(|a| a.tickets.map(|n| (a, n))) {
                Some((_, n)) if n < before => (
                    "cooled",
                    format!("{n} calls after it closed, {before} before it was made: it cooled"),
                ),
                Some((_, n)) => (
                    "not_cooled",
                    format!(
                        "{n} calls after it closed, {before} before it was made: it did not cool"
                    ),
                ),
                None => match &after {
                    Some(a) => (
                        "not_yet",
                        format!(
                            "not yet: the days after it closed run to {}; the figure is final from {}",
                            a.to,
                            a.to + Duration::days(1)
                        ),
                    ),
                    None => (
                        "not_yet",
                        format!(
                            "not yet: the case is {status}; calls after are counted once it has closed"
                        ),
                    ),
                },
            };
            Proactive {
                before: Figure {
                    from: w.before.from,
                    to: w.before.to,
                    tickets: Some(before),
                },
                after,
                outcome,
                note,
                task: t,
                status,
                closed_at,
            }
        })
        .collect())
}

/// The proactive cases `user` may see (of one scan, when `scan` is given), newest first: page `page` (from 1) of
/// `per_page`, with their figures as at `clock`'s now and the outcome of their scans.
pub fn list(
    db: &Db,
    clock: &Clock,
    user: &Principal,
    scan: Option<&str>,
    page: usize,
    per_page: usize,
) -> Result<Page, ProactiveError> {
    if page == 0 || per_page == 0 || per_page > MAX_PAGE || page > 100_000 {
        return Err(invalid(
            "invalid_page",
            format!("page starts at 1 and per_page is 1 to {MAX_PAGE}"),
        ));
    }
    let today = local_day(clock.now());
    let filter = filter_for(user, scan);
    // The figures read the kept counts: every change committed before this read is in them.
    counts::current(db, clock.now())?;
    let mut c = db.reader()?;
    let total = store::count(&mut c, &filter)?;
    let offset = i64::try_from((page - 1) * per_page).unwrap_or(i64::MAX);
    let ids = store::page(
        &mut c,
        &filter,
        offset,
        i64::try_from(per_page).unwrap_or(100),
    )?;
    let mut scan_ids: Vec<String> = ids.iter().map(|(_, s)| s.clone()).collect();
    scan_ids.sort();
    scan_ids.dedup();
    // Every task of the page's scans (a scan has at most `scan::MAX_CLUSTERS`), the page's among them.
    let all = store::of_scans(&mut c, &filter, &scan_ids)?;
    let rows = store::by_case_ids(&mut c, &all)?;
    let mut by_case: HashMap<String, Proactive> = figures(&mut c, rows, today)?
        .into_iter()
        .map(|p| (p.task.case_id.clone(), p))
        .collect();
    let mut per_scan: BTreeMap<String, ScanOutcome> = BTreeMap::new();
    for p in by_case.values() {
        let e = per_scan
            .entry(p.task.scan_id.clone())
            .or_insert_with(|| ScanOutcome {
                scan_id: p.task.scan_id.clone(),
                tasked: 0,
                assessed: 0,
                cooled: 0,
                share_cooled: 0.0,
            });
        e.tasked += 1;
        if p.outcome != "not_yet" {
            e.assessed += 1;
        }
        if p.outcome == "cooled" {
            e.cooled += 1;
        }
    }
    let items = ids
        .iter()
        .filter_map(|(id, _)| by_case.remove(id))
        .collect();
    let scans = per_scan
        .into_values()
        .map(|mut s| {
            s.share_cooled = s.cooled as f64 / s.tasked.max(1) as f64;
            s
        })
        .collect();
    Ok(Page {
        items,
        scans,
        total: usize::try_from(total).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_windows_are_as_long_as_the_scan_s_and_after_is_final_only_once_over() {
        // Made on 10 May, a 7-day scan: before is 3-9 May.
        let open = windows(d("2026-05-10"), None, d("2026-06-01"), 7);
        assert_eq!(
            open.before,
            Days {
                from: d("2026-05-03"),
                to: d("2026-05-09")
            }
        );
        assert_eq!(open.after, None);
        // Closed on 12 May: after is 13-19 May, over on the 20th.
        let closed = windows(d("2026-05-10"), Some(d("2026-05-12")), d("2026-05-19"), 7);
        assert_eq!(
            closed.after,
            Some(Days {
                from: d("2026-05-13"),
                to: d("2026-05-19")
            })
        );
        assert!(!closed.after_over);
        assert!(windows(d("2026-05-10"), Some(d("2026-05-12")), d("2026-05-20"), 7).after_over);
    }
}
