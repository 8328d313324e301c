//! The work scheduler: dispatches placed cases by the dispatch rules (自动派单) and moves overdue work up the
//! escalation ladder (催办 → 督办 → 查办), notifying the chain. Everything it does is computed from stored data at
//! a moment it is given, so a test can drive it with any clock, and the server runs it on a timer.
//!
//! Guarantees: idempotent and restart-safe: a rung is recorded in the same transaction that moves the case's
//! `next_rung_at` past it, and `(case, cycle, rung)` is a key, so running a pass twice, or killing the server
//! between passes, neither repeats nor loses an escalation; a reopened case climbs its ladder again from the reopen
//! (a new cycle). A pass crosses at most the policy's `work.escalation.max_per_pass` rungs: what is due beyond that
//! stays due for the next pass and is reported (a backlog after downtime or a bulk load never floods the chain at
//! once). A case that cannot be routed stays `received` (the dispatcher's queue) and does not stop the others.

use crate::db::{Db, DbConnection};
use crate::domain::access::Principal;
use crate::domain::access::Role;
use crate::domain::deadline::{self, WorkPolicy};
use crate::domain::topic::TimeClass;
use crate::domain::workflow::Action;
use crate::error::InvalidField;
use crate::service::cases::work::{self, Router};
use crate::service::cases::workflow::{self, TransitionInput, WorkflowError};
use crate::store::cases as case_store;
use crate::store::chain as chain_store;
use crate::store::org as org_store;
use crate::store::work::{self as store, EscalationRow};
use chrono::NaiveDateTime;
use diesel::Connection;
use serde::Serialize;

const BATCH: i64 = 500;

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    /// Cases dispatched by the rules.
    pub dispatched: usize,
    /// Placed cases the rules could not route (left for a dispatcher).
    pub unrouted: usize,
    /// Escalation rungs crossed.
    pub escalated: usize,
    /// Work with a rung due that this pass left for the next ones (the policy's limit per pass was reached).
    pub escalations_deferred: usize,
}

/// The actor of automatic dispatches.
pub fn dispatcher() -> Principal {
    Principal::machine("auto-dispatch", "自动派单", Role::Dispatcher)
}

/// Dispatches every received, placed case the dispatch rules can route, as of `now`.
pub fn auto_dispatch(db: &Db, now: NaiveDateTime) -> Result<(usize, usize), WorkflowError> {
    let user = dispatcher();
    let input = TransitionInput {
        action: Action::Dispatch.as_str().into(),
        ..TransitionInput::default()
    };
    let mut after = None;
    let (mut dispatched, mut unrouted) = (0, 0);
    loop {
        let (batch_dispatched, batch_unrouted, last) =
            db.writer()?.transaction::<_, WorkflowError, _>(|c| {
                let policy = work::policy(c)?;
                if !policy.auto_dispatch {
                    return Ok((0, 0, None));
                }
                let cases = case_store::waiting(c, "received", after.as_ref(), BATCH)?;
                let last = cases.last().map(|k| (k.opened_at, k.id.clone()));
                let mut router = Router::default();
                let (mut d, mut u) = (0, 0);
                for case in cases {
                    if case.place_code.as_deref().is_none_or(|p| p.len() < 9) {
                        continue;
                    }
                    let step = c.transaction(|c| {
                        workflow::take_step(
                            c,
                            &policy,
                            &mut router,
                            &user,
                            case,
                            Action::Dispatch,
                            &input,
                            now,
                        )
                    });
                    match step {
                        Ok(_) => d += 1,
                        Err(WorkflowError::NoRoute(_)) => u += 1,
                        Err(e) => return Err(e),
                    }
                }
                Ok((d, u, last))
            })?;
        dispatched += batch_dispatched;
        unrouted += batch_unrouted;
        match last {
            Some(l) => after = Some(l),
            None => break,
        }
    }
    if dispatched > 0 || unrouted > 0 {
        tracing::info!(dispatched, unrouted, "auto-dispatch pass");
    }
    Ok((dispatched, unrouted))
}

/// Someone the chain names, notified of an escalation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Notified {
    /// Why: `handler`, `department`, or the chain link's kind (`section_leader`, `village_cadre`,
    /// `community_secretary`, `command_centre`).
    pub kind: String,
    /// The unit, if a unit is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_id: Option<String>,
    /// The person, if a person is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_id: Option<String>,
    /// The person's or unit's name.
    pub name: String,
}

