//! Phones that sync (`devices`) and the operations they push (`sync_ops`); diesel only.

use crate::db::DbConnection;
use crate::db::schema::{devices, reports, sync_ops};
use chrono::NaiveDateTime;
use diesel::prelude::*;

type Backend = <DbConnection as Connection>::Backend;

/// A registered phone.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = devices)]
pub struct DeviceRow {
    /// Id (UUID).
    pub id: String,
    /// The grid member it belongs to.
    pub user_id: String,
    /// What the member called it.
    pub name: String,
    /// SHA-256 of its token.
    pub token_hash: String,
    /// Registered.
    pub created_at: NaiveDateTime,
    /// Last request.
    pub last_seen_at: Option<NaiveDateTime>,
    /// Revoked (its token no longer works).
    pub revoked_at: Option<NaiveDateTime>,
    /// By whom (user id).
    pub revoked_by: Option<String>,
    /// The device sequence number it must send next.
    pub next_seq: i64,
    /// The number of the last result decided for it.
    pub last_result_seq: i64,
}

/// A pushed operation and, once decided, its result.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = sync_ops)]
pub struct OpRow {
    /// The phone's UUID for it.
    pub op_id: String,
    /// The device that sent it.
    pub device_id: String,
    /// Its place in the device's order (1, 2, ...).
    pub device_seq: i64,
    /// What it does (`create_report`, `update_report`, `attach_photo`, `transition`).
    pub kind: String,
    /// The entity it acts on (report or case id).
    pub entity_id: String,
    /// The entity's version it was made against.
    pub base_version: Option<i32>,
    /// The payload as sent (JSON).
    pub payload: String,
    /// SHA-256 of what was sent: a retry has the same, a reused id a different one.
    pub content_sha256: String,
    /// `waiting`, `applied`, `conflict` or `rejected`.
    pub status: String,
    /// The rejection's code.
    pub code: Option<String>,
    /// A message a person can act on.
    pub message: Option<String>,
    /// The result (JSON): the entity's version; both versions on a conflict.
    pub result: Option<String>,
    /// Where the entity was (for supervisors reviewing conflicts).
    pub place_code: Option<String>,
    /// When it first arrived.
    pub received_at: NaiveDateTime,
    /// When it was decided.
    pub decided_at: Option<NaiveDateTime>,
    /// Its number among the device's decided results.
    pub result_seq: Option<i64>,
}

/// Registers a device.
pub fn insert_device(conn: &mut DbConnection, row: &DeviceRow) -> QueryResult<()> {
    crate::with_backend!(conn, c => diesel::insert_into(devices::table).values(row).execute(c))
        .map(|_| ())
}

