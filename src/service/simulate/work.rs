//! The simulated handling of simulated cases (`gridline simulate --workflow`, `serve --demo`): every received case
//! is taken along the workflow as a street would handle it — dispatched by the dispatch rules a few minutes after
//! it opened, accepted, worked on, replied with evidence, called back ticket by ticket and closed, or reopened when
//! a caller says it is not solved; patrol cases are partly fixed on the spot and verified — at realistic rates, up
//! to a moment (`until`): what would happen later has not happened yet, so the scheduler takes over from there.
//!
//! Guarantees: every step is one the state machine allows (`domain::workflow::decide`) for the role taking it, and
//! it is stored as the real step would be (transitions, the case's work and clocks, callbacks, the case's status);
//! the same seed gives the same handling; cases already handled are not touched again.

use crate::db::Db;
use crate::domain::access::Role;
use crate::domain::deadline::{ClassClock, WorkPolicy};
use crate::domain::ids::random_id;
use crate::domain::topic::TimeClass;
use crate::domain::workflow::{self, Action, Origin, Status};
use crate::service::cases::work::{self, Router};
use crate::service::cases::workflow::{Details, WorkflowError};
use crate::store::cases::{self as case_store, CaseRow};
use crate::store::work::{self as work_store, CallbackRow, WorkRow};
use crate::store::workflow::{self as transition_store, TransitionRow};
use chrono::{Duration, NaiveDateTime};
use diesel::Connection;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};

const BATCH: i64 = 2_000;

/// What the handling did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WorkSummary {
    /// Cases dispatched.
    pub dispatched: u64,
    /// Cases whose handler replied.
    pub replied: u64,
    /// Cases closed (or verified).
    pub closed: u64,
    /// Cases reopened after a caller said it was not solved.
    pub reopened: u64,
    /// Patrol cases fixed on the spot.
    pub self_resolved: u64,
    /// Callbacks recorded (one per ticket).
    pub callbacks: u64,
    /// Cases left for a dispatcher (the rules could not route them).
    pub unrouted: u64,
}

/// One step as the simulation takes it.
struct Planned {
    action: Action,
    role: Role,
    actor: String,
    at: NaiveDateTime,
    note: &'static str,
    evidence: bool,
}

