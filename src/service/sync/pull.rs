//! The pull feed of offline sync (`GET /api/v1/sync/pull`): what changed in a member's jurisdiction since their
//! cursor — cases (with their workflow history and the steps the member's role may take: their tasks), patrol
//! reports, tombstones for what left their places — and, on a fresh start, the reference data a phone needs
//! offline (their cells and the cells around them, simplified; the responsibility chain of their cells; the
//! topics).
//!
//! Guarantees: a page is read in one read transaction (one snapshot: on PostgreSQL `REPEATABLE READ`), so it is
//! consistent; the cursor is a number of the change log (`store::changes`), whose numbers are written in the
//! transaction of each change and become visible in order, so a reader who follows `next_cursor` never skips a
//! committed change, however writers interleave. An entity that changed several times since the cursor comes
//! once, as it is now.

use crate::db::{Db, DbConnection, DbError};
use crate::domain::access;
use crate::domain::access::Principal;
use crate::domain::access::Role;
use crate::domain::workflow::{self, Origin, Status};
use crate::error::{ErrorKind, ServiceError};
use crate::geo::index::PlaceIndex;
use crate::service::cases::workflow as steps;
use crate::service::chain::index::SharedChainIndex;
use crate::service::chain::{Chain, chain_of};
use crate::store::cases::{self as case_store, CaseRow, ReportRow};
use crate::store::changes::{self as store, ChangeRow};
use crate::store::topics::{self as topic_store, TopicRow};
use crate::store::work as work_store;
use crate::store::workflow::TransitionRow;
use chrono::NaiveDateTime;
use diesel::{Connection, RunQueryDsl};
use geo::{MultiPolygon, Simplify};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};

/// Changes a page holds when the reader does not say.
pub const DEFAULT_LIMIT: i64 = 200;
/// The most changes a page holds.
pub const MAX_LIMIT: i64 = 500;
/// Reference cells are sent for jurisdictions of at most this many cells (a street has a few dozen); a
/// district-wide or city-wide reader gets none (their phone is not a map of every cell).
pub const MAX_REFERENCE_CELLS: usize = 2_000;
/// Reference cell outlines are simplified to this tolerance, metres.
pub const REFERENCE_SIMPLIFY_M: f64 = 5.0;

/// Errors of the pull feed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PullError {
    /// The cursor is not one this server hands out.
    #[error("cursor: is not a cursor this server handed out")]
    InvalidCursor,
    /// The limit is out of range.
    #[error("limit: must be a whole number from 1 to {MAX_LIMIT}")]
    InvalidLimit,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::error::from_query_error!(PullError);

impl ServiceError for PullError {
    fn kind(&self) -> ErrorKind {
        match self {
            PullError::InvalidCursor => ErrorKind::Invalid("invalid_cursor"),
            PullError::InvalidLimit => ErrorKind::Invalid("invalid_field"),
            PullError::Db(_) => ErrorKind::Internal,
        }
    }
}

/// A case as pulled: the row, its workflow history, and the steps the reader's role may take on it now (a
/// non-empty list makes it one of the reader's tasks).
#[derive(Debug)]
pub struct PulledCase {
    /// The case.
    pub case: CaseRow,
    /// Its steps so far, in order.
    pub history: Vec<TransitionRow>,
    /// The steps the reader's role may take now.
    pub actions: Vec<workflow::Step>,
}

/// Something that left the reader's places (re-placed elsewhere, merged into another case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    /// `case` or `report`.
    pub kind: String,
    /// Its id.
    pub id: String,
    /// The place it left.
    pub place_code: String,
}

/// A cell of the reference data.
#[derive(Debug)]
pub struct RefCell {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Its community.
    pub parent: Option<String>,
    /// Inside the reader's jurisdiction (else a neighbour).
    pub in_scope: bool,
    /// Outline, WGS-84, simplified to [`REFERENCE_SIMPLIFY_M`].
    pub geometry: MultiPolygon<f64>,
}

/// What a phone needs offline besides the changes: sent on a fresh start.
#[derive(Debug)]
pub struct Reference {
    /// The reader's cells and their neighbours, in code order (empty beyond [`MAX_REFERENCE_CELLS`]).
    pub cells: Vec<RefCell>,
    /// Whether the cells were left out because the jurisdiction is too large.
    pub cells_omitted: bool,
    /// The responsibility chain of each of the reader's cells now.
    pub chains: Vec<Chain>,
    /// Every topic.
    pub topics: Vec<TopicRow>,
}

/// One page of the feed.
#[derive(Debug)]
pub struct Page {
    /// Where the next pull starts.
    pub next_cursor: String,
    /// Whether more changes wait after this page.
    pub has_more: bool,
    /// The pull started from nothing (no cursor, or a cursor made for another jurisdiction): the phone replaces
    /// what it holds with what the pages from here bring.
    pub reset: bool,
    /// Cases changed (or come into the reader's places).
    pub cases: Vec<PulledCase>,
    /// Patrol reports changed.
    pub reports: Vec<ReportRow>,
    /// What left.
    pub tombstones: Vec<Tombstone>,
    /// Reference data, on a fresh start.
    pub reference: Option<Reference>,
}

