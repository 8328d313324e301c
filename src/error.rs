//! Errors that reach a client, and the one place where a service error becomes an answer.
//!
//! Which error type where:
//!
//! - **`geo`, `db`, `store`, `service`** return their own `thiserror` enums (one per use-case module, every variant
//!   documented). A service error enum implements [`ServiceError`]: one `match` that states, once per variant, its
//!   [`ErrorKind`] (which decides the HTTP status) and its stable snake_case code, e.g.
//!   `OrgError::NotFound("unit", _) => ErrorKind::NotFound("unit_not_found")`. A variant that is our failure (the
//!   database, a file, a broken invariant) is [`ErrorKind::Internal`]. Lists a client needs to act on (the steps
//!   allowed, the photos missing, the cases in the way, the seconds to wait) come from [`ServiceError::details`].
//! - **A field that is missing or malformed** is the shared [`InvalidField`] (`field: message`, code
//!   `invalid_field`), held by the enum as `Invalid(#[from] InvalidField)`.
//! - **The database** is a variant `Db(#[from] DbError)` of kind `Internal`, plus `from_query_error!(TheError)`
//!   for `?` on store calls (which fail with diesel's error). Never map a database error by hand: a constraint
//!   violation anywhere in an internal error's causes answers 409 with a code for the kind of constraint
//!   (`already_exists`, `still_referenced`, `constraint_violation`), the same on SQLite and PostgreSQL. Where a
//!   client needs to know exactly what blocks a change (a person's assignments, a unit's open cases), the service
//!   checks first inside its transaction and answers a specific code.
//! - **Handlers** return [`ApiError`]; `?` on a service error goes through the one generic
//!   `impl<E: ServiceError> From<E> for ApiError` below (no per-handler mapping). A handler builds an `ApiError`
//!   itself only for what it checks itself (a query parameter, a route-specific code).
//! - **The sync push** answers each operation with the same codes ([`ServiceError::code`]), so a phone and the
//!   HTTP API name a refusal alike.
//! - **The command line** wraps everything in `anyhow` with context; an error that only the command line sees
//!   (`GeodataError`, `ImportError`) needs no [`ServiceError`] until a route returns it.
//!
//! Anything that is not the client's fault becomes [`ApiError::Internal`]: a 500 that logs the whole cause chain under
//! an error id and tells the client only that id.

