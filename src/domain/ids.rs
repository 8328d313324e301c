//! Typed ids: a unit's id cannot be passed where a person's is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest hotline ticket number accepted.
pub const MAX_TICKET_NO_CHARS: usize = 64;

/// Whether `s` can be a hotline ticket number (e.g. `BJ20261206-9001`): 1 to [`MAX_TICKET_NO_CHARS`] letters,
/// digits and `- _ . /`.
pub fn is_ticket_no(s: &str) -> bool {
    (1..=MAX_TICKET_NO_CHARS).contains(&s.chars().count())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new id (time-ordered, see [`random_id`]).
            pub fn generate() -> $name {
                $name(random_id($prefix))
            }

            /// Accepts an id of this kind as a client sent it (prefix and 32 hex digits), `None` otherwise.
            pub fn parse(s: &str) -> Option<$name> {
                let rest = s.strip_prefix($prefix)?;
                (rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit())).then(|| $name(s.to_owned()))
            }

            /// The id as stored.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Wraps an id read back from the database.
            pub fn from_stored(s: String) -> $name {
                $name(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// A new id: `prefix` and 32 hex digits, the creation time (milliseconds) then 80 random bits.
pub fn random_id(prefix: &str) -> String {
    // Milliseconds since the epoch in the top 48 bits (as in UUIDv7), random below: ids made one after another
    // sort one after another, so new rows append to their table's key index instead of landing on random pages.
    let millis = u128::from(
        u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0) & 0xFFFF_FFFF_FFFF,
    );
    let n: u128 = (millis << 80) | (rand::random::<u128>() >> 48);
    format!("{prefix}{n:032x}")
}
id_type!(
    /// A unit (单位): `unit_` and 32 hex digits.
    UnitId,
    "unit_"
);
id_type!(
    /// A person: `person_` and 32 hex digits.
    PersonId,
    "person_"
);

id_type!(
    /// A case (案件): `case_` and 32 hex digits.
    CaseId,
    "case_"
);
id_type!(
    /// A hotline ticket as stored here (the hotline's own number is kept beside it): `tkt_` and 32 hex digits.
    TicketId,
    "tkt_"
);

/// A patrol report: a UUID the phone generates (so a report sent twice is recognised), lowercase and hyphenated.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReportId(String);

impl ReportId {
    /// A new random (version 4) id.
    pub fn generate() -> ReportId {
        ReportId(uuid::Uuid::new_v4().hyphenated().to_string())
    }

    /// Accepts any UUID a client sent, normalised to lowercase hyphenated form.
    pub fn parse(s: &str) -> Option<ReportId> {
        uuid::Uuid::parse_str(s.trim())
            .ok()
            .filter(|u| !u.is_nil())
            .map(|u| ReportId(u.hyphenated().to_string()))
    }

    /// The id as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_later_sort_later_and_never_repeat() {
        let first = random_id("t_");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let ids: Vec<String> = (0..1000).map(|_| random_id("t_")).collect();
        assert!(ids.iter().all(|id| *id > first && id.len() == 34));
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }

    #[test]
    fn ids_round_trip_and_do_not_mix() {
        let u = UnitId::generate();
        assert_eq!(UnitId::parse(u.as_str()), Some(u.clone()));
        assert_eq!(PersonId::parse(u.as_str()), None);
        assert_eq!(UnitId::parse("unit_xyz"), None);
        assert_ne!(UnitId::generate(), u);
    }

    #[test]
    fn report_ids_are_normalised_uuids() {
        let r = ReportId::parse("6F9619FF-8B86-D011-B42D-00C04FC964FF").unwrap();
        assert_eq!(r.as_str(), "6f9619ff-8b86-d011-b42d-00c04fc964ff");
        assert!(ReportId::parse("00000000-0000-0000-0000-000000000000").is_none());
        assert!(ReportId::parse("case_1").is_none());
        assert_ne!(ReportId::generate(), ReportId::generate());
    }
}
