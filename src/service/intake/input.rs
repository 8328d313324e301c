//! What intake accepts: the ticket and report as sent, their limits, and the checks of single fields.

use crate::domain::topic::TopicCode;
use crate::error::InvalidField;
use crate::geo::lonlat::{Lonlat, parse_crs};
use crate::service::intake::IntakeError;
use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The caller of a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallerInput {
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: String,
    /// The caller asked that their identity be kept from handlers.
    #[serde(default)]
    pub confidential: bool,
}

/// A hotline ticket as the hotline sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketInput {
    /// The hotline's ticket number (unique).
    pub ticket_no: String,
    /// When the hotline received it (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<DateTime<FixedOffset>>,
    /// Channel.
    pub channel: String,
    /// Request type.
    pub request_type: String,
    /// Topic code (four digits).
    pub topic: String,
    /// What the caller said.
    pub text: String,
    /// The caller.
    pub caller: CallerInput,
    /// Address as the caller gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The point, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationInput>,
}

/// A point in any supported CRS, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationInput {
    /// Longitude (or x).
    pub lon: f64,
    /// Latitude (or y).
    pub lat: f64,
    /// `wgs84` (default), `gcj02` or `bd09`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crs: Option<String>,
}

/// A patrol report as the phone sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportInput {
    /// The phone's UUID for it (generated here when absent; send it so a retry is recognised).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When it was seen (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<DateTime<FixedOffset>>,
    /// Topic code (four digits).
    pub topic: String,
    /// Description.
    pub text: String,
    /// Where.
    pub location: LocationInput,
    /// SHA-256 (hex) of the photos that go with it.
    #[serde(default)]
    pub photos: Vec<String>,
    /// Fixed on the spot (随手做).
    #[serde(default)]
    pub fixed_on_the_spot: bool,
}

/// Channels a ticket can come by.
pub const CHANNELS: [&str; 6] = ["phone", "web", "wechat", "message_board", "app", "other"];
/// Channels by which a citizen may file without a phone number.
pub const ONLINE_CHANNELS: [&str; 4] = ["web", "wechat", "message_board", "app"];
/// Request types (咨询, 求助, 投诉, 举报, 建议, 表扬).
pub const REQUEST_TYPES: [&str; 6] = [
    "enquiry",
    "help",
    "complaint",
    "report",
    "suggestion",
    "praise",
];
/// The most photos a report may name.
pub const MAX_PHOTOS: usize = 20;
/// The longest description of a ticket or report.
pub const MAX_TEXT_CHARS: usize = 5000;
pub(super) const MAX_NAME_CHARS: usize = 50;
pub(super) const MAX_PHONE_CHARS: usize = 20;

pub(super) fn invalid(field: &'static str, message: impl Into<String>) -> IntakeError {
    IntakeError::Invalid(InvalidField::new(field, message))
}

/// A trimmed text field, checked for presence, length and control characters.
pub(crate) fn text(
    field: &'static str,
    value: &str,
    max: usize,
    required: bool,
) -> Result<String, IntakeError> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err(invalid(field, "is required"));
    }
    if v.chars().count() > max {
        return Err(invalid(field, format!("is longer than {max} characters")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(v.to_owned())
}

pub(super) fn one_of(
    field: &'static str,
    value: &str,
    allowed: &[&str],
) -> Result<String, IntakeError> {
    allowed
        .iter()
        .find(|a| **a == value)
        .map(|a| (*a).to_owned())
        .ok_or_else(|| {
            invalid(
                field,
                format!("{value:?} is not one of {}", allowed.join(", ")),
            )
        })
}

pub(super) fn point(loc: &LocationInput) -> Result<Lonlat, IntakeError> {
    Ok(Lonlat::from_numbers(
        loc.lon,
        loc.lat,
        parse_crs(loc.crs.as_deref())?,
    )?)
}

pub(super) fn content_hash<T: Serialize>(input: &T) -> String {
    let bytes = serde_json::to_vec(input).unwrap_or_default();
    crate::auth::token::hex(&Sha256::digest(&bytes))
}

/// A topic code as sent: four digits (a topic, not a class); whether the taxonomy has it is checked when it is filed.
pub(super) fn topic(raw: &str) -> Result<String, IntakeError> {
    let topic = raw.trim().to_owned();
    TopicCode::parse(&topic)
        .filter(|t| !t.is_class())
        .ok_or_else(|| {
            IntakeError::UnknownTopic(format!(
                "{topic:?} is not a four-digit topic code; see GET /api/v1/topics"
            ))
        })?;
    Ok(topic)
}

/// The time sent, or `now` when none was.
pub(super) fn at_or(t: Option<DateTime<FixedOffset>>, now: NaiveDateTime) -> NaiveDateTime {
    t.map_or(now, |t| t.naive_utc())
}

/// A photo's SHA-256 as stored (lower-case hex), if `s` is one.
pub fn photo_hash(s: &str) -> Option<String> {
    let p = s.trim().to_ascii_lowercase();
    (p.len() == 64 && p.bytes().all(|b| b.is_ascii_hexdigit())).then_some(p)
}
