//! The counts behind the leaders' heat maps, kept current from the change log: a read sees every change committed
//! before it (see "When it is counted" below).
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
//! When it is counted, and when it shows. No write counts in its own transaction (that cost intake a fifth of its
//! throughput): every write that changes a case already leaves a mark in the change log the phones' pull feed is
//! made from (`changes`, written by triggers in the write's transaction, numbered in commit order: a new or changed
//! case, a workflow step; a ticket moving between cases changes both cases). [`catch_up`] counts every case changed
//! after the counts' cursor (`count_cursor`), in passes of at most [`BATCH`] log entries, each read and worked out in a
//! snapshot outside the writer and written in one transaction that also moves the cursor: a restart loses nothing,
//! because what is not counted yet is what lies after the cursor. A pass
//! recomputes each case's contribution from its raw rows, subtracts what the case last added (`count_marks`) and
//! adds the new one, at every level, summing the changes of all its cases per row before writing each row once.
//! The class is taken at the time of the pass.
//!
//! Who runs it: the server, every half second on a thread of its own ([`keep_up`]); every read of the counts, first
//! ([`current`]: the heat map, the series, the tiles, the overview and the scans), so that a read sees every change
//! committed before it (the tiles that follow a tile's read within a moment trust it while this process wrote
//! nothing: see `service::analytics::tiles`); the simulator and the import at their end; a rebuild and an overdue pass, first. Every
//! writer of the counts takes the cursor's row first ([`store::lock_cursor`]): two never add one change twice. The
//! only change that comes from time alone (open → overdue) is made by [`refresh_overdue`], which the scheduler runs
//! on every pass. [`rebuild`] recomputes everything from the raw rows and reports every difference.
//!
//! Held in memory. A server ([`Db::with_counts_in_memory`]) keeps a copy of the rows of the last [`HELD_DAYS`] days
//! (`analytics::cube`), and the heat map and the tiles sum it ([`sums`]) instead of reading the rows every time.
//! The stored counts carry a version (`count_cursor.version`) that every write of them moves up by one in its
//! transaction; each pass of this process adds its own change to the copy after it commits (when the copy was the
//! version just before), and a copy of another version (another process wrote, or two passes crossed) is read
//! again, whole, in one snapshot, before the next sum from it (or by the counting thread first: [`warm`]). Windows
//! reaching further back are summed from the stored rows.

use crate::analytics::counts::{
    self as calc, Contribution, Deadline, Filter, LeafKey, RowKey, StatusClass, Tally,
};
use crate::analytics::cube::{Cube, PlaceSums};
use crate::db::{CountsInMemory, Db, DbConnection, DbError};
use crate::geo::place::Level;
use crate::store::counts::{self as store, CaseFacts, Mark, TicketFacts};
use chrono::{NaiveDate, NaiveDateTime};
use diesel::Connection;
use std::collections::{BTreeMap, HashMap};
use std::sync::{PoisonError, RwLockWriteGuard, mpsc};
use std::time::Duration;

/// Cases read per query (and counted per transaction) by a catch-up, a rebuild or an overdue pass.
pub const BATCH: i64 = 2_000;

/// The most transactions one catch-up or overdue pass makes (bounds the loop; the rest waits for the next pass).
const MAX_BATCHES: usize = 10_000;

/// How often the server's thread catches up ([`keep_up`]).
pub const CATCH_UP_EVERY: Duration = Duration::from_millis(500);

