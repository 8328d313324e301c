//! Intake: a hotline ticket or a patrol report is checked, placed (by its point, or by the names in its address),
//! given the responsibility chain of its place at that moment, and merged into a case (并单) or opens one — in one
//! transaction. Filing is idempotent: the same ticket number (or report id) with the same content answers with the
//! first result; with different content it is refused. Nothing that cannot be placed is dropped: it opens an
//! unplaced case that waits for a person to place it.

pub mod open311;
pub mod pipeline;
pub mod ticket_import;
pub mod ticket_queue;

use crate::db::{Db, DbConnection, DbError};
use crate::domain::access::Principal;
use crate::domain::ids::{
    CaseId, MAX_TICKET_NO_CHARS, ReportId, TicketId, is_ticket_no, random_id,
};
use crate::domain::merge::{self, Candidate, Decision, IntakePolicy, Item, TimeRefusal};
use crate::domain::topic::{MergeRule, TopicCode};
use crate::error::{ErrorKind, InvalidField, ServiceError};
use crate::geo::address::AddressMatcher;
use crate::geo::index::{Method, PlaceIndex};
use crate::geo::lonlat::{Lonlat, PointError, parse_crs};
use crate::service::admin::topics::{self, TopicError};
use crate::service::analytics::counts;
use crate::service::chain::ChainError;
use crate::service::chain::index::SharedChainIndex;
use crate::store::cases::{self as store, CaseRow, DecisionRow, ReportRow, TicketRow};
use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Errors of intake.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntakeError {
    /// A field is missing or malformed.
    #[error(transparent)]
    Invalid(#[from] InvalidField),
    /// The point is malformed.
    #[error("location: {0}")]
    Point(#[from] PointError),
    /// The topic is not in the taxonomy (or not a four-digit topic, or inactive).
    #[error("{0}")]
    UnknownTopic(String),
    /// The ticket number was used before for a different ticket.
    #[error("ticket number {0} was already used for a different ticket")]
    TicketNoReused(String),
    /// The report id was used before for a different report.
    #[error("report id {0} was already used for a different report")]
    ReportIdReused(String),
    /// The item's time is one nobody could mean: in the future beyond the policy's clock skew, or before its floor.
    #[error("{field}: {refusal}")]
    Time {
        /// `received_at` or `reported_at`.
        field: &'static str,
        /// Why.
        refusal: TimeRefusal,
    },
    /// A report's point lies outside every cell.
    #[error("the point lies outside every grid cell (and is more than 200 m from the nearest)")]
    OutsideArea,
    /// The chain or taxonomy could not be read.
    #[error("{0}")]
    Lookup(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl ServiceError for IntakeError {
    /// The kind and code (the HTTP answer's and a pushed report's); internal for a failure of ours (the database,
    /// the chain or taxonomy lookup).
    fn kind(&self) -> ErrorKind {
        match self {
            IntakeError::Invalid(_) => ErrorKind::Invalid("invalid_field"),
            IntakeError::Point(p) => ErrorKind::Invalid(p.code()),
            IntakeError::UnknownTopic(_) => ErrorKind::Unprocessable("unknown_topic"),
            IntakeError::TicketNoReused(_) => ErrorKind::Conflict("ticket_no_reused"),
            IntakeError::ReportIdReused(_) => ErrorKind::Conflict("report_id_reused"),
            IntakeError::OutsideArea => ErrorKind::Unprocessable("outside_jurisdiction"),
            IntakeError::Time { refusal, .. } => ErrorKind::Unprocessable(refusal.code()),
            IntakeError::Lookup(_) | IntakeError::Db(_) => ErrorKind::Internal,
        }
    }
}

crate::error::from_query_error!(IntakeError);

impl From<TopicError> for IntakeError {
    fn from(e: TopicError) -> Self {
        match e {
            TopicError::Db(db) => IntakeError::Db(db),
            other => IntakeError::Lookup(other.to_string()),
        }
    }
}

impl From<ChainError> for IntakeError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Db(db) => IntakeError::Db(db),
            other => IntakeError::Lookup(other.to_string()),
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> IntakeError {
    IntakeError::Invalid(InvalidField::new(field, message))
}

/// The source of the cases a leader makes from hot spot clusters (未诉先办); intake never changes it.
pub const PROACTIVE: &str = "proactive";

/// What intake needs of the geography.
#[derive(Debug, Clone, Copy)]
pub struct Geo<'a> {
    /// The place index.
    pub index: &'a PlaceIndex,
    /// The address matcher.
    pub addresses: &'a AddressMatcher,
    /// The responsibility chain.
    pub chain: &'a SharedChainIndex,
}

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
const MAX_NAME_CHARS: usize = 50;
const MAX_PHONE_CHARS: usize = 20;
/// At most this many candidate cases are compared.
const MAX_CANDIDATES: i64 = 50;

/// How precisely an item is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// A point inside a cell.
    Point,
    /// A point near (within 200 m of) a cell.
    Cell,
    /// Community named in the address.
    Community,
    /// Street named in the address.
    Street,
    /// District named in the address.
    District,
    /// Not placed.
    Unknown,
}

impl Precision {
    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Point => "point",
            Precision::Cell => "cell",
            Precision::Community => "community",
            Precision::Street => "street",
            Precision::District => "district",
            Precision::Unknown => "unknown",
        }
    }
}

