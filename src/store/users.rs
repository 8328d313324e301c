//! Accounts: users, sessions, API keys and failed sign-ins.

use crate::db::DbConnection;
use crate::db::schema::{api_keys, login_failures, sessions, users};
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

/// Records a failed sign-in under a throttle key.
pub fn record_failure(
    conn: &mut DbConnection,
    id: &str,
    key: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(login_failures::table)
        .values((
            login_failures::id.eq(id),
            login_failures::throttle_key.eq(key),
            login_failures::failed_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Failures under a key since `since`, oldest first.
pub fn failures_since(
    conn: &mut DbConnection,
    key: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<NaiveDateTime>> {
    login_failures::table
        .filter(login_failures::throttle_key.eq(key))
        .filter(login_failures::failed_at.gt(since))
        .order(login_failures::failed_at.asc())
        .select(login_failures::failed_at)
        .load(conn)
}

/// Forgets the failures under a key (after a successful sign-in) and every failure older than `before`.
pub fn clear_failures(
    conn: &mut DbConnection,
    key: &str,
    before: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(
        login_failures::table.filter(
            login_failures::throttle_key
                .eq(key)
                .or(login_failures::failed_at.lt(before)),
        ),
    )
    .execute(conn)
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
