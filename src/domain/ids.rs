//! Typed ids: a unit's id cannot be passed where a person's is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new random id.
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

/// A random id: `prefix` and 32 hex digits (128 random bits).
pub fn random_id(prefix: &str) -> String {
    let n: u128 = rand::random();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_do_not_mix() {
        let u = UnitId::generate();
        assert_eq!(UnitId::parse(u.as_str()), Some(u.clone()));
        assert_eq!(PersonId::parse(u.as_str()), None);
        assert_eq!(UnitId::parse("unit_xyz"), None);
        assert_ne!(UnitId::generate(), u);
    }
}
