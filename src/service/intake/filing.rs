//! Filing: the steps every ticket and report takes inside the writer's transaction — its time checked, merged into
//! a case or opening one, the case and the item stored with the decision — batched one savepoint per item; and the
//! idempotence rule: an item filed before (or concurrently, by a retry on another connection) answers with its first
//! result.

use crate::db::{Db, DbConnection, DbError};
use crate::domain::merge::IntakePolicy;
use crate::domain::topic::MergeRule;
use crate::service::admin::topics;
use crate::service::cases::merge::{self, NewItem};
use crate::service::intake::{IntakeError, input};
use crate::store::cases::{self as store, CaseRow, DecisionRow};
use chrono::NaiveDateTime;
use diesel::Connection;
use std::collections::HashMap;

/// What filing needs inside one transaction: the intake policy, the merge rules of the topics met so far (read
/// once per batch, not once per item) and the server's clock reading the items' times are checked against.
#[derive(Debug)]
pub struct Rules {
    policy: IntakePolicy,
    merge: HashMap<String, MergeRule>,
    now: NaiveDateTime,
}

impl Rules {
    /// Reads the policy; items are checked against `now` (the server's clock).
    pub fn load(c: &mut DbConnection, now: NaiveDateTime) -> Result<Rules, IntakeError> {
        Ok(Rules {
            policy: topics::intake_policy(c)?,
            merge: HashMap::new(),
            now,
        })
    }

    /// The intake policy.
    pub(super) fn policy(&self) -> &IntakePolicy {
        &self.policy
    }

    /// Refuses a time nobody could mean (every way in — the API, Open311, imports, phones, the simulator — files
    /// through here).
    fn check_time(&self, field: &'static str, at: NaiveDateTime) -> Result<(), IntakeError> {
        self.policy
            .check_time(at, self.now)
            .map_err(|refusal| IntakeError::Time { field, refusal })
    }

    fn merge_rule(&mut self, c: &mut DbConnection, code: &str) -> Result<MergeRule, IntakeError> {
        if let Some(rule) = self.merge.get(code) {
            return Ok(*rule);
        }
        let rule = topic_rule(c, code)?;
        self.merge.insert(code.to_owned(), rule);
        Ok(rule)
    }
}

fn topic_rule(c: &mut DbConnection, code: &str) -> Result<MergeRule, IntakeError> {
    let parsed = input::topic(code)?;
    crate::store::topics::get(c, &parsed)?
        .filter(|r| r.active)
        .and_then(|r| topics::from_row(&r))
        .map(|t| t.merge)
        .ok_or_else(|| {
            IntakeError::UnknownTopic(format!(
                "no active topic has the code {code}; see GET /api/v1/topics"
            ))
        })
}

/// The outcome of filing.
#[derive(Debug, Clone)]
pub struct Filed<T> {
    /// The stored item.
    pub item: T,
    /// Its case, as it is now.
    pub case: CaseRow,
    /// The decision that put it there.
    pub decision: Option<DecisionRow>,
    /// False when the same item had been filed before (this is the first result again).
    pub created: bool,
}

/// Stores a new item inside the caller's transaction, the steps tickets and reports share: its time is checked
/// (`field` names it), it joins a case or opens one, `count` adds it to the case's counts, the case is stored, then
/// the item (by `insert`, given the case's id) and the merge decision.
pub(super) fn file_item<T>(
    c: &mut DbConnection,
    rules: &mut Rules,
    item: &NewItem<'_>,
    field: &'static str,
    count: impl FnOnce(&mut DbConnection, &mut CaseRow) -> Result<(), IntakeError>,
    insert: impl FnOnce(&mut DbConnection, &str) -> Result<T, IntakeError>,
) -> Result<Filed<T>, IntakeError> {
    rules.check_time(field, item.case.at)?;
    let rule = rules.merge_rule(c, item.case.topic)?;
    let (mut case, decision, new) = merge::place_in_case(c, item, &rule, "system", rules.now)?;
    case.last_item_at = case.last_item_at.max(item.case.at);
    case.opened_at = case.opened_at.min(item.case.at);
    count(c, &mut case)?;
    let case = merge::store_case(c, case, &rules.policy, new, rules.now)?;
    let stored = insert(c, &case.id)?;
    store::insert_decision(c, &decision)?;
    Ok(Filed {
        item: stored,
        case,
        decision: Some(decision),
        created: true,
    })
}

/// Whether the error is a unique-key violation (the same ticket filed concurrently on PostgreSQL).
fn is_unique_violation(e: &IntakeError) -> bool {
    matches!(
        e,
        IntakeError::Db(DbError::Query(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )))
    )
}

/// Files many items in one transaction, each in its own savepoint so that one bad item never undoes the others;
/// one result per item, in order. Items must come in time order for merging to see them as they happened; their
/// times are checked against `now` (the server's clock). Nothing is counted here: the counts follow the change log
/// the writes leave (see [`crate::service::analytics::counts`]).
pub fn file_batch<P, T>(
    db: &Db,
    now: NaiveDateTime,
    prepared: Vec<Result<P, IntakeError>>,
    store: impl Fn(&mut DbConnection, &P, &mut Rules) -> Result<T, IntakeError>,
) -> Result<Vec<Result<T, IntakeError>>, IntakeError> {
    db.writer()?.transaction(|c| {
        let mut rules = Rules::load(c, now)?;
        let mut out = Vec::with_capacity(prepared.len());
        for p in prepared {
            out.push(match p {
                Err(e) => Err(e),
                Ok(p) => c.transaction(|c| store(c, &p, &mut rules)),
            });
        }
        Ok(out)
    })
}

/// The first result of an item stored before: the item, its case and the decision that put it there.
pub(super) fn first_result<T>(
    c: &mut DbConnection,
    item: T,
    case_id: &str,
    item_id: &str,
) -> Result<Filed<T>, IntakeError> {
    let case = store::case(c, case_id)?
        .ok_or_else(|| IntakeError::Lookup("the item's case vanished".into()))?;
    let decision = store::standing_decision(c, item_id)?;
    Ok(Filed {
        item,
        case,
        decision,
        created: false,
    })
}

/// The idempotence rule for an item filed on its own: when storing it met a unique key (the same item stored
/// concurrently by a retry on another connection, PostgreSQL), the answer is that first result, read by `existing`.
pub(super) fn first_on_duplicate<T>(
    result: Result<Filed<T>, IntakeError>,
    existing: impl FnOnce() -> Result<Option<Filed<T>>, IntakeError>,
) -> Result<Filed<T>, IntakeError> {
    match result {
        Err(e) if is_unique_violation(&e) => {
            existing()?.ok_or_else(|| IntakeError::Lookup("the item vanished".into()))
        }
        other => other,
    }
}
