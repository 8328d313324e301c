//! The work on a dispatched case, kept with every step (`service::cases::workflow` calls [`on_step`] inside the step's
//! transaction): where it was dispatched (首派 to the street office answering for its place, 双派 to the topic's
//! department, the district command centre copied), its clocks (deadlines from the time class plus extensions),
//! acceptance, returns (buck-passing), the whistle (吹哨报到) and its report-ins, per-ticket callbacks, and where it
//! stands on the escalation ladder.
//!
//! Guarantees: the work row changes in the same transaction as the step that changes it; a dispatch without units
//! goes where the dispatch rules say, or is refused with `NoRoute` so the case stays in the dispatcher's queue.

use crate::db::DbConnection;
use crate::domain::access::Principal;
use crate::domain::deadline::{self, WorkPolicy};
use crate::domain::org::UnitKind;
use crate::domain::topic::TimeClass;
use crate::domain::workflow::Action;
use crate::service::cases::step::{
    CallbackInput, Details, ExtensionDecision, TicketCallback, WorkflowError, invalid,
};
use crate::store::cases::{self as case_store, CaseRow};
use crate::store::chain as chain_store;
use crate::store::org::{self as org_store, UnitRow};
use crate::store::topics as topic_store;
use crate::store::work::{self as store, CallbackRow, WhistleCallRow, WorkRow};
use crate::store::workflow as workflow_store;
use chrono::NaiveDateTime;
use std::collections::HashMap;

/// The work policy: stored `work.*` values over the defaults (a bad stored value is logged and skipped).
pub fn policy(c: &mut DbConnection) -> diesel::QueryResult<WorkPolicy> {
    let mut p = WorkPolicy::default();
    for (key, value) in topic_store::policy_values(c)? {
        if let Err(e) = p.apply(&key, &value) {
            tracing::warn!(error = %e, "ignoring a work policy value");
        }
    }
    Ok(p)
}

/// Where the dispatch rules send a case.
#[derive(Debug, Clone, Default)]
pub struct Route {
    /// The street whose office handles it.
    pub street_code: Option<String>,
    /// The handling unit (the street office).
    pub handler: Option<UnitRow>,
    /// Departments sent it as well (双派).
    pub departments: Vec<UnitRow>,
    /// Units copied (the district command centre).
    pub copied: Vec<UnitRow>,
}

/// The dispatch rules with what they looked up so far (topics, departments per district): one per batch.
#[derive(Default)]
pub struct Router {
    topics: HashMap<String, (TimeClass, String)>,
    departments: HashMap<String, Vec<UnitRow>>,
    command_centres: HashMap<String, Option<UnitRow>>,
}

impl Router {
    /// The time class and catalogue department of a topic (7d and none when the topic is unknown).
    pub fn topic(
        &mut self,
        c: &mut DbConnection,
        code: &str,
    ) -> diesel::QueryResult<(TimeClass, String)> {
        if let Some(t) = self.topics.get(code) {
            return Ok(t.clone());
        }
        let t = topic_store::get(c, code)?
            .map(|t| {
                (
                    TimeClass::parse(&t.time_class).unwrap_or(TimeClass::Days7),
                    t.department,
                )
            })
            .unwrap_or((TimeClass::Days7, String::new()));
        self.topics.insert(code.to_owned(), t.clone());
        Ok(t)
    }

    fn department(
        &mut self,
        c: &mut DbConnection,
        district: &str,
        topic: &str,
        name: &str,
    ) -> diesel::QueryResult<Option<UnitRow>> {
        if !self.departments.contains_key(district) {
            let units = org_store::units_in_district(c, UnitKind::Department.as_str(), district)?;
            self.departments.insert(district.to_owned(), units);
        }
        let units = &self.departments[district];
        let answers = |u: &&UnitRow| -> bool {
            serde_json::from_str::<Vec<String>>(&u.topics)
                .unwrap_or_default()
                .iter()
                .any(|t| t == topic)
        };
        let by_name = |u: &&UnitRow| !name.is_empty() && u.name.ends_with(name);
        Ok(units
            .iter()
            .find(answers)
            .or_else(|| units.iter().find(by_name))
            .cloned())
    }

