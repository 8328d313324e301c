//! The counts behind the leaders' heat maps, kept current in the transaction of every write that changes a case.
//!
//! What is counted, per place, Beijing day, topic, source and status class (`place_counts`):
//! - **cases** (problems): every case that is not merged into another, under its most precise place (its cell, or
//!   the community/street it was located to, or its district while unplaced), the day it opened, its topic, its
//!   source (`hotline`, `patrol`, or `mixed` when both calls and patrol reports joined it) and its class;
//! - **tickets** (calls): every hotline ticket once, under its own place, the day it was received and its own topic,
//!   source `hotline`, with the class of the case it belongs to. A ticket merged into a case is still one ticket: a
//!   merge or unmerge moves its class with its case, never its count. Patrol reports count in their cases only.
//! - the class: `closed` (closed, or fixed on the spot), `overdue` (dispatched, neither replied nor closed, past its
//!   completion deadline), else `open` (see [`crate::analytics::counts::classify`]).
//!
//! Each row is rolled up to every level above its place (cell → community → street → district → city); a heat map
//! reads one level's rows and never the raw tickets.
//!
//! How it stays true: every transaction that changes a case or moves an item calls [`cases_changed`] once, after its
//! writes, with every case it touched (intake notes the cases in its `Rules` as it files and counts them when the
//! batch's items are stored: one call per queue flush, import batch, simulated batch or phone operation). That recomputes each case's contribution from its raw
//! rows, subtracts the contribution stored with the case (`count_marks`) and adds the new one, at every level. The
//! only change that comes from time alone (open → overdue) is made by [`refresh_overdue`], which the scheduler runs
//! on every pass. [`rebuild`] recomputes everything from the raw rows and reports every difference.

use crate::analytics::counts::{
    self as calc, Contribution, Deadline, LeafKey, RowKey, StatusClass, Tally,
};
use crate::db::{Db, DbConnection, DbError};
use crate::geo::place::Level;
use crate::store::counts::{self as store, CaseFacts, Mark, TicketFacts};
use chrono::NaiveDateTime;
use diesel::Connection;
use std::collections::{BTreeMap, HashMap};

/// Cases read per query by a rebuild or an overdue pass.
const BATCH: i64 = 2_000;

/// The most overdue batches one pass makes (bounds the loop; the rest waits for the next pass).
const MAX_OVERDUE_BATCHES: usize = 1_000;

/// Brings the counts of the cases `ids` (and of their tickets) up to date with their raw rows at `now`. Call it once
/// per transaction, after the transaction's writes, with every case they touched (both sides of a merge; every case
/// a batch of filings touched): its cost is per call far more than per case.
///
/// Set-based: one read of the cases with what each last added (`count_marks`), one read of their tickets; the
/// changes of every case are summed per row (level, place, day, topic, source, class) before anything is written,
/// then each changed row is written once and each changed case's mark once.
pub fn cases_changed(
    c: &mut DbConnection,
    now: NaiveDateTime,
    ids: &[String],
) -> diesel::QueryResult<()> {
    let mut ids: Vec<String> = ids.to_vec();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    let facts = store::cases_by_id(c, &ids)?;
    let tickets = store::tickets_of(c, &ids)?;
    let mut by_case: HashMap<&str, Vec<&TicketFacts>> = HashMap::new();
    for t in &tickets {
        by_case.entry(t.case_id.as_str()).or_default().push(t);
    }
    let mut total: BTreeMap<RowKey, Tally> = BTreeMap::new();
    let mut marks: Vec<Mark> = Vec::new();
    for f in &facts {
        let (class, new) = contribution(
            f,
            by_case.get(f.id.as_str()).map_or(&[][..], Vec::as_slice),
            now,
        );
        let old = f.mark.as_deref().and_then(calc::decode).unwrap_or_default();
        if f.mark.is_some() && old == new {
            continue;
        }
        for (k, t) in calc::delta(&old, &new) {
            let e = total.entry(k).or_default();
            e.tickets += t.tickets;
            e.cases += t.cases;
        }
        marks.push(Mark {
            case_id: f.id.clone(),
            class: class.map_or("none", StatusClass::as_str),
            contribution: calc::encode(&new),
        });
    }
    total.retain(|_, t| t.tickets != 0 || t.cases != 0);
    store::put_marks(c, &marks)?;
    store::apply(c, &total)
}

