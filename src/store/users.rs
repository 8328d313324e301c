//! Accounts: users, sessions, API keys, sign-in attempts and the addresses accounts signed in from.

use crate::db::DbConnection;
use crate::db::schema::{api_keys, login_attempts, login_known_addresses, sessions, users};
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// A stored user.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    /// Id (UUID text).
    pub id: String,
    /// Sign-in name, unique.
    pub username: String,
    /// Name shown to people.
    pub display_name: String,
    /// Role name.
    pub role: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Whether sign-in is refused.
    pub disabled: bool,
    /// When created (UTC).
    pub created_at: NaiveDateTime,
    /// When the password was last set (UTC).
    pub password_changed_at: NaiveDateTime,
}

/// A stored session.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    /// SHA-256 of the token.
    pub token_hash: String,
    /// Whose.
    pub user_id: String,
    /// When created (UTC).
    pub created_at: NaiveDateTime,
    /// When it stops working (UTC).
    pub expires_at: NaiveDateTime,
    /// When revoked (UTC), if it was.
    pub revoked_at: Option<NaiveDateTime>,
}

/// How many users exist.
pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// A user by sign-in name.
pub fn by_username(conn: &mut DbConnection, username: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// One user by id.
pub fn by_id(conn: &mut DbConnection, id: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// Every user, by name.
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<UserRow>> {
    users::table
        .order(users::username.asc())
        .select(UserRow::as_select())
        .load(conn)
}

/// Inserts a user.
pub fn insert(conn: &mut DbConnection, user: &UserRow) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(user.clone())
        .execute(conn)
        .map(|_| ())
}

/// Sets or clears `disabled`; returns the rows changed.
pub fn set_disabled(conn: &mut DbConnection, id: &str, disabled: bool) -> QueryResult<usize> {
    diesel::update(users::table.filter(users::id.eq(id)))
        .set(users::disabled.eq(disabled))
        .execute(conn)
}

/// Replaces a password hash.
pub fn set_password(
    conn: &mut DbConnection,
    id: &str,
    hash: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.filter(users::id.eq(id)))
        .set((
            users::password_hash.eq(hash),
            users::password_changed_at.eq(at),
        ))
        .execute(conn)
}

/// Inserts a session.
pub fn insert_session(conn: &mut DbConnection, s: &SessionRow) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(s.clone())
        .execute(conn)
        .map(|_| ())
}

/// A live session (not revoked, not expired at `now`) and its user.
pub fn live_session(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(SessionRow, UserRow)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select((SessionRow::as_select(), UserRow::as_select()))
        .first(conn)
        .optional()
}

/// Revokes one session; returns the rows changed.
pub fn revoke_session(
    conn: &mut DbConnection,
    token_hash: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::token_hash.eq(token_hash))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(at))
    .execute(conn)
}

/// Revokes every live session of a user.
pub fn revoke_user_sessions(
    conn: &mut DbConnection,
    user_id: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(at))
    .execute(conn)
}

/// Makes the rest of the transaction the only one counting or changing sign-in attempts under `locks` (throttle
/// keys such as `addr:…` and `user:…`), and deletes attempts older than `expired`. On PostgreSQL: a
/// transaction-scoped advisory lock per key, taken in the order given (every caller names address keys before
/// account keys, so two transactions never wait for each other); expired rows another transaction holds are left
/// for the next one. On SQLite: the database's write lock, taken by the delete being the transaction's first
/// statement (as `BEGIN IMMEDIATE` would: a transaction that read first could not write after another's commit).
pub fn lock_attempts(
    conn: &mut DbConnection,
    locks: &[String],
    expired: NaiveDateTime,
) -> QueryResult<()> {
    for key in locks {
        super::serialize_on(conn, &format!("login.{key}"))?;
    }
    match conn {
        DbConnection::Pg(c) => {
            diesel::sql_query(
                "DELETE FROM login_attempts WHERE id IN (SELECT id FROM login_attempts \
                 WHERE attempted_at < $1 FOR UPDATE SKIP LOCKED)",
            )
            .bind::<diesel::sql_types::Timestamp, _>(expired)
            .execute(c)?;
        }
        DbConnection::Sqlite(c) => {
            diesel::delete(login_attempts::table.filter(login_attempts::attempted_at.lt(expired)))
                .execute(c)?;
        }
    }
    Ok(())
}