    fn command_centre(
        &mut self,
        c: &mut DbConnection,
        district: &str,
    ) -> diesel::QueryResult<Option<UnitRow>> {
        if let Some(u) = self.command_centres.get(district) {
            return Ok(u.clone());
        }
        let u = org_store::units(c, Some(UnitKind::CommandCentre.as_str()), Some(district), 1)?
            .into_iter()
            .next();
        self.command_centres.insert(district.to_owned(), u.clone());
        Ok(u)
    }

    /// Where the rules send `case`: the street office answering for its place in the chain it opened with (or,
    /// failing that, the street office of its street), the catalogue's department when the policy dual-dispatches
    /// its topic, and the district command centre copied.
    pub fn route(
        &mut self,
        c: &mut DbConnection,
        policy: &WorkPolicy,
        case: &CaseRow,
    ) -> diesel::QueryResult<Route> {
        let mut route = Route::default();
        let Some(place) = case.place_code.as_deref().filter(|p| p.len() >= 9) else {
            return Ok(route);
        };
        let street = &place[..9];
        route.street_code = Some(street.to_owned());
        let from_chain = crate::domain::chain::decode_snapshot(&case.chain)
            .into_iter()
            .find(|l| l.kind == "street_office" && !l.fallback)
            .and_then(|l| l.assignment_id);
        if let Some(id) = from_chain
            && let Some(unit_id) = chain_store::assignment(c, &id)?.and_then(|a| a.unit_id)
        {
            route.handler = org_store::unit(c, &unit_id)?;
        }
        if route.handler.is_none() {
            route.handler =
                org_store::units(c, Some(UnitKind::StreetOffice.as_str()), Some(street), 1)?
                    .into_iter()
                    .next();
        }
        if route.handler.is_none() {
            return Ok(route);
        }
        if policy.dual(&case.topic_code) {
            let (_, name) = self.topic(c, &case.topic_code)?;
            if let Some(d) = self.department(c, &case.district_code, &case.topic_code, &name)? {
                route.departments.push(d);
            }
        }
        if let Some(cc) = self.command_centre(c, &case.district_code)? {
            route.copied.push(cc);
        }
        Ok(route)
    }
}