/// Where an item was placed.
#[derive(Debug, Clone)]
struct Placement {
    precision: Precision,
    place_code: Option<String>,
    /// The point, when the item was placed by it.
    point: Option<(f64, f64)>,
    building: Option<String>,
}

impl Placement {
    fn district(&self) -> String {
        self.place_code
            .as_deref()
            .and_then(|c| c.get(..6))
            .unwrap_or("")
            .to_owned()
    }
}

fn by_point(geo: &Geo<'_>, p: Lonlat) -> Option<Placement> {
    let l = geo.index.locate(p.lon, p.lat)?;
    Some(Placement {
        precision: match l.method {
            Method::Exact => Precision::Point,
            Method::Snapped => Precision::Cell,
        },
        place_code: Some(l.cell.code.clone()),
        point: Some((p.lon, p.lat)),
        building: l.building.map(|(b, _)| b.code.clone()),
    })
}

fn by_address(geo: &Geo<'_>, text: &str) -> Placement {
    use crate::geo::place::Level;
    match geo.addresses.find(text) {
        Some(m) => Placement {
            precision: match m.level {
                Level::Community => Precision::Community,
                Level::Street => Precision::Street,
                _ => Precision::District,
            },
            place_code: Some(m.code),
            point: None,
            building: None,
        },
        None => Placement {
            precision: Precision::Unknown,
            place_code: None,
            point: None,
            building: None,
        },
    }
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

fn one_of(field: &'static str, value: &str, allowed: &[&str]) -> Result<String, IntakeError> {
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

fn point(loc: &LocationInput) -> Result<Lonlat, IntakeError> {
    Ok(Lonlat::from_numbers(
        loc.lon,
        loc.lat,
        parse_crs(loc.crs.as_deref())?,
    )?)
}

fn content_hash<T: Serialize>(input: &T) -> String {
    let bytes = serde_json::to_vec(input).unwrap_or_default();
    crate::auth::token::hex(&Sha256::digest(&bytes))
}

/// A link of a stored chain snapshot: the kind and the assignment that answered at the time (history is never
/// overwritten, so the assignment id pins the person or unit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotLink {
    /// Kind of link.
    pub kind: String,
    /// The assignment that answered, if any.
    pub assignment_id: Option<String>,
    /// Whether a level above answered (属地兜底).
    pub fallback: bool,
}

/// Writes a snapshot compactly, one `kind=assignment` per link separated by spaces (`kind^=` when a level above
/// answered, nothing after `=` when nobody did): about half the bytes of JSON, on every ticket, report and case.
pub fn encode_snapshot(links: &[SnapshotLink]) -> String {
    let mut out = String::with_capacity(links.len() * 56);
    for (k, l) in links.iter().enumerate() {
        if k > 0 {
            out.push(' ');
        }
        out.push_str(&l.kind);
        if l.fallback {
            out.push('^');
        }
        out.push('=');
        out.push_str(l.assignment_id.as_deref().unwrap_or(""));
    }
    out
}

/// Reads a snapshot written by [`encode_snapshot`] (or the JSON array of earlier versions); malformed parts are
/// skipped.
pub fn decode_snapshot(stored: &str) -> Vec<SnapshotLink> {
    if stored.trim_start().starts_with('[') {
        return serde_json::from_str(stored).unwrap_or_default();
    }
    stored
        .split_whitespace()
        .filter_map(|part| {
            let (kind, id) = part.split_once('=')?;
            let (kind, fallback) = match kind.strip_suffix('^') {
                Some(k) => (k, true),
                None => (kind, false),
            };
            Some(SnapshotLink {
                kind: kind.to_owned(),
                assignment_id: Some(id.to_owned()).filter(|i| !i.is_empty()),
                fallback,
            })
        })
        .collect()
}

/// The chain of a place at a moment, as stored with tickets, reports and cases.
pub fn snapshot(geo: &Geo<'_>, place: Option<&str>, at: NaiveDateTime) -> String {
    let links: Vec<SnapshotLink> = place
        .and_then(|code| geo.chain.chain_at(geo.index, code, at))
        .map(|c| {
            c.links
                .into_iter()
                .map(|l| SnapshotLink {
                    kind: l.kind.as_str().to_owned(),
                    assignment_id: l.assignment.map(|a| a.id.clone()),
                    fallback: l.fallback,
                })
                .collect()
        })
        .unwrap_or_default();
    encode_snapshot(&links)
}

/// What filing needs inside one transaction: the intake policy, the merge rules of the topics met so far (read
/// once per batch, not once per item), the server's clock reading the items' times are checked against, and the
/// cases the items touched, whose heat-map counts [`Rules::count_touched`] brings up to date once for them all.
#[derive(Debug)]
pub struct Rules {
    policy: IntakePolicy,
    merge: HashMap<String, MergeRule>,
    now: NaiveDateTime,
    touched: Vec<String>,
}

impl Rules {
    /// Reads the policy; items are checked against `now` (the server's clock).
    pub fn load(c: &mut DbConnection, now: NaiveDateTime) -> Result<Rules, IntakeError> {
        Ok(Rules {
            policy: topics::intake_policy(c)?,
            merge: HashMap::new(),
            now,
            touched: Vec::new(),
        })
    }

    /// Brings the counts of every case filed into since the last call up to date (one call for them all); call it
    /// in the transaction that stored the items, after them.
    pub fn count_touched(&mut self, c: &mut DbConnection) -> diesel::QueryResult<()> {
        let touched = std::mem::take(&mut self.touched);
        counts::cases_changed(c, self.now, &touched)
    }

    /// Refuses a time nobody could mean (every way in — the API, Open311, imports, phones, the simulator — files
    /// through here).
    fn check_time(&self, field: &'static str, at: NaiveDateTime) -> Result<(), IntakeError> {
        self.policy
            .check_time(at, self.now)
            .map_err(|refusal| IntakeError::Time { field, refusal })
    }

    fn merge_rule(&mut self, c: &mut DbConnection, code: &str) -> Result<MergeRule, IntakeError> {
        if let Some(rule) = self.merge.get(code) {
            return Ok(*rule);
        }
        let rule = topic_rule(c, code)?;
        self.merge.insert(code.to_owned(), rule);
        Ok(rule)
    }
}

fn topic_rule(c: &mut DbConnection, code: &str) -> Result<MergeRule, IntakeError> {
    let parsed = TopicCode::parse(code)
        .filter(|t| !t.is_class())
        .ok_or_else(|| {
            IntakeError::UnknownTopic(format!(
                "{code:?} is not a four-digit topic code; see GET /api/v1/topics"
            ))
        })?;
    crate::store::topics::get(c, parsed.as_str())?
        .filter(|r| r.active)
        .and_then(|r| topics::from_row(&r))
        .map(|t| t.merge)
        .ok_or_else(|| {
            IntakeError::UnknownTopic(format!(
                "no active topic has the code {code}; see GET /api/v1/topics"
            ))
        })
}

/// What a new item brings to merging.
struct NewItem<'a> {
    kind: &'static str,
    id: &'a str,
    at: NaiveDateTime,
    topic: &'a str,
    placement: &'a Placement,
    chain: &'a str,
    source: &'static str,
}

