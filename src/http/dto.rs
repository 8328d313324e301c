//! DTOs shared by several areas.

use serde::Serialize;

/// A place named in an answer.
#[derive(Debug, Serialize)]
pub struct PlaceRef<'a> {
    /// Its code.
    pub code: &'a str,
    /// Its name.
    pub name: &'a str,
}

/// An optional RFC 3339 time from a query or body, as UTC; 400 `invalid_time` naming the field otherwise.
pub fn parse_time(
    name: &str,
    raw: Option<&str>,
) -> Result<Option<chrono::NaiveDateTime>, crate::error::ApiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.naive_utc()))
            .map_err(|_| {
                crate::error::ApiError::bad_request(
                    "invalid_time",
                    format!(
                        "{name} {:?} is not an RFC 3339 time such as 2026-03-03T08:00:00+08:00",
                        s.chars().take(40).collect::<String>()
                    ),
                )
            }),
    }
}