/// The class of a case at `now` and what it (with its tickets) adds to the counts.
fn contribution(
    f: &CaseFacts,
    tickets: &[&TicketFacts],
    now: NaiveDateTime,
) -> (Option<StatusClass>, Contribution) {
    let deadline = f.complete_due_at.map(|due| Deadline {
        complete_due_at: due,
        done: f.replied_at.is_some() || f.closed_at.is_some(),
    });
    let mut out = Contribution::new();
    let Some(class) = calc::classify(&f.status, deadline, now) else {
        return (None, out);
    };
    let place = f
        .place_code
        .clone()
        .unwrap_or_else(|| f.district_code.clone());
    out.entry(LeafKey {
        place,
        day: calc::local_day(f.opened_at),
        topic: f.topic_code.clone(),
        source: f.source.clone(),
        class,
    })
    .or_default()
    .cases += 1;
    for t in tickets {
        let place = t
            .place_code
            .clone()
            .unwrap_or_else(|| t.district_code.clone());
        out.entry(LeafKey {
            place,
            day: calc::local_day(t.received_at),
            topic: t.topic_code.clone(),
            source: "hotline".into(),
            class,
        })
        .or_default()
        .tickets += 1;
    }
    (Some(class), out)
}

/// Moves the cases whose completion deadline passed by `now` (unreplied, still counted as open) to `overdue`, in
/// batches of their own transactions. Returns how many cases it moved.
pub fn refresh_overdue(db: &Db, now: NaiveDateTime) -> Result<usize, DbError> {
    let mut moved = 0;
    for _ in 0..MAX_OVERDUE_BATCHES {
        let n = db.writer()?.transaction::<_, DbError, _>(|c| {
            let ids = store::newly_overdue(c, now, BATCH)?;
            cases_changed(c, now, &ids)?;
            Ok(ids.len())
        })?;
        moved += n;
        if i64::try_from(n).unwrap_or(i64::MAX) < BATCH {
            break;
        }
    }
    Ok(moved)
}

/// One row whose stored numbers differ from the raw rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The row's key.
    pub key: RowKey,
    /// What was stored.
    pub stored: Tally,
    /// What the raw rows give.
    pub counted: Tally,
}

/// Recomputes every count from the raw cases and tickets at `now` (after an overdue pass at `now`), in one
/// transaction: returns every row whose stored numbers differed and, when `write`, stores the recomputed ones.
pub fn rebuild(db: &Db, now: NaiveDateTime, write: bool) -> Result<Vec<Difference>, DbError> {
    refresh_overdue(db, now)?;
    db.writer()?.transaction::<_, DbError, _>(|c| {
        let mut counted: BTreeMap<RowKey, Tally> = BTreeMap::new();
        let mut marks: Vec<Mark> = Vec::new();
        let mut after = String::new();
        loop {
            let facts = store::cases_after(c, &after, BATCH)?;
            let Some(last) = facts.last() else {
                break;
            };
            after = last.id.clone();
            let ids: Vec<String> = facts.iter().map(|f| f.id.clone()).collect();
            let tickets = store::tickets_of(c, &ids)?;
            let mut by_case: HashMap<&str, Vec<&TicketFacts>> = HashMap::new();
            for t in &tickets {
                by_case.entry(t.case_id.as_str()).or_default().push(t);
            }
            for f in &facts {
                let (class, contrib) = contribution(
                    f,
                    by_case.get(f.id.as_str()).map_or(&[][..], Vec::as_slice),
                    now,
                );
                for (k, t) in calc::delta(&Contribution::new(), &contrib) {
                    let e = counted.entry(k).or_default();
                    e.tickets += t.tickets;
                    e.cases += t.cases;
                }
                if write {
                    marks.push(Mark {
                        case_id: f.id.clone(),
                        class: class.map_or("none", StatusClass::as_str),
                        contribution: calc::encode(&contrib),
                    });
                }
            }
        }
        let mut stored: BTreeMap<RowKey, Tally> = BTreeMap::new();
        for r in store::all_rows(c)? {
            let key = RowKey {
                level: Level::parse(&r.level).unwrap_or(Level::City),
                place: r.place_code,
                day: r.day,
                topic: r.topic_code,
                source: r.source,
                class: StatusClass::parse(&r.status).unwrap_or(StatusClass::Open),
            };
            let e = stored.entry(key).or_default();
            e.tickets += i64::from(r.tickets);
            e.cases += i64::from(r.cases);
        }
        let mut diffs = Vec::new();
        let zero = Tally::default();
        for (k, s) in &stored {
            let n = counted.get(k).copied().unwrap_or(zero);
            if *s != n {
                diffs.push(Difference {
                    key: k.clone(),
                    stored: *s,
                    counted: n,
                });
            }
        }
        for (k, n) in &counted {
            if !stored.contains_key(k) && *n != zero {
                diffs.push(Difference {
                    key: k.clone(),
                    stored: zero,
                    counted: *n,
                });
            }
        }
        diffs.sort_by(|a, b| a.key.cmp(&b.key));
        if write {
            store::clear(c)?;
            store::apply(c, &counted)?;
            store::put_marks(c, &marks)?;
        }
        Ok(diffs)
    })
}
