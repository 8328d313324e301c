//! Open311 GeoReport v2 (<http://wiki.open311.org/GeoReport_v2>), JSON format, under `/open311/v2/`: discovery,
//! the services (the topics), posting a request (with an API key that may file tickets; the request becomes a
//! hotline ticket filed through the same queue as `POST /api/v1/tickets`) and the public request list.
//!
//! Every error here answers the spec's body, `[{"code": <HTTP status>, "description": "..."}]`, never the
//! `{"code","message"}` of `/api/v1`: query and body are parsed by hand so that no extractor answers in the other
//! shape. Public reads carry no personal data (see [`crate::service::intake::open311`]).

use crate::domain::access::Principal;
use crate::domain::access::{self, Permission};
use crate::error::{ApiError, InvalidField};
use crate::http::dto::parse_time;
use crate::http::state::AppState;
use crate::service::auth::{self as auth_service, AuthError};
use crate::service::intake::open311::{self as service, NewRequest, PublicRequest, RequestQuery};
use crate::service::intake::{self as intake, IntakeError};
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;

/// The largest request body accepted (a description is at most 5,000 characters).
pub const MAX_BODY_BYTES: usize = 64 << 10;
/// When the Open311 interface last changed (discovery's `changeset`).
pub const CHANGESET: &str = "2026-11-26T00:00:00Z";
/// The spec this implements.
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";

/// An error in the spec's shape: the HTTP status and a description; a 500 logs its cause and shows an error id.
#[derive(Debug)]
pub struct SpecError {
    status: StatusCode,
    description: String,
    cause: Option<anyhow::Error>,
}

impl SpecError {
    /// 400: a parameter is missing or malformed.
    pub fn bad_request(description: impl Into<String>) -> SpecError {
        SpecError::new(StatusCode::BAD_REQUEST, description)
    }

    /// 403: the API key is missing, unknown or may not do this.
    pub fn forbidden(description: impl Into<String>) -> SpecError {
        SpecError::new(StatusCode::FORBIDDEN, description)
    }

    /// 404: no such service or request (or route).
    pub fn not_found(description: impl Into<String>) -> SpecError {
        SpecError::new(StatusCode::NOT_FOUND, description)
    }

    fn new(status: StatusCode, description: impl Into<String>) -> SpecError {
        SpecError {
            status,
            description: description.into(),
            cause: None,
        }
    }

    fn internal(cause: impl Into<anyhow::Error>) -> SpecError {
        SpecError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            description: String::new(),
            cause: Some(cause.into()),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.description)
    }
}

/// One error of the spec's error body.
#[derive(Debug, Serialize)]
pub struct ErrorDto {
    /// The HTTP status.
    pub code: u16,
    /// What went wrong.
    pub description: String,
}

impl ResponseError for SpecError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let description = match &self.cause {
            Some(cause) => {
                let id = format!("{:016x}", rand::random::<u64>());
                tracing::error!(error_id = %id, cause = format!("{cause:#}"), "internal error (open311)");
                format!("an internal error occurred; quote error id {id} when reporting it")
            }
            None => self.description.clone(),
        };
        HttpResponse::build(self.status).json([ErrorDto {
            code: self.status.as_u16(),
            description,
        }])
    }
}

impl From<ApiError> for SpecError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Internal(cause) => SpecError::internal(cause),
            other => {
                // Open311 knows 400 for every parameter problem, 422 included.
                let status = match other.status_code() {
                    StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
                    s => s,
                };
                SpecError::new(status, other.to_string())
            }
        }
    }
}

impl From<service::Open311Error> for SpecError {
    /// The status of the one mapping in `error.rs` (a constraint violation is a 409 here too), in Open311's shape.
    fn from(e: service::Open311Error) -> Self {
        SpecError::from(ApiError::from(e))
    }
}

impl From<actix_web::error::BlockingError> for SpecError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        SpecError::internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}

/// Intake's field names as Open311 calls them.
fn open311_param(field: &str) -> &'static str {
    match field {
        "text" => "description",
        "caller.name" => "first_name/last_name",
        "caller.phone" => "phone",
        "address" => "address_string",
        "ticket_no" => "Idempotency-Key",
        "topic" => "service_code",
        _ => "request",
    }
}

impl From<IntakeError> for SpecError {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Invalid(InvalidField { field, message }) => {
                SpecError::bad_request(format!("{}: {message}", open311_param(field)))
            }
            IntakeError::Point(p) => SpecError::bad_request(format!("lat/long: {p}")),
            IntakeError::UnknownTopic(_) => SpecError::bad_request(format!("service_code: {e}")),
            other => ApiError::from(other).into(),
        }
    }
}

