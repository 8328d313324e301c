//! Signing in and out, checking tokens, throttling failed sign-ins, and managing accounts.
//!
//! Sign-in attempts are limited per account and per client address over a sliding window (the policy is
//! `domain::throttle`). Each attempt is counted and recorded in one write transaction *before* its password is
//! hashed, so concurrent guesses cannot all pass the count; a success deletes the attempt again. The counts live in
//! the database, so throttling survives restarts and holds across server processes. An unknown user name costs
//! the same hashing work as a wrong password, and both answer the same, so sign-in does not reveal which names
//! exist. Every time here (sign-in, token expiry, revocation, account stamps) is the caller's `now`, read from the
//! server's clock, so a test or the simulator that moves the clock moves token expiry with it.

use crate::auth::{password, token};
use crate::db::{Db, DbError};
use crate::domain::access::{Principal, Role};
use crate::domain::throttle;
use crate::error::{Details, ErrorKind, ServiceError};
use crate::store::users::{self as store, SessionRow, UserRow};
use chrono::{Duration, NaiveDateTime};
use diesel::Connection;

/// How long a token works.
pub const TOKEN_TTL: Duration = Duration::hours(12);
/// The longest user name accepted.
pub const MAX_USERNAME_LEN: usize = 64;
/// The most scopes (places and topics together) one user may hold.
pub const MAX_SCOPES: usize = 1000;
/// The most units one user may act for.
pub const MAX_UNITS: usize = 100;

/// Errors of signing in and of account management.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Wrong user name or password, or a disabled account (not told apart on purpose).
    #[error("the user name or password is wrong")]
    InvalidCredentials,
    /// Too many failed sign-ins; try again after this many seconds.
    #[error("too many failed sign-ins; try again in {0} s")]
    Throttled(u64),
    /// The token is missing, malformed, unknown, expired or revoked.
    #[error("the token is not valid (expired, revoked or unknown): sign in again")]
    InvalidToken,
    /// A user name that is already taken.
    #[error("the user name {0:?} is taken")]
    UsernameTaken(String),
    /// No such user.
    #[error("there is no user {0:?}")]
    UnknownUser(String),
    /// A user name with characters other than letters, digits, '.', '_' and '-', or too long.
    #[error("a user name is 1 to {MAX_USERNAME_LEN} letters, digits, '.', '_' or '-'")]
    InvalidUsername,
    /// A scope that is not a known place code or a topic code.
    #[error("{0:?} is not a known place code or a topic code")]
    UnknownScope(String),
    /// A unit id that names no unit.
    #[error("no unit has the id {0:?} (see GET /api/v1/units)")]
    UnknownUnit(String),
    /// More scopes or units than one user may hold.
    #[error("at most {MAX_SCOPES} scopes and {MAX_UNITS} units per user")]
    TooMany,
    /// A password that does not meet the rules.
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

crate::error::from_query_error!(AuthError);

impl ServiceError for AuthError {
    fn kind(&self) -> ErrorKind {
        match self {
            AuthError::InvalidCredentials => ErrorKind::Unauthorized("invalid_credentials"),
            AuthError::InvalidToken => ErrorKind::Unauthorized("invalid_token"),
            AuthError::Throttled(_) => ErrorKind::TooMany("too_many_attempts"),
            AuthError::UnknownScope(_)
            | AuthError::UnknownUnit(_)
            | AuthError::TooMany
            | AuthError::UsernameTaken(_)
            | AuthError::UnknownUser(_)
            | AuthError::InvalidUsername
            | AuthError::Password(_) => ErrorKind::Invalid("invalid_account"),
            AuthError::Db(_) => ErrorKind::Internal,
        }
    }

    fn details(&self) -> Details {
        match self {
            AuthError::Throttled(secs) => Details::RetryAfter(*secs),
            _ => Details::None,
        }
    }
}

/// The principal of a stored account (scopes not yet added); `None` for a role this server does not know.
fn principal_of(u: &UserRow) -> Option<Principal> {
    Some(Principal {
        id: u.id.clone(),
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        role: Role::parse(&u.role)?,
        places: Vec::new(),
        topics: Vec::new(),
    })
}

/// A new session: the token (shown once) and when it expires.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The bearer token.
    pub token: String,
    /// When it stops working (UTC).
    pub expires_at: NaiveDateTime,
    /// Who signed in.
    pub user: Principal,
}

fn new_id() -> String {
    crate::domain::ids::random_id("")
}

