//! `gridline work ...`: the case workflow's scheduled work, one pass on demand.

use super::open;
use crate::config::DbArgs;
use clap::Subcommand;

/// Scheduled work.
#[derive(Debug, Subcommand)]
pub enum WorkAction {
    /// One scheduler pass (auto-dispatch, then escalation), as the server runs it on its timer; prints what it did
    /// as JSON. Safe to repeat: nothing is dispatched or escalated twice. A pass crosses at most
    /// `work.escalation.max_per_pass` rungs; `escalations_deferred` counts the work left due for the next passes.
    Tick {
        /// The moment to act at (RFC 3339; default now).
        #[arg(long, value_parser = parse_rfc3339)]
        now: Option<chrono::NaiveDateTime>,
    },
}

fn parse_rfc3339(s: &str) -> Result<chrono::NaiveDateTime, String> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.naive_utc())
        .map_err(|e| format!("{s:?} is not an RFC 3339 time (2026-03-01T08:00:00Z): {e}"))
}

/// Runs `gridline work ACTION`.
pub(super) fn run(action: WorkAction, db: &DbArgs) -> anyhow::Result<()> {
    let db = open(db)?;
    match action {
        WorkAction::Tick { now } => {
            let now = now.unwrap_or_else(super::now);
            let report = crate::service::cases::scheduler::tick(&db, now)?;
            println!("{}", serde_json::to_string(&report)?);
        }
    }
    Ok(())
}