/// Counts, at `now`, every case changed after the cursor, in passes of at most [`BATCH`] log entries, until one
/// reaches the log's latest number. Returns how many cases it counted.
///
/// A pass reads and works out its change outside the writer, in one snapshot of a reading connection (the log's
/// entries after the cursor, the cases' raw rows and what each last added), and then holds the writer only to write
/// it: SQLite has one writer, and the tickets being filed wait for it. What it wrote was worked out against the
/// cursor and the counts' version it read: every writer of the counts moves one of them (a pass moves the cursor,
/// an overdue pass or a rebuild the version), so when both are unchanged under the counts' lock, no other write of
/// the counts came between and the change is written as worked out; otherwise the pass is worked out again under
/// the lock. Changes committed after the snapshot lie after the cursor it moves to, and the next pass counts them.
pub fn catch_up(db: &Db, now: NaiveDateTime) -> Result<usize, DbError> {
    let started = std::time::Instant::now();
    let mut counted = 0;
    for _ in 0..MAX_BATCHES {
        let Some(pass) = read_pass(db, now)? else {
            break;
        };
        let wrote = write_pass(db, pass, now)?;
        counted += wrote.cases;
        if wrote.done {
            break;
        }
    }
    if counted > 0 {
        tracing::debug!(
            cases = counted,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "heat-map counts caught up"
        );
    }
    Ok(counted)
}

/// One pass of a catch-up, read and worked out outside the writer ([`read_pass`]) and then written
/// ([`write_pass`]): from the cursor and the counts' version it was read at, the change that counts the cases of the
/// log's entries up to `upto`.
#[derive(Debug)]
pub struct Pass {
    cursor: i64,
    version: i64,
    upto: i64,
    /// Cases among the entries (each once).
    cases: usize,
    /// Whether the entries reached the log's latest number.
    done: bool,
    change: Change,
}

/// What [`write_pass`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wrote {
    /// Cases counted.
    pub cases: usize,
    /// Whether the pass reached the log's latest number (as the counts' lock found it).
    pub done: bool,
    /// Whether another writer of the counts came between the read and the write, so that the pass was worked out
    /// again under the lock.
    pub again: bool,
}

/// Reads the next pass of a catch-up at `now` in one snapshot of a reading connection (`None`: nothing was
/// committed after the cursor).
pub fn read_pass(db: &Db, now: NaiveDateTime) -> Result<Option<Pass>, DbError> {
    Ok(store::in_snapshot(&mut *db.reader()?, |c| plan(c, now))?)
}

/// Writes a pass in one transaction that takes the counts' lock and moves the cursor: as it was worked out when the
/// cursor and the counts' version are still the ones it was read at, else worked out again under the lock.
pub fn write_pass(db: &Db, pass: Pass, now: NaiveDateTime) -> Result<Wrote, DbError> {
    let (wrote, applied) = db.writer()?.transaction::<_, DbError, _>(|c| {
        let cursor = store::lock_cursor(c)?;
        let again = cursor != pass.cursor || store::version(c)? != pass.version;
        let pass = if again { plan(c, now)? } else { Some(pass) };
        let Some(pass) = pass else {
            return Ok((
                Wrote {
                    cases: 0,
                    done: true,
                    again,
                },
                None,
            ));
        };
        let applied = write_change(c, pass.change)?;
        store::set_cursor(c, pass.upto)?;
        let wrote = Wrote {
            cases: pass.cases,
            done: pass.done,
            again,
        };
        Ok((wrote, applied))
    })?;
    follow(db, applied);
    Ok(wrote)
}

/// Reads the log's entries after the cursor (at most [`BATCH`]) and works out the change that counts their cases at
/// `now` (`None`: nothing was committed after the cursor).
fn plan(c: &mut DbConnection, now: NaiveDateTime) -> diesel::QueryResult<Option<Pass>> {
    let cursor = store::cursor(c)?;
    let head = store::head(c)?;
    if head <= cursor {
        return Ok(None);
    }
    let version = store::version(c)?;
    let entries = store::changes_between(c, cursor, head, BATCH)?;
    let full = i64::try_from(entries.len()).unwrap_or(i64::MAX) >= BATCH;
    // A full batch stops at its last entry; a short one saw everything up to `head`.
    let upto = match entries.last() {
        Some((_, _, seq)) if full => *seq,
        _ => head,
    };
    let mut ids: Vec<String> = entries
        .into_iter()
        .filter(|(kind, _, _)| kind == "case")
        .map(|(_, id, _)| id)
        .collect();
    ids.sort();
    ids.dedup();
    Ok(Some(Pass {
        cursor,
        version,
        upto,
        cases: ids.len(),
        done: !full,
        change: work_out(c, now, &ids)?,
    }))
}