/// Checks the shape of a user name.
pub fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_USERNAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Signs in at `now`; `address` is the client's address as a throttle key ([`throttle::address_key`]).
pub fn login(
    db: &Db,
    username: &str,
    pass: &str,
    address: &str,
    now: NaiveDateTime,
) -> Result<NewSession, AuthError> {
    let t = now;
    let account = throttle::account_key(username);
    reserve_attempt(db, &account, address, t)?;
    // Hash with no connection held: on SQLite the writer is shared by every write.
    let user = if valid_username(username) {
        store::by_username(&mut *db.reader()?, username)?
    } else {
        None
    };
    // Verify against a real hash even for an unknown user, so that timing does not reveal which names exist.
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| password::hash(&password::generate()).unwrap_or_default());
    let ok = password::verify(
        pass,
        user.as_ref()
            .map_or(dummy.as_str(), |u| u.password_hash.as_str()),
    );
    let principal = user
        .as_ref()
        .filter(|u| ok && !u.disabled)
        .and_then(principal_of);
    let Some(principal) = principal else {
        // The reserved attempt stays: it is the failure.
        tracing::info!(username_len = username.len(), "sign-in refused");
        return Err(AuthError::InvalidCredentials);
    };
    let token = token::generate();
    let session = SessionRow {
        token_hash: token::hash(&token),
        user_id: principal.id.clone(),
        created_at: t,
        expires_at: t + TOKEN_TTL,
        revoked_at: None,
    };
    db.writer()?.transaction::<_, AuthError, _>(|c| {
        store::lock_attempts(c, &[format!("user:{account}")], t - throttle::WINDOW)?;
        store::insert_session(c, &session)?;
        // The owner's own misses from here no longer count; other addresses' attempts on the account still do.
        store::forget_attempts(c, &account, Some(address))?;
        store::remember_address(c, &account, address, t, t - throttle::KNOWN_ADDRESS_FOR)?;
        Ok(())
    })?;
    tracing::info!(user = %principal.username, "signed in");
    Ok(NewSession {
        token,
        expires_at: session.expires_at,
        user: principal,
    })
}

/// Counts the recent attempts of the account and the address and, when every limit allows one more, records it,
/// all in one write transaction; `Throttled` with the seconds to wait otherwise.
fn reserve_attempt(
    db: &Db,
    account: &str,
    address: &str,
    t: NaiveDateTime,
) -> Result<(), AuthError> {
    let since = t - throttle::WINDOW;
    db.writer()?.transaction::<_, AuthError, _>(|c| {
        store::lock_attempts(
            c,
            &[format!("addr:{address}"), format!("user:{account}")],
            since,
        )?;
        let recent = throttle::Recent {
            pair: store::recent_attempts(
                c,
                Some(account),
                Some(address),
                since,
                throttle::PER_PAIR,
            )?,
            address: store::recent_attempts(c, None, Some(address), since, throttle::PER_ADDRESS)?,
            account: store::recent_attempts(c, Some(account), None, since, throttle::PER_ACCOUNT)?,
            known_address: store::address_known(
                c,
                account,
                address,
                t - throttle::KNOWN_ADDRESS_FOR,
            )?,
        };
        if let Some(secs) = throttle::wait(&recent, t) {
            return Err(AuthError::Throttled(secs));
        }
        store::insert_attempt(c, &new_id(), account, address, t)?;
        Ok(())
    })
}

/// Forgets every recorded sign-in attempt of a user (`gridline user unlock`), so that they may sign in from any
/// address at once; returns how many attempts were forgotten.
pub fn unlock(db: &Db, username: &str) -> Result<usize, AuthError> {
    let u = user(db, username)?;
    Ok(store::forget_attempts(
        &mut *db.writer()?,
        &throttle::account_key(&u.username),
        None,
    )?)
}

/// The user a token belongs to, if the token is live at `now`; an API key (`glk_…`) answers for its machine client.
pub fn authenticate(db: &Db, bearer: &str, now: NaiveDateTime) -> Result<Principal, AuthError> {
    look_up(db, bearer, now).map(|(p, _)| p)
}

/// As [`authenticate`], keeping the answer in `recent` for the next requests with the same token.
pub fn authenticate_kept(
    db: &Db,
    recent: &RecentSignIns,
    bearer: &str,
    now: NaiveDateTime,
) -> Result<Principal, AuthError> {
    let mark = db.mark();
    let (principal, expires) = look_up(db, bearer, now)?;
    recent.keep(bearer, &principal, expires, mark);
    Ok(principal)
}