fn minutes(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> Duration {
    Duration::seconds((rng.random_range(lo..hi) * 60.0) as i64)
}

fn share(d: Duration, lo: f64, hi: f64, rng: &mut ChaCha8Rng) -> Duration {
    Duration::seconds((d.num_seconds() as f64 * rng.random_range(lo..hi)) as i64)
}

fn evidence_of(case_id: &str, at: NaiveDateTime) -> String {
    use sha2::{Digest, Sha256};
    crate::auth::token::hex(&Sha256::digest(format!("{case_id}{at}")))
}

/// The callback of one ticket: (contacted, resolved, satisfaction).
fn callback(rng: &mut ChaCha8Rng) -> (bool, Option<&'static str>, Option<&'static str>) {
    if rng.random_bool(0.05) {
        return (false, None, None);
    }
    let resolved = match rng.random_range(0..100) {
        0..80 => "yes",
        80..88 => "partly",
        _ => "no",
    };
    let [s, b] = match resolved {
        "yes" => [85, 97],
        "partly" => [40, 80],
        _ => [5, 20],
    };
    let r = rng.random_range(0..100);
    let satisfaction = if r < s {
        "satisfied"
    } else if r < b {
        "basically_satisfied"
    } else {
        "dissatisfied"
    };
    (true, Some(resolved), Some(satisfaction))
}

/// Handles every received case up to `until`; `progress` gets the number of cases looked at so far.
pub fn play(
    db: &Db,
    seed: u64,
    until: NaiveDateTime,
    mut progress: impl FnMut(u64),
) -> Result<WorkSummary, WorkflowError> {
    let mut sum = WorkSummary::default();
    let mut after = None;
    let mut seen = 0u64;
    loop {
        let cases = case_store::waiting(&mut *db.reader()?, "received", after.as_ref(), BATCH)?;
        let Some(last) = cases.last() else {
            break;
        };
        after = Some((last.opened_at, last.id.clone()));
        seen += cases.len() as u64;
        db.writer()?.transaction::<_, WorkflowError, _>(|c| {
            let policy = work::policy(c)?;
            let mut router = Router::default();
            let ids: Vec<String> = cases.iter().map(|k| k.id.clone()).collect();
            let mut tickets: HashMap<String, Vec<String>> = HashMap::new();
            for (t, case) in case_store::ticket_ids_of(c, &ids)? {
                tickets.entry(case).or_default().push(t);
            }
            let mut out = Out::default();
            for case in cases {
                let case_tickets = tickets.remove(&case.id).unwrap_or_default();
                handle(
                    c,
                    &policy,
                    &mut router,
                    seed,
                    until,
                    case,
                    &case_tickets,
                    &mut out,
                    &mut sum,
                )?;
            }
            transition_store::insert_many(c, &out.transitions)?;
            work_store::insert_many(c, &out.work)?;
            work_store::insert_callbacks(c, &out.callbacks)?;
            // A case names a photo once (two steps at one moment would give the same simulated photo).
            let mut named = std::collections::HashSet::new();
            out.uses
                .retain(|u| named.insert((u.sha256.clone(), u.item_id.clone())));
            crate::store::photos::insert_uses(c, &out.uses)?;
            for case in &out.cases {
                case_store::update_case(c, case)?;
            }
            Ok(())
        })?;
        progress(seen);
    }
    crate::service::analytics::counts::catch_up(db, until)?;
    Ok(sum)
}

#[derive(Default)]
struct Out {
    transitions: Vec<TransitionRow>,
    work: Vec<WorkRow>,
    callbacks: Vec<CallbackRow>,
    cases: Vec<CaseRow>,
    /// The evidence photos' uses, recorded as a real step records them, so the photo rule reads them the same way.
    uses: Vec<crate::store::photos::UseRow>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "the simulated handler's world, case and moment are each the caller's"
)]
fn handle(
    c: &mut crate::db::DbConnection,
    policy: &WorkPolicy,
    router: &mut Router,
    seed: u64,
    until: NaiveDateTime,
    mut case: CaseRow,
    tickets: &[String],
    out: &mut Out,
    sum: &mut WorkSummary,
) -> Result<(), WorkflowError> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    case.id.hash(&mut h);
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ h.finish());
    let origin = if case.ticket_count > 0 {
        Origin::Hotline
    } else {
        Origin::Patrol
    };
    let street = case.place_code.clone().unwrap_or_default();
    let handler = format!(
        "sim-handler-{}-{}",
        street.get(..9).unwrap_or(""),
        rng.random_range(0..3)
    );
    let (class, _) = router.topic(c, &case.topic_code)?;
    let clock = policy.class(class).clone();
    let mut plan: Vec<Planned> = Vec::new();
    let mut work = None;
    let mut t = case.opened_at;
    if origin == Origin::Patrol && rng.random_bool(0.35) {
        t += minutes(&mut rng, 5.0, 30.0);
        plan.push(step(
            Action::SelfResolve,
            Role::GridMember,
            "sim-grid-member",
            t,
            "随手做，已处理",
            true,
        ));
        t += minutes(&mut rng, 240.0, 2880.0);
        plan.push(step(
            Action::Verify,
            Role::CommunitySecretary,
            "sim-secretary",
            t,
            "现场核查已解决",
            true,
        ));
    } else {
        let route = router.route(c, policy, &case)?;
        if route.handler.is_none() {
            sum.unrouted += 1;
            return Ok(());
        }
        t += minutes(&mut rng, 3.0, 40.0);
        let dispatched = t;
        plan.push(step(
            Action::Dispatch,
            Role::Dispatcher,
            "sim-dispatcher",
            t,
            "",
            false,
        ));
        plan.extend(handling(&mut rng, &clock, &handler, origin, dispatched));
        let w = work::first_dispatch(policy, &case, &route, class, dispatched);
        if dispatched <= until {
            work = Some(w);
        }
    }
    let before = case.version;
    let mut ctx = Ctx {
        rng: &mut rng,
        out,
        sum,
        class,
        policy,
    };
    let work = take(
        &mut case, origin, plan, until, tickets, &handler, work, &mut ctx,
    );
    if let Some(w) = work {
        ctx.out.work.push(w);
    }
    if case.version != before {
        ctx.out.cases.push(case);
    }
    Ok(())
}

fn step(
    action: Action,
    role: Role,
    actor: &str,
    at: NaiveDateTime,
    note: &'static str,
    evidence: bool,
) -> Planned {
    Planned {
        action,
        role,
        actor: actor.to_owned(),
        at,
        note,
        evidence,
    }
}