fn ids(units: &[UnitRow]) -> String {
    serde_json::to_string(&units.iter().map(|u| &u.id).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

/// What a step is, for the work it changes.
pub struct StepAt<'a> {
    /// The case (before the step).
    pub case: &'a CaseRow,
    /// The action.
    pub action: Action,
    /// Who.
    pub user: &'a Principal,
    /// When.
    pub at: NaiveDateTime,
    /// The step's number.
    pub seq: i32,
    /// Evidence photos given.
    pub evidence: &'a [String],
    /// Callback results per ticket (call_back).
    pub callbacks: &'a [TicketCallback],
    /// The note.
    pub note: &'a str,
}

/// Sets when the next rung of the work's ladder falls due, counted from the start of its handling cycle.
pub fn schedule(policy: &WorkPolicy, w: &mut WorkRow) {
    let class = TimeClass::parse(&w.time_class).unwrap_or(TimeClass::Days7);
    w.next_rung_at =
        deadline::next_rung(policy, class, w.cycle_started_at, w.extension_days, w.rung)
            .map(|(_, _, due)| due);
}

/// A reopen at `at`: a new handling cycle whose clocks start now. The ladder climbs from the bottom again and the
/// extensions of the cycle start from none (what earlier cycles crossed and were granted stays in the history).
pub fn start_cycle(policy: &WorkPolicy, class: TimeClass, w: &mut WorkRow, at: NaiveDateTime) {
    w.cycle += 1;
    w.cycle_started_at = at;
    w.replied_at = None;
    w.closed_at = None;
    // The response deadline stays the first dispatch's: the response rate measures the first contact.
    w.complete_due_at = at + policy.class(class).complete;
    w.extension_days = 0;
    w.extension_pending_days = None;
    w.rung = 0;
    schedule(policy, w);
}

fn grant_extension(policy: &WorkPolicy, w: &mut WorkRow, days: u32) {
    let days = i32::try_from(days).unwrap_or(0);
    w.extension_days += days;
    w.extension_pending_days = None;
    w.complete_due_at += chrono::Duration::days(i64::from(days));
    schedule(policy, w);
}

/// The extensions granted in the current handling cycle, as its steps record them: every approval, and every
/// `extend` that did not wait for one (steps recorded before approvals existed were all granted).
fn extensions_granted(c: &mut DbConnection, case_id: &str) -> diesel::QueryResult<u32> {
    let steps = workflow_store::extension_steps_of_cycle(c, case_id)?;
    let granted = steps
        .iter()
        .filter(|(action, details)| {
            action != "extend"
                || serde_json::from_str::<Details>(details)
                    .map_or(true, |d| d.extension != Some(ExtensionDecision::Pending))
        })
        .count();
    Ok(u32::try_from(granted).unwrap_or(u32::MAX))
}

/// The extension of `days` the class of `w` allows now, or why not.
fn extension_bounds(
    c: &mut DbConnection,
    policy: &WorkPolicy,
    w: &WorkRow,
    days: u32,
) -> Result<deadline::ExtensionOutcome, WorkflowError> {
    let class = TimeClass::parse(&w.time_class).unwrap_or(TimeClass::Days7);
    let count = extensions_granted(c, &w.case_id)?;
    let granted = u32::try_from(w.extension_days).unwrap_or(0);
    policy
        .class(class)
        .extensions
        .decide(count, granted, days)
        .map_err(|r| WorkflowError::ExtensionLimit(r.to_string()))
}

/// Keeps the work in step with `step`; fills the step's details (the units a dispatch went to).
pub fn on_step(
    c: &mut DbConnection,
    policy: &WorkPolicy,
    router: &mut Router,
    step: &StepAt<'_>,
    details: &mut Details,
) -> Result<(), WorkflowError> {
    let case = step.case;
    let at = step.at;
    let mut work = store::get(c, &case.id)?;
    match step.action {
        Action::Dispatch => {
            let route = if details.targets.is_empty() {
                let r = router.route(c, policy, case)?;
                if r.handler.is_none() {
                    return Err(WorkflowError::NoRoute(no_route_reason(case)));
                }
                r
            } else {
                chosen(c, router, case, &details.targets)?
            };
            details.targets = route
                .handler
                .iter()
                .chain(&route.departments)
                .map(|u| u.id.clone())
                .collect();
            details.copied = route.copied.iter().map(|u| u.id.clone()).collect();
            let (class, _) = router.topic(c, &case.topic_code)?;
            let w = match work.take() {
                Some(mut w) => {
                    // 改派: the new unit has its own time to respond; the citizen's deadline stands.
                    w.respond_due_at = at + policy.class(class).respond;
                    w.accepted_at = None;
                    w.accepted_by = None;
                    w.accepted_by_name = None;
                    w.street_code = route.street_code.clone();
                    w.handler_unit_id = route.handler.as_ref().map(|u| u.id.clone());
                    w.departments = ids(&route.departments);
                    w.copied = ids(&route.copied);
                    w
                }
                None => first_dispatch(policy, case, &route, class, at),
            };
            work = Some(w);
        }
        Action::Accept => {
            if let Some(w) = work.as_mut()
                && w.accepted_at.is_none()
            {
                w.accepted_at = Some(at);
                w.accepted_by = Some(step.user.id.clone());
                w.accepted_by_name = Some(step.user.display_name.clone());
            }
        }
        Action::Return => {
            if let Some(w) = work.as_mut() {
                w.return_count += 1;
                w.buck_passing =
                    u32::try_from(w.return_count).unwrap_or(0) >= policy.buck_passing_returns;
            }
        }
        Action::Extend => {
            let w = work
                .as_mut()
                .ok_or_else(|| invalid("action", "the case was never dispatched"))?;
            if let Some(d) = w.extension_pending_days {
                return Err(WorkflowError::ExtensionPending(d));
            }
            let days = details.days.unwrap_or(0);
            match extension_bounds(c, policy, w, days)? {
                deadline::ExtensionOutcome::Granted => {
                    grant_extension(policy, w, days);
                    details.extension = Some(ExtensionDecision::Granted);
                }
                deadline::ExtensionOutcome::NeedsApproval => {
                    w.extension_pending_days = Some(i32::try_from(days).unwrap_or(0));
                    details.extension = Some(ExtensionDecision::Pending);
                }
            }
        }
        Action::ApproveExtension | Action::RefuseExtension => {
            let w = work.as_mut().ok_or(WorkflowError::NoPendingExtension)?;
            let days = w
                .extension_pending_days
                .and_then(|d| u32::try_from(d).ok())
                .ok_or(WorkflowError::NoPendingExtension)?;
            details.days = Some(days);
            if step.action == Action::ApproveExtension {
                // The policy may have changed since the request: the bounds hold at approval too.
                extension_bounds(c, policy, w, days)?;
                grant_extension(policy, w, days);
                details.extension = Some(ExtensionDecision::Approved);
            } else {
                w.extension_pending_days = None;
                details.extension = Some(ExtensionDecision::Refused);
            }
        }
        Action::Whistle => {
            let mut calls = Vec::with_capacity(details.targets.len());
            for id in &details.targets {
                let unit = org_store::unit(c, id)?
                    .ok_or_else(|| invalid("targets", format!("there is no unit {id}")))?;
                if unit.kind != UnitKind::Department.as_str()
                    && unit.kind != UnitKind::Enterprise.as_str()
                {
                    return Err(invalid(
                        "targets",
                        format!(
                            "{} is {}: a whistle summons departments",
                            unit.name,
                            crate::domain::text::a(&unit.kind)
                        ),
                    ));
                }
                calls.push(WhistleCallRow {
                    case_id: case.id.clone(),
                    whistle_seq: step.seq,
                    unit_id: unit.id,
                    unit_name: unit.name,
                    district_code: case.district_code.clone(),
                    summoned_at: at,
                    due_at: at + policy.whistle_report,
                    reported_at: None,
                    reported_by: None,
                    reported_by_name: None,
                });
            }
            store::insert_whistle_calls(c, &calls)?;
        }
        Action::ReportIn => {
            let [unit] = details.targets.as_slice() else {
                return Err(invalid("targets", "name the one department reporting in"));
            };
            let whistle = store::whistle_calls_of(c, &case.id)?
                .into_iter()
                .map(|w| w.whistle_seq)
                .max()
                .unwrap_or(0);
            let changed = store::report_in(
                c,
                &case.id,
                whistle,
                unit,
                at,
                &step.user.id,
                &step.user.display_name,
            )?;
            if changed == 0 {
                return Err(invalid(
                    "targets",
                    format!(
                        "{unit} was not summoned by the latest whistle, or has already reported in"
                    ),
                ));
            }
        }
        Action::Reply | Action::SelfResolve => {
            if let Some(w) = work.as_mut() {
                w.replied_at = Some(at);
                w.evidence_missing = step.evidence.is_empty();
                w.next_rung_at = None;
            }
        }
        Action::CallBack => record_callbacks(c, step)?,
        Action::Close | Action::Verify | Action::Merge => {
            if let Some(w) = work.as_mut() {
                w.closed_at = Some(at);
                w.next_rung_at = None;
            }
        }
        Action::Reopen => {
            if let Some(w) = work.as_mut() {
                let (class, _) = router.topic(c, &case.topic_code)?;
                start_cycle(policy, class, w, at);
            }
        }
        Action::Start | Action::EndWhistle | Action::Note => {}
    }
    if let Some(w) = work {
        store::put(c, &w)?;
    }
    Ok(())
}

/// The work of a case dispatched for the first time at `at` along `route`: its clocks start.
pub fn first_dispatch(
    policy: &WorkPolicy,
    case: &CaseRow,
    route: &Route,
    class: TimeClass,
    at: NaiveDateTime,
) -> WorkRow {
    let (respond, complete) = deadline::deadlines(policy, class, at, 0);
    let mut w = WorkRow {
        case_id: case.id.clone(),
        district_code: case.district_code.clone(),
        street_code: route.street_code.clone(),
        handler_unit_id: route.handler.as_ref().map(|u| u.id.clone()),
        departments: ids(&route.departments),
        copied: ids(&route.copied),
        time_class: class.as_str().to_owned(),
        dispatched_at: at,
        respond_due_at: respond,
        complete_due_at: complete,
        extension_days: 0,
        accepted_at: None,
        accepted_by: None,
        accepted_by_name: None,
        replied_at: None,
        closed_at: None,
        return_count: 0,
        buck_passing: false,
        evidence_missing: false,
        rung: 0,
        next_rung_at: None,
        cycle: 1,
        cycle_started_at: at,
        extension_pending_days: None,
    };
    schedule(policy, &mut w);
    w
}

fn no_route_reason(case: &CaseRow) -> String {
    match case.place_code.as_deref() {
        None => "the case has no place yet: name the units to dispatch it to".into(),
        Some(p) if p.len() < 9 => {
            format!("the case is only placed in district {p}: name the units to dispatch it to")
        }
        Some(p) => format!(
            "no street office answers for {}: name the units to dispatch it to",
            &p[..9]
        ),
    }
}

/// The route a dispatcher chose: the first street office named handles it (else the first unit), departments and
/// enterprises are sent it as well, and the district command centre is copied.
fn chosen(
    c: &mut DbConnection,
    router: &mut Router,
    case: &CaseRow,
    targets: &[String],
) -> Result<Route, WorkflowError> {
    let mut units = Vec::with_capacity(targets.len());
    for id in targets {
        let u = org_store::unit(c, id)?
            .ok_or_else(|| invalid("targets", format!("there is no unit {id}")))?;
        let kind = UnitKind::parse(&u.kind);
        if !matches!(
            kind,
            Some(UnitKind::StreetOffice | UnitKind::Department | UnitKind::Enterprise)
        ) {
            return Err(invalid(
                "targets",
                format!(
                    "{} is {}: cases go to street offices, departments and enterprises",
                    u.name,
                    crate::domain::text::a(&u.kind)
                ),
            ));
        }
        if !units.iter().any(|x: &UnitRow| x.id == u.id) {
            units.push(u);
        }
    }
    let lead = units
        .iter()
        .position(|u| u.kind == UnitKind::StreetOffice.as_str())
        .unwrap_or(0);
    let handler = units.remove(lead);
    let street_code = (handler.kind == UnitKind::StreetOffice.as_str())
        .then(|| handler.place_code.clone())
        .flatten();
    let copied = router
        .command_centre(c, &case.district_code)?
        .into_iter()
        .collect();
    Ok(Route {
        street_code,
        handler: Some(handler),
        departments: units,
        copied,
    })
}

fn record_callbacks(c: &mut DbConnection, step: &StepAt<'_>) -> Result<(), WorkflowError> {
    let case = step.case;
    let round = store::last_round(c, &case.id)? + 1;
    let rows: Vec<CallbackRow> = step
        .callbacks
        .iter()
        .map(|cb| CallbackRow {
            ticket_id: cb.ticket_id.clone(),
            round,
            case_id: case.id.clone(),
            district_code: case.district_code.clone(),
            at: step.at,
            actor_id: step.user.id.clone(),
            contacted: cb.result.contacted,
            resolved: cb.result.resolved.map(|r| r.as_str().to_owned()),
            satisfaction: cb.result.satisfaction.map(|s| s.as_str().to_owned()),
            note: step.note.to_owned(),
        })
        .collect();
    store::insert_callbacks(c, &rows)?;
    Ok(())
}

/// The tickets of a case with their callback results: `default` for every ticket not named in `each`. Refuses a
/// ticket of another case, a ticket named twice, and a ticket left without a result.
pub fn callbacks_for(
    c: &mut DbConnection,
    case: &CaseRow,
    default: Option<&CallbackInput>,
    each: &[TicketCallback],
) -> Result<Vec<TicketCallback>, WorkflowError> {
    let tickets = case_store::tickets_of(c, &case.id)?;
    let mut out = Vec::with_capacity(tickets.len());
    for cb in each {
        if !tickets.iter().any(|t| t.id == cb.ticket_id) {
            return Err(invalid(
                "callbacks",
                format!("ticket {} is not in case {}", cb.ticket_id, case.id),
            ));
        }
        if out
            .iter()
            .any(|x: &TicketCallback| x.ticket_id == cb.ticket_id)
        {
            return Err(invalid(
                "callbacks",
                format!("ticket {} is named twice", cb.ticket_id),
            ));
        }
        out.push(cb.clone());
    }
    for t in &tickets {
        if out.iter().any(|x| x.ticket_id == t.id) {
            continue;
        }
        let Some(d) = default else {
            return Err(invalid(
                "callbacks",
                format!(
                    "ticket {} ({}) has no callback result: give one for it or a `callback` for all",
                    t.id, t.ticket_no
                ),
            ));
        };
        out.push(TicketCallback {
            ticket_id: t.id.clone(),
            result: d.clone(),
        });
    }
    Ok(out)
}
