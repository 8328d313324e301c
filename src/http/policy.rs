//! Policy values: `GET /api/v1/policy` (every signed-in user: the numbers they are held to),
//! `PUT /api/v1/policy/{key}` and `DELETE /api/v1/policy/{key}` (admins).

use crate::domain::access::Permission;
use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::query::{NoParameters, Query};
use crate::http::state::AppState;
use crate::service::admin::policy::{self as service, PolicyError};
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

/// A stored value.
#[derive(Debug, Serialize)]
pub struct PolicyValue {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// One key a policy reads.
#[derive(Debug, Serialize)]
pub struct PolicySetting {
    /// The key.
    pub key: String,
    /// The built-in default.
    pub default: String,
    /// The value stored over the default, if any.
    pub stored: Option<String>,
    /// The value in effect.
    pub current: String,
}

/// Every setting, and the stored values.
#[derive(Debug, Serialize)]
pub struct PolicyValues {
    /// Every key a policy reads, with its default and the value in effect.
    pub settings: Vec<PolicySetting>,
    /// The stored values by key; keys not listed take their defaults.
    pub values: Vec<PolicyValue>,
}

/// Body of a change.
#[derive(Debug, Deserialize)]
pub struct SetPolicy {
    /// The value, as text.
    pub value: String,
}

/// `GET /api/v1/policy`
pub async fn list(
    state: web::Data<AppState>,
    me: CurrentUser,
    _q: Query<NoParameters>,
) -> Result<web::Json<PolicyValues>, ApiError> {
    me.require(Permission::ReadOrganisation)?;
    let db = state.db.clone();
    let (settings, rows) =
        web::block(move || Ok::<_, PolicyError>((service::settings(&db)?, service::list(&db)?)))
            .await??;
    Ok(web::Json(PolicyValues {
        settings: settings
            .into_iter()
            .map(|s| PolicySetting {
                current: s.current().to_owned(),
                key: s.key,
                default: s.default,
                stored: s.stored,
            })
            .collect(),
        values: rows
            .into_iter()
            .map(|(key, value)| PolicyValue { key, value })
            .collect(),
    }))
}

/// `PUT /api/v1/policy/{key}`
pub async fn set(
    state: web::Data<AppState>,
    me: CurrentUser,
    key: web::Path<String>,
    body: web::Json<SetPolicy>,
) -> Result<web::Json<PolicyValue>, ApiError> {
    me.require(Permission::ManageOrganisation)?;
    let db = state.db.clone();
    let key = key.into_inner();
    let value = body.into_inner().value.trim().to_owned();
    let (k, v) = (key.clone(), value.clone());
    web::block(move || service::set(&db, &k, &v)).await??;
    Ok(web::Json(PolicyValue { key, value }))
}

/// `DELETE /api/v1/policy/{key}`
pub async fn unset(
    state: web::Data<AppState>,
    me: CurrentUser,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::ManageOrganisation)?;
    let db = state.db.clone();
    let key = key.into_inner();
    let k = key.clone();
    if web::block(move || service::unset(&db, &k)).await?? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found(
            "policy_not_set",
            format!("no value is stored for {key:?}: its default applies"),
        ))
    }
}
