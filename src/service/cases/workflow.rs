//! Taking a step on a case (`POST /api/v1/cases/{id}/transitions`): the state machine of `domain::workflow`
//! decides, this checks what the step needs (reason, targets, days, the case to join, callback results, evidence),
//! and records it with the case's new status in one transaction.
//!
//! Guarantees: a step is taken on the status the case has when the transaction runs (never on a stale read); a
//! client that names the version it saw gets `VersionConflict` instead of acting on a newer case; every step is
//! kept, numbered per case.

use crate::db::{Db, DbConnection};
use crate::domain::access;
use crate::domain::access::Principal;
use crate::domain::deadline::WorkPolicy;
use crate::domain::ids::random_id;
use crate::domain::workflow::{self, Action, Origin, Refusal, Status};
use crate::service::cases::step::invalid;
pub use crate::service::cases::step::{
    CallbackInput, Details, ExtensionDecision, Resolved, Satisfaction, TicketCallback,
    TransitionInput, WorkflowError,
};
use crate::service::cases::work::{self, Router, StepAt};
use crate::store::cases::{self as case_store, CaseRow};
use crate::store::photos as photo_store;
use crate::store::users as user_store;
use crate::store::work as work_store;
use crate::store::workflow::{self as store, TransitionRow};
use chrono::NaiveDateTime;
use diesel::Connection;

/// The longest extension one step may grant, in days.
pub const MAX_EXTENSION_DAYS: u32 = 30;
/// The most units a dispatch or whistle may name.
pub const MAX_TARGETS: usize = 20;
/// Evidence photos at most.
pub const MAX_EVIDENCE: usize = 20;
const MAX_NOTE_CHARS: usize = 2000;
/// Per-ticket callback results one step may carry.
pub const MAX_CALLBACKS: usize = 1000;

/// The steps `user`, a member of the units `member_of`, may take now on `case`, worked by `units`: the state
/// machine's steps for the role, less those unit membership forbids ([`access::may_take_step`], the rule the
/// steps themselves are checked by).
pub fn allowed_steps(
    user: &Principal,
    member_of: &[String],
    case: &CaseRow,
    units: &access::CaseUnits,
) -> Vec<workflow::Step> {
    match Status::parse(&case.status) {
        Some(status) => workflow::steps(status, origin(case), user.role)
            .into_iter()
            .filter(|s| access::may_take_step(user, member_of, s.action, units))
            .collect(),
        None => Vec::new(),
    }
}

/// The units a case is worked by, from its work row and its whistle calls.
pub fn units_of(
    work: Option<&work_store::WorkRow>,
    calls: &[work_store::WhistleCallRow],
) -> access::CaseUnits {
    let mut units = access::CaseUnits::default();
    if let Some(w) = work {
        units.sent_to.extend(w.handler_unit_id.clone());
        units
            .sent_to
            .extend(serde_json::from_str::<Vec<String>>(&w.departments).unwrap_or_default());
    }
    let latest = calls.iter().map(|w| w.whistle_seq).max();
    for w in calls {
        units.whistled.push(w.unit_id.clone());
        if Some(w.whistle_seq) == latest && w.reported_at.is_none() {
            units.awaiting_report_in.push(w.unit_id.clone());
        }
    }
    units
}

/// The units `user` acts for, when their role acts only for its own units (else none are needed).
pub fn member_of(c: &mut DbConnection, user: &Principal) -> diesel::QueryResult<Vec<String>> {
    if access::acts_only_for_own_units(user.role) {
        user_store::units(c, &user.id)
    } else {
        Ok(Vec::new())
    }
}

/// [`allowed_steps`] of `case` for `user`, reading the memberships and the case's units.
pub fn next_steps(
    c: &mut DbConnection,
    user: &Principal,
    case: &CaseRow,
) -> diesel::QueryResult<Vec<workflow::Step>> {
    if !access::acts_only_for_own_units(user.role) {
        return Ok(allowed_steps(
            user,
            &[],
            case,
            &access::CaseUnits::default(),
        ));
    }
    let member_of = member_of(c, user)?;
    let work = work_store::get(c, &case.id)?;
    let calls = work_store::whistle_calls_of(c, &case.id)?;
    Ok(allowed_steps(
        user,
        &member_of,
        case,
        &units_of(work.as_ref(), &calls),
    ))
}

