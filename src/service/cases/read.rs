//! Reading cases (scoped by jurisdiction, callers masked unless the reader may see them, every unmasked read
//! audited) and undoing a merge.

use crate::db::{Db, DbConnection, DbError};
use crate::domain::access;
use crate::domain::access::Principal;
use crate::domain::chain::AssignmentKind;
use crate::domain::ids::{CaseId, random_id};
use crate::error::{ErrorKind, InvalidField, ServiceError};
use crate::service::admin::topics;
use crate::service::chain::Link;
use crate::service::intake;
use crate::store::audit::{self, PiiReadFilter, PiiReadRow};
use crate::store::cases::{self as store, CaseFilter, CaseRow, DecisionRow, ReportRow, TicketRow};
use crate::store::chain as chain_store;
use crate::store::org as org_store;
use crate::store::work as work_store;
use chrono::NaiveDateTime;
use diesel::Connection;
use std::sync::Arc;

/// Errors of the case use-cases.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaseError {
    /// A field is missing or malformed.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// No such case (or not visible to the reader).
    #[error("no case has the id {0}")]
    NotFound(String),
    /// The item named is not in the case.
    #[error("{0}")]
    NotInCase(String),
    /// The case has a single item: there is nothing to split off.
    #[error("case {0} holds a single item; there is nothing to unmerge")]
    NothingToUnmerge(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::error::from_query_error!(CaseError);

impl ServiceError for CaseError {
    fn kind(&self) -> ErrorKind {
        match self {
            CaseError::Invalid(InvalidField {
                field: "cursor", ..
            }) => ErrorKind::Invalid("invalid_cursor"),
            CaseError::Invalid(_) => ErrorKind::Invalid("invalid_field"),
            CaseError::NotFound(_) => ErrorKind::NotFound("case_not_found"),
            CaseError::NotInCase(_) => ErrorKind::Unprocessable("item_not_in_case"),
            CaseError::NothingToUnmerge(_) => ErrorKind::Conflict("nothing_to_unmerge"),
            CaseError::Db(_) => ErrorKind::Internal,
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> CaseError {
    CaseError::Invalid(InvalidField::new(field, message))
}

/// The most cases one page holds.
pub const MAX_PAGE: i64 = 200;

/// A page cursor: the (time, id) where the last page ended. Nanoseconds, so that no stored time is rounded.
pub(crate) fn encode_cursor(at: NaiveDateTime, id: &str) -> String {
    let nanos = at.and_utc().timestamp_nanos_opt().unwrap_or(i64::MAX);
    format!("{nanos}.{id}")
}

pub(crate) fn decode_cursor(s: &str) -> Result<(NaiveDateTime, String), CaseError> {
    let bad = || invalid("cursor", "is not a cursor this server handed out");
    let (nanos, id) = s.split_once('.').ok_or_else(bad)?;
    let nanos: i64 = nanos.parse().map_err(|_| bad())?;
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(bad());
    }
    Ok((
        chrono::DateTime::from_timestamp_nanos(nanos).naive_utc(),
        id.to_owned(),
    ))
}

/// The cursor of a case (for the page after it).
pub fn cursor_of(case: &CaseRow) -> String {
    encode_cursor(case.opened_at, &case.id)
}

/// Whether any case is stored.
pub fn any_stored(db: &Db) -> Result<bool, CaseError> {
    Ok(store::any_case(&mut *db.reader()?)?)
}

/// One page of cases the user may see, newest first, and the cursor of the next page.
pub fn list(
    db: &Db,
    user: &Principal,
    mut filter: CaseFilter,
    cursor: Option<&str>,
    limit: i64,
) -> Result<(Vec<CaseRow>, Option<String>), CaseError> {
    let (places, topics) = access::case_scope(user);
    filter.scope = places;
    filter.topics = topics;
    filter.before = cursor.map(decode_cursor).transpose()?;
    let limit = limit.clamp(1, MAX_PAGE);
    let mut rows = store::list(&mut *db.reader()?, &filter, limit + 1)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(cursor_of)
    } else {
        None
    };
    Ok((rows, next))
}

/// Resolves a stored chain snapshot into its people and units.
pub fn resolve_snapshot(c: &mut DbConnection, stored: &str) -> Result<Vec<Link>, CaseError> {
    let links = intake::decode_snapshot(stored);
    let mut out = Vec::with_capacity(links.len());
    for l in links {
        let Some(kind) = AssignmentKind::parse(&l.kind) else {
            continue;
        };
        let assignment = match &l.assignment_id {
            Some(id) => chain_store::assignment(c, id)?,
            None => None,
        };
        let person = match assignment.as_ref().and_then(|a| a.person_id.as_deref()) {
            Some(id) => org_store::person(c, id)?,
            None => None,
        };
        let unit_id = assignment
            .as_ref()
            .and_then(|a| a.unit_id.clone())
            .or_else(|| person.as_ref().map(|p| p.unit_id.clone()));
        let unit = match unit_id {
            Some(id) => org_store::unit(c, &id)?,
            None => None,
        };
        out.push(Link {
            kind,
            target: assignment.as_ref().map(|a| a.target.clone()),
            assignment: assignment.map(Arc::new),
            person: person.map(Arc::new),
            unit: unit.map(Arc::new),
            fallback: l.fallback,
        });
    }
    Ok(out)
}

/// A case with everything in it.
#[derive(Debug, Clone)]
pub struct CaseDetail {
    /// The case.
    pub case: CaseRow,
    /// Its tickets, each with whether the reader sees the caller unmasked.
    pub tickets: Vec<(TicketRow, bool)>,
    /// Its reports.
    pub reports: Vec<ReportRow>,
    /// The merge decisions about it, in time order.
    pub decisions: Vec<DecisionRow>,
    /// The workflow steps taken on it, in order.
    pub transitions: Vec<crate::store::workflow::TransitionRow>,
    /// Its responsibility chain when it opened.
    pub chain: Vec<Link>,
    /// The work on it, once dispatched (clocks, handler, returns, escalation).
    pub work: Option<crate::store::work::WorkRow>,
    /// Departments whistled to it (吹哨报到).
    pub whistle_calls: Vec<crate::store::work::WhistleCallRow>,
    /// Escalation rungs it crossed.
    pub escalations: Vec<crate::store::work::EscalationRow>,
    /// Callbacks of its tickets' callers.
    pub callbacks: Vec<crate::store::work::CallbackRow>,
    /// The steps the reader may take on it now.
    pub next_steps: Vec<crate::domain::workflow::Step>,
}

/// One case the user may see; when `reveal`, callers are unmasked where the user may read them, and each such read
/// is written to the audit log with `reason`, read at `now` (without `reveal` every caller stays masked and nothing
/// is logged).
pub fn detail(
    db: &Db,
    user: &Principal,
    id: &str,
    reason: Option<&str>,
    reveal: bool,
    now: NaiveDateTime,
) -> Result<CaseDetail, CaseError> {
    let mut c = db.reader()?;
    let case = store::case(&mut c, id)?
        .filter(|k| access::can_see_case(user, k.place_code.as_deref(), &k.topic_code))
        .ok_or_else(|| CaseError::NotFound(id.to_owned()))?;
    let tickets: Vec<(TicketRow, bool)> = store::tickets_of(&mut c, id)?
        .into_iter()
        .map(|t| {
            let unmasked = reveal && access::may_read_caller(user, t.caller_confidential);
            (t, unmasked)
        })
        .collect();
    let reports = store::reports_of(&mut c, id)?;
    let decisions = store::decisions_of(&mut c, id)?;
    let transitions = crate::store::workflow::of_case(&mut c, id)?;
    let chain = resolve_snapshot(&mut c, &case.chain)?;
    let work = work_store::get(&mut c, id)?;
    let whistle_calls = work_store::whistle_calls_of(&mut c, id)?;
    let escalations = work_store::escalations_of(&mut c, id)?;
    let callbacks = work_store::callbacks_of(&mut c, id)?;
    let member_of = crate::service::cases::workflow::member_of(&mut c, user)?;
    let next_steps = crate::service::cases::workflow::allowed_steps(
        user,
        &member_of,
        &case,
        &crate::service::cases::workflow::units_of(work.as_ref(), &whistle_calls),
    );
    drop(c);
    let reason = reason.map(str::trim).filter(|r| !r.is_empty()).map_or_else(
        || "case detail".to_owned(),
        |r| r.chars().take(200).collect(),
    );
    let at = now;
    let reads: Vec<PiiReadRow> = tickets
        .iter()
        .filter(|(_, unmasked)| *unmasked)
        .map(|(t, _)| PiiReadRow {
            id: random_id("pii_"),
            read_at: at,
            user_id: user.id.clone(),
            username: user.username.clone(),
            role: user.role.as_str().to_owned(),
            ticket_id: t.id.clone(),
            case_id: case.id.clone(),
            district_code: case.district_code.clone(),
            reason: reason.clone(),
        })
        .collect();
    audit::insert(&mut *db.writer()?, &reads)?;
    Ok(CaseDetail {
        case,
        tickets,
        reports,
        decisions,
        transitions,
        chain,
        work,
        whistle_calls,
        escalations,
        callbacks,
        next_steps,
    })
}

/// The audit log of unmasked reads, oldest first, and the cursor of the next page.
pub fn audit_log(
    db: &Db,
    mut filter: PiiReadFilter,
    cursor: Option<&str>,
    limit: i64,
) -> Result<(Vec<PiiReadRow>, Option<String>), CaseError> {
    filter.after = cursor.map(decode_cursor).transpose()?;
    let limit = limit.clamp(1, MAX_PAGE);
    let mut rows = audit::list(&mut *db.reader()?, &filter, limit + 1)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_cursor(r.read_at, &r.id))
    } else {
        None
    };
    Ok((rows, next))
}

