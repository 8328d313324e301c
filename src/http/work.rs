//! The work on cases as clients see it: the clocks, whistle calls, escalations and callbacks in the case detail;
//! `GET /api/v1/dispatch/queue` (the dispatcher's queue) and `GET /api/v1/escalations` (what the scheduler
//! escalated, for the chain it notified).

use crate::domain::access::Permission;
use crate::domain::deadline::late;
use crate::domain::time::rfc3339 as time;
use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::cases::CaseDto;
use crate::http::query::{Query, one_of};
use crate::http::state::AppState;
use crate::service::cases::dispatch::{self, QueueKind};
use crate::service::cases::scheduler::{self, Notified};
use crate::store::work::{CallbackRow, EscalationRow, WhistleCallRow, WorkRow};
use actix_web::web;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// The work on a case: who handles it and its clocks.
#[derive(Debug, Serialize)]
pub struct WorkDto {
    /// The time class the clocks follow.
    pub time_class: String,
    /// The unit handling it (the street office).
    pub handler_unit_id: Option<String>,
    /// The street of that office.
    pub street_code: Option<String>,
    /// Departments sent it as well (双派).
    pub departments: Vec<String>,
    /// Units copied.
    pub copied: Vec<String>,
    /// First dispatch: the clocks start here.
    pub dispatched_at: String,
    /// Accept by then.
    pub respond_due_at: String,
    /// Reply by then (extensions included).
    pub complete_due_at: String,
    /// Days of extension granted in this handling cycle.
    pub extension_days: i32,
    /// Days of an extension waiting for a dispatcher's approval.
    pub extension_pending_days: Option<i32>,
    /// The handling cycle: 1 from the first dispatch, +1 at each reopen.
    pub cycle: i32,
    /// When this cycle started (the first dispatch, then the latest reopen): the ladder counts from here.
    pub cycle_started_at: String,
    /// When it was accepted.
    pub accepted_at: Option<String>,
    /// Who accepted it (the handler).
    pub accepted_by: Option<String>,
    /// Their name.
    pub accepted_by_name: Option<String>,
    /// When the handler replied.
    pub replied_at: Option<String>,
    /// When it closed.
    pub closed_at: Option<String>,
    /// Accepted after the response deadline, or not yet and past it.
    pub respond_late: bool,
    /// Replied after the completion deadline, or not yet and past it (超期).
    pub overdue: bool,
    /// Times it was returned.
    pub return_count: i32,
    /// Returned often enough to look like buck-passing.
    pub buck_passing: bool,
    /// The reply came without evidence.
    pub evidence_missing: bool,
    /// Escalation rungs crossed in this handling cycle.
    pub rung: i32,
    /// When the next rung falls due, if one will.
    pub next_rung_at: Option<String>,
}

fn id_list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

impl WorkDto {
    /// The work as it stands at `now`.
    pub fn new(w: WorkRow, now: NaiveDateTime) -> WorkDto {
        WorkDto {
            respond_late: late(w.respond_due_at, w.accepted_at, now),
            overdue: late(w.complete_due_at, w.replied_at.or(w.closed_at), now),
            time_class: w.time_class,
            handler_unit_id: w.handler_unit_id,
            street_code: w.street_code,
            departments: id_list(&w.departments),
            copied: id_list(&w.copied),
            dispatched_at: time(w.dispatched_at),
            respond_due_at: time(w.respond_due_at),
            complete_due_at: time(w.complete_due_at),
            extension_days: w.extension_days,
            extension_pending_days: w.extension_pending_days,
            cycle: w.cycle,
            cycle_started_at: time(w.cycle_started_at),
            accepted_at: w.accepted_at.map(time),
            accepted_by: w.accepted_by,
            accepted_by_name: w.accepted_by_name,
            replied_at: w.replied_at.map(time),
            closed_at: w.closed_at.map(time),
            return_count: w.return_count,
            buck_passing: w.buck_passing,
            evidence_missing: w.evidence_missing,
            rung: w.rung,
            next_rung_at: w.next_rung_at.map(time),
        }
    }
}

/// A department summoned by a whistle.
#[derive(Debug, Serialize)]
pub struct WhistleCallDto {
    /// The `seq` of the whistle step.
    pub whistle_seq: i32,
    /// The department.
    pub unit_id: String,
    /// Its name.
    pub unit_name: String,
    /// When it was summoned.
    pub summoned_at: String,
    /// Report in by then.
    pub due_at: String,
    /// When it reported in.
    pub reported_at: Option<String>,
    /// Who reported in.
    pub reported_by_name: Option<String>,
    /// Reported after the deadline.
    pub late: bool,
    /// Not reported and past the deadline.
    pub missing: bool,
}

impl WhistleCallDto {
    /// The call as it stands at `now`.
    pub fn new(w: WhistleCallRow, now: NaiveDateTime) -> WhistleCallDto {
        WhistleCallDto {
            late: w.reported_at.is_some_and(|r| r > w.due_at),
            missing: w.reported_at.is_none() && now > w.due_at,
            whistle_seq: w.whistle_seq,
            unit_id: w.unit_id,
            unit_name: w.unit_name,
            summoned_at: time(w.summoned_at),
            due_at: time(w.due_at),
            reported_at: w.reported_at.map(time),
            reported_by_name: w.reported_by_name,
        }
    }
}

