//! `gridline simulate`: realistic activity for demos, tests and benchmarks, filed through the same intake as the
//! API (`prepare_ticket` / `prepare_report`, then `store_ticket` / `store_report` in batches), never raw SQL.
//!
//! Guarantees: the same seed gives the same tickets and reports (ticket numbers and report ids included), so a
//! second run with the same seed files nothing new and an interrupted run resumes; generation and placing run on
//! one thread while the database writes on another; the planted hotspots come back as ground truth.

pub mod model;
pub mod traffic;
pub mod work;
pub mod world;

use crate::db::{Db, DbConnection};
use crate::domain::access::Principal;
use crate::domain::access::Role;
use crate::domain::chain::AssignmentKind;
use crate::service::intake::pipeline;
use crate::service::intake::{self, Geo, IntakeError, PreparedReport, PreparedTicket, Rules};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use traffic::{Event, Hotspot, Plan, Topic, Traffic};
use world::World;

/// Items filed per transaction.
const BATCH: usize = 500;

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Tickets stored.
    pub tickets: u64,
    /// Patrol reports stored.
    pub reports: u64,
    /// Items stored before (an earlier run with the same seed).
    pub skipped: u64,
    /// Items refused by intake (with why, in the log).
    pub rejected: u64,
    /// Cases opened.
    pub cases_opened: u64,
    /// Tickets flagged as repeats (same caller, same topic, within the window).
    pub repeat_tickets: u64,
    /// Tickets that could not be placed (waiting for a person).
    pub unplaced_tickets: u64,
    /// Cases flagged as group requests.
    pub group_cases: u64,
}

/// What was planted, for checking an analysis against.
#[derive(Debug, Clone, Serialize)]
pub struct GroundTruth {
    /// The seed.
    pub seed: u64,
    /// First day.
    pub start: NaiveDate,
    /// Days simulated.
    pub days: u32,
    /// Share of Beijing's volume.
    pub scale: f64,
    /// The hotspots.
    pub hotspots: Vec<Hotspot>,
}

/// Progress of a run.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Items handled so far.
    pub done: u64,
    /// Items planned (grows a little as buildings call together).
    pub planned: u64,
}

enum Prepared {
    Ticket(PreparedTicket),
    Report(PreparedReport),
}

struct Outcome {
    ticket: bool,
    created: bool,
    opened: bool,
    repeat: bool,
    unplaced: bool,
    group_case: Option<String>,
}

fn store_item(
    c: &mut DbConnection,
    p: &Prepared,
    rules: &mut Rules,
) -> Result<Outcome, IntakeError> {
    Ok(match p {
        Prepared::Ticket(t) => {
            let f = intake::store_ticket(c, t, rules)?;
            Outcome {
                ticket: true,
                created: f.created,
                opened: f.decision.as_ref().is_some_and(|d| d.outcome == "opened"),
                repeat: f.item.repeat_of.is_some(),
                unplaced: f.item.place_code.is_none(),
                group_case: f.case.group_request.then_some(f.case.id),
            }
        }
        Prepared::Report(r) => {
            let f = intake::store_report(c, r, rules)?;
            Outcome {
                ticket: false,
                created: f.created,
                opened: f.decision.as_ref().is_some_and(|d| d.outcome == "opened"),
                repeat: false,
                unplaced: false,
                group_case: f.case.group_request.then_some(f.case.id),
            }
        }
    })
}

fn topics(db: &Db) -> Result<Vec<Topic>, IntakeError> {
    Ok(crate::service::admin::topics::list(db)?
        .into_iter()
        .filter(|t| t.active && t.code.len() == 4)
        .map(|t| Topic {
            code: t.code,
            name_zh: t.name_zh,
        })
        .collect())
}

fn traffic<'a>(db: &Db, world: &'a World<'a>, plan: Plan) -> Result<Traffic<'a>, IntakeError> {
    let topics = topics(db)?;
    if topics.is_empty() {
        return Err(IntakeError::Lookup("no active topics to simulate".into()));
    }
    Ok(Traffic::new(world, topics, plan))
}

fn world<'a>(geo: &Geo<'a>) -> Result<World<'a>, IntakeError> {
    World::new(geo.index)
        .ok_or_else(|| IntakeError::Lookup("the place index has no buildings to simulate".into()))
}

/// The grid member of a cell at a moment (or whoever answers in their place), as the one who files its patrol
/// reports.
fn grid_member(geo: &Geo<'_>, cell: &str, at: NaiveDateTime) -> Principal {
    let person = geo.chain.chain_at(geo.index, cell, at).and_then(|c| {
        c.links
            .into_iter()
            .find(|l| l.kind == AssignmentKind::GridMember)
            .and_then(|l| l.person)
    });
    let (id, name) = person.map_or_else(
        || (format!("sim-grid-member-{cell}"), "网格员".to_owned()),
        |p| (p.id.clone(), p.name.clone()),
    );
    Principal {
        username: format!("simulate:{id}"),
        id,
        display_name: name,
        role: Role::GridMember,
        places: vec![cell.to_owned()],
        topics: Vec::new(),
    }
}