use crate::db::DbError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// What kind of refusal (or failure) an error is, with its stable snake_case code; the kind decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 400: malformed input.
    Invalid(&'static str),
    /// 401: no valid credentials (answered with `WWW-Authenticate: Bearer`).
    Unauthorized(&'static str),
    /// 403: signed in, but may not do this.
    Forbidden(&'static str),
    /// 404: no such thing (or not visible to the caller).
    NotFound(&'static str),
    /// 409: conflicts with what is stored.
    Conflict(&'static str),
    /// 413: too large.
    TooLarge(&'static str),
    /// 422: well-formed but cannot be processed.
    Unprocessable(&'static str),
    /// 429: too many attempts (the seconds to wait are [`Details::RetryAfter`]).
    TooMany(&'static str),
    /// 503: not ready to serve.
    Unavailable(&'static str),
    /// 500: our failure; the cause is logged, the client sees an error id. A database constraint violation among
    /// its causes answers 409 instead (see the module comment).
    Internal,
}

impl ErrorKind {
    /// The stable code; `None` for an internal failure.
    pub fn code(self) -> Option<&'static str> {
        match self {
            ErrorKind::Invalid(c)
            | ErrorKind::Unauthorized(c)
            | ErrorKind::Forbidden(c)
            | ErrorKind::NotFound(c)
            | ErrorKind::Conflict(c)
            | ErrorKind::TooLarge(c)
            | ErrorKind::Unprocessable(c)
            | ErrorKind::TooMany(c)
            | ErrorKind::Unavailable(c) => Some(c),
            ErrorKind::Internal => None,
        }
    }
}

/// What a client needs besides the code and message to act on a refusal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Details {
    /// Nothing more.
    #[default]
    None,
    /// `illegal_transition`: the steps the user may take now.
    Allowed(Vec<String>),
    /// `photos_missing`: the photos (SHA-256) still to upload.
    Missing(Vec<String>),
    /// The open cases that block the change.
    Cases(Vec<String>),
    /// Seconds until trying again makes sense (answered as `Retry-After`).
    RetryAfter(u64),
    /// A value outside a fixed set: the values accepted (answered as `accepted`).
    Accepted(Vec<String>),
}

/// An error of a use-case: states its kind and code once per variant; its `Display` is the message for people.
pub trait ServiceError: std::error::Error + Send + Sync + 'static {
    /// The kind and stable code of this error.
    fn kind(&self) -> ErrorKind;

    /// What the client needs besides the message (none by default).
    fn details(&self) -> Details {
        Details::None
    }

    /// The stable code of a refusal; `None` for an internal failure.
    fn code(&self) -> Option<&'static str> {
        self.kind().code()
    }
}

/// A field (or parameter) that is missing or malformed: 400 `invalid_field`, shown as `field: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidField {
    /// The field, as the client names it.
    pub field: &'static str,
    /// What is wrong, and what to send instead.
    pub message: String,
}

impl InvalidField {
    /// The field `field` is wrong because `message`.
    pub fn new(field: &'static str, message: impl Into<String>) -> InvalidField {
        InvalidField {
            field,
            message: message.into(),
        }
    }
}

/// Gives a service error enum whose `Db` variant holds a [`DbError`] the conversion from a query's error, so that
/// `?` works on store calls and diesel's `transaction` accepts the enum: `crate::error::from_query_error!(OrgError);`.
macro_rules! from_query_error {
    ($error:ident) => {
        impl From<diesel::result::Error> for $error {
            fn from(e: diesel::result::Error) -> Self {
                $error::Db($crate::db::DbError::Query(e))
            }
        }
    };
}
pub(crate) use from_query_error;

impl ServiceError for DbError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Internal
    }
}

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

impl<E: ServiceError> From<E> for ApiError {
    /// The one mapping of a service error to an answer: its kind gives the status, its code and message the body.
    fn from(e: E) -> Self {
        let message = e.to_string();
        match (e.kind(), e.details()) {
            (ErrorKind::Invalid(code), Details::Accepted(accepted)) => ApiError::BadValue {
                code,
                message,
                accepted,
            },
            (ErrorKind::Invalid(code), _) => ApiError::BadRequest { code, message },
            (ErrorKind::Unauthorized(code), _) => ApiError::Unauthorized { code, message },
            (ErrorKind::Forbidden(code), _) => ApiError::Forbidden { code, message },
            (ErrorKind::NotFound(code), _) => ApiError::NotFound { code, message },
            (ErrorKind::Conflict(_), Details::Allowed(allowed)) => {
                ApiError::IllegalTransition { message, allowed }
            }
            (ErrorKind::Conflict(_), Details::Missing(missing)) => {
                ApiError::PhotosMissing { message, missing }
            }
            (ErrorKind::Conflict(code), Details::Cases(cases)) => ApiError::OpenCases {
                code,
                message,
                cases,
            },
            (ErrorKind::Conflict(code), _) => ApiError::Conflict { code, message },
            (ErrorKind::TooLarge(code), _) => ApiError::TooLarge { code, message },
            (ErrorKind::Unprocessable(code), _) => ApiError::Unprocessable { code, message },
            (ErrorKind::TooMany(_), details) => ApiError::Throttled {
                retry_after_secs: match details {
                    Details::RetryAfter(secs) => secs,
                    _ => 1,
                },
                message,
            },
            (ErrorKind::Unavailable(code), _) => ApiError::Unavailable { code, message },
            (ErrorKind::Internal, _) => match constraint_violation(&e) {
                Some(conflict) => conflict,
                None => ApiError::internal(e),
            },
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError::from(DbError::Query(e))
    }
}

/// A constraint violation among the causes of `e` is the client's conflict with what is stored (409), whichever
/// backend reports it. SQLite names neither the table nor the constraint, so the code says only which kind of
/// constraint refused the change.
fn constraint_violation(e: &(dyn std::error::Error + 'static)) -> Option<ApiError> {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    let query =
        std::iter::successors(Some(e), |e| e.source()).find_map(|e| e.downcast_ref::<Error>())?;
    let (code, message) = match query {
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
        _ => return None,
    };
    tracing::info!(cause = %query, code, "refused by a database constraint");
    Some(ApiError::Conflict {
        code,
        message: message.to_owned(),
    })
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

    /// A service error as a use-case module writes one.
    #[derive(Debug, thiserror::Error)]
    enum Sample {
        #[error("no thing has the id 7")]
        Missing,
        #[error("the thing is still used by 2 cases")]
        Blocked(Vec<String>),
        #[error("too many tries; wait 7 s")]
        Slow,
        #[error(transparent)]
        Db(#[from] DbError),
    }

    impl ServiceError for Sample {
        fn kind(&self) -> ErrorKind {
            match self {
                Sample::Missing => ErrorKind::NotFound("thing_not_found"),
                Sample::Blocked(_) => ErrorKind::Conflict("thing_in_use"),
                Sample::Slow => ErrorKind::TooMany("too_many_attempts"),
                Sample::Db(_) => ErrorKind::Internal,
            }
        }

        fn details(&self) -> Details {
            match self {
                Sample::Blocked(cases) => Details::Cases(cases.clone()),
                Sample::Slow => Details::RetryAfter(7),
                _ => Details::None,
            }
        }
    }

    #[test]
    fn a_service_error_answers_the_status_of_its_kind_with_its_code_message_and_details() {
        let missing = ApiError::from(Sample::Missing);
        assert_eq!(missing.status_code(), StatusCode::NOT_FOUND);
        assert_eq!(body(&missing)["code"], "thing_not_found");
        assert_eq!(body(&missing)["message"], "no thing has the id 7");
        let blocked = ApiError::from(Sample::Blocked(vec!["c1".into(), "c2".into()]));
        assert_eq!(blocked.status_code(), StatusCode::CONFLICT);
        assert_eq!(body(&blocked)["code"], "thing_in_use");
        assert_eq!(body(&blocked)["cases"], serde_json::json!(["c1", "c2"]));
        let slow = ApiError::from(Sample::Slow).error_response();
        assert_eq!(slow.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(slow.headers().get("Retry-After").unwrap(), "7");
        assert_eq!(Sample::Slow.code(), Some("too_many_attempts"));
        assert_eq!(Sample::Db(DbError::Migration("x".into())).code(), None);
    }

    #[test]
    fn a_constraint_violation_inside_a_service_error_answers_409_and_other_database_failures_500() {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        let duplicate = ApiError::from(Sample::from(DbError::Query(Error::DatabaseError(
            Kind::UniqueViolation,
            Box::new("UNIQUE constraint failed".to_owned()),
        ))));
        assert_eq!(duplicate.status_code(), StatusCode::CONFLICT);
        assert_eq!(body(&duplicate)["code"], "already_exists");
        let broken = ApiError::from(Sample::from(DbError::Query(
            Error::BrokenTransactionManager,
        )));
        assert_eq!(broken.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
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
