//! 并单: where items and cases merge. Which case a new item joins is decided by the pure rule in
//! [`crate::domain::merge`]; this module applies it — the automatic merge of a new ticket or report at intake
//! ([`place_in_case`]), merging cases by hand (the workflow's `merge` step: [`merge_items`]), undoing either
//! ([`unmerge`]) — and recomputes a case from its items after items moved ([`refresh_case`]).

use crate::db::{Db, DbConnection};
use crate::domain::access::{self, Principal};
use crate::domain::ids::random_id;
use crate::domain::merge::{self, Candidate, Decision, IntakePolicy, Item};
use crate::domain::topic::MergeRule;
use crate::service::admin::topics;
use crate::service::cases::read::{CaseError, invalid};
use crate::store::cases::{self as store, CaseRow, DecisionRow, Opening};
use chrono::{Duration, NaiveDateTime};
use diesel::Connection;

/// At most this many candidate cases are compared.
const MAX_CANDIDATES: i64 = 50;

/// The source of the cases a leader makes from hot spot clusters (未诉先办); merging never changes it.
pub const PROACTIVE: &str = "proactive";

/// What a new item brings to merging: what it is, and the case it would open (when, on what topic, where, the chain
/// it was filed with, and the source: `hotline` or `patrol`).
#[derive(Debug)]
pub(crate) struct NewItem<'a> {
    /// `ticket` or `report`.
    pub kind: &'static str,
    /// Its id.
    pub id: &'a str,
    /// The case it opens when it joins none.
    pub case: Opening<'a>,
}

fn candidates(
    c: &mut DbConnection,
    item: &NewItem<'_>,
    rule: &MergeRule,
) -> diesel::QueryResult<Vec<CaseRow>> {
    let since = item.case.at - Duration::hours(i64::from(rule.window_hours));
    let mut found = Vec::new();
    if let Some((lon, lat)) = item.case.point.filter(|_| rule.radius_m > 0) {
        let r = f64::from(rule.radius_m);
        let dlat = r / 110_574.0;
        let dlon = r / (111_320.0 * lat.to_radians().cos().max(0.1));
        found = store::candidates_near(
            c,
            item.case.topic,
            (lon - dlon, lat - dlat, lon + dlon, lat + dlat),
            since,
            MAX_CANDIDATES,
        )?;
    }
    if let Some(b) = item.case.building.filter(|_| rule.same_building) {
        for case in store::candidates_at_building(c, item.case.topic, b, since, MAX_CANDIDATES)? {
            if !found.iter().any(|f| f.id == case.id) {
                found.push(case);
            }
        }
    }
    found.sort_by(|a, b| (a.opened_at, &a.id).cmp(&(b.opened_at, &b.id)));
    Ok(found)
}

