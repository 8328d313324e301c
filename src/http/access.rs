//! Access control at the HTTP edge: the signed-in user as an extractor (a handler that takes [`CurrentUser`]
//! requires a valid bearer token or device token), `require` / `require_place` answering 403 / 404 from the pure
//! rules of [`crate::domain::access`], and the mapping of sign-in and device errors to HTTP answers.

use crate::domain::access::{self, Permission, Principal};
use crate::error::ApiError;
use crate::http::state::AppState;
use crate::service::auth;
use crate::service::sync::devices;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use std::future::Future;
use std::pin::Pin;

/// The user whose token came with the request, and that token (for signing out).
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// Who.
    pub user: Principal,
    /// The bearer token of this request.
    pub token: String,
    /// The registered phone whose device token came with the request.
    pub device: Option<crate::store::sync::DeviceRow>,
}

impl CurrentUser {
    /// 403 `forbidden` unless the signed-in user's role holds `permission` ([`access::allows`]).
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if access::allows(self.user.role, permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                code: "forbidden",
                message: format!("the role {} may not do this", self.user.role),
            })
        }
    }

    /// 404 `place_not_found` (the same answer as for a place that does not exist, so nothing leaks) unless the
    /// user may see the place ([`access::can_see_place`]).
    pub fn require_place(&self, code: &str) -> Result<(), ApiError> {
        if access::can_see_place(&self.user, code) {
            Ok(())
        } else {
            Err(ApiError::not_found(
                "place_not_found",
                format!("no place has the code {code}"),
            ))
        }
    }
}

/// The bearer token of a request, if it carries one.
pub fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<CurrentUser, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let Some(token) = token else {
                return Err(ApiError::Unauthorized {
                    code: "missing_token",
                    message: "sign in (POST /api/v1/auth/login) and send the token as Authorization: Bearer TOKEN".into(),
                });
            };
            let state =
                state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no application state")))?;
            let db = state.db.clone();
            let t = token.clone();
            if token.starts_with(crate::auth::token::DEVICE_PREFIX) {
                let now = state.clock.now();
                let (user, device) =
                    web::block(move || devices::authenticate(&db, &t, now)).await??;
                return Ok(CurrentUser {
                    user,
                    token,
                    device: Some(device),
                });
            }
            let now = state.clock.now();
            // A token checked a moment ago (the other tiles of the same map view) is not read again.
            if let Some(user) = state.sign_ins.get(&db, &token, now) {
                return Ok(CurrentUser {
                    user,
                    token,
                    device: None,
                });
            }
            let recent = state.sign_ins.clone();
            let user = web::block(move || auth::authenticate_kept(&db, &recent, &t, now)).await??;
            Ok(CurrentUser {
                user,
                token,
                device: None,
            })
        })
    }
}