fn not_found_request(id: &str) -> SpecError {
    SpecError::not_found(format!(
        "there is no service request {:?}",
        id.chars().take(64).collect::<String>()
    ))
}

/// The parameters of a query string or a form body (the first of a repeated name wins).
fn params(raw: &[u8]) -> Result<HashMap<String, String>, SpecError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(raw)
        .map_err(|e| SpecError::bad_request(format!("the parameters could not be read: {e}")))?;
    let mut out = HashMap::with_capacity(pairs.len());
    for (k, v) in pairs {
        out.entry(k).or_insert(v);
    }
    Ok(out)
}

/// One endpoint of the discovery document.
#[derive(Debug, Serialize)]
pub struct EndpointDto {
    /// The spec it implements.
    pub specification: &'static str,
    /// Its base URL: resources are `url` + `/services.json` etc.
    pub url: String,
    /// When it last changed.
    pub changeset: &'static str,
    /// `production`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// MIME types served.
    pub formats: [&'static str; 1],
}

/// The discovery document.
#[derive(Debug, Serialize)]
pub struct DiscoveryDto {
    /// When the document last changed.
    pub changeset: &'static str,
    /// Whom to contact.
    pub contact: &'static str,
    /// How to get an API key.
    pub key_service: &'static str,
    /// The endpoints.
    pub endpoints: [EndpointDto; 1],
}

/// `GET /open311/v2/discovery.json`
pub async fn discovery(req: HttpRequest) -> web::Json<DiscoveryDto> {
    let info = req.connection_info();
    web::Json(DiscoveryDto {
        changeset: CHANGESET,
        contact: "北京12345市民服务热线 (Beijing 12345 citizen service hotline): call 12345",
        key_service: "API keys for partner apps are issued by the 12345 hotline centre (gridline apikey add NAME --role hotline_operator)",
        endpoints: [EndpointDto {
            specification: SPECIFICATION,
            url: format!("{}://{}/open311/v2", info.scheme(), info.host()),
            changeset: CHANGESET,
            kind: "production",
            formats: ["application/json"],
        }],
    })
}

/// A service (a topic of the taxonomy).
#[derive(Debug, Serialize)]
pub struct ServiceDto {
    /// The four-digit topic code.
    pub service_code: String,
    /// Chinese name.
    pub service_name: String,
    /// English name.
    pub description: String,
    /// No attributes to fill in.
    pub metadata: bool,
    /// `realtime`: the request id is answered at once.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Its names and class, comma-separated.
    pub keywords: String,
    /// The Chinese name of its class.
    pub group: String,
}

impl From<service::Service> for ServiceDto {
    fn from(s: service::Service) -> Self {
        ServiceDto {
            keywords: s.keywords(),
            service_code: s.code,
            service_name: s.name_zh,
            description: s.name_en,
            metadata: false,
            kind: "realtime",
            group: s.group,
        }
    }
}

/// `GET /open311/v2/services.json`
pub async fn services(state: web::Data<AppState>) -> Result<web::Json<Vec<ServiceDto>>, SpecError> {
    let db = state.db.clone();
    let rows = web::block(move || service::services(&db)).await??;
    Ok(web::Json(rows.into_iter().map(ServiceDto::from).collect()))
}

/// A service definition.
#[derive(Debug, Serialize)]
pub struct ServiceDefinitionDto {
    /// The code.
    pub service_code: String,
    /// None: a description and a location are all a request needs.
    pub attributes: [(); 0],
}

/// `GET /open311/v2/services/{code}.json`
pub async fn service_definition(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<ServiceDefinitionDto>, SpecError> {
    let code = req.match_info().get("code").unwrap_or_default().to_owned();
    let db = state.db.clone();
    let wanted = code.clone();
    let found = web::block(move || service::service(&db, &wanted)).await??;
    let s = found.ok_or(service::Open311Error::UnknownService(
        code.chars().take(16).collect(),
    ))?;
    Ok(web::Json(ServiceDefinitionDto {
        service_code: s.code,
        attributes: [],
    }))
}

/// The answer to posting a request.
#[derive(Debug, Serialize)]
pub struct PostedDto {
    /// The request's id (the ticket id).
    pub service_request_id: String,
    /// What happens next.
    pub service_notice: String,
    /// Accounts are not used.
    pub account_id: Option<String>,
}

/// The credential of a request: `X-Api-Key`, `Authorization: Bearer`, or the spec's `api_key` parameter.
fn credential(req: &HttpRequest, form: &HashMap<String, String>) -> Option<String> {
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    header("x-api-key")
        .or_else(|| crate::http::access::bearer(req))
        .or_else(|| form.get("api_key").map(|s| s.trim().to_owned()))
        .or_else(|| {
            params(req.query_string().as_bytes())
                .ok()?
                .remove("api_key")
                .map(|s| s.trim().to_owned())
        })
        .filter(|s| !s.is_empty())
}

async fn client(state: &AppState, key: Option<String>) -> Result<Principal, SpecError> {
    let key = key.ok_or_else(|| {
        SpecError::forbidden(
            "an API key is required: send api_key (or the X-Api-Key header); the 12345 hotline centre issues them",
        )
    })?;
    let db = state.db.clone();
    let now = state.clock.now();
    let principal = match web::block(move || auth_service::authenticate(&db, &key, now)).await? {
        Ok(p) => p,
        Err(AuthError::Db(e)) => return Err(SpecError::internal(e)),
        Err(_) => return Err(SpecError::forbidden("invalid api_key")),
    };
    if !access::allows(principal.role, Permission::FileTickets) {
        return Err(SpecError::forbidden(
            "this api_key may not post service requests",
        ));
    }
    Ok(principal)
}

/// The body as parameters: a form (the spec's) or a JSON object of strings and numbers.
fn body_params(req: &HttpRequest, body: &[u8]) -> Result<HashMap<String, String>, SpecError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/x-www-form-urlencoded")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match content_type.as_str() {
        "application/x-www-form-urlencoded" | "" => params(body),
        "application/json" => {
            let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
                SpecError::bad_request(format!("the body is not a JSON object: {e}"))
            })?;
            let serde_json::Value::Object(map) = value else {
                return Err(SpecError::bad_request("the body is not a JSON object"));
            };
            Ok(map
                .into_iter()
                .filter_map(|(k, v)| match v {
                    serde_json::Value::String(s) => Some((k, s)),
                    serde_json::Value::Number(n) => Some((k, n.to_string())),
                    _ => None,
                })
                .collect())
        }
        other => Err(SpecError::bad_request(format!(
            "send the request as application/x-www-form-urlencoded (or application/json), not {:?}",
            other.chars().take(60).collect::<String>()
        ))),
    }
}