/// Decides where the item goes: an open case (read) or a new one (not stored yet: `true`); the caller updates the
/// case's counts, stores it with [`store_case`], then stores the item and the decision.
pub(crate) fn place_in_case(
    c: &mut DbConnection,
    item: &NewItem<'_>,
    rule: &MergeRule,
    actor: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<(CaseRow, DecisionRow, bool)> {
    let found = candidates(c, item, rule)?;
    let cands: Vec<Candidate<'_>> = found
        .iter()
        .map(|f| Candidate {
            case_id: &f.id,
            point: f.lon.zip(f.lat),
            building: f.building_code.as_deref(),
            last_item_at: f.last_item_at,
        })
        .collect();
    let decision = merge::decide(
        &Item {
            at: item.case.at,
            point: item.case.point,
            building: item.case.building,
        },
        rule,
        item.case.topic,
        &cands,
    );
    let stamp = now;
    let mut row = DecisionRow {
        id: random_id("mrg_"),
        case_id: String::new(),
        item_kind: item.kind.to_owned(),
        item_id: item.id.to_owned(),
        outcome: String::new(),
        candidate_case_id: None,
        distance_m: None,
        age_hours: None,
        score: None,
        reason: String::new(),
        actor: actor.to_owned(),
        decided_at: stamp,
        undone_at: None,
    };
    let (case, new) = match decision {
        Decision::Joined {
            case_id,
            distance_m,
            age_hours,
            score,
            reason,
        } => {
            let case = found
                .into_iter()
                .find(|f| f.id == case_id)
                .ok_or(diesel::result::Error::NotFound)?;
            row.outcome = "joined".into();
            row.candidate_case_id = Some(case_id);
            row.distance_m = Some(distance_m);
            row.age_hours = Some(age_hours);
            row.score = Some(score);
            row.reason = reason;
            (case, false)
        }
        Decision::Opened { reason } => {
            row.outcome = "opened".into();
            row.reason = reason;
            (CaseRow::opening(&item.case, stamp), true)
        }
    };
    row.case_id = case.id.clone();
    Ok((case, row, new))
}

/// Sets a case's group flag, priority and source from its counts, bumps its version and stores it (inserts it when
/// `new`).
pub(crate) fn store_case(
    c: &mut DbConnection,
    mut case: CaseRow,
    policy: &IntakePolicy,
    new: bool,
    now: NaiveDateTime,
) -> diesel::QueryResult<CaseRow> {
    case.group_request = policy.is_group(u32::try_from(case.caller_count).unwrap_or(0));
    case.priority = policy.priority(case.group_request);
    // A proactive case stays one whatever joins it later: it was made by a leader, not by a call or a patrol.
    case.source = match (case.ticket_count > 0, case.report_count > 0) {
        _ if case.source == PROACTIVE => PROACTIVE,
        (true, true) => "mixed",
        (false, true) => "patrol",
        _ => "hotline",
    }
    .into();
    case.version += 1;
    case.updated_at = now;
    if new {
        store::insert_case(c, &case)?;
    } else {
        store::update_case(c, &case)?;
    }
    Ok(case)
}

/// Recomputes a case's counts and flags from its items (after items moved out of it), and stores it as changed at
/// `now`.
pub fn refresh_case(
    c: &mut DbConnection,
    mut case: CaseRow,
    policy: &IntakePolicy,
    now: NaiveDateTime,
) -> diesel::QueryResult<CaseRow> {
    let (tickets, callers, repeat) = store::ticket_stats(c, &case.id)?;
    let reports = store::report_count(c, &case.id)?;
    case.ticket_count = i32::try_from(tickets).unwrap_or(i32::MAX);
    case.caller_count = i32::try_from(callers).unwrap_or(i32::MAX);
    case.report_count = i32::try_from(reports).unwrap_or(i32::MAX);
    case.repeat_request = repeat;
    store_case(c, case, policy, false, now)
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
        let fresh = CaseRow::opening(&case.as_opening(), at);
        store::insert_case(c, &fresh)?;
        let split = ByHand {
            outcome: "split",
            actor: &user.username,
            reason,
            at,
        };
        split.move_item(c, kind, &item_id, &case.id, &fresh.id)?;
        let policy = topics::intake_policy(c)?;
        let fresh = rebase(c, fresh)?;
        let fresh = refresh_case(c, fresh, &policy, at)?;
        let old = rebase(c, case)?;
        let old = refresh_case(c, old, &policy, at)?;
        Ok((old, fresh))
    })
}

/// An item moved by a person (a split or a merge by hand): who, why, when, and the decision's outcome.
struct ByHand<'a> {
    outcome: &'static str,
    actor: &'a str,
    reason: &'a str,
    at: NaiveDateTime,
}

impl ByHand<'_> {
    /// Moves the `kind` (`ticket` or `report`) `item_id` from the case `from` into `into`: the decision that put it
    /// where it was is marked undone (so it can be moved back), and a new one records this move.
    fn move_item(
        &self,
        c: &mut DbConnection,
        kind: &str,
        item_id: &str,
        from: &str,
        into: &str,
    ) -> Result<(), CaseError> {
        if let Some(d) = store::standing_decision(c, item_id)? {
            store::undo_decision(c, &d.id, self.at)?;
        }
        match kind {
            "ticket" => store::move_ticket(c, item_id, into)?,
            _ => store::move_report(c, item_id, into)?,
        };
        store::insert_decision(
            c,
            &DecisionRow {
                id: random_id("mrg_"),
                case_id: into.to_owned(),
                item_kind: kind.to_owned(),
                item_id: item_id.to_owned(),
                outcome: self.outcome.to_owned(),
                candidate_case_id: Some(from.to_owned()),
                distance_m: None,
                age_hours: None,
                score: None,
                reason: self.reason.to_owned(),
                actor: self.actor.to_owned(),
                decided_at: self.at,
                undone_at: None,
            },
        )?;
        Ok(())
    }
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
    let merge = ByHand {
        outcome: "merged_by_hand",
        actor,
        reason,
        at,
    };
    for (kind, item_id) in items {
        merge.move_item(c, kind, item_id, &from.id, &into.id)?;
    }
    let policy = topics::intake_policy(c)?;
    let into = rebase(c, into)?;
    let into = refresh_case(c, into, &policy, at)?;
    let from = refresh_case(c, from, &policy, at)?;
    Ok((from, into))
}