/// The outcome of filing.
#[derive(Debug, Clone)]
pub struct Filed<T> {
    /// The stored item.
    pub item: T,
    /// Its case, as it is now.
    pub case: CaseRow,
    /// The decision that put it there.
    pub decision: Option<DecisionRow>,
    /// False when the same item had been filed before (this is the first result again).
    pub created: bool,
}

fn candidates(
    c: &mut DbConnection,
    item: &NewItem<'_>,
    rule: &MergeRule,
) -> Result<Vec<CaseRow>, IntakeError> {
    let since = item.at - Duration::hours(i64::from(rule.window_hours));
    let mut found = Vec::new();
    if let Some((lon, lat)) = item.placement.point.filter(|_| rule.radius_m > 0) {
        let r = f64::from(rule.radius_m);
        let dlat = r / 110_574.0;
        let dlon = r / (111_320.0 * lat.to_radians().cos().max(0.1));
        found = store::candidates_near(
            c,
            item.topic,
            (lon - dlon, lat - dlat, lon + dlon, lat + dlat),
            since,
            MAX_CANDIDATES,
        )?;
    }
    if let Some(b) = item
        .placement
        .building
        .as_deref()
        .filter(|_| rule.same_building)
    {
        for case in store::candidates_at_building(c, item.topic, b, since, MAX_CANDIDATES)? {
            if !found.iter().any(|f| f.id == case.id) {
                found.push(case);
            }
        }
    }
    found.sort_by(|a, b| (a.opened_at, &a.id).cmp(&(b.opened_at, &b.id)));
    Ok(found)
}