/// What to pull.
#[derive(Debug, Clone, Default)]
pub struct PullInput {
    /// The cursor of the previous page (none to start afresh).
    pub cursor: Option<String>,
    /// Changes per page (default [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]).
    pub limit: Option<i64>,
}

/// The reader's scope as a short tag carried in the cursor: a cursor made for other places does not silently
/// miss what is already stored in the new ones (the pull starts afresh instead).
fn scope_tag(user: &Principal) -> String {
    let mut places = user.places.clone();
    places.sort();
    let mut topics = user.topics.clone();
    topics.sort();
    let mut h = Sha256::new();
    h.update(user.role.as_str());
    for p in &places {
        h.update(b"\x1fp");
        h.update(p);
    }
    for t in &topics {
        h.update(b"\x1ft");
        h.update(t);
    }
    crate::auth::token::hex(&h.finalize()[..8])
}

/// Cursor text: `<change number>.<scope tag>`.
fn encode_cursor(seq: i64, tag: &str) -> String {
    format!("{seq}.{tag}")
}

fn decode_cursor(s: &str) -> Result<(i64, String), PullError> {
    let (seq, tag) = s.split_once('.').ok_or(PullError::InvalidCursor)?;
    let ok_seq = !seq.is_empty() && seq.len() <= 18 && seq.bytes().all(|b| b.is_ascii_digit());
    let ok_tag = tag.len() == 16 && tag.bytes().all(|b| b.is_ascii_hexdigit());
    if !ok_seq || !ok_tag {
        return Err(PullError::InvalidCursor);
    }
    let seq = seq.parse().map_err(|_| PullError::InvalidCursor)?;
    Ok((seq, tag.to_ascii_lowercase()))
}

/// Runs `f` in one read transaction: one snapshot for the whole page.
fn in_snapshot<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, PullError>,
) -> Result<T, PullError> {
    conn.transaction(|c| {
        if matches!(c, DbConnection::Pg(_)) {
            // PostgreSQL's default (READ COMMITTED) takes a snapshot per statement; the page's statements must
            // see one state. The first statement of the transaction, as PostgreSQL requires.
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(c)?;
        }
        f(c)
    })
}

fn origin(case: &CaseRow) -> Origin {
    if case.ticket_count > 0 {
        Origin::Hotline
    } else {
        Origin::Patrol
    }
}

/// One page of changes in the user's jurisdiction after their cursor (the reference data's chains as at `now`).
pub fn pull(
    db: &Db,
    places: &PlaceIndex,
    chains: &SharedChainIndex,
    user: &Principal,
    input: &PullInput,
    now: NaiveDateTime,
) -> Result<Page, PullError> {
    let limit = input.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(PullError::InvalidLimit);
    }
    let tag = scope_tag(user);
    let (after, reset) = match input
        .cursor
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        None => (0, true),
        Some(c) => {
            let (seq, their_tag) = decode_cursor(c)?;
            if their_tag == tag {
                (seq, false)
            } else {
                (0, true)
            }
        }
    };
    let (scope, topics) = access::case_scope(user);
    let topic_ok = |t: &str| {
        topics
            .as_ref()
            .is_none_or(|ts| ts.iter().any(|p| t.starts_with(p.as_str())))
    };

    let mut conn = db.reader()?;
    let (rows, latest, cases, history, reports, topic_rows, units) = in_snapshot(&mut conn, |c| {
        let mut rows = store::page(c, scope.as_deref(), after, limit + 1)?;
        let latest = store::latest(c)?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let newest = newest_per_entity(&rows);
        let live = |kind: &str| -> Vec<String> {
            newest
                .values()
                .filter(|r| !r.gone && r.entity_kind == kind)
                .map(|r| r.entity_id.clone())
                .collect()
        };
        let case_ids = live("case");
        let cases = case_store::cases_by_id(c, &case_ids)?;
        let history = store::transitions_of(c, &case_ids)?;
        // The steps a department handler is offered depend on their units and the case's (as the steps do).
        let units = if access::acts_only_for_own_units(user.role) {
            let member_of = steps::member_of(c, user)?;
            let work = work_store::get_many(c, &case_ids)?;
            let calls = work_store::whistle_calls_of_many(c, &case_ids)?;
            let per_case: HashMap<String, access::CaseUnits> = case_ids
                .iter()
                .map(|id| {
                    let w = work.iter().find(|w| &w.case_id == id);
                    let mut mine: Vec<work_store::WhistleCallRow> =
                        calls.iter().filter(|k| &k.case_id == id).cloned().collect();
                    mine.sort_by_key(|k| k.whistle_seq);
                    (id.clone(), steps::units_of(w, &mine))
                })
                .collect();
            Some((member_of, per_case))
        } else {
            None
        };
        let reports = store::reports_by_id(c, &live("report"))?;
        let topic_rows = if reset {
            topic_store::all(c)?
        } else {
            Vec::new()
        };
        Ok((
            (rows, more),
            latest,
            cases,
            history,
            reports,
            topic_rows,
            units,
        ))
    })?;
    let (rows, has_more) = rows;

    let next = match rows.last() {
        Some(last) if has_more => last.seq,
        // Everything in the reader's places up to the latest number this snapshot saw has been read.
        last => latest.max(after).max(last.map_or(0, |r| r.seq)),
    };
    let newest = newest_per_entity(&rows);
    let tombstones = newest
        .values()
        .filter(|r| r.gone)
        .map(|r| Tombstone {
            kind: r.entity_kind.clone(),
            id: r.entity_id.clone(),
            place_code: r.place_code.clone(),
        })
        .collect();
    let mut by_case: HashMap<String, Vec<TransitionRow>> = HashMap::new();
    for t in history {
        by_case.entry(t.case_id.clone()).or_default().push(t);
    }
    let order: HashMap<(&str, &str), i64> = newest
        .values()
        .map(|r| ((r.entity_kind.as_str(), r.entity_id.as_str()), r.seq))
        .collect();
    let mut cases: Vec<PulledCase> = cases
        .into_iter()
        .filter(|k| topic_ok(&k.topic_code))
        .map(|k| PulledCase {
            actions: match &units {
                Some((member_of, per_case)) => steps::allowed_steps(
                    user,
                    member_of,
                    &k,
                    per_case.get(&k.id).unwrap_or(&access::CaseUnits::default()),
                ),
                None => Status::parse(&k.status)
                    .map(|s| workflow::steps(s, origin(&k), user.role))
                    .unwrap_or_default(),
            },
            history: by_case.remove(&k.id).unwrap_or_default(),
            case: k,
        })
        .collect();
    cases.sort_by_key(|k| order.get(&("case", k.case.id.as_str())).copied());
    let mut reports: Vec<ReportRow> = reports
        .into_iter()
        .filter(|r| topic_ok(&r.topic_code))
        .collect();
    reports.sort_by_key(|r| order.get(&("report", r.id.as_str())).copied());

    let reference =
        reset.then(|| reference(places, chains, user, scope.as_deref(), topic_rows, now));
    Ok(Page {
        next_cursor: encode_cursor(next, &tag),
        has_more,
        reset,
        cases,
        reports,
        tombstones,
        reference,
    })
}