/// The user of a token and when the token expires (`None`: an API key, which lives until revoked).
fn look_up(
    db: &Db,
    bearer: &str,
    now: NaiveDateTime,
) -> Result<(Principal, Option<NaiveDateTime>), AuthError> {
    if token::well_formed(bearer, token::API_KEY_PREFIX) {
        let key = store::live_api_key(&mut *db.reader()?, &token::hash(bearer))?
            .ok_or(AuthError::InvalidToken)?;
        let role = Role::parse(&key.role).ok_or(AuthError::InvalidToken)?;
        // A machine client (the hotline system) works for the whole city.
        let principal = Principal {
            id: format!("key:{}", key.id),
            username: format!("key:{}", key.name),
            display_name: key.name,
            role,
            places: vec![crate::geo::place::CITY_CODE.to_owned()],
            topics: Vec::new(),
        };
        return Ok((principal, None));
    }
    if !token::well_formed(bearer, token::PREFIX) {
        return Err(AuthError::InvalidToken);
    }
    let mut conn = db.reader()?;
    match store::live_session(&mut conn, &token::hash(bearer), now)? {
        Some((session, user)) if !user.disabled => {
            let scopes = store::scopes(&mut conn, &user.id)?;
            let principal = principal_of(&user)
                .ok_or(AuthError::InvalidToken)?
                .with_scopes(scopes);
            Ok((principal, Some(session.expires_at)))
        }
        _ => Err(AuthError::InvalidToken),
    }
}

/// The most tokens [`RecentSignIns`] keeps (then it starts over).
pub const MAX_RECENT_SIGN_INS: usize = 10_000;

/// Tokens checked lately, so that a burst of requests with one token (the dozens of tiles of one map view) reads
/// the token's session once. A kept answer holds while this process wrote nothing since the read it came from (a
/// sign-out, a disabled account, changed places, a revoked key: every change of what a token stands for is a
/// write) and for at most [`crate::db::OTHERS_SEEN_WITHIN`] (a change made by another process: a command or
/// another server); and never past the token's expiry.
#[derive(Debug, Default)]
pub struct RecentSignIns {
    entries: std::sync::Mutex<std::collections::HashMap<[u8; 32], Recent>>,
}

#[derive(Debug)]
struct Recent {
    principal: Principal,
    expires: Option<NaiveDateTime>,
    mark: crate::db::ReadMark,
}

impl RecentSignIns {
    /// The user of `bearer` as kept, when the kept answer still holds at `now`.
    pub fn get(&self, db: &Db, bearer: &str, now: NaiveDateTime) -> Option<Principal> {
        let key = token::digest(bearer);
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let kept = entries.get(&key)?;
        (db.unchanged_since(kept.mark) && kept.expires.is_none_or(|e| e > now))
            .then(|| kept.principal.clone())
    }

    fn keep(
        &self,
        bearer: &str,
        principal: &Principal,
        expires: Option<NaiveDateTime>,
        mark: crate::db::ReadMark,
    ) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_RECENT_SIGN_INS {
            entries.clear();
        }
        entries.insert(
            token::digest(bearer),
            Recent {
                principal: principal.clone(),
                expires,
                mark,
            },
        );
    }
}

/// The user `id` with their scopes, unless the account is disabled or gone (a device token answers for it).
pub fn principal_by_id(
    conn: &mut crate::db::DbConnection,
    id: &str,
) -> Result<Option<Principal>, AuthError> {
    match store::by_id(conn, id)? {
        Some(user) if !user.disabled => {
            let scopes = store::scopes(conn, &user.id)?;
            Ok(principal_of(&user).map(|p| p.with_scopes(scopes)))
        }
        _ => Ok(None),
    }
}

/// Revokes a token (sign-out) at `now`.
pub fn logout(db: &Db, bearer: &str, now: NaiveDateTime) -> Result<(), AuthError> {
    let mut conn = db.writer()?;
    store::revoke_session(&mut conn, &token::hash(bearer), now)?;
    Ok(())
}

/// An account to create, with its jurisdiction and the units it acts for.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    /// Sign-in name.
    pub username: &'a str,
    /// Name shown to people.
    pub display_name: &'a str,
    /// Role.
    pub role: Role,
    /// Password.
    pub password: &'a str,
    /// Place codes of the jurisdiction.
    pub places: &'a [String],
    /// Topic codes (department handlers).
    pub topics: &'a [String],
    /// Unit ids the user acts for.
    pub units: &'a [String],
}

/// Creates a user without scopes or units, at `now`.
pub fn add_user(
    db: &Db,
    username: &str,
    display_name: &str,
    role: Role,
    pass: &str,
    now: NaiveDateTime,
) -> Result<Principal, AuthError> {
    create_user(
        db,
        &NewUser {
            username,
            display_name,
            role,
            password: pass,
            places: &[],
            topics: &[],
            units: &[],
        },
        now,
    )
}