/// Records a sign-in attempt (before its password is checked).
pub fn insert_attempt(
    conn: &mut DbConnection,
    id: &str,
    account: &str,
    address: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::id.eq(id),
            login_attempts::account.eq(account),
            login_attempts::address.eq(address),
            login_attempts::attempted_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The times of the newest `limit` attempts since `since`, newest first, of an account (`Some`), an address
/// (`Some`), or both.
pub fn recent_attempts(
    conn: &mut DbConnection,
    account: Option<&str>,
    address: Option<&str>,
    since: NaiveDateTime,
    limit: usize,
) -> QueryResult<Vec<NaiveDateTime>> {
    let mut q = login_attempts::table
        .filter(login_attempts::attempted_at.gt(since))
        .order(login_attempts::attempted_at.desc())
        .limit(i64::try_from(limit).unwrap_or(i64::MAX))
        .select(login_attempts::attempted_at)
        .into_boxed();
    if let Some(a) = account {
        q = q.filter(login_attempts::account.eq(a.to_owned()));
    }
    if let Some(a) = address {
        q = q.filter(login_attempts::address.eq(a.to_owned()));
    }
    q.load(conn)
}

/// Forgets the attempts of an account: from one address (`Some`), or from everywhere; returns how many.
pub fn forget_attempts(
    conn: &mut DbConnection,
    account: &str,
    address: Option<&str>,
) -> QueryResult<usize> {
    match address {
        Some(a) => diesel::delete(
            login_attempts::table
                .filter(login_attempts::account.eq(account))
                .filter(login_attempts::address.eq(a)),
        )
        .execute(conn),
        None => diesel::delete(login_attempts::table.filter(login_attempts::account.eq(account)))
            .execute(conn),
    }
}

/// Whether the account signed in successfully from the address since `since`.
pub fn address_known(
    conn: &mut DbConnection,
    account: &str,
    address: &str,
    since: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        login_known_addresses::table
            .filter(login_known_addresses::account.eq(account))
            .filter(login_known_addresses::address.eq(address))
            .filter(login_known_addresses::last_success_at.gt(since)),
    ))
    .get_result(conn)
}

/// Notes a successful sign-in of an account from an address at `at`, and forgets the account's addresses not
/// used since `stale`. Run it under the account's lock ([`lock_attempts`]).
pub fn remember_address(
    conn: &mut DbConnection,
    account: &str,
    address: &str,
    at: NaiveDateTime,
    stale: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(
        login_known_addresses::table
            .filter(login_known_addresses::account.eq(account))
            .filter(
                login_known_addresses::address
                    .eq(address)
                    .or(login_known_addresses::last_success_at.lt(stale)),
            ),
    )
    .execute(conn)?;
    diesel::insert_into(login_known_addresses::table)
        .values((
            login_known_addresses::account.eq(account),
            login_known_addresses::address.eq(address),
            login_known_addresses::last_success_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A stored API key.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    /// Id.
    pub id: String,
    /// What it is for (e.g. "12345 hotline integration").
    pub name: String,
    /// The role it acts with.
    pub role: String,
    /// SHA-256 of the key.
    pub key_hash: String,
    /// When created (UTC).
    pub created_at: NaiveDateTime,
    /// When revoked (UTC), if it was.
    pub revoked_at: Option<NaiveDateTime>,
}

/// Inserts an API key.
pub fn insert_api_key(conn: &mut DbConnection, k: &ApiKeyRow) -> QueryResult<()> {
    diesel::insert_into(api_keys::table)
        .values(k.clone())
        .execute(conn)
        .map(|_| ())
}

/// A live (not revoked) API key by the hash of its secret.
pub fn live_api_key(conn: &mut DbConnection, key_hash: &str) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table
        .filter(api_keys::key_hash.eq(key_hash))
        .filter(api_keys::revoked_at.is_null())
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()
}

/// Every API key, newest first.
pub fn all_api_keys(conn: &mut DbConnection) -> QueryResult<Vec<ApiKeyRow>> {
    api_keys::table
        .order((api_keys::created_at.desc(), api_keys::id.asc()))
        .select(ApiKeyRow::as_select())
        .load(conn)
}

/// Revokes an API key; returns the rows changed.
pub fn revoke_api_key(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        api_keys::table
            .filter(api_keys::id.eq(id))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(at))
    .execute(conn)
}

/// A user's scopes as (kind, value), kind "place" or "topic".
pub fn scopes(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<(String, String)>> {
    use crate::db::schema::user_scopes;
    user_scopes::table
        .filter(user_scopes::user_id.eq(user_id))
        .order((user_scopes::scope_kind.asc(), user_scopes::value.asc()))
        .select((user_scopes::scope_kind, user_scopes::value))
        .load(conn)
}

/// Replaces a user's scopes.
pub fn set_scopes(
    conn: &mut DbConnection,
    user_id: &str,
    scopes: &[(String, String)],
) -> QueryResult<()> {
    use crate::db::schema::user_scopes;
    diesel::delete(user_scopes::table.filter(user_scopes::user_id.eq(user_id))).execute(conn)?;
    for (kind, value) in scopes {
        diesel::insert_into(user_scopes::table)
            .values((
                user_scopes::user_id.eq(user_id),
                user_scopes::scope_kind.eq(kind),
                user_scopes::value.eq(value),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The units a user acts for, by id.
pub fn units(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<String>> {
    use crate::db::schema::user_units;
    user_units::table
        .filter(user_units::user_id.eq(user_id))
        .order(user_units::unit_id.asc())
        .select(user_units::unit_id)
        .load(conn)
}

/// Every membership as (user id, unit id), by user then unit.
pub fn all_units(conn: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    use crate::db::schema::user_units;
    user_units::table
        .order((user_units::user_id.asc(), user_units::unit_id.asc()))
        .select((user_units::user_id, user_units::unit_id))
        .load(conn)
}

/// Replaces the units a user acts for.
pub fn set_units(conn: &mut DbConnection, user_id: &str, units: &[String]) -> QueryResult<()> {
    use crate::db::schema::user_units;
    diesel::delete(user_units::table.filter(user_units::user_id.eq(user_id))).execute(conn)?;
    for unit in units {
        diesel::insert_into(user_units::table)
            .values((
                user_units::user_id.eq(user_id),
                user_units::unit_id.eq(unit),
            ))
            .execute(conn)?;
    }
    Ok(())
}