/// Which item to move out of a case.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct UnmergeInput {
    /// A ticket of the case.
    pub ticket_id: Option<String>,
    /// Or a report of the case.
    pub report_id: Option<String>,
    /// Why.
    pub reason: String,
}

/// The item that opened or anchors a case, as far as the case's place is concerned.
struct Anchor {
    at: NaiveDateTime,
    district: String,
    place: Option<String>,
    point: Option<(f64, f64)>,
    building: Option<String>,
    chain: String,
}

fn anchors(c: &mut DbConnection, case_id: &str) -> Result<Vec<Anchor>, CaseError> {
    let mut out: Vec<Anchor> = store::tickets_of(c, case_id)?
        .into_iter()
        .map(|t| Anchor {
            at: t.received_at,
            district: t.district_code,
            place: t.place_code,
            point: matches!(t.location_precision.as_str(), "point" | "cell")
                .then_some(t.lon.zip(t.lat))
                .flatten(),
            building: t.building_code,
            chain: t.chain,
        })
        .collect();
    out.extend(store::reports_of(c, case_id)?.into_iter().map(|r| Anchor {
        at: r.reported_at,
        district: r.district_code,
        place: Some(r.place_code),
        point: Some((r.lon, r.lat)),
        building: r.building_code,
        chain: r.chain,
    }));
    out.sort_by_key(|a| a.at);
    Ok(out)
}