/// Creates a user with their scopes and units in one transaction, at `now`: the account exists whole or not at
/// all.
pub fn create_user(db: &Db, new: &NewUser<'_>, now: NaiveDateTime) -> Result<Principal, AuthError> {
    if !valid_username(new.username) {
        return Err(AuthError::InvalidUsername);
    }
    // Hash before taking the writer: on SQLite every other write waits for it.
    let hash = password::hash(new.password)?;
    let t = now;
    let row = UserRow {
        id: new_id(),
        username: new.username.to_owned(),
        display_name: new.display_name.to_owned(),
        role: new.role.as_str().to_owned(),
        password_hash: hash,
        disabled: false,
        created_at: t,
        password_changed_at: t,
    };
    let mut conn = db.writer()?;
    conn.transaction::<_, AuthError, _>(|c| {
        if store::by_username(c, new.username)?.is_some() {
            return Err(AuthError::UsernameTaken(new.username.to_owned()));
        }
        store::insert(c, &row)?;
        let scopes = scopes_on(c, new.places, new.topics)?;
        store::set_scopes(c, &row.id, &scopes)?;
        let units = units_on(c, new.units)?;
        store::set_units(c, &row.id, &units)?;
        Ok(())
    })?;
    tracing::info!(user = %new.username, role = %new.role, "user added");
    principal_of(&row).ok_or(AuthError::InvalidUsername)
}

/// Creates the first admin when there is no user yet: with `password`, or a generated one that is returned
/// (to be shown once). `Ok(None)` when users already exist or the given password was used.
pub fn ensure_admin(
    db: &Db,
    pass: Option<&str>,
    now: NaiveDateTime,
) -> Result<Option<String>, AuthError> {
    if store::count(&mut *db.reader()?)? > 0 {
        return Ok(None);
    }
    let generated = pass.is_none().then(password::generate);
    let pass = pass.or(generated.as_deref()).unwrap_or_default();
    add_user(db, "admin", "Administrator", Role::Admin, pass, now)?;
    Ok(generated)
}

/// Every user.
pub fn list_users(db: &Db) -> Result<Vec<UserRow>, AuthError> {
    Ok(store::all(&mut *db.reader()?)?)
}

fn user(db: &Db, username: &str) -> Result<UserRow, AuthError> {
    store::by_username(&mut *db.reader()?, username)?
        .ok_or_else(|| AuthError::UnknownUser(username.to_owned()))
}

/// Disables or re-enables a user; disabling revokes their tokens (at `now`).
pub fn set_disabled(
    db: &Db,
    username: &str,
    disabled: bool,
    now: NaiveDateTime,
) -> Result<(), AuthError> {
    let u = user(db, username)?;
    let mut conn = db.writer()?;
    conn.transaction::<_, AuthError, _>(|c| {
        store::set_disabled(c, &u.id, disabled)?;
        if disabled {
            store::revoke_user_sessions(c, &u.id, now)?;
        }
        Ok(())
    })
}

/// Sets a new password at `now` (revoking the user's tokens and forgetting their failed sign-ins, as [`unlock`]
/// does).
pub fn reset_password(
    db: &Db,
    username: &str,
    pass: &str,
    now: NaiveDateTime,
) -> Result<(), AuthError> {
    let u = user(db, username)?;
    let hash = password::hash(pass)?;
    let mut conn = db.writer()?;
    conn.transaction::<_, AuthError, _>(|c| {
        let t = now;
        store::set_password(c, &u.id, &hash, t)?;
        store::revoke_user_sessions(c, &u.id, t)?;
        store::forget_attempts(c, &throttle::account_key(&u.username), None)?;
        Ok(())
    })
}

/// A new API key: its id, and the secret (shown once).
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Id, for listing and revoking.
    pub id: String,
    /// The secret, sent as `Authorization: Bearer glk_…`.
    pub key: String,
}

/// Creates an API key for a machine client acting with `role`, at `now`.
pub fn create_api_key(
    db: &Db,
    name: &str,
    role: Role,
    now: NaiveDateTime,
) -> Result<NewApiKey, AuthError> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(AuthError::InvalidUsername);
    }
    let key = token::generate_with(token::API_KEY_PREFIX);
    let row = store::ApiKeyRow {
        id: new_id(),
        name: name.trim().to_owned(),
        role: role.as_str().to_owned(),
        key_hash: token::hash(&key),
        created_at: now,
        revoked_at: None,
    };
    store::insert_api_key(&mut *db.writer()?, &row)?;
    tracing::info!(key_id = %row.id, role = %role, "api key created");
    Ok(NewApiKey { id: row.id, key })
}