/// The street's handling of work dispatched (or reopened) at `from`: accepted within the response time (rarely
/// late), worked on, replied mostly within the completion time, then called back (hotline cases) or closed by the
/// command centre (patrol cases).
fn handling(
    rng: &mut ChaCha8Rng,
    clock: &ClassClock,
    handler: &str,
    origin: Origin,
    from: NaiveDateTime,
) -> Vec<Planned> {
    let mut plan = Vec::with_capacity(4);
    let mut t = from;
    t += if rng.random_bool(0.985) {
        share(clock.respond, 0.05, 0.9, rng)
    } else {
        share(clock.respond, 1.1, 3.0, rng)
    };
    plan.push(step(
        Action::Accept,
        Role::StreetHandler,
        handler,
        t,
        "",
        false,
    ));
    t += minutes(rng, 1.0, 30.0);
    plan.push(step(
        Action::Start,
        Role::StreetHandler,
        handler,
        t,
        "",
        false,
    ));
    let left = (from + clock.complete - t).max(Duration::minutes(10));
    t += if rng.random_bool(0.92) {
        share(left, 0.05, 0.9, rng)
    } else {
        share(clock.complete, 1.0, 1.6, rng)
    };
    plan.push(step(
        Action::Reply,
        Role::StreetHandler,
        handler,
        t,
        "已处理并反馈",
        rng.random_bool(0.97),
    ));
    if origin == Origin::Hotline {
        t += minutes(rng, 120.0, 1800.0);
        plan.push(step(
            Action::CallBack,
            Role::HotlineOperator,
            "sim-hotline",
            t,
            "",
            false,
        ));
    } else {
        t += minutes(rng, 60.0, 1440.0);
        plan.push(step(
            Action::Close,
            Role::Dispatcher,
            "sim-dispatcher",
            t,
            "",
            false,
        ));
    }
    plan
}

/// A case is handled at most this many times: after the last round's callback it is closed whatever the callers
/// say (the hotline explains and files it).
const MAX_ROUNDS: i32 = 3;

struct Ctx<'a> {
    rng: &'a mut ChaCha8Rng,
    out: &'a mut Out,
    sum: &'a mut WorkSummary,
    class: TimeClass,
    policy: &'a WorkPolicy,
}