/// Simulates `plan` and files everything, checked against the clock reading `now` (intake refuses items in the
/// future); `progress` is called after each batch.
pub fn run(
    db: &Db,
    geo: &Geo<'_>,
    plan: Plan,
    now: NaiveDateTime,
    mut progress: impl FnMut(Progress),
) -> Result<(Summary, GroundTruth), IntakeError> {
    let world = world(geo)?;
    let mut traffic = traffic(db, &world, plan.clone())?;
    let operator = Principal::machine("simulate", "simulated hotline", Role::HotlineOperator);
    let planned = traffic.planned();
    let mut sum = Summary::default();
    let mut group_cases = HashSet::new();
    let mut done = 0u64;
    let hotspots = pipeline::run(
        |send| {
            let mut reporters: HashMap<String, Principal> = HashMap::new();
            'days: for k in 0..plan.days {
                let mut batch = Vec::with_capacity(BATCH);
                for (at, event) in traffic.day(k) {
                    batch.push(match event {
                        Event::Ticket(t) => {
                            intake::prepare_ticket(geo, &t, &operator, now).map(Prepared::Ticket)
                        }
                        Event::Report { input, cell } => {
                            let reporter = reporters
                                .entry(cell.clone())
                                .or_insert_with(|| grid_member(geo, &cell, at));
                            intake::prepare_report(geo, &input, reporter, now).map(Prepared::Report)
                        }
                    });
                    if batch.len() == BATCH && !send(std::mem::take(&mut batch)) {
                        break 'days;
                    }
                }
                if !batch.is_empty() && !send(batch) {
                    break;
                }
            }
            traffic.hotspots().to_vec()
        },
        |batch: Vec<Result<Prepared, IntakeError>>| {
            done += batch.len() as u64;
            for result in intake::file_batch(db, now, batch, store_item)? {
                match result {
                    Ok(o) if !o.created => sum.skipped += 1,
                    Ok(o) => {
                        if o.ticket {
                            sum.tickets += 1;
                        } else {
                            sum.reports += 1;
                        }
                        sum.cases_opened += u64::from(o.opened);
                        sum.repeat_tickets += u64::from(o.repeat);
                        sum.unplaced_tickets += u64::from(o.unplaced);
                        group_cases.extend(o.group_case);
                    }
                    Err(e) => {
                        sum.rejected += 1;
                        tracing::warn!(error = %e, "a simulated item was refused");
                    }
                }
            }
            progress(Progress {
                done,
                planned: planned.max(done),
            });
            Ok(())
        },
        || IntakeError::Lookup("the traffic generator failed".into()),
    )?;
    sum.group_cases = group_cases.len() as u64;
    // A command run alone counts what it filed before it ends (a server would catch up on its own).
    crate::service::analytics::counts::catch_up(db, now)?;
    Ok((
        sum,
        GroundTruth {
            seed: plan.seed,
            start: plan.start,
            days: plan.days,
            scale: plan.scale,
            hotspots,
        },
    ))
}

/// Writes the simulated hotline tickets as JSON Lines (the format `gridline import tickets` reads) instead of filing
/// them; patrol reports are not written. Returns the number of tickets.
pub fn export(
    db: &Db,
    geo: &Geo<'_>,
    plan: Plan,
    out: &mut impl Write,
    mut progress: impl FnMut(Progress),
) -> Result<(u64, GroundTruth), IntakeError> {
    let world = world(geo)?;
    let mut traffic = traffic(db, &world, plan.clone())?;
    let planned = traffic.planned();
    let (mut done, mut tickets) = (0u64, 0u64);
    let io = |e: std::io::Error| IntakeError::Lookup(format!("cannot write the tickets: {e}"));
    for k in 0..plan.days {
        for (_, event) in traffic.day(k) {
            done += 1;
            if let Event::Ticket(t) = event {
                serde_json::to_writer(&mut *out, &t)
                    .map_err(|e| IntakeError::Lookup(format!("cannot write the tickets: {e}")))?;
                out.write_all(b"\n").map_err(io)?;
                tickets += 1;
            }
        }
        progress(Progress {
            done,
            planned: planned.max(done),
        });
    }
    out.flush().map_err(io)?;
    Ok((
        tickets,
        GroundTruth {
            seed: plan.seed,
            start: plan.start,
            days: plan.days,
            scale: plan.scale,
            hotspots: traffic.hotspots().to_vec(),
        },
    ))
}