/// A device by its token's hash.
pub fn device_by_token(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<DeviceRow>> {
    devices::table
        .filter(devices::token_hash.eq(hash))
        .select(DeviceRow::as_select())
        .first(conn)
        .optional()
}

/// A device by id.
pub fn device(conn: &mut DbConnection, id: &str) -> QueryResult<Option<DeviceRow>> {
    devices::table
        .find(id)
        .select(DeviceRow::as_select())
        .first(conn)
        .optional()
}

/// A device by id, locked until the transaction ends (PostgreSQL; SQLite has one writer anyway), so that two
/// pushes of one device never decide the same operation.
pub fn device_locked(conn: &mut DbConnection, id: &str) -> QueryResult<Option<DeviceRow>> {
    match conn {
        DbConnection::Pg(c) => devices::table
            .find(id)
            .select(DeviceRow::as_select())
            .for_update()
            .first(c)
            .optional(),
        DbConnection::Sqlite(_) => device(conn, id),
    }
}

/// Devices, newest first, of one user or (`None`) of everyone, at most `limit`.
pub fn devices(
    conn: &mut DbConnection,
    user_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<DeviceRow>> {
    let mut q = devices::table
        .select(DeviceRow::as_select())
        .order((devices::created_at.desc(), devices::id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(u) = user_id {
        q = q.filter(devices::user_id.eq(u.to_owned()));
    }
    q.load(conn)
}

/// How many devices a user has that are not revoked.
pub fn live_devices(conn: &mut DbConnection, user_id: &str) -> QueryResult<i64> {
    devices::table
        .filter(devices::user_id.eq(user_id))
        .filter(devices::revoked_at.is_null())
        .count()
        .get_result(conn)
}

/// Marks a device revoked; false if it was already.
pub fn revoke_device(
    conn: &mut DbConnection,
    id: &str,
    by: &str,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        devices::table
            .find(id)
            .filter(devices::revoked_at.is_null()),
    )
    .set((
        devices::revoked_at.eq(Some(at)),
        devices::revoked_by.eq(Some(by)),
    ))
    .execute(conn)
    .map(|n| n > 0)
}

/// Notes that a device was seen.
pub fn touch_device(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(devices::table.find(id))
        .set(devices::last_seen_at.eq(Some(at)))
        .execute(conn)
        .map(|_| ())
}

/// Moves a device's counters: the next sequence number expected and the last result's number.
pub fn set_device_counters(
    conn: &mut DbConnection,
    id: &str,
    next_seq: i64,
    last_result_seq: i64,
) -> QueryResult<()> {
    diesel::update(devices::table.find(id))
        .set((
            devices::next_seq.eq(next_seq),
            devices::last_result_seq.eq(last_result_seq),
        ))
        .execute(conn)
        .map(|_| ())
}

/// An operation by id.
pub fn op(conn: &mut DbConnection, op_id: &str) -> QueryResult<Option<OpRow>> {
    sync_ops::table
        .find(op_id)
        .select(OpRow::as_select())
        .first(conn)
        .optional()
}

/// The operation a device sent with this sequence number.
pub fn op_at(conn: &mut DbConnection, device_id: &str, seq: i64) -> QueryResult<Option<OpRow>> {
    sync_ops::table
        .filter(sync_ops::device_id.eq(device_id))
        .filter(sync_ops::device_seq.eq(seq))
        .select(OpRow::as_select())
        .first(conn)
        .optional()
}

/// Stores a new operation.
pub fn insert_op(conn: &mut DbConnection, row: &OpRow) -> QueryResult<()> {
    crate::with_backend!(conn, c => diesel::insert_into(sync_ops::table).values(row).execute(c))
        .map(|_| ())
}

/// Records an operation's decision.
pub fn decide_op(conn: &mut DbConnection, row: &OpRow) -> QueryResult<()> {
    diesel::update(sync_ops::table.find(&row.op_id))
        .set((
            sync_ops::status.eq(&row.status),
            sync_ops::code.eq(&row.code),
            sync_ops::message.eq(&row.message),
            sync_ops::result.eq(&row.result),
            sync_ops::place_code.eq(&row.place_code),
            sync_ops::decided_at.eq(row.decided_at),
            sync_ops::result_seq.eq(row.result_seq),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A device's decided results after `since`, in the order they were decided, at most `limit`.
pub fn results_after(
    conn: &mut DbConnection,
    device_id: &str,
    since: i64,
    limit: i64,
) -> QueryResult<Vec<OpRow>> {
    sync_ops::table
        .filter(sync_ops::device_id.eq(device_id))
        .filter(sync_ops::result_seq.gt(since))
        .order(sync_ops::result_seq.asc())
        .limit(limit)
        .select(OpRow::as_select())
        .load(conn)
}

/// Conflicts in places starting with any of `prefixes` (all places when `None`), newest first, at most `limit`.
pub fn conflicts(
    conn: &mut DbConnection,
    prefixes: Option<&[String]>,
    limit: i64,
) -> QueryResult<Vec<OpRow>> {
    let mut q = sync_ops::table
        .filter(sync_ops::status.eq("conflict"))
        .order((sync_ops::decided_at.desc(), sync_ops::op_id.asc()))
        .limit(limit)
        .select(OpRow::as_select())
        .into_boxed();
    if let Some(prefixes) = prefixes {
        type Condition =
            Box<dyn BoxableExpression<sync_ops::table, Backend, SqlType = diesel::sql_types::Bool>>;
        let any = prefixes
            .iter()
            .map(|p| -> Condition {
                Box::new(sync_ops::place_code.assume_not_null().like(format!("{p}%")))
            })
            .reduce(|a, b| Box::new(a.or(b)))
            .unwrap_or_else(|| Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("1 = 0")));
        q = q.filter(any);
    }
    q.load(conn)
}

/// Changes a report's text and photos and moves its version on.
pub fn update_report(
    conn: &mut DbConnection,
    id: &str,
    body: &str,
    photos: &str,
    version: i32,
) -> QueryResult<()> {
    diesel::update(reports::table.find(id))
        .set((
            reports::body.eq(body),
            reports::photos.eq(photos),
            reports::version.eq(version),
        ))
        .execute(conn)
        .map(|_| ())
}