/// Decides where the item goes: an open case (read) or a new one (not stored yet: `true`); the caller updates the
/// case's counts, stores it with [`store_case`], then stores the item and the decision.
fn place_in_case(
    c: &mut DbConnection,
    item: &NewItem<'_>,
    rule: &MergeRule,
    actor: &str,
    now: NaiveDateTime,
) -> Result<(CaseRow, DecisionRow, bool), IntakeError> {
    let found = candidates(c, item, rule)?;
    let cands: Vec<Candidate<'_>> = found
        .iter()
        .map(|f| Candidate {
            case_id: &f.id,
            point: f.lon.zip(f.lat),
            building: f.building_code.as_deref(),
            last_item_at: f.last_item_at,
        })
        .collect();
    let decision = merge::decide(
        &Item {
            at: item.at,
            point: item.placement.point,
            building: item.placement.building.as_deref(),
        },
        rule,
        item.topic,
        &cands,
    );
    let stamp = now;
    let mut row = DecisionRow {
        id: random_id("mrg_"),
        case_id: String::new(),
        item_kind: item.kind.to_owned(),
        item_id: item.id.to_owned(),
        outcome: String::new(),
        candidate_case_id: None,
        distance_m: None,
        age_hours: None,
        score: None,
        reason: String::new(),
        actor: actor.to_owned(),
        decided_at: stamp,
        undone_at: None,
    };
    let (case, new) = match decision {
        Decision::Joined {
            case_id,
            distance_m,
            age_hours,
            score,
            reason,
        } => {
            let case = found
                .into_iter()
                .find(|f| f.id == case_id)
                .ok_or_else(|| IntakeError::Lookup("the chosen case vanished".into()))?;
            row.outcome = "joined".into();
            row.candidate_case_id = Some(case_id);
            row.distance_m = Some(distance_m);
            row.age_hours = Some(age_hours);
            row.score = Some(score);
            row.reason = reason;
            (case, false)
        }
        Decision::Opened { reason } => {
            row.outcome = "opened".into();
            row.reason = reason;
            (new_case(item, stamp), true)
        }
    };
    row.case_id = case.id.clone();
    Ok((case, row, new))
}

fn new_case(item: &NewItem<'_>, stamp: NaiveDateTime) -> CaseRow {
    let p = item.placement;
    CaseRow {
        id: CaseId::generate().to_string(),
        district_code: p.district(),
        place_code: p.place_code.clone(),
        lon: p.point.map(|x| x.0),
        lat: p.point.map(|x| x.1),
        building_code: p.building.clone(),
        topic_code: item.topic.to_owned(),
        status: "received".into(),
        source: item.source.to_owned(),
        priority: 0,
        group_request: false,
        repeat_request: false,
        ticket_count: 0,
        caller_count: 0,
        report_count: 0,
        opened_at: item.at,
        last_item_at: item.at,
        chain: item.chain.to_owned(),
        version: 0,
        created_at: stamp,
        updated_at: stamp,
    }
}

/// Sets a case's group flag, priority and source from its counts, bumps its version and stores it (inserts it when
/// `new`).
fn store_case(
    c: &mut DbConnection,
    mut case: CaseRow,
    policy: &IntakePolicy,
    new: bool,
    now: NaiveDateTime,
) -> diesel::QueryResult<CaseRow> {
    case.group_request = policy.is_group(u32::try_from(case.caller_count).unwrap_or(0));
    case.priority = policy.priority(case.group_request);
    // A proactive case stays one whatever joins it later: it was made by a leader, not by a call or a patrol.
    case.source = match (case.ticket_count > 0, case.report_count > 0) {
        _ if case.source == PROACTIVE => PROACTIVE,
        (true, true) => "mixed",
        (false, true) => "patrol",
        _ => "hotline",
    }
    .into();
    case.version += 1;
    case.updated_at = now;
    if new {
        store::insert_case(c, &case)?;
    } else {
        store::update_case(c, &case)?;
    }
    Ok(case)
}