/// Places a case at its earliest item and spans its times over all its items.
fn rebase(c: &mut DbConnection, mut case: CaseRow) -> Result<CaseRow, CaseError> {
    let items = anchors(c, &case.id)?;
    if let (Some(first), Some(last)) = (items.first(), items.last()) {
        case.opened_at = first.at;
        case.last_item_at = last.at;
        case.district_code = first.district.clone();
        case.place_code = first.place.clone();
        case.lon = first.point.map(|p| p.0);
        case.lat = first.point.map(|p| p.1);
        case.building_code = first.building.clone();
        case.chain = first.chain.clone();
    }
    Ok(case)
}

/// Moves one ticket or report out of a case into a case of its own: the merge decision that put it there is marked
/// undone, the split is recorded with who and why (at `now`), and both cases are recomputed.
pub fn unmerge(
    db: &Db,
    user: &Principal,
    case_id: &str,
    input: &UnmergeInput,
    now: NaiveDateTime,
) -> Result<(CaseRow, CaseRow), CaseError> {
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(invalid("reason", "give a reason of 1 to 500 characters"));
    }
    let (kind, item_id) = match (&input.ticket_id, &input.report_id) {
        (Some(t), None) => ("ticket", t.trim().to_owned()),
        (None, Some(r)) => ("report", r.trim().to_owned()),
        _ => {
            return Err(invalid(
                "ticket_id",
                "name exactly one of ticket_id and report_id",
            ));
        }
    };
    db.writer()?.transaction(|c| {
        let case = store::case(c, case_id)?
            .filter(|k| access::can_see_case(user, k.place_code.as_deref(), &k.topic_code))
            .ok_or_else(|| CaseError::NotFound(case_id.to_owned()))?;
        let in_case = match kind {
            "ticket" => store::ticket(c, &item_id)?.is_some_and(|t| t.case_id == case.id),
            _ => store::report(c, &item_id)?.is_some_and(|r| r.case_id == case.id),
        };
        if !in_case {
            return Err(CaseError::NotInCase(format!(
                "case {case_id} holds no {kind} {item_id}"
            )));
        }
        if case.ticket_count + case.report_count <= 1 {
            return Err(CaseError::NothingToUnmerge(case_id.to_owned()));
        }
        let at = now;
        if let Some(d) = store::standing_decision(c, &item_id)? {
            store::undo_decision(c, &d.id, at)?;
        }
        let fresh = CaseRow {
            id: CaseId::generate().to_string(),
            status: "received".into(),
            priority: 0,
            group_request: false,
            repeat_request: false,
            ticket_count: 0,
            caller_count: 0,
            report_count: 0,
            version: 0,
            created_at: at,
            updated_at: at,
            ..case.clone()
        };
        store::insert_case(c, &fresh)?;
        match kind {
            "ticket" => store::move_ticket(c, &item_id, &fresh.id)?,
            _ => store::move_report(c, &item_id, &fresh.id)?,
        };
        store::insert_decision(
            c,
            &DecisionRow {
                id: random_id("mrg_"),
                case_id: fresh.id.clone(),
                item_kind: kind.to_owned(),
                item_id: item_id.clone(),
                outcome: "split".into(),
                candidate_case_id: Some(case.id.clone()),
                distance_m: None,
                age_hours: None,
                score: None,
                reason: reason.to_owned(),
                actor: user.username.clone(),
                decided_at: at,
                undone_at: None,
            },
        )?;
        let policy = topics::intake_policy(c)?;
        let fresh = rebase(c, fresh)?;
        let fresh = intake::refresh_case(c, fresh, &policy, at)?;
        let old = rebase(c, case)?;
        let old = intake::refresh_case(c, old, &policy, at)?;
        Ok((old, fresh))
    })
}