/// An escalation rung a case crossed.
#[derive(Debug, Serialize)]
pub struct EscalationDto {
    /// The handling cycle it was crossed in (1 before any reopen).
    pub cycle: i32,
    /// 1, 2, 3 ...
    pub rung: i32,
    /// `remind`, `supervise`, `investigate`.
    pub name: String,
    /// When it fell due.
    pub due_at: String,
    /// When it was recorded.
    pub fired_at: String,
    /// Who was notified.
    pub notified: Vec<Notified>,
}

impl From<EscalationRow> for EscalationDto {
    fn from(e: EscalationRow) -> Self {
        EscalationDto {
            cycle: e.cycle,
            rung: e.rung,
            name: e.name,
            due_at: time(e.due_at),
            fired_at: time(e.fired_at),
            notified: serde_json::from_str(&e.notified).unwrap_or_default(),
        }
    }
}

/// The callback of one ticket's caller in one round.
#[derive(Debug, Serialize)]
pub struct CallbackDto {
    /// The ticket.
    pub ticket_id: String,
    /// 1 for the first callback, +1 after each reopen.
    pub round: i32,
    /// When.
    pub at: String,
    /// Whether the caller was reached.
    pub contacted: bool,
    /// `yes`, `partly`, `no`.
    pub resolved: Option<String>,
    /// `satisfied`, `basically_satisfied`, `dissatisfied`.
    pub satisfaction: Option<String>,
    /// Note.
    pub note: String,
}

impl From<CallbackRow> for CallbackDto {
    fn from(c: CallbackRow) -> Self {
        CallbackDto {
            ticket_id: c.ticket_id,
            round: c.round,
            at: time(c.at),
            contacted: c.contacted,
            resolved: c.resolved,
            satisfaction: c.satisfaction,
            note: c.note,
        }
    }
}

/// Query of the queue.
#[derive(Debug, Deserialize)]
pub struct QueueQuery {
    kind: Option<String>,
    cursor: Option<String>,
    limit: Option<usize>,
}

/// A case waiting for a dispatcher.
#[derive(Debug, Serialize)]
pub struct QueueItemDto {
    /// The case.
    pub case: CaseDto,
    /// Why it waits.
    pub reason: &'static str,
    /// The latest return's reason.
    pub note: String,
    /// Times returned.
    pub return_count: i32,
    /// Flagged as buck-passing.
    pub buck_passing: bool,
}

/// A page of the queue.
#[derive(Debug, Serialize)]
pub struct QueuePage {
    /// Oldest first.
    pub items: Vec<QueueItemDto>,
    /// The next page, if any.
    pub next_cursor: Option<String>,
}

const MAX_PAGE: usize = 200;

fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit.unwrap_or(50) {
        n @ 1..=MAX_PAGE => Ok(n),
        _ => Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be from 1 to {MAX_PAGE}"),
        )),
    }
}

/// `GET /api/v1/dispatch/queue`
pub async fn queue(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<QueueQuery>,
) -> Result<web::Json<QueuePage>, ApiError> {
    me.require(Permission::Dispatch)?;
    let q = q.into_inner();
    let kind = match one_of("kind", q.kind, &["unrouted", "returned"])?.as_deref() {
        Some("returned") => QueueKind::Returned,
        _ => QueueKind::Unrouted,
    };
    let limit = page_limit(q.limit)?;
    let db = state.db.clone();
    let user = me.user.clone();
    let (items, next) =
        web::block(move || dispatch::queue(&db, &user, kind, q.cursor.as_deref(), limit)).await??;
    Ok(web::Json(QueuePage {
        items: items
            .into_iter()
            .map(|i| QueueItemDto {
                case: CaseDto::new(&state.index, i.case),
                reason: i.reason,
                note: i.note,
                return_count: i.return_count,
                buck_passing: i.buck_passing,
            })
            .collect(),
        next_cursor: next,
    }))
}

/// Query of the escalations.
#[derive(Debug, Deserialize)]
pub struct EscalationQuery {
    cursor: Option<String>,
    limit: Option<usize>,
}

/// An escalation with its case.
#[derive(Debug, Serialize)]
pub struct CaseEscalationDto {
    /// The case.
    pub case: CaseDto,
    /// The rung crossed.
    pub escalation: EscalationDto,
}

/// A page of escalations.
#[derive(Debug, Serialize)]
pub struct EscalationPage {
    /// Oldest first.
    pub items: Vec<CaseEscalationDto>,
    /// Where to continue (also when the page is empty: poll with it later).
    pub next_cursor: String,
}

/// `GET /api/v1/escalations`
pub async fn escalations(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<EscalationQuery>,
) -> Result<web::Json<EscalationPage>, ApiError> {
    me.require(Permission::ReadCases)?;
    let q = q.into_inner();
    let limit = page_limit(q.limit)?;
    let db = state.db.clone();
    let user = me.user.clone();
    let (rows, next) =
        web::block(move || scheduler::escalations(&db, &user, q.cursor.as_deref(), limit))
            .await??;
    Ok(web::Json(EscalationPage {
        items: rows
            .into_iter()
            .map(|(e, case)| CaseEscalationDto {
                case: CaseDto::new(&state.index, case),
                escalation: EscalationDto::from(e),
            })
            .collect(),
        next_cursor: next,
    }))
}
