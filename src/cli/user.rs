//! `gridline user ...` and `gridline apikey ...`: accounts and machine keys; secrets are printed once, never logged.

use super::open;
use crate::config::DbArgs;
use crate::domain::access::Role;
use anyhow::Context;
use clap::Subcommand;

/// `gridline user ...`
#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Add a user with their jurisdiction and units, all or nothing; the password comes from
    /// GRIDLINE_USER_PASSWORD, or a random one is printed once. A department handler needs --topic to see cases
    /// and --unit to report in and work them for their department.
    Add {
        /// Sign-in name.
        username: String,
        /// One of admin, hotline_operator, dispatcher, street_handler, department_handler, community_secretary,
        /// grid_member, leader.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Name shown to people (default: the user name).
        #[arg(long)]
        name: Option<String>,
        /// A place code of the user's jurisdiction (repeatable); everything inside it is visible.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// A topic code a department handler answers for (repeatable); without one they see no case.
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// The id of a unit the user acts for (repeatable; `GET /api/v1/units` lists them): a department handler
        /// reports in and works cases only for their units.
        #[arg(long = "unit")]
        units: Vec<String>,
    },
    /// List users.
    List,
    /// Refuse sign-in for a user and revoke their tokens (or allow it again with --enable).
    Disable {
        /// Sign-in name.
        username: String,
        /// Enable instead.
        #[arg(long)]
        enable: bool,
    },
    /// Set a new password (GRIDLINE_USER_PASSWORD, or a random one printed once) and revoke the user's tokens.
    ResetPassword {
        /// Sign-in name.
        username: String,
    },
    /// Forget a user's failed sign-ins, so that they may sign in from any address at once.
    Unlock {
        /// Sign-in name.
        username: String,
    },
}

/// `gridline apikey ...`
#[derive(Debug, Subcommand)]
pub enum ApiKeyAction {
    /// Create a key; the secret is printed once.
    Add {
        /// What the key is for.
        name: String,
        /// The role the key acts with.
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id.
    Revoke {
        /// The key's id.
        id: String,
    },
}

pub(super) fn apikey_command(action: ApiKeyAction, db: &DbArgs) -> anyhow::Result<()> {
    use crate::service::auth;
    let db = open(db)?;
    match action {
        ApiKeyAction::Add { name, role } => {
            let k = auth::create_api_key(&db, &name, role, super::now())?;
            println!("created key {} ({role})", k.id);
            println!(
                "secret (shown once; send as Authorization: Bearer ...): {}",
                k.key
            );
        }
        ApiKeyAction::List => {
            for k in auth::list_api_keys(&db)? {
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!("{:<34} {:<20} {:<8} {}", k.id, k.role, state, k.name);
            }
        }
        ApiKeyAction::Revoke { id } => {
            auth::revoke_api_key(&db, &id, super::now())
                .map_err(|_| anyhow::anyhow!("no active API key has the id {id:?}"))?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        format!(
            "{s:?} is not a role: use one of {}",
            Role::ALL.map(Role::as_str).join(", ")
        )
    })
}

/// The password for `user add` and `user reset-password`: from the environment, or generated and printed.
fn new_password() -> (String, bool) {
    match std::env::var("GRIDLINE_USER_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (crate::auth::password::generate(), true),
    }
}

pub(super) fn run(action: UserAction, db: &DbArgs) -> anyhow::Result<()> {
    use crate::service::auth;
    let db = open(db)?;
    match action {
        UserAction::Add {
            username,
            role,
            name,
            scopes,
            topics,
            units,
        } => {
            let (password, generated) = new_password();
            auth::create_user(
                &db,
                &auth::NewUser {
                    username: &username,
                    display_name: name.as_deref().unwrap_or(&username),
                    role,
                    password: &password,
                    places: &scopes,
                    topics: &topics,
                    units: &units,
                },
                super::now(),
            )?;
            println!(
                "added {username} ({})",
                crate::domain::text::a(role.as_str())
            );
            if generated {
                println!("password (shown once): {password}");
            }
        }
        UserAction::List => {
            for u in auth::list_users(&db)? {
                println!(
                    "{:<24} {:<20} {:<9} {}",
                    u.username,
                    u.role,
                    if u.disabled { "disabled" } else { "active" },
                    u.display_name
                );
            }
        }
        UserAction::Disable { username, enable } => {
            auth::set_disabled(&db, &username, !enable, super::now())?;
            println!(
                "{username} {}",
                if enable {
                    "enabled"
                } else {
                    "disabled; their tokens are revoked"
                }
            );
        }
        UserAction::ResetPassword { username } => {
            let (password, generated) = new_password();
            auth::reset_password(&db, &username, &password, super::now())?;
            println!("password of {username} replaced; their tokens are revoked");
            if generated {
                println!("password (shown once): {password}");
            }
        }
        UserAction::Unlock { username } => {
            let forgotten = auth::unlock(&db, &username)?;
            println!("{username} unlocked ({forgotten} recent sign-in attempts forgotten)");
        }
    }
    Ok(())
}

/// Creates the first admin on a database without users (password from GRIDLINE_ADMIN_PASSWORD, or a random one
/// printed once on standard output, never logged).
pub(super) fn bootstrap_admin(db: &crate::db::Db) -> anyhow::Result<()> {
    let given = std::env::var("GRIDLINE_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    if let Some(generated) = crate::service::auth::ensure_admin(db, given.as_deref(), super::now())
        .context("creating the first admin")?
    {
        println!(
            "first start: created user \"admin\" with password {generated} (shown once; change it with `gridline user reset-password admin`)"
        );
    }
    Ok(())
}
