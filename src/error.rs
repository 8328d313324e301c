//! Errors that reach a client.
//!
//! Which error type where: modules below the HTTP layer (`geo`, `db`, `store`, `service`) return their own
//! `thiserror` enums; the command line wraps everything in `anyhow` with context. Handlers return [`ApiError`],
//! whose every variant maps to one status and a stable snake_case `code`. Anything that is not the client's fault
//! becomes [`ApiError::Internal`]: a 500 that logs the whole cause chain under an error id and tells the client
//! only that id. A database constraint violation is never a 500: [`ApiError::from`] a [`crate::db::DbError`] turns it
//! into a 409 with a code for the kind of constraint (`already_exists`, `still_referenced`, `constraint_violation`),
//! the same on SQLite and PostgreSQL. Where a client needs to know exactly what blocks a change (a person's
//! assignments, a unit's open cases), the service checks first inside its transaction and answers a specific code.

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
    /// For `unit_has_open_work`: the open cases that block the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cases: Option<Vec<String>>,
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
    /// 409: open cases block the change (e.g. deleting a unit that still handles them); `cases` lists them.
    #[error("{message}")]
    OpenCases {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
        /// The cases.
        cases: Vec<String>,
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
            | ApiError::OpenCases { code, .. }
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
            | ApiError::OpenCases { .. }
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
                    cases: None,
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
                cases: match other {
                    ApiError::OpenCases { cases, .. } => Some(cases.clone()),
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
        match e {
            crate::db::DbError::Query(q) => ApiError::from(q),
            other => ApiError::internal(other),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    /// A constraint violation is the client's conflict with what is stored (409), whichever backend reports it;
    /// everything else is ours (500). SQLite names neither the table nor the constraint, so the code says only
    /// which kind of constraint refused the change.
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        let (code, message) = match &e {
            Error::DatabaseError(Kind::UniqueViolation, _) => (
                "already_exists",
                "the change would store something that already exists (a duplicate): leave the duplicate out",
            ),
            Error::DatabaseError(Kind::ForeignKeyViolation, _) => (
                "still_referenced",
                "the change conflicts with a reference between records (a record still in use, or one that does \
                 not exist): remove or fix the reference first",
            ),
            Error::DatabaseError(Kind::CheckViolation | Kind::NotNullViolation, _) => (
                "constraint_violation",
                "the change breaks a rule of what may be stored: check the values",
            ),
            _ => return ApiError::internal(e),
        };
        tracing::info!(cause = %e, code, "refused by a database constraint");
        ApiError::Conflict {
            code,
            message: message.to_owned(),
        }
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
    fn a_constraint_violation_answers_409_with_the_kind_of_constraint() {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        let violation = |kind| {
            ApiError::from(crate::db::DbError::Query(Error::DatabaseError(
                kind,
                Box::new("FOREIGN KEY constraint failed".to_owned()),
            )))
        };
        for (kind, code) in [
            (Kind::UniqueViolation, "already_exists"),
            (Kind::ForeignKeyViolation, "still_referenced"),
            (Kind::CheckViolation, "constraint_violation"),
            (Kind::NotNullViolation, "constraint_violation"),
        ] {
            let e = violation(kind);
            assert_eq!(e.status_code(), StatusCode::CONFLICT, "{code}");
            assert_eq!(body(&e)["code"], code);
        }
        let other = ApiError::from(Error::NotFound);
        assert_eq!(other.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
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