/// Takes the planned steps that happen by `until`, as the state machine allows them; a case reopened after a failed
/// callback is handled again by its street (a new cycle), as many rounds as happen by `until` (at most
/// [`MAX_ROUNDS`]); the work as they leave it.
#[expect(
    clippy::too_many_arguments,
    reason = "the case, its plan and tickets, and the run's context are all one case's handling"
)]
fn take(
    case: &mut CaseRow,
    origin: Origin,
    plan: Vec<Planned>,
    until: NaiveDateTime,
    tickets: &[String],
    handler: &str,
    mut work: Option<WorkRow>,
    ctx: &mut Ctx<'_>,
) -> Option<WorkRow> {
    let Ctx {
        rng,
        out,
        sum,
        class,
        policy,
    } = ctx;
    let (class, policy) = (*class, *policy);
    let mut plan: VecDeque<Planned> = plan.into();
    let mut status = Status::Received;
    let mut seq = 0usize;
    let mut round = 1;
    while let Some(p) = plan.pop_front() {
        if p.at > until {
            break;
        }
        let Ok(step) = workflow::decide(status, origin, p.role, p.action) else {
            break;
        };
        let evidence: Vec<String> = if p.evidence {
            vec![evidence_of(&case.id, p.at)]
        } else {
            Vec::new()
        };
        let mut details = Details::default();
        match p.action {
            Action::Dispatch => {
                sum.dispatched += 1;
                if let Some(w) = work.as_ref() {
                    details.targets = serde_json::from_str::<Vec<String>>(&w.departments)
                        .map(|d| w.handler_unit_id.iter().cloned().chain(d).collect())
                        .unwrap_or_default();
                    details.copied = serde_json::from_str(&w.copied).unwrap_or_default();
                }
            }
            Action::Accept => {
                if let Some(w) = work.as_mut()
                    && w.accepted_at.is_none()
                {
                    w.accepted_at = Some(p.at);
                    w.accepted_by = Some(p.actor.clone());
                    w.accepted_by_name = Some(format!("经办人{}", &p.actor[p.actor.len() - 1..]));
                }
            }
            Action::Reply | Action::SelfResolve => {
                sum.replied += 1;
                if p.action == Action::SelfResolve {
                    sum.self_resolved += 1;
                }
                if let Some(w) = work.as_mut() {
                    w.replied_at = Some(p.at);
                    w.evidence_missing = evidence.is_empty();
                }
            }
            Action::CallBack => {
                let mut unsolved = false;
                for t in tickets {
                    let (contacted, resolved, satisfaction) = callback(rng);
                    unsolved |= resolved == Some("no");
                    out.callbacks.push(CallbackRow {
                        ticket_id: t.clone(),
                        round,
                        case_id: case.id.clone(),
                        district_code: case.district_code.clone(),
                        at: p.at,
                        actor_id: p.actor.clone(),
                        contacted,
                        resolved: resolved.map(str::to_owned),
                        satisfaction: satisfaction.map(str::to_owned),
                        note: String::new(),
                    });
                    sum.callbacks += 1;
                }
                record(case, seq, status, step.to, &p, details, evidence, out);
                seq += 1;
                status = step.to;
                // Closed when every caller reached says it is (partly) solved, reopened otherwise (up to the
                // last round).
                let reopen = unsolved && round < MAX_ROUNDS;
                let (action, note) = if reopen {
                    (Action::Reopen, "市民反映问题未解决")
                } else {
                    (Action::Close, "")
                };
                let at = p.at + Duration::minutes(10);
                if at <= until
                    && let Ok(next) =
                        workflow::decide(status, origin, Role::HotlineOperator, action)
                {
                    let then = step_of(action, &p.actor, at, note);
                    record(
                        case,
                        seq,
                        status,
                        next.to,
                        &then,
                        Details::default(),
                        Vec::new(),
                        out,
                    );
                    seq += 1;
                    status = next.to;
                    if reopen {
                        sum.reopened += 1;
                        round += 1;
                        if let Some(w) = work.as_mut() {
                            work::start_cycle(policy, class, w, at);
                        }
                        // The street handles it again, on the new cycle's clock.
                        let clock = policy.class(class).clone();
                        plan.extend(handling(rng, &clock, handler, origin, at));
                    } else {
                        sum.closed += 1;
                        if let Some(w) = work.as_mut() {
                            w.closed_at = Some(at);
                        }
                    }
                }
                continue;
            }
            Action::Close | Action::Verify => {
                sum.closed += 1;
                if let Some(w) = work.as_mut() {
                    w.closed_at = Some(p.at);
                }
            }
            _ => {}
        }
        record(case, seq, status, step.to, &p, details, evidence, out);
        seq += 1;
        status = step.to;
    }
    if let Some(w) = work.as_mut() {
        if w.replied_at.is_some() || w.closed_at.is_some() {
            w.next_rung_at = None;
        } else {
            work::schedule(policy, w);
        }
    }
    case.status = status.as_str().to_owned();
    work
}

fn step_of(action: Action, actor: &str, at: NaiveDateTime, note: &'static str) -> Planned {
    step(action, Role::HotlineOperator, actor, at, note, false)
}

#[expect(
    clippy::too_many_arguments,
    reason = "one recorded step: every column is the caller's"
)]
fn record(
    case: &mut CaseRow,
    k: usize,
    from: Status,
    to: Status,
    p: &Planned,
    details: Details,
    evidence: Vec<String>,
    out: &mut Out,
) {
    out.uses
        .extend(evidence.iter().map(|sha| crate::store::photos::UseRow {
            sha256: sha.clone(),
            kind: crate::store::photos::kind::CASE.into(),
            item_id: case.id.clone(),
            attached_by: p.actor.clone(),
            // As for a real step's evidence, whose actor sent the photos or could read them.
            vouched: true,
            created_at: p.at,
        }));
    out.transitions.push(TransitionRow {
        id: random_id("trn_"),
        case_id: case.id.clone(),
        district_code: case.district_code.clone(),
        seq: i32::try_from(k + 1).unwrap_or(i32::MAX),
        action: p.action.as_str().to_owned(),
        from_status: from.as_str().to_owned(),
        to_status: to.as_str().to_owned(),
        actor_id: p.actor.clone(),
        actor_name: p.actor.clone(),
        actor_role: p.role.as_str().to_owned(),
        at: p.at,
        note: p.note.to_owned(),
        details: serde_json::to_string(&details).unwrap_or_else(|_| "{}".into()),
        evidence: serde_json::to_string(&evidence).unwrap_or_else(|_| "[]".into()),
    });
    case.version += 1;
    case.updated_at = p.at;
}
