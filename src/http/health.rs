//! `/healthz` (the process answers) and `/readyz` (the database answers and geodata is loaded).

use crate::error::ApiError;
use crate::http::state::AppState;
use actix_web::web;
use serde::Serialize;

/// Body of `/healthz`.
#[derive(Debug, Serialize)]
pub struct Health {
    /// Always "ok".
    pub status: &'static str,
}

/// Body of `/readyz` when ready.
#[derive(Debug, Serialize)]
pub struct Ready {
    /// Always "ready".
    pub status: &'static str,
    /// "sqlite" or "postgres".
    pub database: &'static str,
    /// Cells in the index.
    pub cells: usize,
    /// Buildings in the index.
    pub buildings: usize,
}

/// `GET /healthz`
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// `GET /readyz`
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Ready>, ApiError> {
    let db = state.db.clone();
    let reachable = web::block(move || db.ping()).await?;
    if !reachable {
        return Err(ApiError::Unavailable {
            code: "database_unreachable",
            message: "the database does not answer".into(),
        });
    }
    if state.index.cell_count() == 0 {
        return Err(ApiError::Unavailable {
            code: "geodata_not_loaded",
            message: "no grid cells are loaded".into(),
        });
    }
    Ok(web::Json(Ready {
        status: "ready",
        database: match state.db.backend {
            crate::db::Backend::Sqlite => "sqlite",
            crate::db::Backend::Postgres => "postgres",
        },
        cells: state.index.cell_count(),
        buildings: state.index.building_count(),
    }))
}