/// `POST /open311/v2/requests.json`
pub async fn post_request(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, SpecError> {
    let body = match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            return Err(SpecError::bad_request(format!(
                "the body could not be read: {e}"
            )));
        }
        Err(_) => {
            return Err(SpecError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {} KiB", MAX_BODY_BYTES >> 10),
            ));
        }
    };
    let form = body_params(&req, &body)?;
    let principal = client(&state, credential(&req, &form)).await?;

    let field = |name: &str| form.get(name).cloned();
    let new = NewRequest {
        service_code: field("service_code"),
        lat: field("lat"),
        long: field("long"),
        address_string: field("address_string"),
        address_id: field("address_id"),
        description: field("description"),
        first_name: field("first_name"),
        last_name: field("last_name"),
        phone: field("phone"),
        media_url: field("media_url"),
        idempotency_key: req
            .headers()
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let code = new
        .service_code
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| SpecError::bad_request("service_code: is required; see services.json"))?
        .to_owned();
    let db = state.db.clone();
    let wanted = code.clone();
    let svc = web::block(move || service::service(&db, &wanted))
        .await??
        .ok_or_else(|| {
            SpecError::bad_request(format!(
                "service_code: there is no service {:?}; see services.json",
                code.chars().take(16).collect::<String>()
            ))
        })?;
    let (input, media_url) = service::ticket_input(&new, &svc, &state.index, &principal.id)?;
    let prepared = intake::prepare_ticket(&state.geo(), &input, &principal, state.clock.now())?;
    let filed = state
        .tickets
        .file(prepared, state.clock.now())
        .await
        .map_err(ApiError::from)?;
    let ticket = filed.item;
    if let (true, Some(url)) = (filed.created, media_url) {
        let db = state.db.clone();
        let id = ticket.id.clone();
        let now = state.clock.now();
        // The ticket is stored: a lost photo link must not make the client post it again.
        if let Err(e) = web::block(move || service::attach_media(&db, &id, &url, now)).await? {
            tracing::error!(ticket = %ticket.id, error = %e, "the media_url of an Open311 request was not stored");
        }
    }
    let mut notice = format!("已受理：{}", svc.name_zh);
    if let Some(limit) = svc.time_limit() {
        notice.push_str(&format!("，办理时限 {limit}"));
    }
    if ticket.location_precision == "unknown" {
        notice.push_str("；位置待工作人员确认");
    }
    notice.push('。');
    let body = [PostedDto {
        service_request_id: ticket.id,
        service_notice: notice,
        account_id: None,
    }];
    Ok(if filed.created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

/// A service request as the public sees it.
#[derive(Debug, Serialize)]
pub struct RequestDto {
    /// The request's id.
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: &'static str,
    /// The step of the loop in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_notes: Option<&'static str>,
    /// The service name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// The service code.
    pub service_code: String,
    /// The text, contact details blotted out (absent for a confidential caller).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who answers for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency_responsible: Option<String>,
    /// A notice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_notice: Option<String>,
    /// Received.
    pub requested_datetime: String,
    /// Last change.
    pub updated_datetime: String,
    /// When the time allowed runs out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_datetime: Option<String>,
    /// District, street and community.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Latitude (WGS-84, 3 decimals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Longitude.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long: Option<f64>,
    /// The photo link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
}

impl From<PublicRequest> for RequestDto {
    fn from(r: PublicRequest) -> Self {
        RequestDto {
            service_request_id: r.id,
            status: r.status.as_str(),
            status_notes: r.status_note,
            service_name: r.service_name,
            service_code: r.service_code,
            description: r.description,
            agency_responsible: r.agency,
            service_notice: r.notice,
            requested_datetime: r.requested,
            updated_datetime: r.updated,
            expected_datetime: r.expected,
            address: r.address,
            lat: r.point.map(|p| p.1),
            long: r.point.map(|p| p.0),
            media_url: r.media_url,
        }
    }
}

fn time_param(
    q: &HashMap<String, String>,
    name: &str,
) -> Result<Option<chrono::NaiveDateTime>, SpecError> {
    parse_time(name, q.get(name).map(String::as_str))
        .map_err(|e| SpecError::bad_request(e.to_string()))
}

/// The parameters of `GET /open311/v2/requests.json` (`jurisdiction_id` is the spec's, accepted and ignored).
const LIST_PARAMETERS: [&str; 8] = [
    "service_request_id",
    "service_code",
    "start_date",
    "end_date",
    "status",
    "page",
    "page_size",
    "jurisdiction_id",
];

/// `GET /open311/v2/requests.json`
pub async fn list_requests(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<Vec<RequestDto>>, SpecError> {
    let q = params(req.query_string().as_bytes())?;
    // A misspelt filter must not answer an unfiltered list (the same rule as /api/v1, see http::query).
    if let Some(name) = q.keys().find(|k| !LIST_PARAMETERS.contains(&k.as_str())) {
        return Err(SpecError::bad_request(format!(
            "{:?} is not a parameter of this list; it accepts {}",
            name.chars().take(40).collect::<String>(),
            LIST_PARAMETERS.join(", ")
        )));
    }
    let query = RequestQuery {
        ids: q.get("service_request_id").cloned(),
        service_codes: q.get("service_code").cloned(),
        start: time_param(&q, "start_date")?,
        end: time_param(&q, "end_date")?,
        status: q.get("status").cloned(),
        page: q.get("page").cloned(),
        page_size: q.get("page_size").cloned(),
    };
    let (filter, offset, limit) = service::filter_of(&query, state.clock.now())?;
    let st = state.clone();
    let rows =
        web::block(move || service::requests(&st.db, &st.index, &filter, offset, limit)).await??;
    Ok(web::Json(rows.into_iter().map(RequestDto::from).collect()))
}

/// `GET /open311/v2/requests/{id}.json`
pub async fn get_request(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<[RequestDto; 1]>, SpecError> {
    let id = req.match_info().get("id").unwrap_or_default().to_owned();
    if id.len() > 64 {
        return Err(not_found_request(&id));
    }
    let st = state.clone();
    let wanted = id.clone();
    let found = web::block(move || service::request(&st.db, &st.index, &wanted)).await??;
    let r = found.ok_or_else(|| not_found_request(&id))?;
    Ok(web::Json([RequestDto::from(r)]))
}

/// The answer for a path under `/open311/` that matches no route.
pub fn no_route(req: &HttpRequest) -> HttpResponse {
    SpecError::not_found(format!(
        "there is no {} {}; this server speaks GeoReport v2 in JSON (see discovery.json)",
        req.method(),
        req.path()
    ))
    .error_response()
}

/// Whether a path belongs to the Open311 interface.
pub fn is_open311(path: &str) -> bool {
    path.starts_with("/open311/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constraint_violation_answers_409_in_the_open311_shape_and_other_database_failures_500() {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        let db = |e| service::Open311Error::Db(crate::db::DbError::Query(e));
        let duplicate = SpecError::from(db(Error::DatabaseError(
            Kind::UniqueViolation,
            Box::new("UNIQUE constraint failed".to_owned()),
        )));
        assert_eq!(duplicate.status, StatusCode::CONFLICT);
        assert!(
            duplicate.cause.is_none(),
            "a client's conflict, not an internal error"
        );
        let broken = SpecError::from(db(Error::BrokenTransactionManager));
        assert_eq!(broken.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
