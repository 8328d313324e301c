//! `gridline policy ...`: stored policy values, each checked by the policy that reads it.

use super::open;
use crate::config::DbArgs;
use clap::Subcommand;

/// Policy values.
#[derive(Debug, Subcommand)]
pub enum PolicyAction {
    /// Print the stored values (key=value); keys not listed take their defaults.
    List,
    /// Store a value, checked by the policy that reads it.
    Set {
        /// The key, e.g. work.7d.ladder.
        key: String,
        /// The value, e.g. remind:2880,supervise:4320,investigate:5760.
        value: String,
    },
    /// Remove a stored value: the default applies again.
    Unset {
        /// The key.
        key: String,
    },
}

/// Runs `gridline policy ACTION`.
pub(super) fn run(action: PolicyAction, db: &DbArgs) -> anyhow::Result<()> {
    use crate::service::policy;
    let db = open(db)?;
    match action {
        PolicyAction::List => {
            for (key, value) in policy::list(&db)? {
                println!("{key}={value}");
            }
        }
        PolicyAction::Set { key, value } => {
            policy::set(&db, &key, &value)?;
            println!("{key}={}", value.trim());
        }
        PolicyAction::Unset { key } => {
            if !policy::unset(&db, &key)? {
                anyhow::bail!("no value is stored for {key}: its default applies");
            }
        }
    }
    Ok(())
}