/// Recomputes a case's counts and flags from its items (after items moved out of it), and stores it as changed at
/// `now`.
pub fn refresh_case(
    c: &mut DbConnection,
    mut case: CaseRow,
    policy: &IntakePolicy,
    now: NaiveDateTime,
) -> diesel::QueryResult<CaseRow> {
    let (tickets, callers, repeat) = store::ticket_stats(c, &case.id)?;
    let reports = store::report_count(c, &case.id)?;
    case.ticket_count = i32::try_from(tickets).unwrap_or(i32::MAX);
    case.caller_count = i32::try_from(callers).unwrap_or(i32::MAX);
    case.report_count = i32::try_from(reports).unwrap_or(i32::MAX);
    case.repeat_request = repeat;
    store_case(c, case, policy, false, now)
}

fn at_or(t: Option<DateTime<FixedOffset>>, now: NaiveDateTime) -> NaiveDateTime {
    t.map_or(now, |t| t.naive_utc())
}

/// A ticket checked and placed, ready to store.
#[derive(Debug, Clone)]
pub struct PreparedTicket {
    row: TicketRow,
    placement: Placement,
}

impl PreparedTicket {
    /// The hotline's number.
    pub fn ticket_no(&self) -> &str {
        &self.row.ticket_no
    }

    /// The hash of the content as sent.
    pub fn content_sha256(&self) -> &str {
        &self.row.content_sha256
    }
}

/// Checks a ticket, places it and takes its chain snapshot (no database access); `now` is the server's clock (the
/// time of a ticket sent without one).
pub fn prepare_ticket(
    geo: &Geo<'_>,
    input: &TicketInput,
    actor: &Principal,
    now: NaiveDateTime,
) -> Result<PreparedTicket, IntakeError> {
    let ticket_no = text("ticket_no", &input.ticket_no, MAX_TICKET_NO_CHARS, true)?;
    if !is_ticket_no(&ticket_no) {
        return Err(invalid(
            "ticket_no",
            "may hold only letters, digits and - _ . /",
        ));
    }
    let channel = one_of("channel", &input.channel, &CHANNELS)?;
    let request_type = one_of("request_type", &input.request_type, &REQUEST_TYPES)?;
    let body = text("text", &input.text, MAX_TEXT_CHARS, true)?;
    let caller_name = text("caller.name", &input.caller.name, MAX_NAME_CHARS, false)?;
    // A call always shows a number; a citizen app or web form may file without one (an anonymous caller, who is
    // never counted as a repeat nor as the same caller as anyone else).
    let caller_phone = text(
        "caller.phone",
        &input.caller.phone,
        MAX_PHONE_CHARS,
        !ONLINE_CHANNELS.contains(&channel.as_str()),
    )?;
    if !caller_phone
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
    {
        return Err(invalid(
            "caller.phone",
            "may hold only digits, +, - and spaces",
        ));
    }
    let address = text(
        "address",
        input.address.as_deref().unwrap_or(""),
        crate::geo::address::MAX_ADDRESS_CHARS,
        false,
    )?;
    let topic = input.topic.trim().to_owned();
    TopicCode::parse(&topic)
        .filter(|t| !t.is_class())
        .ok_or_else(|| {
            IntakeError::UnknownTopic(format!(
                "{topic:?} is not a four-digit topic code; see GET /api/v1/topics"
            ))
        })?;
    let given = input.location.as_ref().map(point).transpose()?;
    let received_at = at_or(input.received_at, now);
    let placement = given
        .and_then(|p| by_point(geo, p))
        .unwrap_or_else(|| by_address(geo, &address));
    let chain = snapshot(geo, placement.place_code.as_deref(), received_at);
    Ok(PreparedTicket {
        row: TicketRow {
            id: TicketId::generate().to_string(),
            ticket_no,
            content_sha256: content_hash(input),
            case_id: String::new(),
            district_code: placement.district(),
            received_at,
            channel,
            request_type,
            topic_code: topic,
            body,
            caller_name,
            caller_phone,
            caller_confidential: input.caller.confidential,
            address_text: address,
            lon: given.map(|p| p.lon),
            lat: given.map(|p| p.lat),
            location_precision: placement.precision.as_str().to_owned(),
            place_code: placement.place_code.clone(),
            building_code: placement.building.clone(),
            chain,
            repeat_of: None,
            created_by: actor.username.clone(),
            created_at: now,
        },
        placement,
    })
}

