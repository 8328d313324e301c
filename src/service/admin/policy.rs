//! Policy values (`policy` table): every number the workflow, intake and assessment use — deadlines, the escalation
//! ladder, the whistle window, buck-passing, dual dispatch, group and repeat requests, the assessment's weights and
//! points — stored over the defaults. A value is checked by the policy that reads it before it is stored, so a stored
//! value always takes effect.

use crate::db::{Db, DbError};
use crate::domain::assessment::{AssessmentPolicy, POLICY_PREFIX};
use crate::domain::deadline::WorkPolicy;
use crate::domain::merge::IntakePolicy;
use crate::error::{ErrorKind, ServiceError};
use crate::service::hotspots::{forewarning, jobs};
use crate::service::sync::photos::{DOUBTFUL_DISTANCE_M, DOUBTFUL_HOURS};
use crate::store::topics as store;
use diesel::Connection;

/// Errors of policy changes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// No policy reads this key.
    #[error("no policy reads {0:?}: see the README for the keys")]
    UnknownKey(String),
    /// The value is not one the policy takes.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::error::from_query_error!(PolicyError);

impl ServiceError for PolicyError {
    fn kind(&self) -> ErrorKind {
        match self {
            PolicyError::UnknownKey(_) => ErrorKind::NotFound("unknown_policy_key"),
            PolicyError::Invalid(_) => ErrorKind::Invalid("invalid_field"),
            PolicyError::Db(_) => ErrorKind::Internal,
        }
    }
}

fn whole(key: &str, value: &str, range: std::ops::RangeInclusive<u32>) -> Result<(), PolicyError> {
    match value.trim().parse::<u32>() {
        Ok(n) if range.contains(&n) => Ok(()),
        _ => Err(PolicyError::Invalid(format!(
            "policy {key}: {value:?} is not a whole number from {} to {}",
            range.start(),
            range.end()
        ))),
    }
}

/// Checks a value for a key.
pub fn check(key: &str, value: &str) -> Result<(), PolicyError> {
    if value.len() > 1000 {
        return Err(PolicyError::Invalid(format!(
            "policy {key}: the value is longer than 1000 characters"
        )));
    }
    if let Some(rest) = key.strip_prefix(POLICY_PREFIX) {
        // Every assessment setting takes 0; one that does not is not a setting.
        if AssessmentPolicy::default().set(rest, "0").is_err() {
            return Err(PolicyError::UnknownKey(key.chars().take(100).collect()));
        }
        return AssessmentPolicy::default()
            .set(rest, value)
            .map_err(|why| PolicyError::Invalid(format!("policy {key}: {why}")));
    }
    match IntakePolicy::default().apply(key, value) {
        Ok(true) => return Ok(()),
        Ok(false) => {}
        Err(e) => return Err(PolicyError::Invalid(e)),
    }
    match key {
        "photos.doubtful_distance_m" => whole(key, value, 1..=100_000),
        "photos.doubtful_hours" => whole(key, value, 1..=8760),
        jobs::MONTHLY_POLICY | forewarning::DISTRICTS_POLICY => {
            jobs::check_districts_policy(key, value).map_err(PolicyError::Invalid)
        }
        forewarning::WEEKS_POLICY => {
            forewarning::check_weeks_policy(value).map_err(PolicyError::Invalid)
        }
        _ => match WorkPolicy::default().apply(key, value) {
            Ok(true) => Ok(()),
            Ok(false) => Err(PolicyError::UnknownKey(key.chars().take(100).collect())),
            Err(e) => Err(PolicyError::Invalid(e.to_string())),
        },
    }
}

/// One key a policy reads: its default, the value stored over it (if any) and so the value in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The key.
    pub key: String,
    /// The built-in default.
    pub default: String,
    /// The stored value, when one is.
    pub stored: Option<String>,
}

impl Setting {
    /// The value in effect: the stored one, else the default.
    pub fn current(&self) -> &str {
        self.stored.as_deref().unwrap_or(&self.default)
    }
}

