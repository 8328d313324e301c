//! The dispatcher's queue (派单台): received cases the dispatch rules cannot route (unplaced, placed only to a
//! district, no street office, or auto-dispatch turned off) and returned cases waiting for objection review and
//! re-dispatch, with the return's reason and the buck-passing flag. Read-only; acting on them is a transition.

use crate::db::Db;
use crate::domain::access;
use crate::domain::access::Principal;
use crate::service::cases::read::{CaseError, decode_cursor, encode_cursor};
use crate::service::cases::work::{self, Router};
use crate::store::cases::{self as case_store, CaseRow};
use crate::store::work as work_store;
use crate::store::workflow as transition_store;

/// Rows read at most to fill one page (the rest of the queue is behind the cursor).
const SCAN: i64 = 5_000;

/// Which queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueKind {
    /// Received cases the rules cannot route.
    Unrouted,
    /// Returned cases (退单) waiting for review and re-dispatch.
    Returned,
}

/// A case waiting for a dispatcher.
#[derive(Debug, Clone)]
pub struct QueueItem {
    /// The case.
    pub case: CaseRow,
    /// Why it waits: `unplaced`, `district_only`, `no_street_office`, `auto_dispatch_off`, `returned`.
    pub reason: &'static str,
    /// The reason given with the latest return.
    pub note: String,
    /// Times it was returned.
    pub return_count: i32,
    /// Returned often enough to look like buck-passing.
    pub buck_passing: bool,
}

/// One page of a queue, oldest first, with the cursor of the next page.
pub fn queue(
    db: &Db,
    user: &Principal,
    kind: QueueKind,
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<QueueItem>, Option<String>), CaseError> {
    let mut after = cursor.map(decode_cursor).transpose()?;
    let mut c = db.reader()?;
    let policy = work::policy(&mut c)?;
    let mut router = Router::default();
    let mut out = Vec::new();
    let mut scanned = 0;
    let status = match kind {
        QueueKind::Unrouted => "received",
        QueueKind::Returned => "returned",
    };
    loop {
        let page = case_store::waiting(&mut c, status, after.as_ref(), 500)?;
        let Some(last) = page.last() else {
            return Ok((out, None));
        };
        after = Some((last.opened_at, last.id.clone()));
        for case in page {
            scanned += 1;
            let at = (case.opened_at, case.id.clone());
            if !access::can_see_case(user, case.place_code.as_deref(), &case.topic_code) {
                continue;
            }
            let reason = match (kind, case.place_code.as_deref()) {
                (QueueKind::Returned, _) => "returned",
                (_, None) => "unplaced",
                (_, Some(p)) if p.len() < 9 => "district_only",
                _ if !policy.auto_dispatch => "auto_dispatch_off",
                _ if router.route(&mut c, &policy, &case)?.handler.is_none() => "no_street_office",
                _ => continue,
            };
            let work = work_store::get(&mut c, &case.id)?;
            let note = if kind == QueueKind::Returned {
                transition_store::of_case(&mut c, &case.id)?
                    .into_iter()
                    .rev()
                    .find(|t| t.action == "return")
                    .map(|t| t.note)
                    .unwrap_or_default()
            } else {
                String::new()
            };
            out.push(QueueItem {
                reason,
                note,
                return_count: work.as_ref().map_or(0, |w| w.return_count),
                buck_passing: work.as_ref().is_some_and(|w| w.buck_passing),
                case,
            });
            if out.len() == limit {
                return Ok((out, Some(encode_cursor(at.0, &at.1))));
            }
        }
        if scanned >= SCAN {
            let (t, id) = after.unwrap_or_default();
            return Ok((out, Some(encode_cursor(t, &id))));
        }
    }
}
