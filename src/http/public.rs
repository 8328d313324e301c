//! `POST /api/v1/public/status`: 阳光办理, a caller's own lookup of their ticket, without signing in (see
//! [`crate::service::cases::public_status`] for what it shows and how guessing is stopped).
//!
//! Why POST with a JSON body rather than GET with a query: the ticket number and the phone digits then stay out
//! of access logs, proxies and browser history, which record URLs but not bodies.

use crate::domain::ids::is_ticket_no;
use crate::domain::open311::status_note;
use crate::domain::time::rfc3339 as time;
use crate::error::ApiError;
use crate::http::client_addr;
use crate::http::state::AppState;
use crate::service::cases::public_status::{self as service, PublicStatus};
use actix_web::{HttpRequest, web};
use serde::{Deserialize, Serialize};

/// The body of `POST /api/v1/public/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// The hotline's ticket number, as the operator read it out (e.g. `BJ20261206-9001`).
    pub ticket_no: String,
    /// The last four digits of the phone the caller called from.
    pub phone_last4: String,
}

/// What the caller sees: no name, phone, address or place.
#[derive(Debug, Serialize)]
pub struct StatusDto {
    /// The ticket number asked about.
    pub ticket_no: String,
    /// Received (RFC 3339, UTC).
    pub received_at: String,
    /// The case's workflow status.
    pub status: String,
    /// The status in words, as the hotline tells callers.
    pub status_note: Option<&'static str>,
    /// `2h`, `24h`, `7d` or `15d`, once dispatched.
    pub time_class: Option<String>,
    /// By when the caller is to be contacted, once dispatched.
    pub respond_due_at: Option<String>,
    /// By when the work is to be done, once dispatched.
    pub complete_due_at: Option<String>,
    /// The reply to the caller (contact details blotted out), once replied.
    pub reply: Option<String>,
    /// When it was replied.
    pub replied_at: Option<String>,
}

impl From<PublicStatus> for StatusDto {
    fn from(s: PublicStatus) -> Self {
        StatusDto {
            status_note: status_note(&s.status),
            ticket_no: s.ticket_no,
            received_at: time(s.received_at),
            status: s.status,
            time_class: s.time_class,
            respond_due_at: s.respond_due_at.map(time),
            complete_due_at: s.complete_due_at.map(time),
            reply: s.reply,
            replied_at: s.replied_at.map(time),
        }
    }
}

fn not_found() -> ApiError {
    ApiError::not_found(
        "ticket_not_found",
        "no ticket with this number and these phone digits; check both, or call 12345",
    )
}

fn throttled(retry_after_secs: u64) -> ApiError {
    ApiError::Throttled {
        retry_after_secs,
        message: format!("too many lookups; try again in {retry_after_secs} s or call 12345"),
    }
}

/// `POST /api/v1/public/status` (no authentication)
pub async fn status(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<StatusRequest>,
) -> Result<web::Json<StatusDto>, ApiError> {
    let StatusRequest {
        ticket_no,
        phone_last4,
    } = body.into_inner();
    let ticket_no = ticket_no.trim().to_owned();
    // The client's address as sign-in throttling finds it: X-Forwarded-For only from configured proxies.
    let address = client_addr::client_key(&req, &state.trusted_proxies);
    let now = state.clock.now();
    let limits = &state.public_lookups;
    limits
        .per_address
        .attempt(&address, now)
        .map_err(throttled)?;
    if !is_ticket_no(&ticket_no) {
        return Err(ApiError::bad_request(
            "invalid_field",
            "ticket_no: give the ticket number as the hotline read it out (letters, digits and - _ . /)",
        ));
    }
    let last4 = phone_last4.trim().to_owned();
    if !(last4.len() == 4 && last4.bytes().all(|b| b.is_ascii_digit())) {
        return Err(ApiError::bad_request(
            "invalid_field",
            "phone_last4: give the last four digits of the phone you called from",
        ));
    }
    limits
        .per_ticket
        .attempt(&ticket_no, now)
        .map_err(throttled)?;
    let db = state.db.clone();
    let found = web::block(move || service::lookup(&db, &ticket_no, &last4)).await??;
    found.map(|s| web::Json(s.into())).ok_or_else(not_found)
}
