//! Phones: `POST /api/v1/devices` (register the signed-in member's phone, get its token once),
//! `GET /api/v1/devices` (one's own; an admin's: everyone's) and `POST /api/v1/devices/{id}/revoke`.

use crate::domain::time::rfc3339 as time;
use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::query::Query;
use crate::http::state::AppState;
use crate::service::sync::devices;
use crate::store::sync::DeviceRow;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

/// A registered phone (never its token).
#[derive(Debug, Serialize)]
pub struct DeviceDto {
    /// Id.
    pub id: String,
    /// The member it belongs to (user id).
    pub user_id: String,
    /// Its name.
    pub name: String,
    /// Registered (RFC 3339, UTC).
    pub created_at: String,
    /// Last request, to the minute.
    pub last_seen_at: Option<String>,
    /// Revoked: its token no longer works.
    pub revoked_at: Option<String>,
    /// The device sequence number its next operation must carry.
    pub next_seq: i64,
    /// The number of its last decided result.
    pub last_result_seq: i64,
}

impl From<DeviceRow> for DeviceDto {
    fn from(d: DeviceRow) -> Self {
        DeviceDto {
            id: d.id,
            user_id: d.user_id,
            name: d.name,
            created_at: time(d.created_at),
            last_seen_at: d.last_seen_at.map(time),
            revoked_at: d.revoked_at.map(time),
            next_seq: d.next_seq,
            last_result_seq: d.last_result_seq,
        }
    }
}

/// Body of `POST /api/v1/devices`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterInput {
    /// What to call it (e.g. the phone's model).
    pub name: String,
}

/// A registered phone and its token, shown this once.
#[derive(Debug, Serialize)]
pub struct RegisteredDto {
    /// The device.
    pub device: DeviceDto,
    /// Its token: send it as `Authorization: Bearer …` from the phone.
    pub token: String,
}

/// `POST /api/v1/devices`
pub async fn register(
    state: web::Data<AppState>,
    me: CurrentUser,
    body: web::Json<RegisterInput>,
) -> Result<HttpResponse, ApiError> {
    let (db, user, at) = (state.db.clone(), me.user, state.clock.now());
    let new = web::block(move || devices::register(&db, &user, &body.name, at)).await??;
    Ok(HttpResponse::Created().json(RegisteredDto {
        device: new.device.into(),
        token: new.token,
    }))
}

/// Query of `GET /api/v1/devices`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this user's devices (admins).
    pub user_id: Option<String>,
}

/// A list of devices.
#[derive(Debug, Serialize)]
pub struct DeviceList {
    /// Newest first.
    pub items: Vec<DeviceDto>,
}

/// `GET /api/v1/devices`
pub async fn list(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<ListQuery>,
) -> Result<web::Json<DeviceList>, ApiError> {
    let db = state.db.clone();
    let rows = web::block(move || devices::list(&db, &me.user, q.user_id.as_deref())).await??;
    Ok(web::Json(DeviceList {
        items: rows.into_iter().map(DeviceDto::from).collect(),
    }))
}

/// `POST /api/v1/devices/{id}/revoke`
pub async fn revoke(
    state: web::Data<AppState>,
    me: CurrentUser,
    id: web::Path<String>,
) -> Result<web::Json<DeviceDto>, ApiError> {
    let (db, at) = (state.db.clone(), state.clock.now());
    let row = web::block(move || devices::revoke(&db, &me.user, &id, at)).await??;
    Ok(web::Json(row.into()))
}
