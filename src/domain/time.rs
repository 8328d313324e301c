//! How times are written: every answer and export uses RFC 3339 in UTC with whole seconds.

use chrono::NaiveDateTime;

/// A stored UTC time as RFC 3339 (`2026-03-03T00:00:00Z`).
pub fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