/// Stores a prepared ticket inside the caller's transaction: the first result again when the same ticket was
/// filed before, `TicketNoReused` when its number was used for another. Its case is noted in `rules`: the caller
/// calls [`Rules::count_touched`] before its transaction ends ([`file_batch`] does).
pub fn store_ticket(
    c: &mut DbConnection,
    prepared: &PreparedTicket,
    rules: &mut Rules,
) -> Result<Filed<TicketRow>, IntakeError> {
    let mut ticket = prepared.row.clone();
    if let Some(t) = store::ticket_by_no(c, &ticket.ticket_no)? {
        if t.content_sha256 != ticket.content_sha256 {
            return Err(IntakeError::TicketNoReused(ticket.ticket_no));
        }
        let (case_id, id) = (t.case_id.clone(), t.id.clone());
        return first_result(c, t, &case_id, &id);
    }
    rules.check_time("received_at", ticket.received_at)?;
    let rule = rules.merge_rule(c, &ticket.topic_code)?;
    let since = ticket.received_at - Duration::days(i64::from(rules.policy.repeat_window_days));
    let anonymous = ticket.caller_phone.is_empty();
    ticket.repeat_of = if anonymous {
        None
    } else {
        store::earlier_ticket_of_caller(
            c,
            &ticket.caller_phone,
            &ticket.topic_code,
            since,
            ticket.received_at,
        )?
        .map(|t| t.id)
    };
    let item = NewItem {
        kind: "ticket",
        id: &ticket.id,
        at: ticket.received_at,
        topic: &ticket.topic_code,
        placement: &prepared.placement,
        chain: &ticket.chain,
        source: "hotline",
    };
    let (mut case, decision, new) = place_in_case(c, &item, &rule, "system", rules.now)?;
    let new_caller = anonymous
        || case.ticket_count == 0
        || !store::caller_in_case(c, &case.id, &ticket.caller_phone)?;
    case.last_item_at = case.last_item_at.max(ticket.received_at);
    case.opened_at = case.opened_at.min(ticket.received_at);
    case.ticket_count += 1;
    case.caller_count += i32::from(new_caller);
    case.repeat_request |= ticket.repeat_of.is_some();
    let case = store_case(c, case, &rules.policy, new, rules.now)?;
    ticket.case_id = case.id.clone();
    store::insert_ticket(c, &ticket)?;
    store::insert_decision(c, &decision)?;
    rules.touched.push(case.id.clone());
    Ok(Filed {
        item: ticket,
        case,
        decision: Some(decision),
        created: true,
    })
}

/// Whether the error is a unique-key violation (the same ticket filed concurrently on PostgreSQL).
pub fn is_unique_violation(e: &IntakeError) -> bool {
    matches!(
        e,
        IntakeError::Db(DbError::Query(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )))
    )
}

/// Files many items in one transaction, each in its own savepoint so that one bad item never undoes the others;
/// one result per item, in order. Items must come in time order for merging to see them as they happened; their
/// times are checked against `now` (the server's clock). The heat-map counts of every case the items touched are
/// brought up to date once, at the end of the transaction.
pub fn file_batch<P, T>(
    db: &Db,
    now: NaiveDateTime,
    prepared: Vec<Result<P, IntakeError>>,
    store: impl Fn(&mut DbConnection, &P, &mut Rules) -> Result<T, IntakeError>,
) -> Result<Vec<Result<T, IntakeError>>, IntakeError> {
    db.writer()?.transaction(|c| {
        let mut rules = Rules::load(c, now)?;
        let mut out = Vec::with_capacity(prepared.len());
        for p in prepared {
            out.push(match p {
                Err(e) => Err(e),
                Ok(p) => c.transaction(|c| store(c, &p, &mut rules)),
            });
        }
        rules.count_touched(c)?;
        Ok(out)
    })
}

