//! `POST /api/v1/auth/login`, `POST /api/v1/auth/logout`, `GET /api/v1/auth/me`.

use crate::domain::access::Principal;
use crate::error::ApiError;
use crate::http::access::CurrentUser;
use crate::http::client_addr;
use crate::http::state::AppState;
use crate::service::auth;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

/// Body of a sign-in.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    username: String,
    password: String,
}

/// A user as answers show it.
#[derive(Debug, Serialize)]
pub struct UserDto {
    /// Id.
    pub id: String,
    /// Sign-in name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: String,
    /// Jurisdiction: place codes.
    pub places: Vec<String>,
    /// Topics a department handler answers for.
    pub topics: Vec<String>,
}

impl From<Principal> for UserDto {
    fn from(p: Principal) -> Self {
        UserDto {
            id: p.id,
            username: p.username,
            display_name: p.display_name,
            role: p.role.as_str().to_owned(),
            places: p.places,
            topics: p.topics,
        }
    }
}

/// Answer of a sign-in.
#[derive(Debug, Serialize)]
pub struct LoginResponse {
    /// The bearer token: send it as `Authorization: Bearer TOKEN`. Shown once.
    pub token: String,
    /// Always "Bearer".
    pub token_type: &'static str,
    /// When the token stops working (RFC 3339, UTC).
    pub expires_at: String,
    /// Who signed in.
    pub user: UserDto,
}

/// `POST /api/v1/auth/login`
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<web::Json<LoginResponse>, ApiError> {
    let LoginRequest { username, password } = body.into_inner();
    if username.len() > auth::MAX_USERNAME_LEN || password.len() > crate::auth::password::MAX_LEN {
        return Err(ApiError::Unauthorized {
            code: "invalid_credentials",
            message: "the user name or password is wrong".into(),
        });
    }
    let address = client_addr::client_key(&req, &state.trusted_proxies);
    let db = state.db.clone();
    let now = state.clock.now();
    let session =
        web::block(move || auth::login(&db, &username, &password, &address, now)).await??;
    Ok(web::Json(LoginResponse {
        token: session.token,
        token_type: "Bearer",
        expires_at: crate::domain::time::rfc3339(session.expires_at),
        user: session.user.into(),
    }))
}

/// `POST /api/v1/auth/logout`: revokes the token of the request.
pub async fn logout(state: web::Data<AppState>, me: CurrentUser) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let now = state.clock.now();
    web::block(move || auth::logout(&db, &me.token, now)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/auth/me`
pub async fn me(me: CurrentUser) -> web::Json<UserDto> {
    web::Json(me.user.into())
}