/// 并单 by hand: moves every ticket and report of `from` into the case `into_id`, each with a decision saying who
/// merged it and why (the decision that put it into `from` is marked undone, so `unmerge` can take it out again),
/// and recomputes both cases. Runs inside the caller's transaction; returns (`from`, the case it joined).
pub(crate) fn merge_items(
    c: &mut DbConnection,
    from: CaseRow,
    into_id: &str,
    actor: &str,
    reason: &str,
    at: NaiveDateTime,
) -> Result<(CaseRow, CaseRow), CaseError> {
    let into = store::case(c, into_id)?.ok_or_else(|| CaseError::NotFound(into_id.to_owned()))?;
    let tickets = store::tickets_of(c, &from.id)?;
    let reports = store::reports_of(c, &from.id)?;
    let items = tickets
        .iter()
        .map(|t| ("ticket", t.id.as_str()))
        .chain(reports.iter().map(|r| ("report", r.id.as_str())));
    for (kind, item_id) in items {
        if let Some(d) = store::standing_decision(c, item_id)? {
            store::undo_decision(c, &d.id, at)?;
        }
        match kind {
            "ticket" => store::move_ticket(c, item_id, &into.id)?,
            _ => store::move_report(c, item_id, &into.id)?,
        };
        store::insert_decision(
            c,
            &DecisionRow {
                id: random_id("mrg_"),
                case_id: into.id.clone(),
                item_kind: kind.to_owned(),
                item_id: item_id.to_owned(),
                outcome: "merged_by_hand".into(),
                candidate_case_id: Some(from.id.clone()),
                distance_m: None,
                age_hours: None,
                score: None,
                reason: reason.to_owned(),
                actor: actor.to_owned(),
                decided_at: at,
                undone_at: None,
            },
        )?;
    }
    let policy = topics::intake_policy(c)?;
    let into = rebase(c, into)?;
    let into = intake::refresh_case(c, into, &policy, at)?;
    let from = intake::refresh_case(c, from, &policy, at)?;
    Ok((from, into))
}