/// Per entity, its change with the highest number (a case moved between two of the reader's places has a
/// tombstone at the old one and a live row at the new one, numbered after it).
fn newest_per_entity(rows: &[ChangeRow]) -> BTreeMap<(i64, &str, &str), &ChangeRow> {
    let mut best: HashMap<(&str, &str), &ChangeRow> = HashMap::new();
    for r in rows {
        let key = (r.entity_kind.as_str(), r.entity_id.as_str());
        if best.get(&key).is_none_or(|b| b.seq < r.seq) {
            best.insert(key, r);
        }
    }
    best.into_values()
        .map(|r| ((r.seq, r.entity_kind.as_str(), r.entity_id.as_str()), r))
        .collect()
}

/// The reference data for the user's jurisdiction.
fn reference(
    places: &PlaceIndex,
    chains: &SharedChainIndex,
    user: &Principal,
    scope: Option<&[String]>,
    topics: Vec<TopicRow>,
    now: NaiveDateTime,
) -> Reference {
    let mine: Vec<u32> = match scope {
        Some(codes) if user.role != Role::Admin => {
            let mut ids: Vec<u32> = codes.iter().flat_map(|c| places.cells_under(c)).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        }
        _ => places.cells_under(crate::geo::place::CITY_CODE).collect(),
    };
    let cells_omitted = mine.len() > MAX_REFERENCE_CELLS;
    let (mut cells, mut chain_list) = (Vec::new(), Vec::new());
    if !cells_omitted {
        let mut all: BTreeMap<u32, bool> = mine.iter().map(|&id| (id, true)).collect();
        for &id in &mine {
            for n in places.cell_neighbours(id) {
                all.entry(n).or_insert(false);
            }
        }
        let tolerance = REFERENCE_SIMPLIFY_M / 111_320.0;
        for (id, in_scope) in all {
            let code = places.cell_code(id);
            let Some(info) = places.place(code) else {
                continue;
            };
            cells.push(RefCell {
                code: info.code.clone(),
                name: info.name.clone(),
                parent: info.parent.clone(),
                in_scope,
                geometry: places.cell_geometry(id).simplify(tolerance),
            });
        }
        chain_list = mine
            .iter()
            .filter_map(|&id| chain_of(places, chains, places.cell_code(id), None, now).ok())
            .collect();
    }
    Reference {
        cells,
        cells_omitted,
        chains: chain_list,
        topics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let c = encode_cursor(42, "0123456789abcdef");
        assert_eq!(
            decode_cursor(&c).ok(),
            Some((42, "0123456789abcdef".to_owned()))
        );
        for bad in [
            "",
            "42",
            "x.0123456789abcdef",
            "42.xyz",
            "-1.0123456789abcdef",
            "42.0123",
        ] {
            assert!(decode_cursor(bad).is_err(), "{bad}");
        }
    }
}