/// Every API key (hashes only).
pub fn list_api_keys(db: &Db) -> Result<Vec<store::ApiKeyRow>, AuthError> {
    Ok(store::all_api_keys(&mut *db.reader()?)?)
}

/// Revokes an API key at `now`; `UnknownUser` when no live key has this id.
pub fn revoke_api_key(db: &Db, id: &str, now: NaiveDateTime) -> Result<(), AuthError> {
    match store::revoke_api_key(&mut *db.writer()?, id, now)? {
        0 => Err(AuthError::UnknownUser(id.to_owned())),
        _ => Ok(()),
    }
}

/// Revokes every token of a user (admin action) at `now`, returning how many were live.
pub fn revoke_tokens(db: &Db, username: &str, now: NaiveDateTime) -> Result<usize, AuthError> {
    let u = user(db, username)?;
    Ok(store::revoke_user_sessions(&mut *db.writer()?, &u.id, now)?)
}

/// Checks scopes on a connection: place codes that exist, and topic codes; returns them as (kind, value), each
/// once (a code named twice is kept once rather than refused).
fn scopes_on(
    conn: &mut crate::db::DbConnection,
    places: &[String],
    topics: &[String],
) -> Result<Vec<(String, String)>, AuthError> {
    if places.len() + topics.len() > MAX_SCOPES {
        return Err(AuthError::TooMany);
    }
    let mut scopes: Vec<(String, String)> = Vec::with_capacity(places.len() + topics.len());
    for p in places {
        let known = crate::geo::place::PlaceCode::parse(p).is_some()
            && crate::store::places::get(conn, p)?.is_some();
        if !known {
            return Err(AuthError::UnknownScope(p.clone()));
        }
        scopes.push(("place".to_owned(), p.clone()));
    }
    for t in topics {
        if !crate::domain::org::valid_topic(t) {
            return Err(AuthError::UnknownScope(t.clone()));
        }
        scopes.push(("topic".to_owned(), t.clone()));
    }
    scopes.sort();
    scopes.dedup();
    Ok(scopes)
}

/// Checks unit ids on a connection (each must name a unit); returns them each once, sorted.
fn units_on(
    conn: &mut crate::db::DbConnection,
    units: &[String],
) -> Result<Vec<String>, AuthError> {
    if units.len() > MAX_UNITS {
        return Err(AuthError::TooMany);
    }
    let mut out = Vec::with_capacity(units.len());
    for u in units {
        let u = u.trim();
        if crate::store::org::unit(conn, u)?.is_none() {
            return Err(AuthError::UnknownUnit(u.to_owned()));
        }
        out.push(u.to_owned());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Sets a user's jurisdiction: place codes (each must exist) and topic codes, each kept once. Returns what is now
/// in force as (places, topics).
pub fn set_scopes(
    db: &Db,
    username: &str,
    places: &[String],
    topics: &[String],
) -> Result<(Vec<String>, Vec<String>), AuthError> {
    let mut conn = db.writer()?;
    conn.transaction::<_, AuthError, _>(|c| {
        let u = store::by_username(c, username)?
            .ok_or_else(|| AuthError::UnknownUser(username.to_owned()))?;
        let scopes = scopes_on(c, places, topics)?;
        store::set_scopes(c, &u.id, &scopes)?;
        let pick = |kind: &str| {
            scopes
                .iter()
                .filter(|(k, _)| k == kind)
                .map(|(_, v)| v.clone())
                .collect::<Vec<_>>()
        };
        Ok((pick("place"), pick("topic")))
    })
}

/// Sets the units a user acts for (each must exist; each kept once); returns them.
pub fn set_units(db: &Db, username: &str, units: &[String]) -> Result<Vec<String>, AuthError> {
    let mut conn = db.writer()?;
    conn.transaction::<_, AuthError, _>(|c| {
        let u = store::by_username(c, username)?
            .ok_or_else(|| AuthError::UnknownUser(username.to_owned()))?;
        let units = units_on(c, units)?;
        store::set_units(c, &u.id, &units)?;
        Ok(units)
    })
}

/// Every user with the units they act for, by name.
pub fn list_users_with_units(db: &Db) -> Result<Vec<(UserRow, Vec<String>)>, AuthError> {
    let mut conn = db.reader()?;
    let users = store::all(&mut conn)?;
    let mut memberships: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    for (user, unit) in store::all_units(&mut conn)? {
        memberships.entry(user).or_default().push(unit);
    }
    Ok(users
        .into_iter()
        .map(|u| {
            let units = memberships.remove(&u.id).unwrap_or_default();
            (u, units)
        })
        .collect())
}
