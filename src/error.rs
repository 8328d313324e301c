//! Errors that reach a client.
//!
//! Which error type where: modules below the HTTP layer (`geo`, `db`, `store`, `service`) return their own
//! `thiserror` enums; the command line wraps everything in `anyhow` with context. Handlers return [`ApiError`],
//! whose every variant maps to one status and a stable snake_case `code`. Anything that is not the client's fault
//! becomes [`ApiError::Internal`]: a 500 that logs the whole cause chain under an error id and tells the client
//! only that id.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// The JSON body of every error response.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// Stable snake_case code, for programs.
    pub code: String,
    /// What went wrong and what to do, for people.
    pub message: String,
    /// For a 500: the id under which the cause was logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_id: Option<String>,
    /// For `illegal_transition`: the steps the user may take on the case now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
    /// For `photos_missing`: the photos (SHA-256) the server does not have yet; upload them, then retry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<String>>,
    /// For `unknown_query_parameter`: the parameters the route accepts; for `invalid_query_value`: the values the
    /// parameter accepts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<Vec<String>>,
}

/// An error answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400: malformed input.
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// 400: a parameter or value the route does not accept; `accepted` lists what it does.
    #[error("{message}")]
    BadValue {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
        /// The accepted parameter names or values.
        accepted: Vec<String>,
    },
    /// 401: no valid credentials; answered with `WWW-Authenticate: Bearer`.
    #[error("{message}")]
    Unauthorized {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// 403: signed in, but the role may not do this.
    #[error("{message}")]
    Forbidden {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// 429: too many attempts; answered with `Retry-After`.
    #[error("{message}")]
    Throttled {
        /// Seconds until trying again makes sense.
        retry_after_secs: u64,
        /// Explanation.
        message: String,
    },
    /// 404: no such thing (or not visible to the caller).
    #[error("{message}")]
    NotFound {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// 409: conflicts with what is stored.
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// 409 `illegal_transition`: the step is not possible from the case's status; `allowed` lists what is.
    #[error("{message}")]
    IllegalTransition {
        /// Explanation.
        message: String,
        /// The steps the user may take now.
        allowed: Vec<String>,
    },
    /// 409 `photos_missing`: the step names evidence photos the server does not have; `missing` lists them.
    #[error("{message}")]
    PhotosMissing {
        /// Explanation.
        message: String,
        /// The photos (SHA-256) still to upload.
        missing: Vec<String>,
    },
    /// 413: the request is too large.
    #[error("{message}")]
    TooLarge {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// 422: well-formed but cannot be processed (e.g. a point outside the city).
    #[error("{message}")]
    Unprocessable {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// 503: not ready to serve.
    #[error("{message}")]
    Unavailable {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// 500: our fault; the cause is logged, not shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// 400 with a code and message.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// 404 with a code and message.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::NotFound {
            code,
            message: message.into(),
        }
    }

    /// 500 from any cause.
    pub fn internal(e: impl Into<anyhow::Error>) -> ApiError {
        ApiError::Internal(e.into())
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. }
            | ApiError::BadValue { code, .. }
            | ApiError::Unauthorized { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::NotFound { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::TooLarge { code, .. }
            | ApiError::Unprocessable { code, .. }
            | ApiError::Unavailable { code, .. } => code,
            ApiError::Throttled { .. } => "too_many_attempts",
            ApiError::IllegalTransition { .. } => "illegal_transition",
            ApiError::PhotosMissing { .. } => "photos_missing",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } | ApiError::BadValue { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. }
            | ApiError::IllegalTransition { .. }
            | ApiError::PhotosMissing { .. } => StatusCode::CONFLICT,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            ApiError::Internal(cause) => {
                let id = format!("{:016x}", rand::random::<u64>());
                tracing::error!(error_id = %id, cause = format!("{cause:#}"), "internal error");
                ErrorBody {
                    code: self.code().to_owned(),
                    message: format!(
                        "an internal error occurred; quote error id {id} when reporting it"
                    ),
                    error_id: Some(id),
                    allowed: None,
                    missing: None,
                    accepted: None,
                }
            }
            other => ErrorBody {
                code: other.code().to_owned(),
                message: other.to_string(),
                error_id: None,
                allowed: match other {
                    ApiError::IllegalTransition { allowed, .. } => Some(allowed.clone()),
                    _ => None,
                },
                missing: match other {
                    ApiError::PhotosMissing { missing, .. } => Some(missing.clone()),
                    _ => None,
                },
                accepted: match other {
                    ApiError::BadValue { accepted, .. } => Some(accepted.clone()),
                    _ => None,
                },
            },
        };
        let mut res = HttpResponse::build(self.status_code());
        match self {
            ApiError::Unauthorized { .. } => {
                res.insert_header(("WWW-Authenticate", "Bearer"));
            }
            ApiError::Throttled {
                retry_after_secs, ..
            } => {
                res.insert_header(("Retry-After", retry_after_secs.to_string()));
            }
            _ => {}
        }
        res.json(body)
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        ApiError::internal(e)
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError::internal(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body(e: &ApiError) -> serde_json::Value {
        let bytes = e
            .error_response()
            .into_body()
            .try_into_bytes()
            .unwrap_or_default();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn an_internal_error_answers_500_with_only_an_error_id() {
        let e = ApiError::internal(
            anyhow::anyhow!("secret connection string postgres://admin:pw@db").context("loading"),
        );
        assert_eq!(e.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        let b = body(&e);
        assert_eq!(b["code"], "internal_error");
        let id = b["error_id"].as_str().unwrap();
        assert_eq!(id.len(), 16);
        assert!(b["message"].as_str().unwrap().contains(id));
        assert!(
            !b.to_string().contains("secret"),
            "the cause is logged, not shown: {b}"
        );
    }

    #[test]
    fn every_client_error_keeps_its_status_and_code() {
        let cases = [
            (ApiError::bad_request("invalid_number", "x"), 400),
            (ApiError::not_found("place_not_found", "x"), 404),
            (
                ApiError::TooLarge {
                    code: "batch_too_large",
                    message: "x".into(),
                },
                413,
            ),
            (
                ApiError::Unprocessable {
                    code: "outside_jurisdiction",
                    message: "x".into(),
                },
                422,
            ),
            (
                ApiError::Unavailable {
                    code: "geodata_not_loaded",
                    message: "x".into(),
                },
                503,
            ),
        ];
        for (e, status) in cases {
            assert_eq!(e.status_code().as_u16(), status);
            let b = body(&e);
            assert_eq!(b["code"], e.code());
            assert!(b.get("error_id").is_none());
        }
    }
}