/// [`next_steps`] on a connection of its own (after a step, for the answer).
pub fn next_steps_now(
    db: &Db,
    user: &Principal,
    case: &CaseRow,
) -> Result<Vec<workflow::Step>, WorkflowError> {
    Ok(next_steps(&mut *db.reader()?, user, case)?)
}

fn origin(case: &CaseRow) -> Origin {
    if case.ticket_count > 0 {
        Origin::Hotline
    } else {
        Origin::Patrol
    }
}

fn note(input: &TransitionInput, required: bool) -> Result<String, WorkflowError> {
    let note = input.note.as_deref().unwrap_or("").trim().to_owned();
    if required && note.is_empty() {
        return Err(invalid("note", "this step needs a reason"));
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(invalid(
            "note",
            format!("is longer than {MAX_NOTE_CHARS} characters"),
        ));
    }
    if note
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(invalid("note", "contains control characters"));
    }
    Ok(note)
}

/// The evidence photos a step names (lower-case hex, each once), at least `minimum` of them, every one already
/// stored on the server and either sent by the user or one they may read: a photo they may not read is "missing"
/// like one that is not stored (naming a hash neither proves holding the photo nor may tell that it exists).
fn evidence(
    c: &mut DbConnection,
    user: &Principal,
    input: &TransitionInput,
    minimum: u32,
) -> Result<Vec<String>, WorkflowError> {
    if input.evidence.len() > MAX_EVIDENCE {
        return Err(invalid(
            "evidence",
            format!("at most {MAX_EVIDENCE} photos"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(input.evidence.len());
    for p in &input.evidence {
        let p = p.trim().to_ascii_lowercase();
        if p.len() != 64 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(
                "evidence",
                format!("{p:?} is not a SHA-256 in hex"),
            ));
        }
        if !out.contains(&p) {
            out.push(p);
        }
    }
    if out.len() < minimum as usize {
        return Err(invalid(
            "evidence",
            match minimum {
                1 => "this step needs at least one photo (its SHA-256)".to_owned(),
                n => format!(
                    "this step needs at least {n} different photos (their SHA-256), e.g. before and after"
                ),
            },
        ));
    }
    if !out.is_empty() {
        let held = photo_store::held_among(c, &out, &user.id)?;
        let mut missing = Vec::new();
        for p in &out {
            if held.contains(p) {
                continue;
            }
            if !crate::service::sync::photos::may_read(c, user, p)? {
                missing.push(p.clone());
            }
        }
        if !missing.is_empty() {
            return Err(WorkflowError::PhotosMissing(missing));
        }
    }
    Ok(out)
}

/// How many evidence photos `action` needs under `policy` (0 for steps that take none or where they are optional).
fn evidence_minimum(policy: &WorkPolicy, action: Action) -> u32 {
    match action {
        Action::Reply => policy.evidence.reply,
        Action::SelfResolve => policy.evidence.self_resolve,
        Action::Verify => policy.evidence.verify,
        _ => 0,
    }
}

/// Takes a step on a case at `at`: the case as it is now and the recorded step.
pub fn transition(
    db: &Db,
    user: &Principal,
    case_id: &str,
    input: &TransitionInput,
    at: NaiveDateTime,
) -> Result<(CaseRow, TransitionRow), WorkflowError> {
    db.writer()?
        .transaction(|c| transition_on(c, user, case_id, input, at))
}

/// [`transition`] on a connection, in the caller's transaction (a phone's pushed step is stored with its result).
pub(crate) fn transition_on(
    c: &mut DbConnection,
    user: &Principal,
    case_id: &str,
    input: &TransitionInput,
    at: NaiveDateTime,
) -> Result<(CaseRow, TransitionRow), WorkflowError> {
    let action = Action::parse(input.action.trim()).ok_or_else(|| {
        invalid(
            "action",
            format!(
                "{:?} is not one of {}",
                input.action,
                Action::ALL.map(Action::as_str).join(", ")
            ),
        )
    })?;
    if input.targets.len() > MAX_TARGETS {
        return Err(invalid("targets", format!("at most {MAX_TARGETS} units")));
    }
    if input.callbacks.len() > MAX_CALLBACKS {
        return Err(invalid(
            "callbacks",
            format!("at most {MAX_CALLBACKS} tickets"),
        ));
    }
    let case = case_store::case(c, case_id)?
        .filter(|k| access::can_see_case(user, k.place_code.as_deref(), &k.topic_code))
        .ok_or_else(|| WorkflowError::NotFound(case_id.to_owned()))?;
    if let Some(expected) = input.version
        && expected != case.version
    {
        return Err(WorkflowError::VersionConflict {
            expected,
            current: case.version,
        });
    }
    let policy = work::policy(c)?;
    let mut router = Router::default();
    take_step(c, &policy, &mut router, user, case, action, input, at)
}

fn refusal(user: &Principal, status: Status, action: Action, r: Refusal) -> WorkflowError {
    match r {
        Refusal::Illegal { allowed } => {
            let allowed: Vec<&'static str> = allowed.into_iter().map(Action::as_str).collect();
            WorkflowError::Illegal {
                action: action.as_str(),
                status: status.as_str(),
                allowed_text: if allowed.is_empty() {
                    format!(
                        "{} can take no step on it now",
                        crate::domain::text::a(user.role.as_str())
                    )
                } else {
                    format!(
                        "{} may now: {}",
                        crate::domain::text::a(user.role.as_str()),
                        allowed.join(", ")
                    )
                },
                allowed,
            }
        }
        Refusal::Forbidden { roles } => WorkflowError::Forbidden {
            role: user.role.as_str(),
            action: action.as_str(),
            roles: roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        },
    }
}

/// Refuses a step a department handler takes for a unit they are not a member of: reporting in for another
/// department, or working on a case none of their units was sent or whistled to.
fn check_units(
    c: &mut DbConnection,
    user: &Principal,
    case: &CaseRow,
    action: Action,
    targets: &[String],
) -> Result<(), WorkflowError> {
    if !access::acts_only_for_own_units(user.role) {
        return Ok(());
    }
    let member_of = user_store::units(c, &user.id)?;
    let how = "an admin makes a user a member of a unit (PUT /api/v1/admin/users/{username}/units, or \
               `gridline user add --unit`)";
    if action == Action::ReportIn {
        if let Some(unit) = targets
            .iter()
            .find(|u| !access::may_act_for_unit(user, &member_of, u))
        {
            return Err(WorkflowError::NotMember(format!(
                "{} is not a member of unit {unit} and cannot report in for it; {how}",
                user.username
            )));
        }
        return Ok(());
    }
    let work = work_store::get(c, &case.id)?;
    let units = units_of(work.as_ref(), &work_store::whistle_calls_of(c, &case.id)?);
    if access::may_take_step(user, &member_of, action, &units) {
        Ok(())
    } else {
        Err(WorkflowError::NotMember(format!(
            "{} is a member of none of the units case {} was sent or whistled to, and cannot {} it; {how}",
            user.username,
            case.id,
            action.as_str()
        )))
    }
}

/// Takes a step on `case` (read in this transaction) at `at`: decides it, checks what it needs, keeps the work in
/// step and records it. The caller has checked the user may see the case.
#[expect(
    clippy::too_many_arguments,
    reason = "the case, the step and its context are each the caller's; bundling them would only rename them"
)]
pub(crate) fn take_step(
    c: &mut DbConnection,
    policy: &WorkPolicy,
    router: &mut Router,
    user: &Principal,
    mut case: CaseRow,
    action: Action,
    input: &TransitionInput,
    at: NaiveDateTime,
) -> Result<(CaseRow, TransitionRow), WorkflowError> {
    let status = Status::parse(&case.status).unwrap_or(Status::Received);
    let step = workflow::decide(status, origin(&case), user.role, action)
        .map_err(|r| refusal(user, status, action, r))?;
    check_units(c, user, &case, action, &input.targets)?;
    let needs = step.needs;
    let note = note(input, needs.reason)?;
    let minimum = if needs.evidence {
        evidence_minimum(policy, action)
    } else {
        0
    };
    let evidence = evidence(c, user, input, minimum)?;
    let mut details = Details::default();
    if needs.targets || action == Action::Dispatch {
        if needs.targets && input.targets.is_empty() {
            return Err(invalid("targets", "name at least one unit"));
        }
        // Each action checks its units where it uses them (`service::cases::work::on_step`).
        for id in &input.targets {
            if !details.targets.contains(id) {
                details.targets.push(id.clone());
            }
        }
    }
    if needs.days {
        match input.days {
            Some(d) if (1..=MAX_EXTENSION_DAYS).contains(&d) => details.days = Some(d),
            _ => {
                return Err(invalid(
                    "days",
                    format!("give a number of days from 1 to {MAX_EXTENSION_DAYS}"),
                ));
            }
        }
    }
    if needs.into_case {
        let into = input.into_case.as_deref().unwrap_or("").trim();
        let target = case_store::case(c, into)?
            .filter(|k| access::can_see_case(user, k.place_code.as_deref(), &k.topic_code))
            .ok_or_else(|| invalid("into_case", format!("there is no case {into:?}")))?;
        if target.id == case.id {
            return Err(invalid("into_case", "a case cannot join itself"));
        }
        if Status::parse(&target.status).is_none_or(Status::is_final) {
            return Err(invalid(
                "into_case",
                format!(
                    "case {} is {}: it takes no more work",
                    target.id, target.status
                ),
            ));
        }
        details.into_case = Some(target.id);
    }
    if needs.callback {
        if input.callback.is_none() && input.callbacks.is_empty() {
            return Err(invalid("callback", "give the callback's results"));
        }
        if let Some(cb) = &input.callback {
            cb.check()?;
        }
        for cb in &input.callbacks {
            cb.result.check()?;
        }
        details.callbacks =
            work::callbacks_for(c, &case, input.callback.as_ref(), &input.callbacks)?;
    }
    let seq = store::last_seq(c, &case.id)? + 1;
    let callbacks = std::mem::take(&mut details.callbacks);
    work::on_step(
        c,
        policy,
        router,
        &StepAt {
            case: &case,
            action,
            user,
            at,
            seq,
            evidence: &evidence,
            callbacks: &callbacks,
            note: &note,
        },
        &mut details,
    )?;
    details.callbacks = callbacks;
    let row = TransitionRow {
        id: random_id("trn_"),
        case_id: case.id.clone(),
        district_code: case.district_code.clone(),
        seq,
        action: action.as_str().to_owned(),
        from_status: status.as_str().to_owned(),
        to_status: step.to.as_str().to_owned(),
        actor_id: user.id.clone(),
        actor_name: user.display_name.clone(),
        actor_role: user.role.as_str().to_owned(),
        at,
        note,
        details: serde_json::to_string(&details).unwrap_or_else(|_| "{}".into()),
        evidence: serde_json::to_string(&evidence).unwrap_or_else(|_| "[]".into()),
    };
    store::insert(c, &row)?;
    let uses: Vec<photo_store::UseRow> = evidence
        .iter()
        .map(|sha| photo_store::UseRow {
            sha256: sha.clone(),
            kind: photo_store::kind::CASE.into(),
            item_id: case.id.clone(),
            attached_by: user.id.clone(),
            // Checked above: the user sent these photos or may read them.
            vouched: true,
            created_at: at,
        })
        .collect();
    photo_store::add_uses(c, &uses)?;
    case.status = step.to.as_str().to_owned();
    case.version += 1;
    case.updated_at = at;
    case_store::update_case(c, &case)?;
    if let Some(into) = details.into_case.as_deref() {
        let (from, _) =
            crate::service::cases::merge::merge_items(c, case, into, &user.username, &row.note, at)
                .map_err(|e| match e {
                    crate::service::cases::read::CaseError::Db(d) => WorkflowError::Db(d),
                    other => invalid("into_case", other.to_string()),
                })?;
        case = from;
    }
    Ok((case, row))
}

/// The steps taken on a case, in order.
pub fn history(db: &Db, case_id: &str) -> Result<Vec<TransitionRow>, WorkflowError> {
    Ok(store::of_case(&mut *db.reader()?, case_id)?)
}