/// The chain links notified from the `rung`-th rung on (1 remind: the handling units; 2 supervise: also the
/// section leader, cadre and secretary; 3 investigate and above: also the district command centre).
fn links_for(rung: i32) -> &'static [&'static str] {
    match rung {
        ..=1 => &[],
        2 => &["section_leader", "village_cadre", "community_secretary"],
        _ => &[
            "section_leader",
            "village_cadre",
            "community_secretary",
            "command_centre",
        ],
    }
}

fn notified(
    c: &mut DbConnection,
    work: &store::WorkRow,
    chain: &str,
    rung: i32,
) -> diesel::QueryResult<Vec<Notified>> {
    let mut out = Vec::new();
    let departments: Vec<String> = serde_json::from_str(&work.departments).unwrap_or_default();
    let units = work
        .handler_unit_id
        .iter()
        .map(|id| ("handler", id))
        .chain(departments.iter().map(|id| ("department", id)));
    for (kind, id) in units {
        if let Some(u) = org_store::unit(c, id)? {
            out.push(Notified {
                kind: kind.into(),
                unit_id: Some(u.id),
                person_id: None,
                name: u.name,
            });
        }
    }
    let wanted = links_for(rung);
    for link in crate::domain::chain::decode_snapshot(chain) {
        if !wanted.contains(&link.kind.as_str()) {
            continue;
        }
        let Some(a) = link
            .assignment_id
            .as_deref()
            .map(|id| chain_store::assignment(c, id))
            .transpose()?
            .flatten()
        else {
            continue;
        };
        let person = a
            .person_id
            .as_deref()
            .map(|id| org_store::person(c, id))
            .transpose()?
            .flatten();
        let unit = a
            .unit_id
            .as_deref()
            .map(|id| org_store::unit(c, id))
            .transpose()?
            .flatten();
        let name = person
            .as_ref()
            .map(|p| p.name.clone())
            .or_else(|| unit.as_ref().map(|u| u.name.clone()))
            .unwrap_or_default();
        out.push(Notified {
            kind: link.kind,
            unit_id: unit.map(|u| u.id),
            person_id: person.map(|p| p.id),
            name,
        });
    }
    Ok(out)
}

/// Crosses the escalation rungs due at `now`, each exactly once, at most the policy's limit per pass: (the number
/// crossed, the work still due for the next pass).
pub fn escalate(db: &Db, now: NaiveDateTime) -> Result<(usize, usize), WorkflowError> {
    let mut crossed = 0;
    loop {
        let (n, full) = db.writer()?.transaction::<_, WorkflowError, _>(|c| {
            let policy = work::policy(c)?;
            let limit = usize::try_from(policy.max_escalations_per_pass).unwrap_or(usize::MAX);
            let room = limit.saturating_sub(crossed);
            if room == 0 {
                return Ok((0, true));
            }
            let take = i64::try_from(room).unwrap_or(BATCH).min(BATCH);
            let due = store::due_for_escalation(c, now, take)?;
            let mut n = 0;
            for mut w in due {
                if cross(c, &policy, &mut w, now)? {
                    n += 1;
                }
            }
            Ok((n, false))
        })?;
        crossed += n;
        if n == 0 || full {
            break;
        }
    }
    let deferred = store::count_due_for_escalation(&mut *db.reader()?, now)?;
    let deferred = usize::try_from(deferred).unwrap_or(usize::MAX);
    if deferred > 0 {
        tracing::warn!(
            crossed,
            deferred,
            "escalation pass reached the policy's limit (work.escalation.max_per_pass); the rest are left for the next passes"
        );
    } else if crossed > 0 {
        tracing::info!(crossed, "escalation pass");
    }
    Ok((crossed, deferred))
}

