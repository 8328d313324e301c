//! Account administration: `GET /api/v1/admin/users`, `POST /api/v1/admin/users/{username}/revoke-tokens`, a user's
//! jurisdiction (`PUT .../scopes`) and the units they act for (`PUT .../units`).

use crate::domain::access::Permission;
use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::query::{NoParameters, Query};
use crate::http::state::AppState;
use crate::service::auth::{self, AuthError};
use actix_web::{HttpResponse, web};
use serde::Serialize;

/// A user as the admin list shows it.
#[derive(Debug, Serialize)]
pub struct AdminUser {
    /// Id.
    pub id: String,
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: String,
    /// Whether sign-in is refused.
    pub disabled: bool,
    /// When created (RFC 3339, UTC).
    pub created_at: String,
    /// The units the user acts for (unit ids).
    pub units: Vec<String>,
}

/// Body of the user list.
#[derive(Debug, Serialize)]
pub struct AdminUsers {
    /// Every user, by name.
    pub users: Vec<AdminUser>,
}

/// Body of a revocation.
#[derive(Debug, Serialize)]
pub struct Revoked {
    /// How many live tokens were revoked.
    pub revoked: usize,
}

/// `GET /api/v1/admin/users`
pub async fn list_users(
    state: web::Data<AppState>,
    me: CurrentUser,
    _q: Query<NoParameters>,
) -> Result<web::Json<AdminUsers>, ApiError> {
    me.require(Permission::ManageUsers)?;
    let db = state.db.clone();
    let rows = web::block(move || auth::list_users_with_units(&db)).await??;
    Ok(web::Json(AdminUsers {
        users: rows
            .into_iter()
            .map(|(u, units)| AdminUser {
                id: u.id,
                username: u.username,
                display_name: u.display_name,
                role: u.role,
                disabled: u.disabled,
                created_at: crate::domain::time::rfc3339(u.created_at),
                units,
            })
            .collect(),
    }))
}

/// `POST /api/v1/admin/users/{username}/revoke-tokens`
pub async fn revoke_tokens(
    state: web::Data<AppState>,
    me: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    me.require(Permission::ManageUsers)?;
    let db = state.db.clone();
    let username = path.into_inner();
    let now = state.clock.now();
    match web::block(move || auth::revoke_tokens(&db, &username, now)).await? {
        Ok(revoked) => Ok(HttpResponse::Ok().json(Revoked { revoked })),
        Err(AuthError::UnknownUser(name)) => Err(user_not_found(&name)),
        Err(e) => Err(e.into()),
    }
}

/// A user's jurisdiction.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Scopes {
    /// Place codes; everything inside them is visible.
    #[serde(default)]
    pub places: Vec<String>,
    /// Topic codes (department handlers).
    #[serde(default)]
    pub topics: Vec<String>,
}

fn user_not_found(name: &str) -> ApiError {
    ApiError::not_found("user_not_found", format!("there is no user {name:?}"))
}

/// `PUT /api/v1/admin/users/{username}/scopes`: replaces a user's jurisdiction; a code named twice is kept once.
pub async fn set_scopes(
    state: web::Data<AppState>,
    me: CurrentUser,
    path: web::Path<String>,
    body: web::Json<Scopes>,
) -> Result<web::Json<Scopes>, ApiError> {
    me.require(Permission::ManageUsers)?;
    let scopes = body.into_inner();
    let db = state.db.clone();
    let username = path.into_inner();
    match web::block(move || auth::set_scopes(&db, &username, &scopes.places, &scopes.topics))
        .await?
    {
        Ok((places, topics)) => Ok(web::Json(Scopes { places, topics })),
        Err(AuthError::UnknownUser(name)) => Err(user_not_found(&name)),
        Err(e @ (AuthError::UnknownScope(_) | AuthError::TooMany)) => {
            Err(ApiError::bad_request("invalid_scope", e.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

/// The units a user acts for.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Units {
    /// Unit ids.
    pub units: Vec<String>,
}

/// `PUT /api/v1/admin/users/{username}/units`: replaces the units a user acts for (a department handler reports in
/// and works cases only for these); a unit named twice is kept once.
pub async fn set_units(
    state: web::Data<AppState>,
    me: CurrentUser,
    path: web::Path<String>,
    body: web::Json<Units>,
) -> Result<web::Json<Units>, ApiError> {
    me.require(Permission::ManageUsers)?;
    let units = body.into_inner().units;
    let db = state.db.clone();
    let username = path.into_inner();
    match web::block(move || auth::set_units(&db, &username, &units)).await? {
        Ok(units) => Ok(web::Json(Units { units })),
        Err(AuthError::UnknownUser(name)) => Err(user_not_found(&name)),
        Err(e @ (AuthError::UnknownUnit(_) | AuthError::TooMany)) => {
            Err(ApiError::bad_request("invalid_unit", e.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

/// One unmasked read of a caller's personal data.
#[derive(Debug, Serialize)]
pub struct PiiRead {
    /// Id.
    pub id: String,
    /// When (RFC 3339, UTC).
    pub read_at: String,
    /// The reader's user id.
    pub user_id: String,
    /// The reader's user name.
    pub username: String,
    /// The reader's role.
    pub role: String,
    /// The ticket whose caller was shown.
    pub ticket_id: String,
    /// Its case.
    pub case_id: String,
    /// Its district.
    pub district_code: String,
    /// Why.
    pub reason: String,
}

/// A page of the audit log.
#[derive(Debug, Serialize)]
pub struct PiiReads {
    /// Oldest first.
    pub reads: Vec<PiiRead>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// Query of the audit log.
#[derive(Debug, serde::Deserialize)]
pub struct PiiReadQuery {
    ticket_id: Option<String>,
    username: Option<String>,
    since: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/v1/admin/pii-reads?ticket_id=&username=&since=&cursor=&limit=`
pub async fn pii_reads(
    state: web::Data<AppState>,
    me: CurrentUser,
    q: Query<PiiReadQuery>,
) -> Result<web::Json<PiiReads>, ApiError> {
    use crate::service::cases::read as cases;
    use crate::store::audit::PiiReadFilter;
    me.require(Permission::ReadAudit)?;
    let q = q.into_inner();
    let since = crate::http::dto::parse_time("since", q.since.as_deref())?;
    let filter = PiiReadFilter {
        ticket_id: q.ticket_id,
        username: q.username,
        since,
        after: None,
    };
    let db = state.db.clone();
    let limit = q.limit.unwrap_or(100);
    let cursor = q.cursor;
    let (rows, next) =
        web::block(move || cases::audit_log(&db, filter, cursor.as_deref(), limit)).await??;
    Ok(web::Json(PiiReads {
        reads: rows
            .into_iter()
            .map(|r| PiiRead {
                id: r.id,
                read_at: crate::domain::time::rfc3339(r.read_at),
                user_id: r.user_id,
                username: r.username,
                role: r.role,
                ticket_id: r.ticket_id,
                case_id: r.case_id,
                district_code: r.district_code,
                reason: r.reason,
            })
            .collect(),
        next_cursor: next,
    }))
}