/// Makes the counts current before a read at `now`: a catch-up when a change was committed after the cursor (one
/// read of two single-row tables when none was).
pub fn current(db: &Db, now: NaiveDateTime) -> Result<(), DbError> {
    if store::behind(&mut *db.reader()?)? {
        catch_up(db, now)?;
    }
    Ok(())
}

/// The server's catch-up thread; stops (and waits for its thread) when dropped.
#[derive(Debug)]
pub struct KeepUp {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for KeepUp {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs [`current`], then [`warm`], every `every` at the time `now` tells (the server's clock), on a thread of its own, until the
/// returned guard is dropped.
pub fn keep_up(
    db: Db,
    every: Duration,
    now: impl Fn() -> NaiveDateTime + Send + 'static,
) -> std::io::Result<KeepUp> {
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("gridline-counts".into())
        .spawn(move || {
            loop {
                if let Err(e) = current(&db, now()) {
                    tracing::error!(error = %e, "counting the changed cases failed; trying again next time");
                } else if let Err(e) = warm(&db, calc::local_day(now())) {
                    tracing::error!(error = %e, "loading the counts into memory failed; trying again next time");
                }
                match stopped.recv_timeout(every) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
        })?;
    Ok(KeepUp {
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// A change written to the stored counts: the version it made and what it added to each row.
#[derive(Debug)]
struct Applied {
    version: i64,
    delta: BTreeMap<RowKey, Tally>,
}

/// What counting some cases changes: their new marks, and the sum of their changes per row.
#[derive(Debug, Default)]
struct Change {
    marks: Vec<Mark>,
    total: BTreeMap<RowKey, Tally>,
}

/// Works out what brings the counts of the cases `ids` (each once; and of their tickets) up to date with their raw
/// rows at `now`, from the rows and the stored marks `c` reads.
///
/// Set-based: one read of the cases with what each last added (`count_marks`), one read of their tickets; the
/// changes of every case are summed per row (level, place, day, topic, source, class), so that each changed row is
/// written once and each changed case's mark once.
fn work_out(
    c: &mut DbConnection,
    now: NaiveDateTime,
    ids: &[String],
) -> diesel::QueryResult<Change> {
    if ids.is_empty() {
        return Ok(Change::default());
    }
    let facts = store::cases_by_id(c, ids)?;
    let tickets = store::tickets_of(c, ids)?;
    let mut by_case: HashMap<&str, Vec<&TicketFacts>> = HashMap::new();
    for t in &tickets {
        by_case.entry(t.case_id.as_str()).or_default().push(t);
    }
    let mut change = Change::default();
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
            let e = change.total.entry(k).or_default();
            e.tickets += t.tickets;
            e.cases += t.cases;
        }
        change.marks.push(Mark {
            case_id: f.id.clone(),
            class: class.map_or("none", StatusClass::as_str),
            contribution: calc::encode(&new),
        });
    }
    change.total.retain(|_, t| t.tickets != 0 || t.cases != 0);
    Ok(change)
}

/// Writes a worked-out change (in the caller's transaction, which holds the counts' lock and read the marks the
/// change was worked out from). Answers what it wrote (`None`: nothing changed).
fn write_change(c: &mut DbConnection, change: Change) -> diesel::QueryResult<Option<Applied>> {
    store::put_marks(c, &change.marks)?;
    Ok(store::apply(c, &change.total)?.map(|version| Applied {
        version,
        delta: change.total,
    }))
}

/// Adds a committed change to the copy of the counts in memory, when `db` keeps one: the copy must be the version
/// just before it, else (another writer came between) it is dropped and read again when next needed.
fn follow(db: &Db, applied: Option<Applied>) {
    let (Some(held), Some(a)) = (db.counts_in_memory(), applied) else {
        return;
    };
    let mut held = held.write().unwrap_or_else(PoisonError::into_inner);
    match held.as_mut() {
        Some(cube) if cube.version() == a.version - 1 => {
            for (k, t) in &a.delta {
                cube.add(k, *t);
            }
            cube.set_version(a.version);
        }
        Some(_) => *held = None,
        None => {}
    }
}

/// How many days before today the copy in memory holds: a window and its period before that start earlier are
/// summed from the stored rows.
pub const HELD_DAYS: i64 = 400;

/// Days read per query when the copy is loaded (bounds the rows in flight).
const LOAD_DAYS: i64 = 31;

/// Tickets and cases per place of `level` over the days of `window` and over the period of the same length before
/// it, under `f` (places without any are left out), as stored: from the copy in memory when `db` keeps one and it
/// holds those days (loading it first when it is missing, or behind the stored counts' version), else one read of
/// the stored rows. `today` (Beijing) places the days held. `version`: the stored counts' version when the caller
/// has just read it (a tile that trusts the last read), else it is read here.
pub fn sums(
    db: &Db,
    level: Level,
    window: calc::Window,
    f: &Filter,
    today: NaiveDate,
    version: Option<i64>,
) -> Result<Vec<PlaceSums>, DbError> {
    let (previous_from, from, to) = (window.previous().from, window.from, window.to);
    let first_day = held_from(today);
    let Some(held) = db.counts_in_memory().filter(|_| previous_from >= first_day) else {
        return stored_sums(db, level, previous_from, from, to, f);
    };
    let version = match version {
        Some(v) => v,
        None => store::version(&mut *db.reader()?)?,
    };
    {
        let held = held.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(cube) = held.as_ref().filter(|c| fits(c, version, first_day))
            && let Some(sums) = cube.sums(level, previous_from, from, to, f)
        {
            return Ok(sums);
        }
    }
    let held = refreshed(db, held, version, first_day)?;
    match held
        .as_ref()
        .and_then(|c| c.sums(level, previous_from, from, to, f))
    {
        Some(sums) => Ok(sums),
        None => stored_sums(db, level, previous_from, from, to, f),
    }
}

/// Loads the copy in memory when `db` keeps one and it is missing or behind the stored counts: the server's
/// counting thread calls it after each pass, so that the first map after a start (or after a writer that keeps no
/// copy, such as an import run from the command line) does not wait for the load.
pub fn warm(db: &Db, today: NaiveDate) -> Result<(), DbError> {
    let Some(held) = db.counts_in_memory() else {
        return Ok(());
    };
    let first_day = held_from(today);
    let version = store::version(&mut *db.reader()?)?;
    refreshed(db, held, version, first_day).map(drop)
}

/// The first day a copy made `today` holds.
fn held_from(today: NaiveDate) -> NaiveDate {
    today - chrono::Duration::days(HELD_DAYS)
}

/// Whether a copy answers for the stored counts at `version` from `first_day` on: it is that version (or later),
/// and it starts in the month of days up to `first_day` (an older copy is loaded again, leaving its oldest days).
fn fits(cube: &Cube, version: i64, first_day: NaiveDate) -> bool {
    cube.version() >= version
        && cube.first_day() <= first_day
        && cube.first_day() > first_day - chrono::Duration::days(LOAD_DAYS)
}

/// The copy, loaded again first unless it [`fits`] (under the write lock: one reader loads, the others wait for it).
fn refreshed<'a>(
    db: &Db,
    held: &'a CountsInMemory,
    version: i64,
    first_day: NaiveDate,
) -> Result<RwLockWriteGuard<'a, Option<Cube>>, DbError> {
    let mut guard = held.write().unwrap_or_else(PoisonError::into_inner);
    if !guard.as_ref().is_some_and(|c| fits(c, version, first_day)) {
        *guard = None;
        *guard = Some(load(db, first_day)?);
    }
    Ok(guard)
}

/// [`sums`] from the stored rows: one read.
fn stored_sums(
    db: &Db,
    level: Level,
    previous_from: NaiveDate,
    from: NaiveDate,
    to: NaiveDate,
    f: &Filter,
) -> Result<Vec<PlaceSums>, DbError> {
    let rows =
        store::per_place_with_previous(&mut *db.reader()?, level, previous_from, from, to, f)?;
    Ok(rows
        .into_iter()
        .map(|s| PlaceSums {
            code: s.key,
            now: Tally {
                tickets: s.tickets,
                cases: s.cases,
            },
            before: Tally {
                tickets: s.previous_tickets,
                cases: s.previous_cases,
            },
        })
        .collect())
}

/// Reads the stored rows from `first_day` on into a copy, in one snapshot, a month of days of one level per query.
fn load(db: &Db, first_day: NaiveDate) -> Result<Cube, DbError> {
    let started = std::time::Instant::now();
    let mut conn = db.reader()?;
    let cube = store::in_snapshot(&mut conn, |c| -> Result<Cube, DbError> {
        let mut cube = Cube::new(store::version(c)?, first_day);
        let last = store::last_day(c)?.unwrap_or(first_day);
        for level in Level::ALL {
            let mut day = first_day;
            // Bounded: at most HELD_DAYS / LOAD_DAYS + 2 reads a level; the last takes every later day at once.
            for chunk in 0..=(HELD_DAYS / LOAD_DAYS + 1) {
                let until = if chunk > HELD_DAYS / LOAD_DAYS {
                    NaiveDate::MAX
                } else {
                    day + chrono::Duration::days(LOAD_DAYS - 1)
                };
                for r in store::rows_between(c, level, day, until)? {
                    let (key, t) = r.into_key();
                    cube.add(&key, t);
                }
                if until >= last {
                    break;
                }
                day = until + chrono::Duration::days(1);
            }
        }
        Ok(cube)
    })?;
    tracing::info!(
        rows = cube.rows(),
        row_mib = cube.row_bytes() >> 20,
        version = cube.version(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "heat-map counts loaded into memory"
    );
    Ok(cube)
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
/// batches of their own transactions, after a catch-up. Returns how many cases it moved.
pub fn refresh_overdue(db: &Db, now: NaiveDateTime) -> Result<usize, DbError> {
    catch_up(db, now)?;
    let mut moved = 0;
    for _ in 0..MAX_BATCHES {
        let (n, applied) = db.writer()?.transaction::<_, DbError, _>(|c| {
            store::lock_cursor(c)?;
            let ids = store::newly_overdue(c, now, BATCH)?;
            let change = work_out(c, now, &ids)?;
            let applied = write_change(c, change)?;
            Ok((ids.len(), applied))
        })?;
        follow(db, applied);
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

/// Recomputes every count from the raw cases and tickets at `now` (after a catch-up and an overdue pass at `now`),
/// in one transaction: returns every row whose stored numbers differed and, when `write`, stores the recomputed
/// ones.
pub fn rebuild(db: &Db, now: NaiveDateTime, write: bool) -> Result<Vec<Difference>, DbError> {
    refresh_overdue(db, now)?;
    let diffs = db.writer()?.transaction::<_, DbError, _>(|c| {
        store::lock_cursor(c)?;
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
            let (key, t) = r.into_key();
            let e = stored.entry(key).or_default();
            e.tickets += t.tickets;
            e.cases += t.cases;
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
    })?;
    if write && let Some(held) = db.counts_in_memory() {
        // Rewritten from scratch: the copy in memory is read again when next needed.
        *held.write().unwrap_or_else(PoisonError::into_inner) = None;
    }
    Ok(diffs)
}
