//! Offline sync, the phone's side of it: `POST /api/v1/sync/push` (a batch of operations, one result each),
//! `GET /api/v1/sync/ops?since=` (read every decided result back, in order) and `GET /api/v1/sync/conflicts`
//! (stale edits kept for the member and their supervisor to review). Push and ops need a device token.

use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::query::Query;
use crate::http::state::AppState;
use crate::service::sync::push::{self as service, OpResult, SyncError};
use crate::store::sync::DeviceRow;
use actix_web::web;
use serde::{Deserialize, Serialize};
use serde_json::Value;

fn device(me: &CurrentUser) -> Result<DeviceRow, ApiError> {
    me.device
        .clone()
        .ok_or_else(|| SyncError::DeviceRequired.into())
}

/// Body of `POST /api/v1/sync/push`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushInput {
    /// The operations, in the device's order; each is checked on its own.
    pub ops: Vec<Value>,
}

/// The results of a push, one per operation in the order sent.
#[derive(Debug, Serialize)]
pub struct PushResults {
    /// Results.
    pub results: Vec<OpResult>,
}

/// `POST /api/v1/sync/push`
pub async fn push(
    state: web::Data<AppState>,
    me: CurrentUser,
    body: web::Json<PushInput>,
) -> Result<web::Json<PushResults>, ApiError> {
    let device = device(&me)?;
    let at = state.clock.now();
    let st = state.clone();
    let results = web::block(move || {
        service::push(
            &st.db,
            &st.geo(),
            &me.user,
            &device,
            body.into_inner().ops,
            at,
        )
    })
    .await??;
    Ok(web::Json(PushResults { results }))
}

/// Query of `GET /api/v1/sync/ops`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsQuery {
    /// The last `result_seq` already read (0 for all).
    pub since: Option<i64>,
    /// Page size (1–500, default 500).
    pub limit: Option<i64>,
}

/// A page of results.
#[derive(Debug, Serialize)]
pub struct OpsPage {
    /// In the order they were decided.
    pub items: Vec<OpResult>,
    /// Send as `since` to read on.
    pub next_since: i64,
}

/// `GET /api/v1/sync/ops`
pub async fn ops(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<OpsQuery>,
) -> Result<web::Json<OpsPage>, ApiError> {
    let device = device(&me)?;
    let since = q.since.unwrap_or(0);
    let limit = q.limit.unwrap_or(service::MAX_RESULTS_PAGE);
    let db = state.db.clone();
    let items = web::block(move || service::results(&db, &device, since, limit)).await??;
    let next_since = items.last().and_then(|r| r.result_seq).unwrap_or(since);
    Ok(web::Json(OpsPage { items, next_since }))
}

/// Query of `GET /api/v1/sync/conflicts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConflictQuery {
    /// At most this many (1–500, default 100).
    pub limit: Option<i64>,
}

/// Conflicts, newest first.
#[derive(Debug, Serialize)]
pub struct ConflictList {
    /// Each with both versions in `result`.
    pub items: Vec<OpResult>,
}

/// `GET /api/v1/sync/conflicts`
pub async fn conflicts(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<ConflictQuery>,
) -> Result<web::Json<ConflictList>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=service::MAX_RESULTS_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be from 1 to {}", service::MAX_RESULTS_PAGE),
        ));
    }
    let db = state.db.clone();
    let items = web::block(move || service::conflicts(&db, &me.user, limit)).await??;
    Ok(web::Json(ConflictList { items }))
}