/// Every key a policy reads with its default, in a fixed order (intake, photos, work, assessment).
pub fn defaults() -> Vec<(String, String)> {
    let mut out = IntakePolicy::default().settings();
    out.extend([
        (
            "photos.doubtful_distance_m".to_owned(),
            DOUBTFUL_DISTANCE_M.to_string(),
        ),
        (
            "photos.doubtful_hours".to_owned(),
            DOUBTFUL_HOURS.to_string(),
        ),
    ]);
    out.extend([
        (jobs::MONTHLY_POLICY.to_owned(), String::new()),
        (forewarning::DISTRICTS_POLICY.to_owned(), String::new()),
        (
            forewarning::WEEKS_POLICY.to_owned(),
            forewarning::DEFAULT_WEEKS.to_string(),
        ),
    ]);
    out.extend(WorkPolicy::default().settings());
    out.extend(AssessmentPolicy::default().settings());
    out
}

/// Every key a policy reads, with its default and stored value.
pub fn settings(db: &Db) -> Result<Vec<Setting>, PolicyError> {
    let mut stored: std::collections::HashMap<String, String> = list(db)?.into_iter().collect();
    Ok(defaults()
        .into_iter()
        .map(|(key, default)| Setting {
            stored: stored.remove(&key),
            key,
            default,
        })
        .collect())
}

/// Every stored value, by key.
pub fn list(db: &Db) -> Result<Vec<(String, String)>, PolicyError> {
    Ok(store::policy_values(&mut *db.reader()?)?)
}

/// Stores a value after checking it.
pub fn set(db: &Db, key: &str, value: &str) -> Result<(), PolicyError> {
    let value = value.trim();
    check(key, value)?;
    db.writer()?
        .transaction(|c| store::set_policy(c, key, value))?;
    tracing::info!(%key, %value, "policy value set");
    Ok(())
}

/// Removes a stored value (the default applies again); whether one was stored.
pub fn unset(db: &Db, key: &str) -> Result<bool, PolicyError> {
    Ok(store::unset_policy(&mut *db.writer()?, key)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_a_value_its_key_takes() {
        let all = defaults();
        assert!(all.len() > 20, "{all:?}");
        for (key, value) in &all {
            assert_eq!(
                check(key, value).map_err(|e| e.to_string()),
                Ok(()),
                "{key}"
            );
        }
        let keys: std::collections::HashSet<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys.len(), all.len(), "no key twice");
        for key in [
            "work.7d.ladder",
            "assessment.points_both",
            "intake.received_at.floor",
            "intake.received_at.skew_minutes",
            "work.escalation.max_per_pass",
            "work.15d.extensions",
            "work.24h.extension_days",
            "work.7d.extension_approval_days",
        ] {
            assert!(keys.contains(key), "{key} is listed");
        }
    }

    #[test]
    fn values_are_checked_by_the_policy_that_reads_them() {
        assert!(check("work.7d.ladder", "remind:60,supervise:120").is_ok());
        assert!(check("group_min_callers", "3").is_ok());
        assert!(check("intake.received_at.floor", "2010-01-01").is_ok());
        assert!(matches!(
            check("intake.received_at.floor", "soon"),
            Err(PolicyError::Invalid(_))
        ));
        assert!(check("work.escalation.max_per_pass", "50").is_ok());
        assert!(check("work.7d.extension_approval_days", "2").is_ok());
        assert!(check("assessment.partly_weight", "0.6").is_ok());
        assert!(matches!(
            check("assessment.partly_weight", "1.5"),
            Err(PolicyError::Invalid(_))
        ));
        assert!(matches!(
            check("assessment.colour", "0.5"),
            Err(PolicyError::UnknownKey(_))
        ));
        assert!(matches!(
            check("work.7d.ladder", "supervise:120,remind:60"),
            Err(PolicyError::Invalid(_))
        ));
        assert!(matches!(
            check("group_min_callers", "1"),
            Err(PolicyError::Invalid(_))
        ));
        assert!(matches!(
            check("work.7d.colour", "red"),
            Err(PolicyError::UnknownKey(_))
        ));
        assert!(matches!(
            check("speed_limit", "30"),
            Err(PolicyError::UnknownKey(_))
        ));
    }
}
