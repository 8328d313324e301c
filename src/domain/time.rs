//! How times are written and read: every answer and export uses RFC 3339 in UTC with whole seconds; a day a client
//! names is `YYYY-MM-DD`.

use chrono::{NaiveDate, NaiveDateTime};

/// A stored UTC time as RFC 3339 (`2026-03-03T00:00:00Z`).
pub fn rfc3339(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Why a day a client names is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DayError {
    /// No value.
    #[error("give {0} as a day, YYYY-MM-DD")]
    Missing(&'static str),
    /// Not a day.
    #[error("{field} {value:?} is not a day: write it YYYY-MM-DD")]
    Invalid {
        /// The parameter.
        field: &'static str,
        /// What was given (at most 40 characters).
        value: String,
    },
}

impl DayError {
    /// The stable code: `missing_parameter` or `invalid_date`.
    pub fn code(&self) -> &'static str {
        match self {
            DayError::Missing(_) => "missing_parameter",
            DayError::Invalid { .. } => "invalid_date",
        }
    }
}

/// Reads the day parameter `field` (`YYYY-MM-DD`, surrounding spaces ignored).
pub fn parse_day(field: &'static str, value: Option<&str>) -> Result<NaiveDate, DayError> {
    let v = value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(DayError::Missing(field))?;
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| DayError::Invalid {
        field,
        value: v.chars().take(40).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_read_as_written_and_refused_with_its_code_otherwise() {
        assert_eq!(
            parse_day("from", Some(" 2026-11-30 ")),
            Ok(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap())
        );
        assert_eq!(
            parse_day("from", Some(" ")).unwrap_err().code(),
            "missing_parameter"
        );
        assert_eq!(
            parse_day("to", None).unwrap_err().code(),
            "missing_parameter"
        );
        let e = parse_day("to", Some("2026-02-30")).unwrap_err();
        assert_eq!(e.code(), "invalid_date");
        assert_eq!(
            e.to_string(),
            "to \"2026-02-30\" is not a day: write it YYYY-MM-DD"
        );
    }
}