/// Crosses the next rung of `w` if it is due; moves `next_rung_at` on either way.
fn cross(
    c: &mut DbConnection,
    policy: &WorkPolicy,
    w: &mut store::WorkRow,
    now: NaiveDateTime,
) -> Result<bool, WorkflowError> {
    let class = TimeClass::parse(&w.time_class).unwrap_or(TimeClass::Days7);
    let next = deadline::next_rung(policy, class, w.cycle_started_at, w.extension_days, w.rung)
        .map(|(n, r, due)| (n, r.name.clone(), due));
    let done = w.replied_at.is_some() || w.closed_at.is_some();
    let mut fired = false;
    if let Some((n, name, due)) = next
        && due <= now
        && !done
    {
        let chain = case_store::case(c, &w.case_id)?
            .map(|k| k.chain)
            .unwrap_or_default();
        let row = EscalationRow {
            case_id: w.case_id.clone(),
            cycle: w.cycle,
            rung: n,
            name,
            district_code: w.district_code.clone(),
            due_at: due,
            fired_at: now,
            notified: serde_json::to_string(&notified(c, w, &chain, n)?)
                .unwrap_or_else(|_| "[]".into()),
        };
        fired = store::insert_escalation(c, &row)?;
        w.rung = n;
    }
    if done {
        w.next_rung_at = None;
    } else {
        work::schedule(policy, w);
    }
    store::put(c, w)?;
    Ok(fired)
}

/// One scheduler pass at `now`: auto-dispatch, then escalation.
pub fn tick(db: &Db, now: NaiveDateTime) -> Result<TickReport, WorkflowError> {
    let (dispatched, unrouted) = auto_dispatch(db, now)?;
    let (escalated, escalations_deferred) = escalate(db, now)?;
    crate::service::analytics::counts::refresh_overdue(db, now)?;
    Ok(TickReport {
        dispatched,
        unrouted,
        escalated,
        escalations_deferred,
    })
}

/// Runs [`tick`] every `every` on a thread of its own, at the time `clock` tells (the server's), until the process
/// ends. `after_pass` runs after every pass on the same thread (the monthly hot spot scans: see
/// `crate::service::hotspots::jobs::monthly`).
pub fn spawn(
    db: Db,
    every: std::time::Duration,
    clock: crate::clock::Clock,
    after_pass: impl Fn() + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("gridline-scheduler".into())
        .spawn(move || {
            loop {
                let now = clock.now();
                if let Err(e) = tick(&db, now) {
                    tracing::error!(error = %e, "scheduler pass failed; trying again next time");
                }
                after_pass();
                std::thread::sleep(every);
            }
        })
}

/// Escalations the user may see, crossed after the cursor (oldest first), with their cases, and the cursor to go on
/// from (always given: a client polls with it for what comes later). The cursor is `fired_at nanos.case id.rung`.
pub fn escalations(
    db: &Db,
    user: &Principal,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<(EscalationRow, crate::store::cases::CaseRow)>, String), WorkflowError> {
    let bad = || {
        WorkflowError::Invalid(InvalidField::new(
            "cursor",
            "is not a cursor this server handed out",
        ))
    };
    let mut after = match cursor {
        None => (chrono::DateTime::UNIX_EPOCH.naive_utc(), String::new(), 0),
        Some(s) => {
            let mut parts = s.splitn(3, '.');
            let nanos: i64 = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
            let id = parts.next().ok_or_else(bad)?;
            let rung: i32 = parts.next().and_then(|x| x.parse().ok()).ok_or_else(bad)?;
            (
                chrono::DateTime::from_timestamp_nanos(nanos).naive_utc(),
                id.to_owned(),
                rung,
            )
        }
    };
    let encode = |a: &(NaiveDateTime, String, i32)| {
        let nanos = a.0.and_utc().timestamp_nanos_opt().unwrap_or(i64::MAX);
        format!("{nanos}.{}.{}", a.1, a.2)
    };
    let mut c = db.reader()?;
    let mut out = Vec::new();
    let mut scanned = 0;
    loop {
        let page = store::escalations_after(&mut c, &after, 500)?;
        if page.is_empty() {
            return Ok((out, encode(&after)));
        }
        for e in page {
            scanned += 1;
            after = (e.fired_at, e.case_id.clone(), e.rung);
            let Some(case) = case_store::case(&mut c, &e.case_id)? else {
                continue;
            };
            if !crate::domain::access::can_see_case(
                user,
                case.place_code.as_deref(),
                &case.topic_code,
            ) {
                continue;
            }
            out.push((e, case));
            if out.len() == limit {
                return Ok((out, encode(&after)));
            }
        }
        if scanned >= 5_000 {
            return Ok((out, encode(&after)));
        }
    }
}
