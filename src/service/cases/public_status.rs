//! 阳光办理: a caller looks up their own ticket by its number and a second factor only they have (the last four
//! digits of the phone they called from), without signing in.
//!
//! Guarantees: the answer holds the case's status, the deadlines of its time class and the reply text as shown to
//! callers (contact details blotted out), never a name, phone, address or place; "no such ticket" and "wrong
//! digits" are the same `None`, so the lookup cannot tell which tickets exist; every lookup is counted by
//! [`Limiter`]s before the database is read, per client address and per ticket number, so the four digits cannot
//! be guessed by trying them all.

use crate::db::{Db, DbError};
use crate::domain::privacy::redact_contacts;
use crate::domain::workflow::Action;
use crate::store::{cases as store, work as work_store, workflow as workflow_store};
use chrono::{Duration, NaiveDateTime};
use std::collections::HashMap;
use std::sync::Mutex;

/// What a caller may see of their ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicStatus {
    /// The hotline's number, as asked.
    pub ticket_no: String,
    /// When the hotline received it (UTC).
    pub received_at: NaiveDateTime,
    /// The case's workflow status.
    pub status: String,
    /// The time class (`2h`, `24h`, `7d`, `15d`), once dispatched.
    pub time_class: Option<String>,
    /// By when the handler must contact the caller, once dispatched.
    pub respond_due_at: Option<NaiveDateTime>,
    /// By when the work must be done (extensions included), once dispatched.
    pub complete_due_at: Option<NaiveDateTime>,
    /// The latest reply to the caller, contact details blotted out.
    pub reply: Option<String>,
    /// When that reply was given.
    pub replied_at: Option<NaiveDateTime>,
}

/// Whether `phone` ends in the four digits `last4` (only digits of the phone count, so `138-0013-8000` ends in
/// `8000`). An empty phone (an anonymous caller) matches nothing.
pub fn phone_ends_with(phone: &str, last4: &str) -> bool {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    last4.len() == 4
        && last4.chars().all(|c| c.is_ascii_digit())
        && digits.len() >= 4
        && digits
            .iter()
            .skip(digits.len() - 4)
            .copied()
            .eq(last4.chars())
}

/// The status of the ticket `ticket_no` when `last4` are the last four digits of its caller's phone; `None` when
/// there is no such ticket or the digits are wrong (the same answer for both).
pub fn lookup(db: &Db, ticket_no: &str, last4: &str) -> Result<Option<PublicStatus>, DbError> {
    let mut c = db.reader()?;
    let Some(ticket) = store::ticket_by_no(&mut c, ticket_no)? else {
        return Ok(None);
    };
    if !phone_ends_with(&ticket.caller_phone, last4) {
        return Ok(None);
    }
    let Some(case) = store::case(&mut c, &ticket.case_id)? else {
        return Ok(None);
    };
    let work = work_store::get(&mut c, &case.id)?;
    let reply = workflow_store::of_case(&mut c, &case.id)?
        .into_iter()
        .rev()
        .find(|t| t.action == Action::Reply.as_str());
    Ok(Some(PublicStatus {
        ticket_no: ticket.ticket_no,
        received_at: ticket.received_at,
        status: case.status,
        time_class: work.as_ref().map(|w| w.time_class.clone()),
        respond_due_at: work.as_ref().map(|w| w.respond_due_at),
        complete_due_at: work.as_ref().map(|w| w.complete_due_at),
        reply: reply.as_ref().map(|t| redact_contacts(&t.note)),
        replied_at: reply.map(|t| t.at),
    }))
}

/// Counts attempts per key in fixed windows: at most `max` per `window`. Keeps at most `capacity` keys; when full
/// of keys whose windows are still running, new keys are refused (under a flood of addresses the lookup stops
/// rather than the memory growing).
#[derive(Debug)]
pub struct Limiter {
    max: u32,
    window: Duration,
    capacity: usize,
    seen: Mutex<HashMap<String, (NaiveDateTime, u32)>>,
}

impl Limiter {
    /// A limiter of `max` attempts per `window` for each of up to `capacity` keys.
    pub fn new(max: u32, window: Duration, capacity: usize) -> Limiter {
        Limiter {
            max,
            window,
            capacity,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt for `key` at `now`: `Ok` when it is allowed, else `Err(seconds)` until it would be.
    pub fn attempt(&self, key: &str, now: NaiveDateTime) -> Result<(), u64> {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let window = self.window;
        if !seen.contains_key(key) && seen.len() >= self.capacity {
            seen.retain(|_, (start, _)| now - *start < window);
            if seen.len() >= self.capacity {
                return Err(u64::try_from(window.num_seconds()).unwrap_or(1).max(1));
            }
        }
        let entry = seen.entry(key.to_owned()).or_insert((now, 0));
        if now - entry.0 >= window {
            *entry = (now, 0);
        }
        if entry.1 >= self.max {
            let left = (entry.0 + window - now).num_seconds();
            return Err(u64::try_from(left).unwrap_or(1).max(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// Lookups one client address may make per window.
pub const LOOKUPS_PER_ADDRESS: u32 = 10;
/// Lookups of one ticket number per window, from anywhere (so spreading guesses over addresses does not help).
pub const LOOKUPS_PER_TICKET: u32 = 10;
/// The window both limits count in.
pub const LOOKUP_WINDOW_SECS: i64 = 600;
/// Addresses (and ticket numbers) tracked at once.
pub const LIMITER_CAPACITY: usize = 100_000;

/// The two limits of the public lookup.
#[derive(Debug)]
pub struct LookupLimits {
    /// Per client address.
    pub per_address: Limiter,
    /// Per ticket number asked about (existing or not, so the limit reveals nothing).
    pub per_ticket: Limiter,
}

impl Default for LookupLimits {
    fn default() -> Self {
        let window = Duration::seconds(LOOKUP_WINDOW_SECS);
        LookupLimits {
            per_address: Limiter::new(LOOKUPS_PER_ADDRESS, window, LIMITER_CAPACITY),
            per_ticket: Limiter::new(LOOKUPS_PER_TICKET, window, LIMITER_CAPACITY),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn the_last_four_digits_of_the_phone_are_the_factor() {
        assert!(phone_ends_with("13800138000", "8000"));
        assert!(phone_ends_with("138-0013-8000", "8000"));
        assert!(!phone_ends_with("13800138000", "0000"));
        assert!(!phone_ends_with("", "0000"));
        assert!(!phone_ends_with("123", "0123"));
        assert!(!phone_ends_with("13800138000", "800"));
        assert!(!phone_ends_with("13800138000", "８０００"));
    }

    #[test]
    fn a_limiter_allows_max_per_window_then_refuses_until_the_window_ends() {
        let l = Limiter::new(2, Duration::seconds(60), 10);
        assert_eq!(l.attempt("a", at(0)), Ok(()));
        assert_eq!(l.attempt("a", at(1)), Ok(()));
        assert_eq!(l.attempt("a", at(10)), Err(50));
        assert_eq!(l.attempt("b", at(10)), Ok(()));
        assert_eq!(l.attempt("a", at(60)), Ok(()));
    }

    #[test]
    fn a_full_limiter_refuses_new_keys_until_old_windows_end() {
        let l = Limiter::new(5, Duration::seconds(60), 2);
        assert_eq!(l.attempt("a", at(0)), Ok(()));
        assert_eq!(l.attempt("b", at(0)), Ok(()));
        assert!(l.attempt("c", at(1)).is_err());
        assert_eq!(l.attempt("a", at(2)), Ok(()));
        assert_eq!(l.attempt("c", at(61)), Ok(()));
    }
}