/// Files many tickets in one transaction at `now` (see [`file_batch`]).
pub fn file_tickets(
    db: &Db,
    now: NaiveDateTime,
    prepared: Vec<Result<PreparedTicket, IntakeError>>,
) -> Result<Vec<Result<Filed<TicketRow>, IntakeError>>, IntakeError> {
    file_batch(db, now, prepared, store_ticket)
}

/// The first result of an item stored before: the item, its case and the decision that put it there.
fn first_result<T>(
    c: &mut DbConnection,
    item: T,
    case_id: &str,
    item_id: &str,
) -> Result<Filed<T>, IntakeError> {
    let case = store::case(c, case_id)?
        .ok_or_else(|| IntakeError::Lookup("the item's case vanished".into()))?;
    let decision = store::standing_decision(c, item_id)?;
    Ok(Filed {
        item,
        case,
        decision,
        created: false,
    })
}

/// The first result of a ticket already stored, `TicketNoReused` when its content differs, `None` if absent.
pub fn existing_ticket(
    db: &Db,
    ticket_no: &str,
    hash: &str,
) -> Result<Option<Filed<TicketRow>>, IntakeError> {
    let mut c = db.reader()?;
    let Some(t) = store::ticket_by_no(&mut c, ticket_no)? else {
        return Ok(None);
    };
    if t.content_sha256 != hash {
        return Err(IntakeError::TicketNoReused(ticket_no.to_owned()));
    }
    let (case_id, id) = (t.case_id.clone(), t.id.clone());
    first_result(&mut c, t, &case_id, &id).map(Some)
}

/// A report checked and placed, ready to store.
#[derive(Debug, Clone)]
pub struct PreparedReport {
    row: ReportRow,
    placement: Placement,
}

/// A photo's SHA-256 as stored (lower-case hex), if `s` is one.
pub fn photo_hash(s: &str) -> Option<String> {
    let p = s.trim().to_ascii_lowercase();
    (p.len() == 64 && p.bytes().all(|b| b.is_ascii_hexdigit())).then_some(p)
}

/// Checks a patrol report, places it and takes its chain snapshot (no database access). Outside the reporter's own
/// places it is accepted but flagged; outside every cell it is refused. `now` is the server's clock (the time of a
/// report sent without one).
pub fn prepare_report(
    geo: &Geo<'_>,
    input: &ReportInput,
    reporter: &Principal,
    now: NaiveDateTime,
) -> Result<PreparedReport, IntakeError> {
    let id = match input.id.as_deref() {
        Some(raw) => {
            ReportId::parse(raw).ok_or_else(|| invalid("id", format!("{raw:?} is not a UUID")))?
        }
        None => ReportId::generate(),
    };
    let body = text("text", &input.text, MAX_TEXT_CHARS, true)?;
    if input.photos.len() > MAX_PHOTOS {
        return Err(invalid("photos", format!("at most {MAX_PHOTOS} photos")));
    }
    let mut photos = Vec::with_capacity(input.photos.len());
    for p in &input.photos {
        let p = photo_hash(p)
            .ok_or_else(|| invalid("photos", format!("{p:?} is not a SHA-256 in hex")))?;
        if !photos.contains(&p) {
            photos.push(p);
        }
    }
    let topic = input.topic.trim().to_owned();
    TopicCode::parse(&topic)
        .filter(|t| !t.is_class())
        .ok_or_else(|| {
            IntakeError::UnknownTopic(format!(
                "{topic:?} is not a four-digit topic code; see GET /api/v1/topics"
            ))
        })?;
    let given = point(&input.location)?;
    let reported_at = at_or(input.reported_at, now);
    let placement = by_point(geo, given).ok_or(IntakeError::OutsideArea)?;
    let cell = placement.place_code.clone().unwrap_or_default();
    let chain = snapshot(geo, Some(&cell), reported_at);
    Ok(PreparedReport {
        row: ReportRow {
            id: id.to_string(),
            content_sha256: content_hash(&(input, &reporter.id)),
            case_id: String::new(),
            district_code: placement.district(),
            reporter_id: reporter.id.clone(),
            reported_at,
            topic_code: topic,
            body,
            lon: given.lon,
            lat: given.lat,
            outside_scope: !crate::domain::access::can_see_place(reporter, &cell),
            place_code: cell,
            building_code: placement.building.clone(),
            photos: serde_json::to_string(&photos).unwrap_or_else(|_| "[]".into()),
            fixed_on_the_spot: input.fixed_on_the_spot,
            chain,
            created_at: now,
            version: 1,
        },
        placement,
    })
}

/// Stores a prepared report inside the caller's transaction: the first result again when the same report was
/// filed before, `ReportIdReused` when its id was used for another. Its case is noted in `rules`: the caller calls
/// [`Rules::count_touched`] before its transaction ends ([`file_batch`] does).
pub fn store_report(
    c: &mut DbConnection,
    prepared: &PreparedReport,
    rules: &mut Rules,
) -> Result<Filed<ReportRow>, IntakeError> {
    let mut report = prepared.row.clone();
    if let Some(r) = store::report(c, &report.id)? {
        if r.content_sha256 != report.content_sha256 {
            return Err(IntakeError::ReportIdReused(report.id));
        }
        let (case_id, id) = (r.case_id.clone(), r.id.clone());
        return first_result(c, r, &case_id, &id);
    }
    rules.check_time("reported_at", report.reported_at)?;
    let rule = rules.merge_rule(c, &report.topic_code)?;
    let item = NewItem {
        kind: "report",
        id: &report.id,
        at: report.reported_at,
        topic: &report.topic_code,
        placement: &prepared.placement,
        chain: &report.chain,
        source: "patrol",
    };
    let (mut case, decision, new) = place_in_case(c, &item, &rule, "system", rules.now)?;
    case.last_item_at = case.last_item_at.max(report.reported_at);
    case.opened_at = case.opened_at.min(report.reported_at);
    case.report_count += 1;
    let case = store_case(c, case, &rules.policy, new, rules.now)?;
    report.case_id = case.id.clone();
    store::insert_report(c, &report)?;
    let photos: Vec<String> = serde_json::from_str(&report.photos).unwrap_or_default();
    crate::store::photos::attach_to_report(
        c,
        &report.id,
        &report.reporter_id,
        &photos,
        report.created_at,
    )?;
    store::insert_decision(c, &decision)?;
    rules.touched.push(case.id.clone());
    Ok(Filed {
        item: report,
        case,
        decision: Some(decision),
        created: true,
    })
}

/// Files one patrol report by a grid member (or anyone allowed to report) at `now`, in its own transaction.
pub fn file_report(
    db: &Db,
    geo: &Geo<'_>,
    input: &ReportInput,
    reporter: &Principal,
    now: NaiveDateTime,
) -> Result<Filed<ReportRow>, IntakeError> {
    let prepared = prepare_report(geo, input, reporter, now)?;
    let (id, hash) = (prepared.row.id.clone(), prepared.row.content_sha256.clone());
    let result = file_batch(db, now, vec![Ok(prepared)], store_report).and_then(|mut r| {
        r.pop()
            .unwrap_or_else(|| Err(IntakeError::Lookup("no result".into())))
    });
    match result {
        // Filed concurrently by a retry on another connection (PostgreSQL): answer with that result.
        Err(e) if is_unique_violation(&e) => existing_report(db, &id, &hash)?
            .ok_or_else(|| IntakeError::Lookup("the report vanished".into())),
        other => other,
    }
}

fn existing_report(db: &Db, id: &str, hash: &str) -> Result<Option<Filed<ReportRow>>, IntakeError> {
    let mut c = db.reader()?;
    let Some(r) = store::report(&mut c, id)? else {
        return Ok(None);
    };
    if r.content_sha256 != hash {
        return Err(IntakeError::ReportIdReused(id.to_owned()));
    }
    let case_id = r.case_id.clone();
    first_result(&mut c, r, &case_id, id).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_round_trip_compactly_and_old_json_still_reads() {
        let links = vec![
            SnapshotLink {
                kind: "command_centre".into(),
                assignment_id: Some("asg_0123".into()),
                fallback: false,
            },
            SnapshotLink {
                kind: "grid_member".into(),
                assignment_id: Some("asg_0456".into()),
                fallback: true,
            },
            SnapshotLink {
                kind: "household_member".into(),
                assignment_id: None,
                fallback: false,
            },
        ];
        let text = encode_snapshot(&links);
        assert_eq!(
            text,
            "command_centre=asg_0123 grid_member^=asg_0456 household_member="
        );
        assert_eq!(decode_snapshot(&text), links);
        let json = serde_json::to_string(&links).unwrap_or_default();
        assert!(json.len() > text.len() * 3 / 2);
        assert_eq!(decode_snapshot(&json), links);
        assert_eq!(decode_snapshot(""), Vec::new());
        assert_eq!(decode_snapshot("garbage"), Vec::new());
    }
}
